"""Settings files for tests: write one, load it, and read what the person starting goiso reads."""

from pathlib import Path

import pytest

import settings


def toml_table(name: str, values: dict) -> str:
    """``values`` as the TOML table ``[name]`` (strings, numbers, booleans, lists, inline
    tables)."""
    def value(v) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return str(v)

    return f"[{name}]\n" + "".join(f"{k} = {value(v)}\n" for k, v in values.items())


def write(folder: Path, text: str) -> Path:
    """``text`` as ``folder``/goiso.toml."""
    path = folder / "goiso.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load(folder: Path, text: str, environ: dict | None = None, **flags) -> settings.Settings:
    """The settings ``text`` gives (no environment unless ``environ``)."""
    return settings.load(write(folder, text), environ=environ or {}, **flags)


def problems(folder: Path, text: str, environ: dict | None = None, **flags) -> list[str]:
    """What loading ``text`` reports, one line per problem, the file named "goiso.toml" as a
    person who passed ``--config goiso.toml`` reads it; fails when it loads."""
    path = write(folder, text)
    with pytest.raises(settings.SettingsError) as caught:
        settings.load(path, environ=environ or {}, **flags)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return [line.replace(str(path), "goiso.toml") for line in caught.value.problems]

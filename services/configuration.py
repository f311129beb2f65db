"""Hall settings set in the browser: checked by the settings loader, stored by the core,
applied to the running hall at once and at every start."""

from hall import Hall
from settings import EDITABLE, Settings, SettingsError, section, with_overrides


def effective(file_settings: Settings, stored: dict[str, dict]) -> tuple[Settings, list[str]]:
    """The file's settings with every stored table that passes its checks; the problems of
    those that do not (a key an upgrade renamed, say) are returned, not raised: a stored
    value never stops a hall from starting."""
    usable, problems = {}, []
    for table, values in stored.items():
        try:
            with_overrides(file_settings, {table: values})
        except SettingsError as exc:
            problems.extend(exc.problems)
        else:
            usable[table] = values
    return with_overrides(file_settings, usable), problems


def apply_stored(runtime) -> None:
    """Lay the settings stored in the database over the file's (at start, and after another
    process changed them)."""
    settings, problems = effective(runtime.file_settings, runtime.hall.overrides.read())
    runtime.settings_problems = problems
    runtime.apply(settings)


def current(runtime, table: str) -> dict:
    """One editable table as the hall runs it now (file and browser together)."""
    return section(runtime.settings, table)


def change(runtime, table: str, values: dict, *, by: int | None = None) -> dict:
    """Check ``values`` for one table (all of its keys together, as the file's are), store
    them and run the hall by them from now on; a value equal to the file's is stored too,
    so a later change of the file does not move it. Returns key -> (before, after).
    Raises SettingsError (with ``places`` for the form) and changes nothing when wrong."""
    if table not in EDITABLE:
        raise SettingsError([f"[{table}]: bảng này không đặt được trên trang cài đặt."],
                            [(None, table, "bảng này không đặt được trên trang cài đặt.")])
    stored = runtime.read(runtime.hall.overrides.read)
    wanted = stored.get(table, {}) | values
    with_overrides(runtime.file_settings, {table: wanted})  # raises when wrong
    changed = runtime.act(runtime.hall.overrides.put, table, values, by=by)
    apply_stored(runtime)
    return changed


def reset(runtime, table: str, keys: tuple[str, ...], *, by: int | None = None) -> dict:
    """Forget the browser's values of ``keys``: the file's values apply again."""
    changed = runtime.act(runtime.hall.overrides.put, table, {}, by=by, unset=tuple(keys))
    apply_stored(runtime)
    return changed


def open_hall(settings: Settings) -> tuple[Hall, Settings]:
    """A hall for the command line, with its stored settings applied (problems ignored)."""
    hall = Hall.open(settings.database_path, settings.rules)
    settings, _ = effective(settings, hall.overrides.read())
    hall.follow(settings.rules)
    return hall, settings

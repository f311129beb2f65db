"""Hall settings set in the browser: checked by the settings loader, stored by the core,
applied to the running hall at once and at every start."""

from msgspec import inspect as types

from hall import Hall
from hall.policy import POLICIES
from settings import EDITABLE, HALL_KEYS, TABLES, Settings, SettingsError, section, with_overrides


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
    hall.secure(settings.security)
    return hall, settings


def form_fields(runtime, table: str) -> list[dict]:
    """The keys of one editable table for a form: key, kind (text, number, decimal, flag,
    choice, lines), choices, the value the hall runs by now, and whether it is set in the
    browser (so it can go back to the file's value)."""
    values = current(runtime, table)
    stored = runtime.read(runtime.hall.overrides.read).get(table, {})
    return [{"key": key, "kind": kind, "choices": choices, "value": values[key],
             "stored": key in stored} for key, kind, choices in shape(table)]


def shape(table: str) -> list[tuple[str, str, tuple]]:
    """(key, kind, choices) of each key of an editable table, from its class's annotations."""
    found = []
    for item in types.type_info(TABLES[table]).fields:
        kind_info = item.type.type if isinstance(item.type, types.Metadata) else item.type
        key = item.encode_name
        if table == "hall" and key not in HALL_KEYS:
            continue
        if isinstance(kind_info, types.LiteralType):
            found.append((key, "choice", tuple(kind_info.values)))
        elif table == "rules" and key == "priority_policy":
            found.append((key, "choice", POLICIES))
        elif isinstance(kind_info, types.BoolType):
            found.append((key, "flag", ()))
        elif isinstance(kind_info, types.IntType):
            found.append((key, "number", ()))
        elif isinstance(kind_info, types.FloatType):
            found.append((key, "decimal", ()))
        elif isinstance(kind_info, types.VarTupleType | types.ListType):
            found.append((key, "lines", ()))
        else:
            found.append((key, "text", ()))
    return found


def from_form(table: str, form) -> dict:
    """The values a form sent for one table, typed as its keys are (what cannot be read as
    its type is passed on as typed, for the settings check to name)."""
    values = {}
    for key, kind, choices in shape(table):
        text = form.get(key)
        if kind == "flag":
            values[key] = text is not None
            continue
        if text is None:
            continue
        text = text.strip() if kind != "lines" else text
        if kind == "lines":
            values[key] = [line.strip() for line in text.splitlines() if line.strip()]
        elif kind in ("number", "decimal") or (kind == "choice" and all(
                isinstance(c, int) for c in choices)):
            try:
                # A decimal comma is how Vietnamese write 2,5.
                values[key] = int(text) if kind != "decimal" else float(text.replace(",", "."))
            except ValueError:
                values[key] = text
        else:
            values[key] = text
    return values


def change_from_form(runtime, table: str, form, *, by: int | None = None) -> dict:
    """Apply what a settings form sent: only the keys whose value differs from the one the
    hall runs by now are stored. Returns key -> (before, after); raises SettingsError."""
    now = current(runtime, table)
    wanted = {key: value for key, value in from_form(table, form).items()
              if _plain(now.get(key)) != _plain(value)}
    return change(runtime, table, wanted, by=by) if wanted else {}


def _plain(value):
    return list(value) if isinstance(value, tuple) else value

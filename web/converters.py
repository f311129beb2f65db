"""URL converters every door shares: a number in a path is one SQLite can hold."""

from werkzeug.routing import IntegerConverter

# SQLite's largest integer: a larger one in a query raises OverflowError (a 500, not a 404).
SQLITE_MAX = 2**63 - 1


class SQLiteInteger(IntegerConverter):
    """``<int:…>`` as werkzeug has it (digits only, so never negative), but no larger than
    SQLite's integers and at most ``max`` when a rule names one: beyond, no route matches
    (404)."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):  # noqa: A002
        # werkzeug's own argument names (``min``, ``max``), as a rule passes them.
        bound = SQLITE_MAX if max is None or max > SQLITE_MAX else max
        super().__init__(map, fixed_digits, min, bound, signed)

"""The audit log's filter read from a query string (the page's form and the API share it)."""

from hall import errors
from hall.audit import PAGE_SIZE, AuditFilter


def _number(args, name: str, default=None) -> int | None:
    value = (args.get(name) or "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise errors.InvalidInput(errors.InvalidInput.NOT_INTEGER, field=name) from None


def audit_filter(args) -> AuditFilter:
    """?kind=&clerk=&from=YYYY-MM-DD&to=YYYY-MM-DD&q=&page=&page_size= as a checked filter."""
    return AuditFilter(kind=args.get("kind") or None, clerk=_number(args, "clerk"),
                       day_from=args.get("from") or None, day_to=args.get("to") or None,
                       text=args.get("q", ""), page=_number(args, "page", 1),
                       page_size=_number(args, "page_size", PAGE_SIZE)).checked()

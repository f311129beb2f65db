"""The audit log as staff read it: a filter from what a page or a request asked, one page."""

from hall.audit import AuditFilter

from .runtime import Runtime


def entries(runtime: Runtime, wanted: AuditFilter) -> dict:
    """One page of the audit log, newest first, with the total that matches."""
    return runtime.read(runtime.hall.audit.entries, wanted)


def clerks(runtime: Runtime) -> list[dict]:
    """The clerks a filter may name."""
    return runtime.read(runtime.hall.audit.clerks)

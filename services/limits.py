"""What a supervisor does about the day's numbers: extend a queue's range for today."""

from .runtime import Runtime


def extend(runtime: Runtime, queue_code, extra, by: int | None) -> dict:
    """Give a queue ``extra`` more numbers today; audited with who."""
    return runtime.act(runtime.hall.limits.extend, queue_code, extra, by=by)

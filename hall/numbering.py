"""Ticket number formats: a queue's daily sequence number becomes the label people see."""

from .errors import InvalidInput

FORMATS = ("prefix", "block", "plain")
BLOCK_SIZE = 999  # a 4-digit block N001..N999 holds 999 tickets a day


def label(number_format: str, seq: int, *, prefix: str = "", digits: int = 3,
          block: int | None = None) -> str:
    """The printed number for the ``seq``-th ticket of the day: A001, 1001 or 1."""
    if seq < 1:
        raise InvalidInput(detail=f"seq = {seq}")
    if number_format == "prefix":
        return f"{prefix}{seq:0{digits}d}"
    if number_format == "block":
        if block is None or not 1 <= block <= 9:
            raise InvalidInput(detail=f"block = {block!r}, cần từ 1 đến 9")
        if seq > BLOCK_SIZE:
            raise InvalidInput(detail=f"block {block} chỉ có {BLOCK_SIZE} số")
        return str(block * 1000 + seq)
    if number_format == "plain":
        return str(seq)
    raise InvalidInput(detail=f"number_format = {number_format!r}")


def capacity(number_format: str) -> int | None:
    """How many tickets a day the format can label, or None if unbounded."""
    return BLOCK_SIZE if number_format == "block" else None

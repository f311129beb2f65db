"""Logs a technician can read (journald keeps what goes to stderr): one line per record — time,
level, logger, message, then ``key=value`` fields — a refusal (bad input, no right, not found)
as one such line saying what, who and from where, a traceback only for a real fault, and the
same line repeated under attack kept to a few, with a "suppressed N similar" line later.

Any logger gets fields with ``extra=fields(login=..., address=...)``; plain records (the
``goiso.security`` lines, a printer's worker) are formatted the same way.
"""

from __future__ import annotations

import io
import logging
import os
import sys
import time
import traceback
from datetime import datetime

from flask import g, has_request_context, request

from .access import actor
from .clients import client_address

web_log = logging.getLogger("goiso.web")

# A value longer than this is cut (a 5,000-character path once per line is enough).
FIELD_LIMIT = 200
MESSAGE_LIMIT = 2000
# Repeats: per kind of line (same logger, level, message, what and where), BURST lines per
# WINDOW seconds, then a count; and at most TOTAL lines of one logger per WINDOW (faults are
# kept to their BURST only: a flood of refusals must not hide one).
WINDOW = 60.0
BURST = 5
TOTAL = 120
ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\", '"': '\\"'}


def fields(**values) -> dict:
    """``extra=`` for a log call: key=value fields after the message (None values left out)."""
    return {"fields": values}


def _escaped(text: str, quote: bool) -> str:
    out = []
    for char in text:
        if char in ESCAPES and (quote or char not in '\\"'):
            out.append(ESCAPES[char])
        elif not char.isprintable() and char != " ":
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"…(+{len(text) - limit})"


def field_value(value) -> str:
    """A field's value on one line: bare when it is one word, else quoted with escapes."""
    text = _cut(str(value), FIELD_LIMIT)
    if text and all(c.isprintable() and c not in ' "=\\' for c in text):
        return text
    return '"' + _escaped(text, quote=True) + '"'


# syslog priorities: journald reads a "<N>" at the start of a line as the line's priority.
PRIORITIES = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3,
              logging.CRITICAL: 2}


def writes_to_journal(stream) -> bool:
    """Whether ``stream`` is systemd's journal ($JOURNAL_STREAM names its device and inode)."""
    try:
        device, inode = (int(n) for n in os.environ.get("JOURNAL_STREAM", "").split(":"))
        status = os.fstat(stream.fileno())
    except (ValueError, OSError, AttributeError, io.UnsupportedOperation):
        return False
    return (status.st_dev, status.st_ino) == (device, inode)


class LineFormatter(logging.Formatter):
    """time level logger message key=value…; control characters escaped, so a record is one
    line (a fault's traceback follows on its own lines). For the journal (``journal=True``),
    each line starts with its syslog priority instead of the time, which journald keeps."""

    def __init__(self, journal: bool = False):
        super().__init__()
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        line = self._line(record)
        if not self.journal:
            return line
        priority = PRIORITIES.get(record.levelno, 6 if record.levelno < logging.WARNING else 3)
        return "\n".join(f"<{priority}>{part}" for part in line.split("\n"))

    def _line(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created).astimezone()
        parts = [record.levelname, record.name,
                 _escaped(_cut(record.getMessage(), MESSAGE_LIMIT), quote=False)]
        if not self.journal:
            parts.insert(0, when.isoformat(timespec="milliseconds"))
        for key, value in (getattr(record, "fields", None) or {}).items():
            if value is not None:
                parts.append(f"{key}={field_value(value)}")
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


class Budget:
    """One logger's lines in the current window of the total."""

    def __init__(self, started: float):
        self.started = started
        self.written = 0
        self.overflow = 0  # records of kinds not seen in this window, left out by the total
        self.overflow_kinds: set[tuple] = set()


class Repeats:
    """Which records to write: each kind at most ``burst`` times a ``window``, each logger's
    kinds together at most ``total`` times a window (so a flood of refusals on one logger
    never hides another's lines, such as a sign-in lock); faults are held to their ``burst``
    only. What was left out comes back as summary records."""

    def __init__(self, window: float = WINDOW, burst: int = BURST, total: int = TOTAL,
                 clock=time.monotonic):
        self.window, self.burst, self.total, self.clock = window, burst, total, clock
        # kind → [window start, lines written, lines left out, the first record]; in order of
        # their windows' start, so the due ones are at the front.
        self.kinds: dict[tuple, list] = {}
        self.budgets: dict[str, Budget] = {}  # logger name → its lines in this window

    @staticmethod
    def kind(record: logging.LogRecord) -> tuple:
        """What makes two records "the same": logger, level, message and fields (what, who,
        from where), or the ``repeat_key`` given in ``extra``."""
        key = getattr(record, "repeat_key", None)
        if key is None:
            values = getattr(record, "fields", None) or {}
            key = (str(record.msg), repr(record.args), tuple(sorted(
                (k, str(v)) for k, v in values.items())))
        return record.name, record.levelno, key

    def admit(self, record: logging.LogRecord) -> bool:
        """Whether to write ``record`` now (else it is counted for a summary)."""
        now = self.clock()
        budget = self.budgets.get(record.name)
        if budget is None:
            budget = self.budgets[record.name] = Budget(now)
        kind = self.kind(record)
        entry = self.kinds.get(kind)
        full = record.levelno < logging.ERROR and budget.written >= self.total
        if entry is None:
            if full:
                budget.overflow += 1
                budget.overflow_kinds.add(kind)
                return False
            self.kinds[kind] = [now, 1, 0, record]
            budget.written += 1
            return True
        if entry[1] >= self.burst or full:
            entry[2] += 1
            return False
        entry[1] += 1
        budget.written += 1
        return True

    def due(self, everything: bool = False) -> list[logging.LogRecord]:
        """Summary records of the windows that ended (of every window with ``everything``)."""
        now = self.clock()
        summaries = []
        while self.kinds:
            kind, (start, _written, left_out, first) = next(iter(self.kinds.items()))
            if not everything and now - start < self.window:
                break
            del self.kinds[kind]
            if left_out:
                summaries.append(_summary(first, left_out, now - start))
        for name, budget in list(self.budgets.items()):
            if not everything and now - budget.started < self.window:
                continue
            if budget.overflow:
                summaries.append(logging.makeLogRecord({
                    "name": name, "levelno": logging.WARNING, "levelname": "WARNING",
                    "msg": "suppressed %d lines of %d other kinds: more than %d lines in %d s",
                    "args": (budget.overflow, len(budget.overflow_kinds), self.total,
                             round(self.window))}))
            del self.budgets[name]  # the next record opens a new window
        return summaries


def _summary(first: logging.LogRecord, left_out: int, seconds: float) -> logging.LogRecord:
    return logging.makeLogRecord({
        "name": first.name, "levelno": first.levelno, "levelname": first.levelname,
        "msg": "suppressed %d similar in %d s: %s",
        "args": (left_out, round(seconds), first.getMessage()),
        "fields": getattr(first, "fields", None)})


class BoundedHandler(logging.StreamHandler):
    """A stream handler writing each record as one line, repeats bounded by ``Repeats``."""

    def __init__(self, stream=None, repeats: Repeats | None = None):
        super().__init__(stream)
        self.repeats = repeats or Repeats()
        self.setFormatter(LineFormatter(journal=writes_to_journal(self.stream)))

    def emit(self, record: logging.LogRecord) -> None:
        """Write the summaries that are due, then the record unless it is a repeat too many."""
        for summary in self.repeats.due():
            super().emit(summary)
        if self.repeats.admit(record):
            super().emit(record)

    def close(self) -> None:
        """Write every summary still held, then close."""
        self.acquire()
        try:
            for summary in self.repeats.due(everything=True):
                super().emit(summary)
        finally:
            self.release()
        super().close()


def configure(level: int = logging.INFO, stream=None) -> BoundedHandler:
    """Send every log record of the process to stderr as lines (once: a second call finds the
    handler the first put there)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, BoundedHandler):
            return handler
    handler = BoundedHandler(stream or sys.stderr)
    root.addHandler(handler)
    root.setLevel(level)
    # Flask-WTF says "The CSRF token is missing." before our own line says csrf_failed.
    logging.getLogger("flask_wtf.csrf").setLevel(logging.WARNING)
    logging.captureWarnings(True)
    return handler


def request_fields(**more) -> dict:
    """Who asks and from where: role, clerk id, counter (a seat, or a device's token),
    method, path, address."""
    if not has_request_context():
        return more
    who = actor()
    return {**more, "role": who.role, "clerk": who.clerk, "counter": who.counter,
            "device": "token" if who.device else None,
            "method": request.method, "path": request.path, "addr": client_address()}


def refused(code: str, status: int) -> None:
    """An expected refusal (a rule of the hall, bad input, no right): one line, no traceback.
    Sign-in and rights refusals are warnings, the rest information."""
    warn = status in (401, 403, 429) or status >= 500 or code == "csrf_failed"
    level = logging.WARNING if warn else logging.INFO
    rule = request.url_rule.rule if has_request_context() and request.url_rule else None
    values = request_fields(code=code, status=status)
    # "Where" for repeats: the route, not each fuzzed path under it.
    key = (code, status, values.get("method"), rule or values.get("path"), values.get("addr"),
           values.get("role"), values.get("clerk"))
    web_log.log(level, "refused", extra={"fields": values, "repeat_key": key})
    if has_request_context():
        g.goiso_logged = True


def unlogged_refusal(response):
    """After a request: a refusal a view answered itself (a form shown again with its error,
    a wrong PIN on the sign-in page) gets its line too, with the error code when the answer is
    the one JSON error shape."""
    if response.status_code >= 400 and not g.get("goiso_logged"):
        code = None
        if response.is_json and not response.is_streamed:
            error = (response.get_json(silent=True) or {}).get("error")
            code = error.get("code") if isinstance(error, dict) else None
        refused(code or "refused", response.status_code)
    return response


def fault(exc: BaseException) -> None:
    """A real fault (a bug, a broken disk): one line with its traceback."""
    if has_request_context():
        g.goiso_logged = True
    frames = traceback.extract_tb(exc.__traceback__)
    where = (frames[-1].filename, frames[-1].lineno) if frames else None
    rule = request.url_rule.rule if has_request_context() and request.url_rule else None
    # The same bug met again (same exception, same line, same route) is a repeat, whatever
    # the path or the client: a fault one can trigger at will is not a way to flood the log.
    web_log.error("fault: %s", type(exc).__name__, exc_info=(type(exc), exc, exc.__traceback__),
                  extra={"fields": request_fields(), "repeat_key": (type(exc).__name__, where,
                                                                    rule)})

"""Benchmarks of goiso: ``python -m bench`` runs them all, ``python -m bench NAME [ARGS]`` one.

A benchmark is a module ``bench/<name>.py`` (no leading underscore) that defines

* ``TITLE``: one line saying what it measures, and
* ``main(argv: list[str]) -> int``: runs it, prints a table, returns an exit status.

Dropping such a module in this package registers it; nothing else needs editing.  The helpers
below (``Result``, ``percentile``, ``table``) keep the tables of all benchmarks alike.
"""

from __future__ import annotations

import importlib
import pkgutil
import statistics
from dataclasses import dataclass, field
from types import ModuleType


def names() -> list[str]:
    """The benchmarks of this package (``core`` first, then alphabetical), without importing
    them: one whose imports fail must not stop the others."""
    found = sorted(info.name for info in pkgutil.iter_modules(__path__)
                   if not info.name.startswith("_"))
    return sorted(found, key=lambda name: name != "core")


def load(name: str) -> ModuleType:
    """Import the benchmark ``name``; ValueError if it is not one."""
    if name not in names():
        raise ValueError(f"unknown benchmark {name!r}; known: {', '.join(names())}")
    module = importlib.import_module(f"{__name__}.{name}")
    if not callable(getattr(module, "main", None)):
        raise ValueError(f"bench/{name}.py has no main(argv)")
    return module


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of ``values`` by the nearest-rank method."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass
class Result:
    """One measured scenario: ``ops`` operations in ``seconds`` of wall time."""

    name: str
    threads: int
    ops: int
    seconds: float
    latencies: list[float] = field(default_factory=list, repr=False)  # seconds, one per op
    note: str = ""

    @property
    def rate(self) -> float:
        return self.ops / self.seconds if self.seconds > 0 else float("nan")

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies, 50) * 1000

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies, 99) * 1000

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.latencies) * 1000 if self.latencies else float("nan")


def table(headers: list[str], rows: list[list], align: str | None = None) -> str:
    """A plain-text table; ``align`` holds one of ``<`` / ``>`` per column (default: text left,
    numbers right)."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    if align is None:
        align = "".join(
            ">" if rows and isinstance(rows[0][i], int | float) else "<"
            for i in range(len(headers)))
    line = "  ".join(f"{h:{a}{w}}" for h, a, w in zip(headers, align, widths, strict=True))
    rule = "  ".join("-" * w for w in widths)
    body = ["  ".join(f"{c:{a}{w}}" for c, a, w in zip(r, align, widths, strict=True))
            for r in cells]
    return "\n".join([line, rule, *body])


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)

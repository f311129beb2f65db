"""A group's figures as a hall's report gives them (``hall.reports.figures``), computed over a
province's many more times with numpy: the packed runs joined into one array once, a
percentile by ``numpy.partition`` (linear, no sort) instead of halving over thousands of runs.

The definitions are the hall's, in integers until the last division, so the values are the
same to the bit (``tests/test_hub_reports.py`` checks both on random runs and on a real hall):
the nearest-rank percentile is the ``ceil(share × n)``-th smallest; the mean is the exact
integer sum over the count, in seconds to a tenth; the share within the target counts the
values at most the target.
"""

from __future__ import annotations

import math
from array import array

import numpy

from hall.rollups import Tally


def joined(runs: list) -> numpy.ndarray:
    """Every value of some runs (packed bytes or ``array('i')``) as one int32 array."""
    parts = [r if isinstance(r, bytes) else array("i", r).tobytes() for r in runs if r]
    return numpy.frombuffer(b"".join(parts), dtype=numpy.int32)


def _times(values: numpy.ndarray, target_ms: float | None = None) -> dict:
    count = len(values)
    if not count:
        return {"avg": None, "p50": None, "p90": None, "within": None}
    ranks = sorted({max(0, math.ceil(share * count) - 1) for share in (0.5, 0.9)})
    parted = numpy.partition(values, ranks)
    at = {share: int(parted[max(0, math.ceil(share * count) - 1)]) / 1000
          for share in (0.5, 0.9)}
    total = int(values.sum(dtype=numpy.int64))
    within = None
    if target_ms is not None:
        within = round(int(numpy.count_nonzero(values <= target_ms)) / count, 4)
    return {"avg": round(total / count / 1000, 1), "p50": at[0.5], "p90": at[0.9],
            "within": within}


def figures(t: Tally, target_s: float, levels: int) -> dict:
    """Every figure of one group's tally (merged from the days' tallies), as the hall's."""
    waits = _times(joined([*t.wait_runs, t.waits]), target_s * 1000)
    services = _times(joined([*t.service_runs, t.services]))
    return {
        "issued": t.issued, "served": t.served, "no_show": t.no_show,
        "cancelled": t.cancelled, "transferred": t.transferred, "dossiers": t.dossiers,
        "wait_avg_s": waits["avg"], "wait_p50_s": waits["p50"], "wait_p90_s": waits["p90"],
        "service_avg_s": services["avg"], "service_p50_s": services["p50"],
        "service_p90_s": services["p90"], "within_target_share": waits["within"],
        "rated": t.rated,
        "satisfied_share": round(t.satisfied / t.rated, 4) if t.rated else None,
        "ratings": t.ratings[:levels],
    }

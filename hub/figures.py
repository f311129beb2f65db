"""A group's figures as a hall's report gives them (``hall.reports.figures``), computed over a
province's many more times with numpy and the bucket counts of ``hub.percentiles``: a
percentile by ``numpy.partition`` (linear, no sort) of the few times in its bucket instead of
halving over thousands of runs.

The definitions are the hall's, in integers until the last division, so the values are the
same to the bit (``tests/test_hub_reports.py`` checks both on random runs and on a real hall):
the nearest-rank percentile is the ``ceil(share × n)``-th smallest; the mean is the exact
integer sum over the count, in seconds to a tenth; the share within the target counts the
values at most the target.
"""

from __future__ import annotations

from array import array

import numpy

from hall.rollups import Tally

from .percentiles import GroupTimes, summed


def joined(runs: list) -> bytes:
    """Every value of some runs (packed bytes or ``array('i')``) as packed int32 bytes."""
    return b"".join(r if isinstance(r, bytes) else array("i", r).tobytes() for r in runs if r)


def group_figures(sums, ratings: list[int], waits: GroupTimes, services: GroupTimes,
                  levels: int) -> dict:
    """Every figure of one group from its sums (issued … satisfied, as ``SUMS``), ratings
    per level and times."""
    issued, served, no_show, cancelled, transferred, dossiers, rated, satisfied = sums
    wait, service = waits.figures(), services.figures()
    return {
        "issued": issued, "served": served, "no_show": no_show,
        "cancelled": cancelled, "transferred": transferred, "dossiers": dossiers,
        "wait_avg_s": wait["avg"], "wait_p50_s": wait["p50"], "wait_p90_s": wait["p90"],
        "service_avg_s": service["avg"], "service_p50_s": service["p50"],
        "service_p90_s": service["p90"], "within_target_share": wait["within"],
        "rated": rated,
        "satisfied_share": round(satisfied / rated, 4) if rated else None,
        "ratings": list(ratings[:levels]),
    }


def _loose(runs: list, target_ms: float | None = None) -> GroupTimes:
    packed = joined(runs)
    total = int(numpy.frombuffer(packed, dtype=numpy.int32).sum(dtype=numpy.int64))
    return GroupTimes(summed(None), packed, total, target_ms)


def figures(t: Tally, target_s: float, levels: int) -> dict:
    """Every figure of one group's tally (merged from the days' tallies), as the hall's."""
    return group_figures(
        (t.issued, t.served, t.no_show, t.cancelled, t.transferred, t.dossiers, t.rated,
         t.satisfied), t.ratings, _loose([*t.wait_runs, t.waits], target_s * 1000),
        _loose([*t.service_runs, t.services]), levels)

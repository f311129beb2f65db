"""Exact percentiles over a province's millions of times without reading them all.

A big rollup row (a province's day, a hall's whole day) keeps, beside its sorted times, how
many of them are at most each of a fixed list of bucket edges (``EDGES_MS``; ``cumulative``):
65 counts instead of thousands of times. A report adds those counts up per group (cheap), finds
the bucket that holds the wanted rank, and then reads from each row only the times of that
bucket: a known slice of its sorted bytes (``SLICE`` below, done in PostgreSQL). The rank-th
value of those few is the percentile, exactly the hall's nearest-rank value (``GroupTimes``),
as are the mean (from each row's sum) and the share within the target (the counts up to the
target when it is an edge, else that bucket's slice as well). Small rows (a procedure on one
day at one hall) carry no counts: their times are read whole, as before, and join the counts
through ``numpy.searchsorted``.

Hand-written: PostgreSQL has no percentile over packed sorted runs, and no library merges
pre-bucketed sorted runs this way (t-digest and the like are approximate; the hall's report
is exact and a province figure must equal it).
"""

from __future__ import annotations

import math

import numpy

MINUTE = 60_000
# Upper-inclusive bucket edges in milliseconds: 20 s apart up to 10 min (where most waits and
# services are), every minute to 30 min (so any whole-minute target up to 30 is an edge), then
# coarser; the last edge holds every int32 value.
EDGES_MS = numpy.array(
    [s * 1000 for s in range(20, 601, 20)]
    + [m * MINUTE for m in range(11, 31)]
    + [m * MINUTE for m in range(35, 61, 5)]
    + [m * MINUTE for m in range(90, 241, 30)]
    + [480 * MINUTE, 1440 * MINUTE, 2**31 - 1], dtype=numpy.int64)
BUCKETS = len(EDGES_MS)
COUNT_TYPE = numpy.dtype(">i4")  # big-endian: PostgreSQL reads a count with get_byte
SHARES = (0.5, 0.9)


def cumulative(values) -> bytes:
    """How many of ``values`` (sorted ms) are at most each edge, packed for a rollup row."""
    ordered = numpy.asarray(values, dtype=numpy.int64)
    return numpy.searchsorted(ordered, EDGES_MS, side="right").astype(COUNT_TYPE).tobytes()


def summed(joined: bytes | None) -> numpy.ndarray:
    """The counts of several rows (their ``cumulative`` bytes joined) added up."""
    if not joined:
        return numpy.zeros(BUCKETS, dtype=numpy.int64)
    return numpy.frombuffer(joined, dtype=COUNT_TYPE).reshape(-1, BUCKETS).sum(
        axis=0, dtype=numpy.int64)


def count_sql(column: str, bucket: str) -> str:
    """SQL for a row's count at edge ``bucket`` (0-based; -1 gives 0) of ``column``."""
    at = f"4 * ({bucket})"
    return (f"(CASE WHEN ({bucket}) < 0 THEN 0 ELSE (get_byte({column}, {at}) << 24)"
            f" | (get_byte({column}, {at} + 1) << 16) | (get_byte({column}, {at} + 2) << 8)"
            f" | get_byte({column}, {at} + 3) END)")


def slice_sql(times: str, counts: str, bucket: str) -> str:
    """SQL for the packed times of one row that fall in bucket ``bucket`` (sorted bytes)."""
    low = count_sql(counts, f"({bucket}) - 1")
    high = count_sql(counts, bucket)
    return f"substring({times} FROM 4 * {low} + 1 FOR 4 * ({high} - {low}))"


class GroupTimes:
    """One group's waits or services: counts from the rows that have them, the whole times of
    the rows that don't, then (``fill``) the slices of the buckets ``wanted`` names."""

    def __init__(self, counts: numpy.ndarray, loose: bytes | None, total_ms: int,
                 target_ms: float | None = None):
        self.loose = numpy.frombuffer(loose or b"", dtype=numpy.int32)
        # Whether some times are only counted (to be read by bucket); if none, every time is
        # at hand and the buckets are not needed.
        self.counted = bool(counts[-1])
        if self.counted and len(self.loose):
            in_bucket = numpy.searchsorted(EDGES_MS, self.loose, side="left")
            counts = counts + numpy.cumsum(numpy.bincount(in_bucket, minlength=BUCKETS))
        self.counts = counts
        self.count = int(counts[-1]) if self.counted else len(self.loose)
        self.total_ms = total_ms
        self.target_ms = target_ms
        self.slices: dict[int, numpy.ndarray] = {}

    def _rank_bucket(self, rank: int) -> int:
        return int(numpy.searchsorted(self.counts, rank, side="right"))

    def _ranks(self) -> list[int]:
        return [max(0, math.ceil(share * self.count) - 1) for share in SHARES]

    def _target_bucket(self) -> int | None:
        """The bucket whose slice the share within the target needs (None: none)."""
        if self.target_ms is None or not self.count:
            return None
        bucket = int(numpy.searchsorted(EDGES_MS, self.target_ms, side="left"))
        return None if EDGES_MS[bucket] == self.target_ms else bucket

    def wanted(self) -> set[int]:
        """The buckets whose times must be read from the counted rows."""
        if not self.counted:
            return set()
        wanted = {self._rank_bucket(rank) for rank in self._ranks()}
        target = self._target_bucket()
        return wanted | ({target} if target is not None else set())

    def fill(self, bucket: int, packed: bytes | None) -> None:
        """The times in ``bucket`` of the counted rows (packed, in any order)."""
        self.slices[bucket] = numpy.frombuffer(packed or b"", dtype=numpy.int32)

    def _in_bucket(self, bucket: int) -> numpy.ndarray:
        inside = self.loose <= EDGES_MS[bucket]
        if bucket:
            inside &= self.loose > EDGES_MS[bucket - 1]
        loose = self.loose[inside]
        counted = self.slices.get(bucket, numpy.empty(0, dtype=numpy.int32))
        found = numpy.concatenate([counted, loose])
        below = int(self.counts[bucket - 1]) if bucket else 0
        if len(found) != int(self.counts[bucket]) - below:
            raise RuntimeError(f"bucket {bucket}: {len(found)} times for"
                               f" {int(self.counts[bucket]) - below} counted")
        return found

    def figures(self) -> dict:
        """Mean, p50, p90 (seconds) and the share within the target, as the hall's."""
        if not self.count:
            return {"avg": None, "p50": None, "p90": None, "within": None}
        if not self.counted:  # every time at hand: no buckets to go through
            return self._figures_of_loose()
        at = {}
        for share, rank in zip(SHARES, self._ranks(), strict=True):
            bucket = self._rank_bucket(rank)
            below = int(self.counts[bucket - 1]) if bucket else 0
            found = self._in_bucket(bucket)
            at[share] = int(numpy.partition(found, rank - below)[rank - below]) / 1000
        within = None
        if self.target_ms is not None:
            bucket = int(numpy.searchsorted(EDGES_MS, self.target_ms, side="left"))
            below = int(self.counts[bucket - 1]) if bucket else 0
            inside = int(self.counts[bucket]) - below if EDGES_MS[bucket] == self.target_ms \
                else int(numpy.count_nonzero(self._in_bucket(bucket) <= self.target_ms))
            within = round((below + inside) / self.count, 4)
        return {"avg": round(self.total_ms / self.count / 1000, 1), "p50": at[0.5],
                "p90": at[0.9], "within": within}

    def _figures_of_loose(self) -> dict:
        ranks = self._ranks()
        parted = numpy.partition(self.loose, sorted(set(ranks)))
        at = {share: int(parted[rank]) / 1000 for share, rank in zip(SHARES, ranks, strict=True)}
        within = None
        if self.target_ms is not None:
            within = round(int(numpy.count_nonzero(self.loose <= self.target_ms)) / self.count,
                           4)
        return {"avg": round(self.total_ms / self.count / 1000, 1), "p50": at[0.5],
                "p90": at[0.9], "within": within}

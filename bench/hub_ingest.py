"""The province hub's ingest: 100 halls pushing at once through ``POST /api/v1/ingest`` of a
real ``goiso hub serve``, beside the raw rate of PostgreSQL on the same table; lag under a
normal load; bytes per stored event.

Everything runs here: a throwaway cluster (``hub.cluster.LocalCluster``, the test settings:
no fsync), the hub as a subprocess (``tests.hubserver.HubServer``), and the halls as threads
of this process. The events are a real hall's: a demo hall (``hall.demo``) serves a morning
(issue, call, recall, no-show, transfer, finish with dossier codes, ratings) and its log in
the hub's wire form (``hall.outbox.wire``) is the template every simulated hall repeats with
its own sequence numbers, ticket ids and times.

* ``raw INSERT``: 8 connections, multi-row ``INSERT … ON CONFLICT DO NOTHING`` of the same
  rows (converted as the hub converts them), one batch per transaction;
* ``raw COPY``: 8 connections, binary ``COPY`` into a temporary staging table, then
  ``INSERT … SELECT … ON CONFLICT DO NOTHING``, one batch per transaction (the issue's
  reference: the target is half of it);
* ``raw COPY straight``: 8 connections, binary ``COPY`` straight into ``events``, as the
  hub's store now writes a batch its locked position says is new (for comparison);
* ``HTTP``: 100 halls, each one thread posting its gzip batches (``services.hubpush.send``'s
  encoding, made before the clock starts) one after the other, all halls at once;
* ``lag``: 100 halls writing events at ``--pace`` events/s each (a Poisson process) and
  pushing what is pending every ``--interval`` seconds (``hubpush.send``, as the pusher does,
  resting ``interval`` after each push as ``device.worker.Poller`` does); lag = the hub's
  acknowledgement − the event's time at the hall, p50/p99;
* ``storage``: after ``VACUUM ANALYZE``, bytes of ``events`` (heap, TOAST and indexes of all
  partitions) per stored event, as stored, then after packing every day as if it were closed
  (``hub.packing``: one row per hall and day; the rate of packing too).

Targets (issue 15): HTTP ≥ half the raw COPY rate; lag p99 ≤ 5 s; ≤ 100 bytes per event.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import statistics
import tempfile
import threading
import time
import urllib.request
from datetime import date
from pathlib import Path
from types import SimpleNamespace

from settings import HubOptions

from . import percentile, table

TITLE = "hub ingest: 100 halls over HTTP vs raw PostgreSQL INSERT/COPY, lag, bytes per event"


# -- a real hall's events ------------------------------------------------------------------------

def template_events(tickets: int, seed: int = 15) -> list[list]:
    """A demo hall's ticket events in the hub's wire form, from a morning of ``tickets``."""
    from hall import Hall
    from hall.demo import seed as seed_demo
    from hall.errors import HallError

    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="goiso-bench-hub-") as folder:
        hall = Hall.open(Path(folder) / "hall.db")
        seed_demo(hall)
        with hall.store.read() as conn:
            procedures = [r[0] for r in conn.execute(
                "SELECT code FROM procedures WHERE active ORDER BY code")]
        popular = procedures[:12]
        counters = range(1, 7)
        for i in range(tickets):
            procedure = rng.choice(popular) if rng.random() < 0.8 else rng.choice(procedures)
            try:
                hall.issuing.issue(procedure, kiosk=rng.choice(("k1", "k2")))
            except HallError:
                continue
            if i % 3:
                continue
            for counter in counters:
                try:
                    hall.calling.call_next(counter, clerk=counter)
                except HallError:
                    continue
                roll = rng.random()
                try:
                    if roll < 0.05:
                        hall.calling.recall(counter, clerk=counter)
                        hall.calling.no_show(counter, clerk=counter)
                        continue
                    if roll < 0.1:
                        hall.calling.transfer(counter, queue="TKQ", clerk=counter)
                        continue
                    dossiers = [f"H{rng.randrange(10**6):06d}-{rng.randrange(10**4):04d}"
                                for _ in range(rng.choice((0, 0, 1, 1, 2)))]
                    hall.calling.finish(counter, clerk=counter, dossiers=dossiers)
                    if rng.random() < 0.3:
                        hall.ratings.rate(counter, rng.choice((3, 4, 4, 4)))
                except HallError:
                    continue
        _, events = hall.outbox.pending(10**7)
        hall.close()
    return [e for e in events if e[4] is not None]  # ticket events (not catalogue set-up)


class Halls:
    """Simulated halls repeating the template: hall ``h``'s events ``first..first+n-1``."""

    def __init__(self, template: list[list], day: str):
        self.template = template
        self.day = day
        self.tickets = max(e[4] for e in template)

    def events(self, first: int, count: int, at: float | None = None) -> list[list]:
        """``count`` events from sequence ``first``, written at ``at`` (else 0.2 s apart)."""
        out = []
        size = len(self.template)
        for seq in range(first, first + count):
            lap, index = divmod(seq - 1, size)
            e = self.template[index]
            out.append([seq, at if at is not None else 1.8e9 + seq * 0.2, self.day, e[3],
                        e[4] + lap * self.tickets, e[5], e[6], e[7], e[8], e[9], e[10]])
        return out


def wire_body(hall_id: int, after: int, events: list[list]) -> bytes:
    """The batch's bytes as ``services.hubpush.send`` makes them."""
    return gzip.compress(json.dumps({"hall": hall_id, "after": after, "events": events},
                                    ensure_ascii=False, separators=(",", ":")).encode())


def post(url: str, token: str, body: bytes) -> int:
    """POST a ready batch as the pusher does (one connection per request); the ack."""
    request = urllib.request.Request(  # noqa: S310 - our own hub, http://127.0.0.1
        url + "/api/v1/ingest", data=body, method="POST", headers={
        "Content-Type": "application/json", "Content-Encoding": "gzip",
        "Authorization": f"Bearer {token}", "User-Agent": "goiso-bench"})
    with urllib.request.urlopen(request, timeout=120) as reply:  # noqa: S310 - our own hub
        return int(json.loads(reply.read())["acked"])


# -- the phases ----------------------------------------------------------------------------------

def run_threads(count: int, work) -> float:
    """``work(i)`` in ``count`` threads started together; the wall seconds they took."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(count + 1)

    def body(i: int) -> None:
        barrier.wait()
        try:
            work(i)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    took = time.perf_counter() - started
    if errors:
        raise errors[0]
    return took


def raw_rows(dsn: str, halls: Halls, hall_id: int, count: int, batch: int) -> list[list]:
    """A raw writer's batches: the rows as the hub's ``store`` converts them."""
    import psycopg

    from hub import ingest

    with psycopg.connect(dsn, autocommit=True) as conn:
        checked = ingest.batch_of({"hall": hall_id, "after": 0,
                                   "events": halls.events(1, min(count, ingest.MAX_EVENTS))})
        rows = ingest._rows(conn, hall_id, checked.events)  # noqa: SLF001 - the hub's own conversion
    out, seq = [], 0
    while seq < count:
        chunk = []
        for _ in range(min(batch, count - seq)):
            seq += 1
            row = list(rows[(seq - 1) % len(rows)])
            row[0] = seq
            chunk.append(tuple(row))
        out.append(chunk)
    return out


def raw_phase(dsn: str, halls: Halls, how: str, writers: int, per_writer: int, batch: int,
              first_hall: int) -> tuple[int, float]:
    """Raw PostgreSQL on ``events``: (rows stored, seconds)."""
    import psycopg

    from hub import ingest

    columns = ", ".join(ingest.COLUMNS)
    work = [raw_rows(dsn, halls, first_hall + w, per_writer, batch) for w in range(writers)]
    conns = [psycopg.connect(dsn, autocommit=True) for _ in range(writers)]
    for conn in conns:
        conn.execute("CREATE TEMP TABLE staging (LIKE events) ON COMMIT DELETE ROWS")

    def write(w: int) -> None:
        conn = conns[w]
        for chunk in work[w]:
            with conn.transaction():
                if how == "insert":
                    conn.execute(f"INSERT INTO events ({columns}) VALUES "
                                 + ", ".join([ingest.ROW_VALUES] * len(chunk))
                                 + " ON CONFLICT DO NOTHING",
                                 [v for row in chunk for v in row])
                elif how == "copy":
                    ingest.copy_rows(conn, chunk, into="staging")
                    conn.execute(f"INSERT INTO events ({columns}) SELECT {columns}"
                                 " FROM staging ON CONFLICT DO NOTHING")
                else:
                    ingest.copy_rows(conn, chunk)  # as the hub writes them

    try:
        took = run_threads(writers, write)
    finally:
        for conn in conns:
            conn.close()
    return writers * per_writer, took


def http_phase(hub_url: str, halls: Halls, tokens: dict[int, str], per_hall: int,
               batch: int, start: int = 1) -> tuple[int, float, list[float]]:
    """Every hall posts ``per_hall`` events from ``start`` in batches one after the other, all
    halls at once: (events, seconds, seconds per request)."""
    ids = sorted(tokens)
    last = start + per_hall - 1
    bodies = {}
    for hall_id in ids:
        bodies[hall_id] = [wire_body(hall_id, first - 1, halls.events(first, min(batch,
                                     last - first + 1)))
                           for first in range(start, last + 1, batch)]
    latencies: list[float] = []

    def push(i: int) -> None:
        hall_id = ids[i]
        acked = 0
        for body in bodies[hall_id]:
            began = time.perf_counter()
            acked = post(hub_url, tokens[hall_id], body)
            latencies.append(time.perf_counter() - began)
        if acked != last:
            raise RuntimeError(f"hall {hall_id}: the hub acknowledged {acked} of {last}")

    took = run_threads(len(ids), push)
    return len(ids) * per_hall, took, latencies


def lag_phase(hub_url: str, halls: Halls, tokens: dict[int, str], seconds: float, pace: float,
              interval: float, first_seq: dict[int, int], batch: int) -> tuple[list[float], int]:
    """Halls writing at ``pace`` events/s and pushing every ``interval``: lags and requests."""
    from services.hubpush import send

    lags: list[float] = []
    requests = [0]
    ids = sorted(tokens)
    start = time.time() + 1.0
    end = start + seconds

    def hall(i: int) -> None:
        hall_id = ids[i]
        rng = random.Random(hall_id)
        options = SimpleNamespace(url=hub_url, hall_id=hall_id, token=tokens[hall_id],
                                  timeout_seconds=60)
        # When this hall writes its events (a Poisson process over the run).
        written, t = [], start + rng.expovariate(pace)
        while t < end:
            written.append(t)
            t += rng.expovariate(pace)
        seq = first_seq[hall_id]  # the hub has everything before it
        sent = 0
        # Halls were started at different moments: their pushes are spread over the interval.
        next_push = start + rng.uniform(0, interval)
        while sent < len(written):
            time.sleep(max(0.0, next_push - time.time()))
            now = time.time()
            due = [w for w in written[sent:sent + batch] if w <= now]
            if due:
                events = halls.events(seq + sent, len(due))
                for event, at in zip(events, due, strict=True):
                    event[1] = at
                acked, _catalogue = send(options, seq + sent - 1, events)
                stored = time.time()
                requests[0] += 1
                if acked != seq + sent + len(due) - 1:
                    raise RuntimeError(f"hall {hall_id}: acked {acked}")
                lags.extend(stored - w for w in due)
                sent += len(due)
            next_push = time.time() + interval
            if now > end + 60:
                raise RuntimeError(f"hall {hall_id} could not send its events in time")

    run_threads(len(ids), hall)
    return lags, requests[0]


def cpu_seconds(pid: int) -> float:
    """CPU seconds a process and its descendants have used so far, those that exited
    included (their parent collected their times)."""
    import psutil

    root = psutil.Process(pid)
    used = root.cpu_times()
    total = used.user + used.system + used.children_user + used.children_system
    for child in root.children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


class CpuMeter:
    """CPU the hub (``goiso hub serve`` and its workers) and PostgreSQL (the postmaster and
    its backends) used between two readings (the benchmark's own process not counted)."""

    def __init__(self, hub_pid: int, postmaster_pid: int):
        self.pids = (hub_pid, postmaster_pid)
        self.last = self._now()

    def _now(self) -> tuple[float, float]:
        return tuple(cpu_seconds(pid) for pid in self.pids)

    def lap(self) -> tuple[float, float]:
        """(hub, PostgreSQL) CPU seconds since the last lap."""
        now = self._now()
        used = (now[0] - self.last[0], now[1] - self.last[1])
        self.last = now
        return used


def counted_after(dsn: str, timeout: float = 600) -> tuple[float, float]:
    """Seconds until the hub's facts job has counted every noted ticket, and until it has
    rebuilt every changed day's rollups (at most every ``REBUILD_EVERY_SECONDS`` a day)."""
    import psycopg

    started = time.perf_counter()
    facts = None
    with psycopg.connect(dsn, autocommit=True) as conn:
        while True:
            dirty, due = conn.execute(
                "SELECT EXISTS (SELECT 1 FROM hub_dirty),"
                " EXISTS (SELECT 1 FROM hub_rollups_due WHERE changed)").fetchone()
            if not dirty and facts is None:
                facts = time.perf_counter() - started
            if not dirty and not due:
                return facts, time.perf_counter() - started
            if time.perf_counter() - started > timeout:
                raise RuntimeError("the hub's facts job did not catch up")
            time.sleep(0.05)


def storage(dsn: str) -> dict:
    """Bytes of ``events`` (every partition) and ``events_packed`` per stored event, after
    VACUUM: heap, TOAST and indexes of each."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE events")
        conn.execute("VACUUM ANALYZE events_packed")
        sizes = {}
        for table_name, relations in (
                ("events", "SELECT relid FROM pg_partition_tree('events') WHERE isleaf"),
                ("events_packed", "SELECT 'events_packed'::regclass")):
            sizes[table_name] = conn.execute(
                "SELECT sum(pg_relation_size(r)), sum(pg_table_size(r) - pg_relation_size(r)),"
                f" sum(pg_indexes_size(r)) FROM ({relations}) AS t(r)").fetchone()
        rows, packed = conn.execute(
            "SELECT (SELECT count(*) FROM events),"
            " (SELECT coalesce(sum(events_count), 0) FROM events_packed)").fetchone()
        data = conn.execute("SELECT avg(coalesce(pg_column_size(data), 0)),"
                            " avg(pg_column_size(e.*)) FROM events e").fetchone()
    heap, toast, indexes = (sum(int(sizes[t][i] or 0) for t in sizes) for i in range(3))
    return {"rows": rows, "packed": packed, "events": rows + packed, "heap": heap,
            "toast": toast, "indexes": indexes, "data_avg": float(data[0] or 0),
            "row_avg": float(data[1] or 0)}


def print_storage(size: dict, what: str) -> None:
    """One line of bytes per event."""
    n = size["events"]
    total = size["heap"] + size["toast"] + size["indexes"]
    print(f"storage {what}: {n:,} events ({size['packed']:,} packed), heap"
          f" {size['heap'] / n:.1f} + TOAST {size['toast'] / n:.1f} + indexes"
          f" {size['indexes'] / n:.1f} = {total / n:.1f} bytes per event (target ≤ 100)",
          flush=True)


def packing_phase(dsn: str, template: list[list]) -> tuple[int, float, float]:
    """Every stored day packed as if 40 days had passed (``hub.packing``: the emptied month
    truncated too): (events moved, seconds, packed bytes per event of one real morning)."""
    import psycopg

    from hub.halls import add_hall
    from hub.ingest import store
    from hub.packing import pack_closed

    with psycopg.connect(dsn, autocommit=True) as conn:
        # The simulated halls repeat one morning (with times 0.2 s apart): compression finds
        # the repeats. One morning with its own times, alone on its day, says what a real
        # day packs to.
        hall_id = add_hall(conn, "Xã một buổi sáng")[0]
        store(conn, hall_id, {"hall": hall_id, "after": 0, "events": [
            [seq, *e[1:]] for seq, e in enumerate(template, 1)]})
        moved = 0
        started = time.perf_counter()
        while done := pack_closed(conn, keep_days=-40):
            moved += done
        took = time.perf_counter() - started
        alone = conn.execute("SELECT sum(length(payload))::float / sum(events_count)"
                             " FROM events_packed WHERE hall_id = %s", (hall_id,)).fetchone()[0]
    return moved, took, alone


# -- the run -------------------------------------------------------------------------------------

def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench hub_ingest", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--halls", type=int, default=100)
    parser.add_argument("--per-hall", type=int, default=4000,
                        help="events each hall pushes in the HTTP phase (default 4000)")
    parser.add_argument("--batch", type=int, default=2000, help="events in one batch")
    parser.add_argument("--writers", type=int, default=8, help="raw PostgreSQL connections")
    parser.add_argument("--no-insert", action="store_true",
                        help="skip the raw multi-row INSERT (the slowest phase)")
    parser.add_argument("--workers", type=int, default=4, help="goiso hub serve --workers")
    parser.add_argument("--threads", type=int, default=8, help="goiso hub serve --threads")
    parser.add_argument("--lag-seconds", type=float, default=60.0,
                        help="length of the lag phase (0: skip it)")
    parser.add_argument("--pace", type=float, default=0.5,
                        help="events per second each hall writes in the lag phase")
    parser.add_argument("--interval", type=float, default=HubOptions().interval_seconds,
                        help="seconds between a hall's pushes (default: [hub]"
                             " interval_seconds' default)")
    args = parser.parse_args(argv)

    import psycopg

    from hub.cluster import LocalCluster
    from hub.halls import add_hall
    from hub.schema import ensure_month, migrate
    from tests.hubserver import HubServer

    started = time.perf_counter()
    template = template_events(600)
    today = date.today()
    halls = Halls(template, today.isoformat())
    print(f"template: {len(template):,} events of a demo hall's morning"
          f" ({len(template) / halls.tickets:.1f} per ticket), built in"
          f" {time.perf_counter() - started:.1f} s", flush=True)
    folder = Path(tempfile.mkdtemp(prefix="goiso-bench-pg-"))
    cluster = LocalCluster(folder).start()
    try:
        dsn = cluster.create_database("hub_bench")
        with psycopg.connect(dsn, autocommit=True) as conn:
            migrate(conn)
            with conn.transaction():
                ensure_month(conn, today.replace(day=1))
            tokens = dict(add_hall(conn, f"Xã {i:03d}") for i in range(1, args.halls + 1))
        per_writer = args.halls * args.per_hall // args.writers
        rows = []
        if not args.no_insert:
            n, took = raw_phase(dsn, halls, "insert", args.writers, per_writer, args.batch,
                                100_001)
            rows.append(["raw INSERT … ON CONFLICT", f"{args.writers} conns", n, took,
                         n / took, "-", "-"])
            print(table(["how", "writers", "events", "s", "events/s", "p50 ms", "p99 ms"],
                        rows[-1:]), flush=True)
        n, took = raw_phase(dsn, halls, "copy", args.writers, per_writer, args.batch, 200_001)
        copy_rate = n / took
        rows.append(["raw COPY → staging → INSERT", f"{args.writers} conns", n, took,
                     copy_rate, "-", "-"])
        print(table(["how", "writers", "events", "s", "events/s", "p50 ms", "p99 ms"],
                    rows[-1:]), flush=True)
        n, took = raw_phase(dsn, halls, "straight", args.writers, per_writer, args.batch,
                            250_001)
        straight_rate = n / took
        rows.append(["raw COPY straight into events", f"{args.writers} conns", n, took,
                     straight_rate, "-", "-"])
        print(table(["how", "writers", "events", "s", "events/s", "p50 ms", "p99 ms"],
                    rows[-1:]), flush=True)
        n, took = raw_phase(dsn, halls, "copy", args.writers, 2000, 5, 300_001)
        raw_commits = n / 5 / took
        print(f"raw small transactions (COPY of 5 events, {args.writers} conns):"
              f" {raw_commits:,.0f} commits/s", flush=True)
        hub = HubServer(dsn, workers=args.workers, threads=args.threads)
        postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
        with hub:
            cpu = CpuMeter(hub.process.pid, postmaster)
            n, took, latencies = http_phase(hub.base_url, halls, tokens, args.per_hall,
                                            args.batch)
            storing = cpu.lap()
            http_rate = n / took
            rows.append([f"HTTP ingest ({args.workers}×{args.threads})",
                         f"{args.halls} halls", n, took, http_rate,
                         percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000])
            print()
            print(table(["how", "writers", "events", "s", "events/s", "p50 ms", "p99 ms"],
                        rows))
            print(f"HTTP / raw COPY = {http_rate / copy_rate:.2f} (target ≥ 0.5);"
                  f" HTTP / raw COPY straight = {http_rate / straight_rate:.2f};"
                  f" batches of {args.batch}: {len(latencies) / took:,.0f} commits/s",
                  flush=True)
            behind, rebuilt = counted_after(dsn)
            counting = cpu.lap()
            print(f"the facts of those events counted {behind:.1f} s after the last batch"
                  f" (the hub's facts job): {n / (took + behind):,.0f} events/s stored and"
                  f" counted; their days' rollups rebuilt {rebuilt:.1f} s after", flush=True)
            print(f"CPU an event: storing {storing[0] / n * 1e6:.1f} µs in the hub +"
                  f" {storing[1] / n * 1e6:.1f} in PostgreSQL; counting after"
                  f" {counting[0] / n * 1e6:.1f} + {counting[1] / n * 1e6:.1f}", flush=True)
            # Small batches: what limits a hall pushing often is a commit per request.
            small = 5
            n, took, latencies = http_phase(hub.base_url, halls, tokens, small * 20, small,
                                            start=args.per_hall + 1)
            print(f"\nsmall batches ({small} events): {len(latencies):,} requests in"
                  f" {took:.1f} s = {len(latencies) / took:,.0f} pushes (commits)/s;"
                  f" p50 {percentile(latencies, 50) * 1000:.0f} ms,"
                  f" p99 {percentile(latencies, 99) * 1000:.0f} ms; raw PostgreSQL"
                  f" {raw_commits:,.0f} commits/s; counted {counted_after(dsn)[0]:.1f} s after",
                  flush=True)
            done = args.per_hall + small * 20
            if args.lag_seconds > 0:
                first = {h: done + 1 for h in tokens}
                counted_after(dsn)  # the small batches' rollups too: the lag phase alone
                cpu.lap()
                lags, requests = lag_phase(hub.base_url, halls, tokens, args.lag_seconds,
                                           args.pace, args.interval, first, args.batch)
                counted_after(dsn)  # the last pushes' counting is theirs
                pushing = cpu.lap()
                print(f"\nlag: {args.halls} halls × {args.pace} events/s, a push every"
                      f" {args.interval} s, {args.lag_seconds:.0f} s: {len(lags):,} events in"
                      f" {requests:,} requests ({requests / args.lag_seconds:.1f}/s)")
                print(f"  p50 {percentile(lags, 50):.2f} s  p99 {percentile(lags, 99):.2f} s"
                      f"  max {max(lags):.2f} s  mean {statistics.fmean(lags):.2f} s"
                      " (target p99 ≤ 5 s)")
                print(f"  CPU a push, stored and counted: {pushing[0] / requests * 1000:.1f} ms"
                      f" in the hub + {pushing[1] / requests * 1000:.1f} in PostgreSQL"
                      f" ({(pushing[0] + pushing[1]) / args.lag_seconds * 100:.0f} % of a"
                      " core)", flush=True)
        size = storage(dsn)
        print()
        print_storage(size, "as stored (a row per event)")
        print(f"  a row {size['row_avg']:.1f} bytes of which data {size['data_avg']:.1f}")
        moved, took, alone = packing_phase(dsn, template)
        print(f"packing every day as closed (as if 40 days later; + one real morning of"
              f" {len(template):,} events): {moved:,} events in {took:.1f} s ="
              f" {moved / took:,.0f} events/s; that morning alone packs to {alone:.1f} bytes"
              " an event", flush=True)
        print_storage(storage(dsn), "packed (a row per hall and day)")
    finally:
        cluster.stop("immediate")
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
    return 0

"""The server's footprint: start to first answer, and memory idle and with open streams.

Against a real ``goiso serve`` subprocess on a fresh demo hall, for each process model
(``single``: one process with gevent's WSGI server, the default; ``gunicorn``: its arbiter + one
gevent worker), ``--starts`` (5) times:

* start to first answer: from starting the command to the first 200 of ``GET /api/v1/hall``
  (the median of the starts; the demo hall is seeded before the first start, not timed);
* PSS (proportional set size, /proc/<pid>/smaps_rollup) of the whole process tree, idle after
  one ticket, and with ``--streams`` (200) event streams open (held by one thread of this
  process, as the boards and phones would hold them).
"""

from __future__ import annotations

import argparse
import statistics
import time

from tests.liveserver import LiveServer
from tests.sseclient import Streams

from . import table

TITLE = "Footprint: start to first answer, PSS idle and with 200 streams, per process model"

START_TARGET_S = 1.0
IDLE_TARGET_MB = 60.0
STREAMS_TARGET_MB = 80.0
MB = 1024 * 1024


def measure(model: str, starts: int, streams: int) -> dict:
    """Start times, idle PSS and PSS with ``streams`` open, for one process model."""
    config = f'[server]\nprocess_model = "{model}"\n'
    seconds, idle, busy = [], [], []
    server = LiveServer(config_text=config, quick_streams=False)
    try:
        server.start()  # seeds the demo hall once; later starts find it
        server.stop()
        for _ in range(starts):
            began = time.perf_counter()
            server.start()
            seconds.append(time.perf_counter() - began)
            server.issue()
            idle.append(server.pss() / MB)
            with Streams(server.port) as open_streams:
                open_streams.open(streams)
                busy.append(server.pss() / MB)
            server.stop()
    finally:
        server.close()
    return {"start": statistics.median(seconds), "idle": statistics.median(idle),
            "streams": statistics.median(busy)}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench footprint", description=__doc__)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--models", default="single,gunicorn",
                        help="comma-separated process models to measure")
    args = parser.parse_args(argv)
    rows = []
    for model in args.models.split(","):
        found = measure(model, args.starts, args.streams)
        rows.append([model, round(found["start"], 2), round(found["idle"], 1),
                     round(found["streams"], 1)])
    print(table(["process model", "start to answer s", "PSS idle MB",
                 f"PSS {args.streams} streams MB"], rows))
    print(f"targets: start ≤ {START_TARGET_S} s, PSS idle ≤ {IDLE_TARGET_MB} MB, "
          f"with 200 streams ≤ {STREAMS_TARGET_MB} MB")
    return 0

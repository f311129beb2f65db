"""Replies go out compressed when the browser accepts it.

Static files are sent from the gzip and brotli copies ``scripts/setup`` makes of them
(``python -m web.compression``), by WhiteNoise, which picks the copy the request accepts and
answers conditional requests.  Pages, htmx fragments and JSON are compressed as they leave the
app, by Flask-Compress.  Streams (the event feed) and audio are sent as they are.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

from flask import Flask
from flask_compress import Compress
from whitenoise import WhiteNoise
from whitenoise.compress import Compressor

STATIC = Path(__file__).resolve().parents[1] / "static"
# What is worth compressing among the static files; images and audio already are compressed.
COMPRESSIBLE = (".css", ".js", ".svg", ".json")
COPIES = (".br", ".gz")
# whitenoise.compress gives a copy its file's modification time, rounded to a float on the way.
SAME_TIME_NS = 1_000_000
# Replies smaller than this go as they are: a few hundred bytes gain little and cost a
# compressor's start (Flask-Compress's own default).
MIN_SIZE = 500
# Headers that describe one reply's body, not every reply of the app.
BODY_HEADERS = {"content-type", "content-length", "vary", "set-cookie"}


def init_app(app: Flask) -> None:
    """Compress the app's replies: static files from their copies, the rest on the way out."""
    every_reply = headers_of_every_reply(app)
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_MIN_SIZE", MIN_SIZE)
    # A compressor holds bytes back until it has enough; the event stream must reach the
    # screens event by event, so no streamed reply is compressed.
    app.config.setdefault("COMPRESS_STREAMS", False)
    Compress(app)

    def add_headers(headers, path: str, url: str) -> None:
        for name, value in every_reply.items():
            headers.setdefault(name, value)
        # Unversioned names: the browser asks again each time (a 304 when unchanged), so a
        # kiosk picks up new JS right after an upgrade.
        headers["Cache-Control"] = "no-cache"

    app.wsgi_app = FreshStaticFiles(
        app.wsgi_app, root=app.static_folder, prefix=app.static_url_path, max_age=None,
        allow_all_origins=False, add_headers_function=add_headers)


def headers_of_every_reply(app: Flask) -> dict[str, str]:
    """The headers the app's after-request hooks give any reply (nosniff, CSP, ...)."""
    # WhiteNoise answers before Flask, so static files miss those hooks and get these instead,
    # read from the hooks themselves rather than copied: init_app comes after the hooks.
    with app.test_request_context(app.static_url_path + "/"):
        reply = app.process_response(app.response_class())
    return {name: value for name, value in reply.headers.items()
            if name.lower() not in BODY_HEADERS}


class FreshStaticFiles(WhiteNoise):
    """WhiteNoise that ignores a compressed copy older or newer than its file: the file was
    edited after ``scripts/setup``, and the copy would serve the old text."""

    def get_static_file(self, path, url, stat_cache=None):
        """WhiteNoise's entry for one file, from a scan without the stale copies."""
        if stat_cache is not None:
            stat_cache = FreshStats(stat_cache)
        return super().get_static_file(path, url, stat_cache=stat_cache)


class FreshStats(Mapping):
    """WhiteNoise's scan of the static folder without the stale compressed copies."""

    def __init__(self, stats: Mapping):
        self.stats = stats

    def __getitem__(self, path: str):
        stat = self.stats[path]
        if path.endswith(COPIES):
            source = self.stats.get(path[:-3])
            if source is not None and not made_from(stat, source):
                raise KeyError(path)
        return stat

    def __iter__(self) -> Iterator[str]:
        return iter(self.stats)

    def __len__(self) -> int:
        return len(self.stats)


def made_from(copy: os.stat_result, source: os.stat_result) -> bool:
    """Whether a copy with these stats was made from the file as its stats are now."""
    return abs(copy.st_mtime_ns - source.st_mtime_ns) <= SAME_TIME_NS


def is_fresh(copy: Path, source: Path) -> bool:
    """Whether ``copy`` was made from ``source`` as it is now."""
    return made_from(copy.stat(), source.stat())


def precompress(root: Path = STATIC) -> list[Path]:
    """Copy the files under ``root`` lacking fresh copies into .br and .gz; return them."""
    compressor = Compressor(quiet=True)
    done = []
    # A copy whose file is gone would be served under its own name.
    for copy in [p for suffix in COPIES for p in root.rglob(f"*{suffix}")]:
        if not copy.with_suffix("").is_file():
            copy.unlink()
    for source in sorted(p for p in root.rglob("*") if p.suffix in COMPRESSIBLE and p.is_file()):
        copies = [source.with_name(source.name + suffix) for suffix in COPIES]
        existing = [c for c in copies if c.exists()]
        if existing and all(is_fresh(c, source) for c in existing):
            continue
        for copy in existing:
            # whitenoise writes no copy that would save too little: an old one must not stay.
            copy.unlink()
        compressor.compress(str(source))
        done.append(source)
    return done


def main(argv: list[str]) -> int:
    """``python -m web.compression [FOLDER]``: precompress the static files (for scripts/setup)."""
    root = Path(argv[0]) if argv else STATIC
    if not root.is_dir():
        print(f"web.compression: no folder {root}", file=sys.stderr)
        return 2
    for source in precompress(root):
        print(f"compressed {source.relative_to(root)} (gzip, brotli)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Compressed replies: static files from their gzip/brotli copies, pages and JSON on the way out,
streams and audio as they are (issue 10, defect 5)."""

import gzip
import json
import os
import re
import time
from pathlib import Path

import brotli
import pytest
from flask import Flask

from web import compression
from web.compression import MIN_SIZE, STATIC, precompress

ACCEPT_ALL = "gzip, deflate, br, zstd"  # what Chromium sends
SECURITY_HEADERS = ("X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy",
                    "Content-Security-Policy")
DECODE = {"br": brotli.decompress, "gzip": gzip.decompress}
STATIC_FILES = sorted(p.relative_to(STATIC).as_posix() for p in STATIC.rglob("*")
                      if p.suffix in compression.COMPRESSIBLE)


def body_of(response) -> bytes:
    """The body as sent, decoded by its Content-Encoding."""
    encoding = response.headers.get("Content-Encoding")
    data = b"".join(response.response) if response.is_streamed else response.data
    return DECODE[encoding](data) if encoding else data


def varies_on_encoding(response) -> bool:
    return "accept-encoding" in response.headers.get("Vary", "").lower()


# -- static files --------------------------------------------------------------------------------

def test_the_static_files_to_compress_are_found():
    assert {"css/kiosk.css", "js/board.js", "vendor/htmx.min.js", "favicon.svg"} <= set(
        STATIC_FILES)


@pytest.mark.parametrize("name", STATIC_FILES)
@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_static_file_sent_in_the_encoding_accepted(client, name, encoding):
    copy = STATIC / f"{name}.{'br' if encoding == 'br' else 'gz'}"
    assert copy.is_file(), f"{copy} is missing: run scripts/setup"
    accept = "gzip, br" if encoding == "br" else "gzip"
    response = client.get(f"/static/{name}", headers={"Accept-Encoding": accept})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == encoding
    assert varies_on_encoding(response)
    assert int(response.headers["Content-Length"]) == len(response.data) < (STATIC / name).stat(
    ).st_size
    assert DECODE[encoding](response.data) == (STATIC / name).read_bytes()


@pytest.mark.parametrize("headers", [{}, {"Accept-Encoding": "identity"}],
                         ids=["no Accept-Encoding", "identity"])
def test_static_file_sent_as_is_when_no_encoding_is_accepted(client, headers):
    response = client.get("/static/vendor/htmx.min.js", headers=headers)
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert varies_on_encoding(response)
    assert response.data == (STATIC / "vendor/htmx.min.js").read_bytes()


@pytest.mark.parametrize("accept", [ACCEPT_ALL, "identity"])
def test_static_file_answers_conditional_requests(client, accept):
    first = client.get("/static/js/kiosk.js", headers={"Accept-Encoding": accept})
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    again = client.get("/static/js/kiosk.js",
                       headers={"Accept-Encoding": accept, "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag and varies_on_encoding(again)
    since = client.get("/static/js/kiosk.js",
                       headers={"Accept-Encoding": accept, "If-Modified-Since": modified})
    assert since.status_code == 304
    changed = client.get("/static/js/kiosk.js",
                         headers={"Accept-Encoding": accept, "If-None-Match": '"other"'})
    assert changed.status_code == 200 and body_of(changed) == (
        STATIC / "js/kiosk.js").read_bytes()


def test_static_files_carry_the_headers_of_every_reply(client):
    page = client.get("/")
    for name in ("vendor/htmx.min.js", "favicon.svg"):
        response = client.get(f"/static/{name}", headers={"Accept-Encoding": ACCEPT_ALL})
        for header in SECURITY_HEADERS:
            assert response.headers.get(header) == page.headers[header], (name, header)
        # Asked again each time (a 304 while unchanged): a kiosk gets new JS after an upgrade.
        assert response.headers["Cache-Control"] == "no-cache"
        assert "Access-Control-Allow-Origin" not in response.headers


def make_static_app(tmp_path: Path) -> Flask:
    """A bare app whose static folder is ``tmp_path``, with compression on."""
    app = Flask("static_only", static_folder=str(tmp_path), static_url_path="/static")
    compression.init_app(app)
    return app


def test_a_missing_or_stale_copy_falls_back(tmp_path):
    text = b"body { color: #123456; }\n" * 100
    for name in ("only-gzip.css", "no-copy.js", "edited.js"):
        (tmp_path / name).write_bytes(text)
    precompress(tmp_path)
    (tmp_path / "only-gzip.css.br").unlink()
    (tmp_path / "no-copy.js.br").unlink()
    (tmp_path / "no-copy.js.gz").unlink()
    edited = tmp_path / "edited.js"
    edited.write_bytes(text + b"/* edited after setup */\n")
    os.utime(edited, (time.time() + 5, time.time() + 5))
    client = make_static_app(tmp_path).test_client()

    gzipped = client.get("/static/only-gzip.css", headers={"Accept-Encoding": "br, gzip"})
    assert gzipped.headers["Content-Encoding"] == "gzip" and body_of(gzipped) == text
    plain = client.get("/static/no-copy.js", headers={"Accept-Encoding": "br, gzip"})
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    assert body_of(plain) == text
    # The copies of edited.js hold the old text: they are not sent.
    changed = client.get("/static/edited.js", headers={"Accept-Encoding": "br, gzip"})
    assert "Content-Encoding" not in changed.headers
    assert body_of(changed) == edited.read_bytes()


def test_precompress_writes_fresh_copies_once_and_redoes_edited_files(tmp_path):
    (tmp_path / "css").mkdir()
    text = b".ticket { font-size: 3rem; }\n" * 200
    (tmp_path / "css" / "a.css").write_bytes(text)
    (tmp_path / "b.js").write_bytes(text)
    (tmp_path / "picture.png").write_bytes(b"\x89PNG" + bytes(2000))
    (tmp_path / "gone.js.br").write_bytes(b"left over")

    assert precompress(tmp_path) == [tmp_path / "b.js", tmp_path / "css" / "a.css"]
    for name in ("b.js", "css/a.css"):
        assert brotli.decompress((tmp_path / f"{name}.br").read_bytes()) == text
        assert gzip.decompress((tmp_path / f"{name}.gz").read_bytes()) == text
        assert compression.is_fresh(tmp_path / f"{name}.br", tmp_path / name)
    assert not (tmp_path / "picture.png.br").exists()  # already compressed
    assert not (tmp_path / "gone.js.br").exists()  # its file is gone

    assert precompress(tmp_path) == []  # nothing changed: nothing done
    (tmp_path / "b.js").write_bytes(text + b"// v2\n")
    os.utime(tmp_path / "b.js", (time.time() + 5, time.time() + 5))
    assert precompress(tmp_path) == [tmp_path / "b.js"]
    assert brotli.decompress((tmp_path / "b.js.br").read_bytes()).endswith(b"// v2\n")


# -- pages, fragments, JSON ------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_pages_are_compressed_when_accepted(client, encoding):
    plain = client.get("/kiosk/k1", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers and varies_on_encoding(plain)
    assert len(plain.data) > MIN_SIZE
    packed = client.get("/kiosk/k1", headers={"Accept-Encoding": encoding})
    assert packed.status_code == 200 and packed.mimetype == "text/html"
    assert packed.headers["Content-Encoding"] == encoding and varies_on_encoding(packed)
    assert int(packed.headers["Content-Length"]) == len(packed.data) < len(plain.data) / 2
    assert masked(body_of(packed)) == masked(plain.data)


def masked(page: bytes) -> bytes:
    """A kiosk page without its fresh idempotency keys (one per tap target and request) and
    the server's time its clock starts from."""
    page = re.sub(rb'data-now="\d+"', b'data-now=""', page.replace(b"&#34;", b'"'))
    # the CSRF token is signed with the second it was made: two requests may differ
    page = re.sub(rb'(csrf-token" content="|"X-CSRFToken": ")[^"]+', rb'\1', page)
    return re.sub(rb'"key": "[^"]+"', b'"key": ""', page)


def test_htmx_fragments_are_compressed(client):
    # As htmx asks for it (opened on its own, the address gives the whole board).
    plain = client.get("/display/main/live",
                       headers={"Accept-Encoding": "identity", "HX-Request": "true"})
    packed = client.get("/display/main/live",
                        headers={"Accept-Encoding": ACCEPT_ALL, "HX-Request": "true"})
    assert packed.headers["Content-Encoding"] == "br"
    assert body_of(packed) == plain.data and len(packed.data) < len(plain.data)


def test_json_is_compressed_when_accepted(client):
    plain = client.get("/api/v1/procedures", headers={"Accept-Encoding": "identity"})
    assert len(plain.data) > MIN_SIZE
    packed = client.get("/api/v1/procedures", headers={"Accept-Encoding": "gzip"})
    assert packed.mimetype == "application/json"
    assert packed.headers["Content-Encoding"] == "gzip"
    assert json.loads(body_of(packed)) == plain.get_json()


def test_small_replies_are_sent_as_they_are(client):
    small = client.get("/api/v1/session", headers={"Accept-Encoding": ACCEPT_ALL})
    assert small.status_code == 200 and len(small.data) < MIN_SIZE
    assert "Content-Encoding" not in small.headers and varies_on_encoding(small)
    assert small.get_json()["csrf_token"]


def test_the_minimum_size_applies_to_pages(app):
    app.config["COMPRESS_MIN_SIZE"] = 1_000_000
    client = app.test_client()
    page = client.get("/kiosk/k1", headers={"Accept-Encoding": ACCEPT_ALL})
    assert page.status_code == 200 and "Content-Encoding" not in page.headers


def test_call_audio_is_sent_as_it_is(client):
    response = client.get("/display/audio/chime.wav", headers={"Accept-Encoding": ACCEPT_ALL})
    assert response.status_code == 200 and response.mimetype == "audio/wav"
    assert "Content-Encoding" not in response.headers
    assert body_of(response)[:4] == b"RIFF"


# -- the event stream under goiso serve ----------------------------------------------------------

@pytest.mark.slow
def test_the_event_stream_is_not_compressed_and_streams_each_event(live_server):
    import requests

    stream = requests.get(live_server.url("/api/v1/events"), stream=True, timeout=(5, 5),
                          headers={"Accept-Encoding": ACCEPT_ALL})
    try:
        assert stream.status_code == 200
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        assert "Content-Encoding" not in stream.headers
        lines = stream.iter_lines(chunk_size=None, decode_unicode=True)
        assert "event: state" in until(lines, "event: state")
        ticket = requests.post(live_server.url("/api/v1/tickets"), timeout=5,
                               json={"procedure": "DEMO-GT-001"})
        assert ticket.status_code == 201
        sent = time.monotonic()
        seen = until(lines, f'"ticket": {ticket.json()["id"]},', deadline=sent + 2)
        assert any(line == "event: issued" for line in seen)
        # Right after the action: no compressor or buffer holds the event back.
        assert time.monotonic() - sent < 2
    finally:
        stream.close()


def until(lines, text: str, deadline: float | None = None) -> list[str]:
    """Read stream lines up to the one containing ``text``; fail past ``deadline``."""
    deadline = deadline or time.monotonic() + 5
    seen = []
    for line in lines:
        seen.append(line)
        if text in line:
            return seen
        assert time.monotonic() < deadline, f"{text!r} not in the stream in time: {seen}"
    pytest.fail(f"the stream ended before {text!r}: {seen}")

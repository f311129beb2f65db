"""The hall boards (/display/…), the audio they play, `goiso announce` and [board]/[voice]."""

from __future__ import annotations

import os
import re
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

import commands
from display import calls
from display.config import BoardOptions, VoiceOptions
from display.voice import Speech, check_wav, duration
from tests.settings_files import load, problems

CALL_1023_AT_3 = "Mời công dân có số thứ tự một nghìn không trăm hai mươi ba đến quầy số ba"
NOBODY_CALLED = "Chưa có số nào được gọi hôm nay"
NOTICE = "Từ ngày 01/12 sảnh làm việc cả sáng thứ Bảy"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


# -- reading pages ------------------------------------------------------------------------------

class Element:
    """One HTML element: its tag, attributes, children and the text inside it."""

    def __init__(self, tag: str, attrs: dict[str, str]):
        self.tag, self.attrs, self.children, self.parts = tag, attrs, [], []

    @property
    def text(self) -> str:
        """All the text inside, whitespace collapsed."""
        return " ".join("".join(self.parts).split())

    def all(self, tag: str | None = None, cls: str | None = None, **attrs) -> list[Element]:
        """Every element inside with this tag, class and attributes (data_x means data-x)."""
        wanted = {k.replace("_", "-"): v for k, v in attrs.items()}
        found = []
        for child in self.children:
            if (tag is None or child.tag == tag) \
                    and (cls is None or cls in child.attrs.get("class", "").split()) \
                    and all(child.attrs.get(k) == v for k, v in wanted.items()):
                found.append(child)
            found += child.all(tag, cls, **attrs)
        return found

    def one(self, tag: str | None = None, cls: str | None = None, **attrs) -> Element:
        """The only element inside that matches."""
        found = self.all(tag, cls, **attrs)
        assert len(found) == 1, (tag, cls, attrs, len(found))
        return found[0]


class _Tree(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.open = [self.root]

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.open[-1].children.append(element)
        if tag not in VOID:
            self.open.append(element)

    def handle_startendtag(self, tag, attrs):
        self.open[-1].children.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag):
        for i in range(len(self.open) - 1, 0, -1):
            if self.open[i].tag == tag:
                del self.open[i:]
                return

    def handle_data(self, data):
        for element in self.open:
            element.parts.append(data)


def page(html: str) -> Element:
    """The document of ``html``."""
    tree = _Tree()
    tree.feed(html)
    tree.close()
    return tree.root


def local_links(html: str) -> list[str]:
    """Every address the page loads or links to; fails on any that leaves the server."""
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    links = re.findall(r'\s(?:src|href|action|hx-get|hx-post|sse-connect)=["\']([^"\']*)', html)
    for link in links:
        assert link.startswith(("/", "?")) and not link.startswith("//"), link
    return links


def live(client, board: str = "main") -> Element:
    """The changing part of a board, as htmx fetches it."""
    response = client.get(f"/display/{board}/live", headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "<html" not in response.text
    return page(response.text)


def counters_of(fragment: Element) -> dict[int, str]:
    """What each counter of the board shows: {counter: number, "—" or "Tạm nghỉ"}."""
    return {int(li.attrs["data-counter"]): li.one("span", "counter-number").text
            for li in fragment.one("ul", "counter-list").all("li")}


def waiting_of(fragment: Element) -> dict[str, int]:
    """How many wait in each queue the board shows."""
    return {li.attrs["data-queue"]: int(li.one("strong").text)
            for li in fragment.one("ul", "queue-list").all("li")}


def last_event(app) -> int:
    return app.extensions["goiso"].hall.screens.snapshot()["last_event_id"]


def folder_files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


# -- fixtures -----------------------------------------------------------------------------------

@pytest.fixture
def hall(app):
    """The demo hall behind the app (boards "main" and "gplx", counters 1–6)."""
    return app.extensions["goiso"].hall


@pytest.fixture
def audio_dir(app) -> Path:
    """Where the app keeps the audio it made."""
    return Path(app.extensions["goiso"].settings.data_dir) / "audio"


@pytest.fixture
def runner(monkeypatch) -> CliRunner:
    """A click runner for `goiso` with no GOISO_* setting leaking in."""
    for key in list(os.environ):
        if key.startswith("GOISO_"):
            monkeypatch.delenv(key)
    return CliRunner()


# -- choosing a board, the page -----------------------------------------------------------------

def test_two_boards_are_offered_to_choose(client):
    response = client.get("/display/")
    assert response.status_code == 200
    assert "Chọn màn hình" in response.text
    choices = {a.attrs["href"]: a.text for a in page(response.text).all("a", "button")}
    assert choices == {"/display/main": "Màn hình sảnh chính (main)",
                       "/display/gplx": "Màn hình khu giấy phép lái xe (gplx)"}
    local_links(response.text)


def test_the_only_board_opens_at_once(hall, client):
    with hall.store.write() as conn:
        conn.execute("DELETE FROM boards WHERE id = 'gplx'")
    response = client.get("/display/")
    assert response.status_code == 302 and response.headers["Location"] == "/display/main"


def test_board_page_is_standalone_and_loads_only_local_files(app, client):
    response = client.get("/display/main")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.text
    doc = page(html)
    assert not doc.all("nav") and "/staff" not in html and "?lang=" not in html
    hall_name = app.extensions["goiso"].settings.hall_name
    assert doc.one("title").text == f"Màn hình sảnh chính · {hall_name}"
    assert doc.one("div", "hall-name").text == hall_name
    scripts = [s.attrs["src"] for s in doc.all("script")]
    assert scripts == ["/static/vendor/htmx.min.js", "/static/vendor/sse.min.js",
                       "/static/js/board.js", "/static/js/clock.js"]
    sheets = [link.attrs["href"] for link in doc.all("link", rel="stylesheet")]
    assert sheets == ["/static/css/board.css"]
    assert all(link.startswith(("/static/", "/display/", "/api/v1/")) for link in local_links(html))
    for path in (*scripts, *sheets):
        assert client.get(path).status_code == 200, path


def test_board_streams_from_the_halls_last_event(app, hall, client):
    hall.issuing.issue("DEMO-GT-001")
    n = last_event(app)
    assert n > 0
    doc = page(client.get("/display/main").text)
    assert doc.one("main", id="board").attrs["sse-connect"] == \
        f"/api/v1/events?board=main&last_event_id={n}"
    body = doc.one("body")
    assert body.attrs["data-last-event"] == str(n)
    assert body.attrs["data-live"] == "/display/main/live"
    assert doc.one("div", id="live").attrs["hx-get"] == "/display/main/live"
    assert "sse:called" in doc.one("div", id="live").attrs["hx-trigger"]


def test_board_speaks_when_the_voice_is_on(client):
    body = page(client.get("/display/main").text).one("body")
    assert body.attrs["data-call"] == "/display/audio/call.wav"
    assert body.attrs["data-chime"] == "/display/audio/chime.wav"
    assert body.attrs["data-repeat"] == "1"
    assert body.attrs["data-highlight"] == "8"


def test_board_is_silent_with_the_voice_off(other_app):
    silent = other_app(voice=VoiceOptions(enabled=False)).test_client()
    html = silent.get("/display/main").text
    body = page(html).one("body")
    assert not body.attrs.get("data-call") and not body.attrs.get("data-chime")
    assert "/display/audio/" not in html


def test_board_follows_the_voice_and_board_settings(other_app):
    client = other_app(voice=VoiceOptions(repeat=2, chime=False),
                       board=BoardOptions(highlight_seconds=12, poll_seconds=5)).test_client()
    body = page(client.get("/display/main").text).one("body")
    assert body.attrs["data-repeat"] == "2"
    assert body.attrs["data-call"] == "/display/audio/call.wav"
    assert not body.attrs.get("data-chime")
    assert body.attrs["data-highlight"] == "12" and float(body.attrs["data-poll"]) == 5


def test_board_writes_the_sentence_the_voice_says(other_app, client):
    """The call written out for those who cannot hear it: the voice's sentence with {number}
    and {counter} for board.js, in the board's language; a hall's own sentence as it is."""
    def caption(c, path="/display/main"):
        return page(c.get(path).text).one("body").attrs["data-caption"]

    assert caption(client) == "Mời công dân có số thứ tự {number} đến quầy số {counter}"
    assert caption(client, "/display/main?lang=en") == \
        "Citizen number {number}, please come to counter {counter}"
    own = other_app(voice=VoiceOptions(template="Số {number}, mời đến quầy {counter} {{A}}"))
    assert caption(own.test_client(), "/display/main?lang=en") == \
        "Số {number}, mời đến quầy {counter} {A}"
    region = page(client.get("/display/main").text).one(id="caption")
    assert region.attrs["aria-live"] == "assertive" and region.text == ""


def test_the_live_part_opened_on_its_own_is_the_whole_board(client):
    html = client.get("/display/main/live").text
    assert "<title>" in html and 'id="caption"' in html and 'id="newest"' in html


def test_board_shows_its_notice(hall, client):
    hall.catalogue.put_board("main", name="Màn hình sảnh chính", notice=NOTICE)
    doc = page(client.get("/display/main").text)
    assert doc.one("div", "notice").text == NOTICE


def test_no_notice_element_without_a_notice(hall, client):
    assert not page(client.get("/display/main").text).all(cls="notice")
    hall.catalogue.put_board("main", name="Màn hình sảnh chính", notice=NOTICE)
    hall.catalogue.put_board("main", name="Màn hình sảnh chính", notice="  ")
    assert not page(client.get("/display/main").text).all(cls="notice")


def test_a_notice_put_through_the_api_is_shown(client, supervisor_client):
    response = supervisor_client.put("/api/v1/boards/main",
                                     json={"name": "Màn hình sảnh chính", "notice": NOTICE})
    assert response.status_code == 200, response.text
    assert response.get_json()["notice"] == NOTICE
    assert page(client.get("/display/main").text).one("div", "notice").text == NOTICE


def test_unknown_board_is_404(client):
    for path in ("/display/nope", "/display/nope/live", "/display/MAIN"):
        assert client.get(path).status_code == 404, path


# -- the live part ------------------------------------------------------------------------------

def test_before_any_call_the_board_says_so(client):
    fragment = live(client)
    newest = fragment.one("section", id="newest")
    assert NOBODY_CALLED in newest.text and "data-event" not in newest.attrs
    assert not fragment.one("ol", "recent-list").all("li")
    assert set(counters_of(fragment).values()) == {"—"}


def test_a_call_is_shown_large(app, hall, client):
    hall.issuing.issue("DEMO-GT-001")
    assert hall.calling.call_next(1)["number"] == "1001"
    event = last_event(app)
    newest = live(client).one("section", id="newest")
    assert newest.attrs["data-event"] == str(event)
    assert newest.one(id="newest-number").text == "1001"
    assert newest.one(id="newest-counter").text == "Quầy 1"
    assert NOBODY_CALLED not in newest.text
    # The whole page shows the same.
    assert page(client.get("/display/main").text).one(id="newest-number").text == "1001"


def test_several_calls_newest_first_then_the_recent_ones(app, hall, client):
    for _ in range(5):
        hall.issuing.issue("DEMO-GT-001")
    hall.issuing.issue("DEMO-GT-007")
    events = []
    for counter in (1, 2, 1):
        hall.calling.call_next(counter)
        events.append(last_event(app))
    hall.desk.pause(4)
    fragment = live(client)
    newest = fragment.one("section", id="newest")
    assert (newest.one(id="newest-number").text, newest.one(id="newest-counter").text) == \
        ("1003", "Quầy 1")
    assert newest.attrs["data-event"] == str(events[-1])
    recent = fragment.one("ol", "recent-list").all("li")
    assert [(li.one(cls="recent-number").text, li.text) for li in recent] == \
        [("1002", "1002 → Quầy 2"), ("1001", "1001 → Quầy 1")]
    assert [li.attrs["data-event"] for li in recent] == [str(events[1]), str(events[0])]
    assert counters_of(fragment) == {1: "1003", 2: "1002", 3: "—", 4: "Tạm nghỉ", 5: "—",
                                     6: "—"}
    assert waiting_of(fragment) == {"GPLX": 2, "VT": 1, "DTND": 0, "TKQ": 0, "HD": 0}


def test_the_gplx_board_shows_only_gplx(hall, client):
    hall.issuing.issue("DEMO-GT-001")
    hall.issuing.issue("DEMO-GT-001")
    vt = hall.issuing.issue("DEMO-GT-007")
    assert hall.calling.call_next(1)["number"] == "1001"
    before = live(client, "gplx")
    assert waiting_of(before) == {"GPLX": 1}
    assert counters_of(before) == {1: "1001", 2: "—"}  # the counters serving GPLX
    # A VT ticket called at counter 3 is the hall's newest call, never the gplx board's.
    assert hall.calling.call_number(3, vt["number"])["number"] == vt["number"] == "B001"
    assert live(client, "main").one(id="newest-number").text == "B001"
    fragment = live(client, "gplx")
    assert fragment.one(id="newest-number").text == "1001"
    assert counters_of(fragment) == {1: "1001", 2: "—"}
    assert waiting_of(fragment) == {"GPLX": 1}
    assert "B001" not in fragment.text and "Vận tải" not in fragment.text
    assert "B001" not in page(client.get("/display/gplx").text).text


# -- audio --------------------------------------------------------------------------------------

def test_call_audio_is_a_wav_of_a_sane_length(client, audio_dir):
    response = client.get("/display/audio/call.wav?number=1023&counter=3")
    assert response.status_code == 200, response.text
    assert response.mimetype == "audio/wav"
    made = folder_files(audio_dir)
    assert len(made) == 1
    path = audio_dir / made.pop()
    assert path.read_bytes() == response.data
    info = check_wav(path)
    assert info.frames > 0 and info.sample_width == 2
    assert 1.5 <= duration(path) <= 12


def test_call_audio_comes_from_the_cache_the_second_time(client, audio_dir, monkeypatch):
    url = "/display/audio/call.wav?number=1023&counter=3"
    started = time.perf_counter()
    first = client.get(url)
    made = time.perf_counter() - started
    assert first.status_code == 200
    files = folder_files(audio_dir)

    def no_synthesis(self, text, out):
        raise AssertionError(f"synthesised again: {text}")

    monkeypatch.setattr(Speech, "_synthesize", no_synthesis)
    served = []
    for _ in range(3):
        started = time.perf_counter()
        again = client.get(url)
        served.append(time.perf_counter() - started)
        assert again.status_code == 200 and again.data == first.data
    assert min(served) < made / 2, (made, served)
    assert folder_files(audio_dir) == files
    # The same call written another way is the same phrase, so the same file.
    assert client.get("/display/audio/call.wav?number=%201023&counter=3").data == first.data


@pytest.mark.parametrize("query", [
    "number=1023;rm&counter=3", "number=&counter=3", "counter=3", "number=12345&counter=3",
    "number=1023&counter=0", "number=1023&counter=x", "number=1023&counter=10000",
    "number=1023&counter=", "number=1023", "number=../1023&counter=3", "number=1023&counter=-1",
])
def test_bad_call_audio_requests_are_400(client, audio_dir, query):
    assert client.get(f"/display/audio/call.wav?{query}").status_code == 400
    assert not any(name.startswith("speech-") for name in folder_files(audio_dir))


def test_chime_is_a_wav_of_about_point_nine_seconds(client, audio_dir):
    response = client.get("/display/audio/chime.wav")
    assert response.status_code == 200 and response.mimetype == "audio/wav"
    assert (audio_dir / "chime.wav").read_bytes() == response.data
    assert duration(audio_dir / "chime.wav") == pytest.approx(0.9, abs=0.05)
    assert client.get("/display/audio/chime.wav").data == response.data


def test_no_espeak_is_503_not_500(client, audio_dir, monkeypatch, tmp_path):
    missing = str(tmp_path / "no-such-espeak-ng")

    def broken(voice, audio_dir, pack_dir):
        return Speech(audio_dir, voice=voice.voice, speed=voice.speed, pack_dir=pack_dir,
                      espeak=missing)

    monkeypatch.setattr(calls, "speech", broken)
    response = client.get("/display/audio/call.wav?number=1023&counter=3")
    assert response.status_code == 503
    assert not any(name.startswith("speech-") for name in folder_files(audio_dir))
    # The chime needs no espeak-ng.
    assert client.get("/display/audio/chime.wav").status_code == 200


# -- the words ----------------------------------------------------------------------------------

def test_the_words_of_a_call():
    assert calls.words(VoiceOptions(), "1023", 3) == CALL_1023_AT_3


def test_the_words_follow_the_voice_settings():
    assert calls.words(VoiceOptions(dialect="south"), "1023", 3) == \
        "Mời công dân có số thứ tự một ngàn không trăm hai mươi ba đến quầy số ba"
    assert calls.words(VoiceOptions(style="digits"), "1023", 3) == \
        "Mời công dân có số thứ tự một không hai ba đến quầy số ba"
    assert calls.words(VoiceOptions(four="tư"), "24", 24) == \
        "Mời công dân có số thứ tự hai mươi tư đến quầy số hai mươi tư"
    custom = VoiceOptions(template="Xin mời số {number}, quầy {counter}")
    assert calls.words(custom, "B015", 21) == "Xin mời số bê mười lăm, quầy hai mươi mốt"


# -- goiso announce -----------------------------------------------------------------------------

def test_announce_prints_the_phrase_and_writes_a_wav(runner, tmp_path):
    out = tmp_path / "x.wav"
    result = runner.invoke(commands.cli, ["announce", "1023", "3", "--out", str(out),
                                          "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == CALL_1023_AT_3
    assert str(out) in result.output
    assert 1.5 <= duration(out) <= 12
    assert len(folder_files(tmp_path / "data" / "audio")) == 1


def test_announce_follows_the_config_file(runner, tmp_path):
    config = tmp_path / "goiso.toml"
    config.write_text('[voice]\ndialect = "south"\n', encoding="utf-8")
    result = runner.invoke(commands.cli, ["announce", "1023", "3", "--config", str(config),
                                          "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output
    assert "một ngàn không trăm hai mươi ba" in result.output
    assert "nghìn" not in result.output


@pytest.mark.parametrize("number", ["12345", "1023;rm", "số"])
def test_announce_refuses_a_bad_number(runner, tmp_path, number):
    out = tmp_path / "x.wav"
    result = runner.invoke(commands.cli, ["announce", number, "3", "--out", str(out),
                                          "--data-dir", str(tmp_path / "data")])
    assert result.exit_code != 0
    assert "không phải số thứ tự" in result.output and "Traceback" not in result.output
    assert not out.exists()


# -- [board] and [voice] ------------------------------------------------------------------------

# Each bad [board] or [voice] line and the whole line a person reads (goiso.toml as given).
BAD_BOARD_AND_VOICE = {
    "no {number}": ('[voice]\ntemplate = "Mời đến quầy {counter}"\n', '[voice] template = "Mời'
                    ' đến quầy {counter}": cần một câu có {number} (số thứ tự được đọc).'),
    "stray placeholder": ('[voice]\ntemplate = "Mời số {number} đến {quay}"\n', '[voice]'
                          ' template = "Mời số {number} đến {quay}": chỉ dùng được {number} và'
                          " {counter} trong câu; muốn viết dấu ngoặc nhọn thì gõ hai lần:"
                          " {{ }}."),
    "style": ('[voice]\nstyle = "x"\n', '[voice] style = "x": cần một trong: "cardinal",'
              ' "digits".'),
    "dialect": ('[voice]\ndialect = "x"\n', '[voice] dialect = "x": cần một trong: "north",'
                ' "south".'),
    "four": ('[voice]\nfour = "x"\n', '[voice] four = "x": cần một trong: "bốn", "tư".'),
    "voice": ('[voice]\nvoice = "en"\n', '[voice] voice = "en": cần một trong: "vi",'
              ' "vi-vn-x-central", "vi-vn-x-south".'),
    "speed": ("[voice]\nspeed = 50\n", "[voice] speed = 50: cần một số nguyên từ 80 đến 300."),
    "repeat": ("[voice]\nrepeat = 3\n", "[voice] repeat = 3: cần một trong: 1, 2."),
    "enabled": ('[voice]\nenabled = "maybe"\n', '[voice] enabled = "maybe": cần true hoặc'
                " false."),
    "unknown key": ("[voice]\nloud = true\n", "[voice] loud = true: không có thiết lập này"
                    " (xem goiso.example.toml)."),
    "highlight": ("[board]\nhighlight_seconds = 0\n", "[board] highlight_seconds = 0: cần một"
                  " số nguyên từ 1 đến 120."),
    "poll": ("[board]\npoll_seconds = 0.5\n", "[board] poll_seconds = 0.5: cần một số từ 1"
             " đến 60."),
    "board not a table": ("board = 8\n", "board = 8: cần một bảng [board]."),
}


@pytest.mark.parametrize(("text", "said"), BAD_BOARD_AND_VOICE.values(),
                         ids=BAD_BOARD_AND_VOICE.keys())
def test_bad_board_and_voice_settings_are_refused(tmp_path, text, said):
    assert problems(tmp_path, text) == [f"goiso.toml: {said}"]


def test_good_board_and_voice_settings_are_loaded(tmp_path):
    loaded = load(tmp_path, '[board]\nhighlight_seconds = 5\npoll_seconds = 2\n'
                            '[voice]\ndialect = "south"\nfour = "tư"\nrepeat = 2\n'
                            'enabled = false\ntemplate = "Số {number}, quầy {counter} {{A}}"\n')
    assert loaded.board == BoardOptions(highlight_seconds=5, poll_seconds=2)
    assert loaded.voice == VoiceOptions(dialect="south", four="tư", repeat=2, enabled=False,
                                        template="Số {number}, quầy {counter} {{A}}")


@pytest.mark.slow
def test_call_audio_from_the_real_server(live_server, tmp_path):
    """Under gunicorn + gevent, where espeak-ng must be started from the event loop."""
    import requests

    reply = requests.get(live_server.url("/display/audio/call.wav?number=1023&counter=3"),
                         timeout=30)
    assert reply.status_code == 200, reply.text[:300]
    assert reply.headers["Content-Type"].startswith("audio/wav")
    saved = tmp_path / "call.wav"
    saved.write_bytes(reply.content)
    assert 1.5 <= duration(saved) <= 12


def test_call_audio_only_for_the_halls_counters(client):
    assert client.get("/display/audio/call.wav?number=1001&counter=99").status_code == 404


def test_prune_keeps_the_newest_phrases_and_the_chime(tmp_path):
    from display.calls import prune

    for i in range(10):
        path = tmp_path / f"speech-{i:02d}.wav"
        path.write_bytes(b"x")
        os.utime(path, (1_000_000 + i, 1_000_000 + i))
    (tmp_path / "chime.wav").write_bytes(b"x")
    spare = tmp_path / "speech-00.wav"
    assert prune(tmp_path, 3, spare=spare) == 6
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["chime.wav", "speech-00.wav", "speech-07.wav", "speech-08.wav",
                    "speech-09.wav"]

"""Hall boards (/display/<board id>) and the audio they play: what a TV asks for, translated
into reads of the hall."""

import re
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _

from web import runtime
from web.access import role
from web.locale import board_language, board_screen
from web.pages import fragment_or_page

from .calls import audio, folders
from .config import DEFAULT_TEMPLATE
from .voice import VoiceError, chime

bp = Blueprint("display", __name__, template_folder="templates")
LABEL = re.compile(r"^[A-Z]{0,2}[0-9]{1,4}$")


def _board(board_id: str) -> dict:
    return runtime().read(runtime().hall.catalogue.board, board_id)


def _live(board: dict) -> dict:
    state = runtime().read(runtime().hall.screens.snapshot, board["queues"] or None,
                           board["counters"] or None)
    return {"state": state, "newest": state["recent_calls"][0] if state["recent_calls"] else None}


@bp.get("/")
@role("public")
@board_screen
def board():
    """Choose a board (or go straight to the only one)."""
    boards = runtime().read(runtime().hall.catalogue.boards)
    if len(boards) == 1:
        return redirect(url_for("display.screen", board_id=boards[0]["id"]))
    return render_template("display/choose.html", boards=boards)


@bp.get("/<board_id>")
@role("public")
@board_screen
def screen(board_id):
    """The board: the newest call large, the counters, the last calls, who waits, the clock."""
    return render_template("display/board.html", **_whole(board_id))


@bp.get("/<board_id>/live")
@role("public")
@board_screen
def live(board_id):
    """The part of the board that changes (fetched after every event, or by polling); the
    whole board when opened on its own."""
    return fragment_or_page("display/live.html", "display/board.html", **_whole(board_id))


@bp.get("/audio/chime.wav")
@role("public")
def chime_audio():
    """The chime before each call (made here, once)."""
    path = chime(_folders()[0] / "chime.wav")
    return _wav(path)


@bp.get("/audio/call.wav")
@role("public")
def call_audio():
    """The spoken call for ?number=1023&counter=3, synthesised once and kept."""
    number = request.args.get("number", "").strip().upper()
    counter = request.args.get("counter", "").strip()
    if not LABEL.match(number) or not counter.isdecimal() or not 1 <= int(counter) <= 9999:
        abort(400)
    # Only the hall's own counters: a phrase is made (and kept) for each new request.
    if int(counter) not in {c["number"] for c in runtime().read(
            runtime().hall.catalogue.counters)}:
        abort(404)
    audio_dir, pack_dir = _folders()
    try:
        # Not through the thread pool: espeak-ng is a child process, which gevent can only
        # watch from its own loop; waiting for it there does not block the server anyway.
        path = audio(runtime().settings.voice, audio_dir, pack_dir, number, int(counter))
    except VoiceError as exc:
        current_app.logger.error("call audio: %s", exc)
        abort(503)
    return _wav(path)


def _whole(board_id: str) -> dict:
    """What the whole board is drawn from."""
    chosen = _board(board_id)
    settings = runtime().settings
    return {"board": chosen, "options": settings.board, "voice": settings.voice,
            "lang": board_language(), "caption": _caption(settings.voice.template),
            **_live(chosen)}


def _caption(template: str) -> str:
    """The sentence of a call as the board writes it for those who cannot hear it, with
    {number} and {counter} left for board.js: the voice's own words (digits for the spelled
    numbers), translated when the board shows another language and the hall kept the usual
    sentence."""
    if template == DEFAULT_TEMPLATE:
        return _("Mời công dân có số thứ tự %(number)s đến quầy số %(counter)s",
                 number="{number}", counter="{counter}")
    return template.format(number="{number}", counter="{counter}")


def _folders() -> tuple[Path, Path]:
    settings = runtime().settings
    return folders(Path(settings.data_dir), settings.voice)


def _wav(path: Path):
    response = send_file(path, mimetype="audio/wav", max_age=3600)
    return response

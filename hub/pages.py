"""The province staff's pages: sign-in (``/login``) and the live dashboard (``/dashboard``,
its rows streamed by SSE at ``/dashboard/stream``). Server-rendered, Vietnamese first
(``?lang=en``), no script but one small file of our own."""

from __future__ import annotations

import threading
import time

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    session,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _

from hall.errors import HallError

from . import dashboard
from .access import pool, role
from .live import Changes

bp = Blueprint("hub_pages", __name__, template_folder="templates")
REFRESH_S = 15.0  # ages move on without events: the rows are redrawn at least this often
MIN_GAP_S = 1.0  # a busy province redraws at most once a second per stream
STREAM_LIFE_S = 600.0  # then the browser reconnects (a worker thread is not held for ever)
MAX_STREAMS = 8  # per process: each holds one of the worker's threads
_streams = threading.BoundedSemaphore(MAX_STREAMS)


def _lang() -> str:
    return "en" if request.args.get("lang") == "en" else "vi"


def _sort() -> str:
    sort = request.args.get("sort", "trouble")
    return sort if sort in dashboard.SORTS else "trouble"


@bp.get("/")
@role("public")
def home():
    """To the dashboard (which sends strangers to sign in)."""
    return redirect(url_for("hub_pages.board", lang=_lang()))


@bp.route("/login", methods=["GET", "POST"])
@role("public")
def login():
    """Sign in with a login and a PIN (throttled as in a hall); errors beside the form."""
    from .accounts import sign_in

    form, error = {"login": ""}, None
    if request.method == "POST":
        current_app.extensions["csrf"].protect()
        form["login"] = request.form.get("login", "")[:40]
        try:
            user = sign_in(form["login"], request.form.get("pin", ""),
                           request.remote_addr or "?")
        except HallError as exc:
            error = _(exc.text, **exc.params) if exc.params else _(exc.text)
        else:
            session.clear()
            session["hub_user"] = user["id"]
            return redirect(url_for("hub_pages.board", lang=_lang()))
    return render_template("hub/login.html", form=form, error=error, lang=_lang()), \
        (200 if error is None else 401)


@bp.post("/logout")
@role("supervisor")
def logout():
    """End the session; back to the sign-in page."""
    session.clear()
    return redirect(url_for("hub_pages.login", lang=_lang()))


def _rows_html(sort: str) -> str:
    with pool().connection() as conn:
        rows = dashboard.halls(conn, sort=sort)
    return render_template("hub/_halls.html", rows=rows, totals=dashboard.totals(rows),
                           target=dashboard.TARGET_WAIT_MINUTES)


@bp.get("/dashboard")
@role("supervisor")
def board():
    """Every hall of the province, the most troubled first, kept live."""
    sort = _sort()
    return render_template("hub/dashboard.html", rows_html=_rows_html(sort), sort=sort,
                           sorts=dashboard.SORTS, lang=_lang())


def changes() -> Changes:
    """This process's listener of new events (started on first use)."""
    hub = current_app.extensions["hub"]
    if "changes" not in hub:
        hub["changes"] = Changes(hub["pool"].conninfo)
    return hub["changes"].start()


def _frame(html: str) -> str:
    return "event: halls\n" + "".join(f"data: {line}\n" for line in html.splitlines()) + "\n"


@bp.get("/dashboard/stream")
@role("supervisor")
def stream():
    """The dashboard's rows as SSE ``halls`` frames: on new events (at most once a second)
    and every 15 seconds; 503 when this process holds its share of streams."""
    if not _streams.acquire(blocking=False):
        return Response("", status=503, headers={"Retry-After": "5"})
    sort, live = _sort(), changes()

    def frames():
        try:
            seen, ends = live.version, time.monotonic() + STREAM_LIFE_S
            yield "retry: 3000\n\n"
            while time.monotonic() < ends:
                yield _frame(_rows_html(sort))
                sent = time.monotonic()
                seen = live.wait(seen, REFRESH_S)
                gap = MIN_GAP_S - (time.monotonic() - sent)
                if gap > 0:
                    time.sleep(gap)  # a rate limit, not a wait for something
                    seen = live.version
        finally:
            _streams.release()

    return Response(stream_with_context(frames()), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

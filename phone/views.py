"""The ticket status page at /t/<token>: number, procedure, status, people ahead, counter."""

from flask import Blueprint, abort, make_response

from hall import errors
from web import runtime
from web.access import role
from web.pages import fragment_or_page

bp = Blueprint("phone", __name__, template_folder="templates")
MAX_TOKEN = 64


@bp.get("/t/<token>")
@role("public")
def ticket(token):
    """The holder's ticket now; the part that changes refreshes itself every few seconds."""
    if len(token) > MAX_TOKEN:
        abort(404)
    try:
        sheet = runtime().read(runtime().hall.printing.sheet, token)
    except errors.NotFound:
        abort(404)
    response = make_response(fragment_or_page("phone/status.html", "phone/ticket.html",
                                              sheet=sheet))
    # The token is the key to this page: keep it out of other sites' logs and caches.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response

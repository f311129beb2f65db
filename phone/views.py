"""The ticket status page at /t/<token>: number, procedure, status, people ahead, counter."""

from flask import Blueprint, abort, current_app, render_template, request

from hall import errors
from hall.tickets import STATUS_WORDS
from printer.layout import PRIORITY_WORDS
from staff.roles import role

bp = Blueprint("phone", __name__, template_folder="templates")


@bp.get("/t/<token>")
@role("public")
def ticket(token):
    """The holder's ticket now; the part that changes refreshes itself every few seconds."""
    runtime = current_app.extensions["goiso"]
    if len(token) > 64:
        abort(404)
    try:
        sheet = runtime.read(runtime.hall.tickets.sheet, token)
    except errors.NotFound:
        abort(404)
    template = ("phone/status.html" if request.headers.get("HX-Request")
                else "phone/ticket.html")
    response = current_app.make_response(render_template(
        template, sheet=sheet, status_words=STATUS_WORDS, priority_words=PRIORITY_WORDS))
    # The token is the key to this page: keep it out of other sites' logs and caches.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response

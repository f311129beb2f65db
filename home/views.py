"""The landing page."""

from flask import Blueprint, current_app, render_template

from hall.words import N_
from web import runtime
from web.access import actor, role

bp = Blueprint("home", __name__, template_folder="templates")

# Places in the hall that later packages add; the landing page links each one that exists.
PLACES = (
    ("kiosk.start", N_("Ki-ốt lấy số")),
    ("display.board", N_("Màn hình gọi số")),
    ("counter.page", N_("Quầy")),
    ("admin.index", N_("Quản trị")),
)


@bp.get("/")
@role("public")
def index():
    """Links to every place of the hall that this installation serves."""
    hall = runtime().hall
    state = runtime().read(hall.screens.snapshot)
    kiosks = runtime().read(hall.catalogue.kiosks)
    boards = runtime().read(hall.catalogue.boards)
    endpoints = set(current_app.view_functions)
    places = [(endpoint, label) for endpoint, label in PLACES if endpoint in endpoints]
    return render_template("home/index.html", state=state, kiosks=kiosks, boards=boards,
                           places=places, who=actor())

"""Sign-in and sign-out pages for clerks, supervisors and admins."""

import re
from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, url_for

from hall import HallError, errors
from web import runtime
from web.access import actor, role, sign_in, sign_out
from web.replies import say, with_retry_after

bp = Blueprint("staff", __name__, template_folder="templates")
COUNTER_PAGE = re.compile(r"^/counter/(\d*)(?:[/?]|$)")


def _safe_next(target: str | None) -> str:
    # Browsers read a backslash as "/" and drop tabs and newlines: "/<backslash>evil.example"
    # would leave the site.
    if target and target.startswith("/") and not target.startswith("//") \
            and "\\" not in target and target.isprintable() and " " not in target \
            and not urlsplit(target).netloc:
        return target
    return url_for("home.index")


def _counter_page(target: str) -> re.Match | None:
    """``/counter/``, ``/counter/3`` or ``/counter/3/…``: the counter of a counter page."""
    return COUNTER_PAGE.match(target) if target else None


def _landing(target: str, counter: int | None) -> str:
    """Where a sign-in goes: a clerk sent from a counter page lands on the counter they sat at
    (the one chosen in the form, which may not be the page's)."""
    if counter is not None and _counter_page(target):
        return url_for("counter.desk", number=counter)
    return target


@bp.route("/login", methods=["GET", "POST"])
@role("public")
def login():
    """The sign-in form: login, PIN and (for clerks) the counter, chosen already when the form
    was opened from a counter's page (``?counter=``, or ``next=/counter/3``)."""
    counters = runtime().read(runtime().hall.catalogue.counters)
    error, failure = None, None
    target = _safe_next(request.args.get("next"))
    sent_from = _counter_page(target)
    chosen = request.args.get("counter") or (sent_from[1] if sent_from else "")
    form = {"login": "", "counter": chosen}
    if request.method == "POST":
        form = {"login": request.form.get("login", ""), "counter": request.form.get("counter", "")}
        counter = None
        if form["counter"]:
            try:
                counter = int(form["counter"])
            except ValueError:
                counter = -1
        try:
            if counter == -1:
                raise errors.InvalidInput(field="counter")
            sign_in(form["login"], request.form.get("pin", ""), counter,
                    take_over=request.form.get("take_over") == "1")
            return redirect(_landing(target, counter))
        except HallError as exc:
            error, failure = say(exc), exc
    page = render_template("staff/login.html", counters=counters, form=form, error=error,
                           who=actor())
    if failure is None:
        return page, 200
    return with_retry_after((page, 429 if failure.status == 429 else 401), failure)


@bp.route("/logout", methods=["POST"])
@role("public")
def logout():
    """Sign out and go back to the start page."""
    sign_out()
    return redirect(url_for("home.index"))

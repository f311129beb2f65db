"""Sign-in and sign-out pages for clerks, supervisors and admins."""

from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from hall import HallError, errors

from .roles import actor, role

bp = Blueprint("staff", __name__, template_folder="templates")


def _runtime():
    return current_app.extensions["goiso"]


def sign_in(login: str, pin: str, counter: int | None = None, take_over: bool = False) -> dict:
    """Check a PIN, seat the clerk at a counter if one is given, and start the session."""
    runtime = _runtime()
    clerk = runtime.read(runtime.hall.accounts.verify, login, pin)
    if counter is not None:
        runtime.act(runtime.hall.accounts.sign_in, counter, clerk["id"], take_over)
    session.clear()
    session.permanent = True
    session["clerk"] = clerk["id"]
    session["counter"] = counter
    return {"clerk": clerk, "counter": counter}


def sign_out() -> None:
    """Leave the counter and end the session."""
    who = actor()
    if who.clerk is not None and who.counter is not None and not who.device:
        runtime = _runtime()
        runtime.act(runtime.hall.accounts.sign_out, who.counter, who.clerk)
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def _safe_next(target: str | None) -> str:
    # Browsers read a backslash as "/" and drop tabs and newlines: "/<backslash>evil.example"
    # would leave the site.
    if target and target.startswith("/") and not target.startswith("//") \
            and "\\" not in target and target.isprintable() and " " not in target \
            and not urlsplit(target).netloc:
        return target
    return url_for("home.index")


@bp.route("/login", methods=["GET", "POST"])
@role("public")
def login():
    """The sign-in form: login, PIN and (for clerks) the counter."""
    runtime = _runtime()
    counters = runtime.read(runtime.hall.catalogue.counters)
    error = None
    form = {"login": "", "counter": request.args.get("counter", "")}
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
                raise errors.InvalidInput(detail="counter")
            sign_in(form["login"], request.form.get("pin", ""), counter,
                    take_over=request.form.get("take_over") == "1")
            return redirect(_safe_next(request.args.get("next")))
        except HallError as exc:
            error = _(exc.text, **exc.params) if exc.params else _(exc.text)
    return render_template("staff/login.html", counters=counters, form=form, error=error,
                           who=actor()), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
@role("public")
def logout():
    """Sign out and go back to the start page."""
    sign_out()
    return redirect(url_for("home.index"))

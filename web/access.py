"""Who is asking, and may they? Every route declares a role; undeclared routes are refused.
Also the staff session: signing in (PIN, counter seat) and out."""

from dataclasses import dataclass

from flask import abort, after_this_request, current_app, g, redirect, request, session, url_for

from hall import errors
from hall.accounts import ROLE_RANK, bearer_token
from services import counters, signin

from . import runtime
from .clients import client_address
from .extensions import csrf, htmx

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class Actor:
    """The person or device behind a request."""

    role: str = "public"
    clerk: int | None = None
    name: str = ""
    counter: int | None = None  # the counter a device token or a seated clerk acts for
    device: bool = False

    def at_least(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


def role(needed: str, *, csrf_exempt_json: bool = False):
    """Declare the least role a view needs (public, clerk, supervisor, admin)."""
    if needed not in ROLE_RANK:
        raise ValueError(needed)

    def mark(view):
        view.goiso_role = needed
        view.goiso_csrf_exempt_json = csrf_exempt_json
        return view

    return mark


def _bearer() -> str | None:
    return bearer_token(request.headers.get("Authorization", ""))


def actor() -> Actor:
    """The actor of the current request (resolved once by ``guard``)."""
    return g.get("actor") or Actor()


def _resolve() -> Actor:
    hall = runtime().hall
    token = _bearer()
    if token is not None:
        found = runtime().read(hall.accounts.token_seat, token)
        if found is None:
            raise errors.AuthError(
                errors.N_("Mã truy cập (token) không hợp lệ hoặc đã bị thu hồi."))
        counter, seated = found

        @after_this_request
        def note_use(response):
            # Only an answered request counts as a use: a refused one changes nothing.
            if response.status_code < 400:
                signin.note_token_use(runtime(), token)
            return response
        return Actor(role="clerk", clerk=seated, counter=counter, device=True,
                     name=f"counter-{counter}")
    clerk_id = session.get("clerk")
    if clerk_id is None:
        return Actor()
    clerk = runtime().read(hall.accounts.clerk, clerk_id)
    if clerk is None:
        session.clear()
        return Actor()
    return Actor(role=clerk["role"], clerk=clerk["id"], name=clerk["name"],
                 counter=session.get("counter"))


def guard():
    """Before every request: find the actor, check the route's role, check CSRF."""
    if request.endpoint is None or request.endpoint == "static":
        return None
    view = current_app.view_functions.get(request.endpoint)
    needed = getattr(view, "goiso_role", None)
    if needed is None:
        abort(403)
    g.actor = _resolve()
    if not g.actor.at_least(needed):
        if g.actor.role == "public" and _wants_page():
            return redirect(url_for("staff.login", next=request.full_path.rstrip("?")))
        if g.actor.role == "public":
            raise errors.AuthError(errors.N_("Cần đăng nhập."))
        raise errors.Forbidden()
    if request.method not in SAFE_METHODS and not g.actor.device:
        # A JSON body cannot be sent cross-site without a CORS preflight, which we never allow;
        # routes open to the public (the kiosk) rely on that, every other form needs the token.
        if getattr(view, "goiso_csrf_exempt_json", False):
            if request.is_json:
                return None
            # Anything else is refused as the view would refuse it: 415, whatever the session
            # (and a body too large to read, 413, as on every other route).
            limit = current_app.config.get("MAX_CONTENT_LENGTH")
            if limit and (request.content_length or 0) > limit:
                abort(413)
            abort(415)
        csrf.protect()
    return None


def _wants_page() -> bool:
    """A person opening a staff page in a browser (not the API, not an htmx fragment)."""
    return (request.method == "GET" and not request.path.startswith("/api/")
            and not htmx and request.accept_mimetypes.accept_html)


def may_act_at(counter: int) -> None:
    """Refuse unless the actor may work the given counter."""
    who = actor()
    if who.at_least("supervisor") and not who.device:
        return
    if who.device:
        if who.counter != counter:
            raise errors.Forbidden(errors.N_("Mã truy cập này chỉ dùng cho quầy %(counter)s."),
                                   counter=who.counter)
        return
    seated = runtime().read(runtime().hall.accounts.seated, counter)
    if seated != who.clerk:
        raise errors.Forbidden(errors.N_("Bạn chưa đăng nhập vào quầy %(counter)s."),
                               counter=counter)


def sign_in(login, pin, counter: int | None = None, take_over: bool = False) -> dict:
    """Check a PIN, seat the clerk at a counter if one is given, and start the session."""
    clerk = counters.seat(runtime(), login, pin, counter, take_over, address=client_address())
    session.clear()
    session.permanent = True
    session["clerk"] = clerk["id"]
    session["counter"] = counter
    return {"clerk": clerk, "counter": counter}


def sign_out() -> None:
    """Leave the counter and end the session (the screen's language choice stays)."""
    who = actor()
    if who.clerk is not None and not who.device:
        signin.sign_out(runtime(), who.clerk, client_address(), who.counter)
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang

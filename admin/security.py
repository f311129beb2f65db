"""/admin/security (role supervisor): the logins and addresses locked after wrong PINs, each
with an Unlock button, and the counters' API tokens, each revocable on its own."""

from flask import Blueprint, render_template, request
from flask_babel import gettext as _

from hall import errors
from services import signin
from web import runtime
from web.access import actor, role
from web.replies import say

bp = Blueprint("admin_security", __name__, template_folder="templates")


def _page(message: str = "", failed: bool = False, status: int = 200):
    hall = runtime().hall
    return render_template("admin/security.html", locks=signin.locks(runtime()),
                           tokens=runtime().read(hall.accounts.tokens), message=message,
                           failed=failed), status


@bp.get("/security")
@role("supervisor")
def security_page():
    """Current sign-in locks and the counters' API tokens."""
    return _page()


@bp.post("/security/unlock")
@role("supervisor")
def unlock():
    """Lift one lock (audited with who)."""
    scope, key = request.form.get("scope", ""), request.form.get("key", "")
    try:
        signin.unlock(runtime(), scope, key, actor().clerk)
    except errors.HallError as exc:
        return _page(say(exc), True, exc.status)
    return _page(_("Đã mở khóa đăng nhập cho %(key)s.", key=key))


@bp.post("/security/tokens/<int:token_id>/revoke")
@role("supervisor")
def revoke_token(token_id):
    """Revoke one counter API token (audited with who)."""
    try:
        done = runtime().act(runtime().hall.accounts.revoke_token, token_id, actor().clerk)
    except errors.HallError as exc:
        return _page(say(exc), True, exc.status)
    return _page(_("Đã thu hồi mã thiết bị số %(id)s của quầy %(counter)s.", id=done["id"],
                   counter=done["counter"]))

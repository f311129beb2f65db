"""JSON API v1 for sign-in locks and counter tokens (role supervisor): list the locks, lift
one; list the tokens, revoke one."""

from flask import Blueprint, Response, jsonify

from hall import errors
from services import signin
from web import runtime
from web.access import actor, role

from .views import body

bp = Blueprint("api_security", __name__)


@bp.get("/signin/locks")
@role("supervisor")
def locks():
    """The logins and client addresses locked now after wrong PINs."""
    return jsonify(signin.locks(runtime()))


@bp.post("/signin/unlock")
@role("supervisor")
def unlock():
    """Lift the lock of a login or an address (audited with who)."""
    data = body()
    if extra := sorted(set(data) - {"scope", "key"}):
        raise errors.InvalidInput(errors.InvalidInput.UNEXPECTED, fields=", ".join(extra))
    if missing := [name for name in ("scope", "key") if data.get(name) in (None, "")]:
        raise errors.InvalidInput(errors.InvalidInput.MISSING, fields=", ".join(missing))
    return jsonify(signin.unlock(runtime(), data["scope"], data["key"], actor().clerk))


@bp.get("/tokens")
@role("supervisor")
def tokens():
    """Every counter API token: id, counter, made and revoked when (never the token)."""
    return jsonify(runtime().read(runtime().hall.accounts.tokens))


@bp.delete("/tokens/<int:token_id>")
@role("supervisor")
def revoke(token_id):
    """Revoke one token (audited with who)."""
    runtime().act(runtime().hall.accounts.revoke_token, token_id, actor().clerk)
    return Response(status=204)

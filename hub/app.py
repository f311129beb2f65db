"""The hub's web app: ``create_hub_app(pool)``. Its doors are blueprints like a hall's; every
route declares a role (``hub.access.role``); errors answer in the one shape halls use."""

from __future__ import annotations

import time

from flask import Flask, jsonify, redirect, request, url_for
from flask_babel import Babel, force_locale, get_locale
from flask_babel import gettext as translate
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException

from hall import words
from hall.errors import HallError

from . import access
from .errors import SignInNeeded
from .jobs import Traffic

MAX_BODY = 16 * 1024 * 1024  # a compressed batch, as sent
SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline';"
                   " connect-src 'self'; frame-ancestors 'none'")


def error_json(code: str, text: str, params: dict, status: int):
    """An error in the one shape: its code, the sentence now and in each language."""
    messages = {}
    for lang in ("vi", "en"):
        with force_locale(lang):
            messages[lang] = translate(text, **params) if params else translate(text)
    current = str(get_locale() or "vi")
    return jsonify({"error": {"code": code, "message": messages.get(current, messages["vi"]),
                              "messages": messages, **params}}), status


def create_hub_app(pool, *, testing: bool = False, secret_key: str | None = None,
                   secure_cookies: bool = False, traffic: Traffic | None = None) -> Flask:
    """The hub's app on a psycopg ``pool`` (migrated); opens nothing itself. ``traffic``
    counts the batches being stored, for the worker's jobs to give way to."""
    app = Flask(__name__)
    app.config.update(TESTING=testing, MAX_CONTENT_LENGTH=MAX_BODY,
                      BABEL_TRANSLATION_DIRECTORIES=str(words.TRANSLATIONS),
                      SECRET_KEY=secret_key or access.session_key(pool),
                      SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=secure_cookies, SESSION_COOKIE_NAME="goiso_hub",
                      WTF_CSRF_CHECK_DEFAULT=False, WTF_CSRF_TIME_LIMIT=None)
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.extensions["hub"] = {"pool": pool, "started": time.time(),
                             "traffic": traffic or Traffic()}
    CSRFProtect(app)
    Babel(app, locale_selector=lambda: request.args.get("lang")
          if request.args.get("lang") in ("vi", "en") else "vi")

    from .views import bp

    app.register_blueprint(bp)
    from .report_views import bp as report_bp

    app.register_blueprint(report_bp)
    from .pages import bp as pages_bp

    app.register_blueprint(pages_bp)
    app.before_request(access.guard)

    @app.errorhandler(HallError)
    def hall_error(exc: HallError):
        if isinstance(exc, SignInNeeded) and request.method == "GET" \
                and not request.path.startswith("/api/"):
            # A page: to the sign-in form, not a JSON error.
            return redirect(url_for("hub_pages.login", lang=request.args.get("lang")))
        reply = error_json(exc.code, exc.text, exc.params, exc.status)
        if exc.status == 429 and isinstance(exc.params.get("seconds"), int):
            return (*reply, {"Retry-After": str(exc.params["seconds"])})
        return reply

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return error_json(f"http_{exc.code}", exc.name, {}, exc.code or 500)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", SECURITY_POLICY)
        return response

    return app

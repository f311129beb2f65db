"""The goiso web application: ``create_app()`` wires the running hall to the blueprints.

It never opens hardware or starts threads; the ``serve`` command (commands.py) does that.
"""

from flask import Flask, request
from flask_babel import get_locale
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.middleware.proxy_fix import ProxyFix

import settings as settings_module
from hall import HallError, events, words
from services.runtime import open_runtime
from web import compression, runtime
from web.access import guard
from web.extensions import babel, csrf, htmx
from web.locale import select_locale
from web.pages import hall_clock, sse_triggers
from web.replies import hall_error_reply, http_error_reply, say

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; media-src 'self' blob:;"
    " style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'")


def create_app(settings: settings_module.Settings | None = None, *,
               testing: bool = False) -> Flask:
    """Build the app for one hall from its settings (the defaults when none are given)."""
    settings = settings or settings_module.Settings()
    app = Flask(__name__)
    app.config.update(settings.flask_config(), TESTING=testing,
                      BABEL_TRANSLATION_DIRECTORIES=str(words.TRANSLATIONS),
                      # Unsafe requests are checked by web.access.guard, by role.
                      WTF_CSRF_CHECK_DEFAULT=False, WTF_CSRF_TIME_LIMIT=None)
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.extensions["goiso"] = open_runtime(settings)
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies,
                                x_proto=settings.trusted_proxies)

    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    htmx.init_app(app)
    app.jinja_env.globals.update(get_locale=get_locale, words=words, events=events, say=say,
                                 sse_triggers=sse_triggers, hall_clock=hall_clock)
    app.context_processor(lambda: {"settings": runtime().settings})

    from admin.bulk import bp as admin_bulk_bp
    from admin.catalogue import bp as catalogue_bp
    from admin.configure import bp as configure_bp
    from admin.monitor import bp as admin_monitor_bp
    from admin.reports import bp as admin_reports_bp
    from admin.security import bp as admin_security_bp
    from admin.views import bp as admin_bp
    from api.health import bp as health_bp
    from api.reports import bp as api_reports_bp
    from api.security import bp as api_security_bp
    from api.views import bp as api_bp
    from counter.views import bp as counter_bp
    from display.views import bp as display_bp
    from home.views import bp as home_bp
    from kiosk.views import bp as kiosk_bp
    from phone.views import bp as phone_bp
    from staff.views import bp as staff_bp

    app.register_blueprint(home_bp)
    app.register_blueprint(kiosk_bp, url_prefix="/kiosk")
    app.register_blueprint(phone_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(admin_monitor_bp, url_prefix="/admin")
    app.register_blueprint(admin_bulk_bp, url_prefix="/admin")
    app.register_blueprint(counter_bp)
    app.register_blueprint(display_bp, url_prefix="/display")
    app.register_blueprint(staff_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    app.register_blueprint(configure_bp, url_prefix="/admin")
    app.register_blueprint(catalogue_bp, url_prefix="/admin")
    app.register_blueprint(api_reports_bp, url_prefix="/api/v1/reports")
    app.register_blueprint(health_bp)
    app.register_blueprint(admin_reports_bp, url_prefix="/admin/reports")
    app.register_blueprint(admin_security_bp, url_prefix="/admin")
    app.register_blueprint(api_security_bp, url_prefix="/api/v1")
    app.before_request(guard)

    app.register_error_handler(HallError, hall_error_reply)
    app.register_error_handler(HTTPException, http_error_reply)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        # A bug, not bad input: log it; the reply still has the one error shape.
        app.logger.exception("unexpected error on %s %s", request.method, request.path)
        return http_error_reply(InternalServerError())

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response

    compression.init_app(app)  # last: static files take the headers the hooks above add
    return app

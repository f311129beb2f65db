"""The goiso web application: ``create_app()`` wires the hall core to blueprints.

It never opens hardware or starts threads; the ``serve`` command (commands.py) does that.
"""

import threading
from pathlib import Path

from flask import Flask, request, session
from flask_babel import Babel, get_locale
from flask_htmx import HTMX
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException, InternalServerError

import settings as settings_module
from hall import Hall, HallError
from hall.events import Feed
from hall.rules import Rules
from printer import Printers, TicketLayout
from web import compression

LANGUAGES = ("vi", "en")
csrf = CSRFProtect()
babel = Babel()
htmx = HTMX()


def direct(fn, *args, **kwargs):
    """Run ``fn`` here and now (threaded servers, tests, the command line)."""
    return fn(*args, **kwargs)


def choose_offload(threads: int):
    """Under gevent, run SQLite work in native threads so the event loop never blocks on it."""
    try:
        from gevent import get_hub, monkey
    except ImportError:
        return direct
    if not monkey.is_module_patched("socket"):
        return direct
    pool = get_hub().threadpool
    pool.maxsize = max(1, threads)
    return lambda fn, *args, **kwargs: pool.apply(fn, args, kwargs)


def dedicated_runner():
    """Under gevent, one native thread for one device, so its blocking calls never stall the
    event loop and its socket or port is always used by the same thread; else run in place."""
    try:
        from gevent import monkey
        from gevent.threadpool import ThreadPool
    except ImportError:
        return direct
    if not monkey.is_module_patched("socket"):
        return direct
    pool = ThreadPool(1)
    return lambda fn, *args, **kwargs: pool.apply(fn, args, kwargs)


class Runtime:
    """What views need per app: the hall, the event feed, the printers, how to run blocking
    work."""

    def __init__(self, hall: Hall, feed: Feed, offload, printers: Printers | None = None):
        self.hall = hall
        self.feed = feed
        self.offload = offload
        self.printers = printers or Printers({}, TicketLayout())
        self.hardware = None  # the counters' serial devices, once `serve` opened them
        # Changes of this process take turns here rather than in SQLite's busy handler, which
        # sleeps and retries (1, 2, 5 … 100 ms) and lets one writer lose again and again: with
        # 8 kiosks at once that was p99 > 100 ms and stalls near 1 s.  A greenlet lock under
        # gevent (taken in the event loop, around the hand-off to the thread pool), a thread
        # lock otherwise.  Other processes still meet ``BEGIN IMMEDIATE`` and the busy timeout.
        self._changes = threading.Lock()

    def read(self, fn, *args, **kwargs):
        """Run a read of the hall."""
        return self.offload(fn, *args, **kwargs)

    def act(self, fn, *args, **kwargs):
        """Run a change of the hall, then wake every open stream."""
        try:
            with self._changes:
                return self.offload(fn, *args, **kwargs)
        finally:
            self.feed.ring()


def locale() -> str:
    """?lang=, then the session's choice, then the browser's, then the hall default."""
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        session["lang"] = chosen
        return chosen
    if session.get("lang") in LANGUAGES:
        return session["lang"]
    return request.accept_languages.best_match(LANGUAGES) or "vi"


def create_app(config: dict | settings_module.Settings | None = None) -> Flask:
    """Build the app for one hall from settings (or a dict of Flask config overrides)."""
    app = Flask(__name__)
    base = config if isinstance(config, settings_module.Settings) else settings_module.Settings()
    if isinstance(config, dict) and "DATA_DIR" in config:
        base.data_dir = config["DATA_DIR"]
    app.config.update(base.flask_config())
    if isinstance(config, dict):
        app.config.update(config)
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(Path(__file__).with_name("translations"))
    app.json.ensure_ascii = False
    app.json.sort_keys = False

    rules = app.config["HALL_RULES"]
    if not isinstance(rules, Rules):
        rules = Rules(**rules)
    hall = Hall.open(app.config["DATABASE"], rules)
    offload = choose_offload(app.config["DB_THREADS"])
    feed = Feed(hall.log, poll_seconds=app.config["SSE_POLL_SECONDS"], offload=offload)
    printers = Printers(app.config["PRINTERS"], app.config["TICKET_LAYOUT"],
                        default_folder=Path(app.config["DATA_DIR"]) / "tickets")
    app.extensions["goiso"] = Runtime(hall, feed, offload, printers)

    csrf.init_app(app)
    babel.init_app(app, locale_selector=locale)
    app.jinja_env.globals["get_locale"] = get_locale
    htmx.init_app(app)

    from admin import bp as admin_bp
    from api import bp as api_bp
    from counter.views import bp as counter_bp
    from display.views import bp as display_bp
    from home import bp as home_bp
    from kiosk import bp as kiosk_bp
    from phone import bp as phone_bp
    from staff import bp as staff_bp
    from staff.roles import guard

    app.register_blueprint(home_bp)
    app.register_blueprint(kiosk_bp, url_prefix="/kiosk")
    app.register_blueprint(phone_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(counter_bp)
    app.register_blueprint(display_bp, url_prefix="/display")
    app.register_blueprint(staff_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    app.before_request(guard)

    from api.replies import error_reply, http_error_reply

    @app.errorhandler(HallError)
    def hall_error(exc: HallError):
        return error_reply(exc.code, exc.text, exc.params, exc.status)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return http_error_reply(exc)

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
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; media-src 'self' blob:;"
            " style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'")
        return response

    compression.init_app(app)  # last: static files take the headers the hooks above add
    return app

"""How ``goiso serve`` runs the app: by default one process with gevent's own WSGI server
(``SingleServer``); ``[server] process_model = "gunicorn"`` keeps gunicorn's arbiter and one
gevent worker (``GunicornServer``). Both run the same app and the same background work.

One process is half the memory of an arbiter + worker pair and starts sooner (no fork, no
second interpreter's worth of imports), which matters on a Pi with 512 MB."""

import logging
import signal

from services import systemd
from web.logs import LineFormatter, fields, writes_to_journal

log = logging.getLogger("goiso.serve")
http_log = logging.getLogger("goiso.http")

# Connections beyond the event streams' cap ([server] max_streams), for requests: with every
# stream slot taken, a ticket, a call or a sign-in still finds a connection at once (when the
# pool was shared, 2,000 streams took all 1,000 and a ticket POST timed out).
REQUEST_CONNECTIONS = 1000
# Descriptors besides the connections: the database, its WAL, devices, logs, the listener.
SPARE_DESCRIPTORS = 256
GRACEFUL_SECONDS = 5
# An idle keep-alive connection (or one that stopped sending) is closed after this; SSE
# streams write at least every sse_keepalive_seconds (≤ 300), so the limit is above that.
IDLE_SECONDS = 330.0


def _address(client) -> str:
    """The peer of a connection as gevent keeps it (a tuple, or a string for a Unix socket)."""
    return client[0] if isinstance(client, tuple) and client else str(client or "unknown")


def _hub_fault(context, t, v, tb) -> None:
    """gevent's hub reporting an exception no one caught: one log record with its traceback."""
    http_log.error("fault in %s: %s", type(context).__name__ if context is not None else "a"
                   " greenlet", t.__name__ if t else "?", exc_info=(t, v, tb) if t else None)


def start_background(app):
    """Start what runs beside the requests (only ``serve`` does this, never create_app);
    setting the returned signal (a ``device.worker.Stop``) stops all of it at once."""
    from services import background

    return background.start(app.extensions["goiso"])


def _worker_ready(worker) -> None:
    """gunicorn's worker listens and has its app: start the background work, tell systemd."""
    import gevent

    gevent.get_hub().print_exception = _hub_fault  # as SingleServer: a crash is one record
    app = worker.wsgi
    systemd.serving(app.extensions["goiso"], start_background(app))


def max_connections(settings) -> int:
    """Connections the server takes at once: every stream slot, and room for requests."""
    return settings.max_streams + REQUEST_CONNECTIONS


def raise_descriptor_limit(settings) -> int:
    """Lift this process's soft limit on open files to what the connections need (up to the
    hard limit; the systemd unit sets LimitNOFILE); the soft limit now."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max_connections(settings) + SPARE_DESCRIPTORS
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        soft = wanted
    if soft != resource.RLIM_INFINITY and soft < max_connections(settings):
        log.warning("goiso: only %d open files allowed, fewer than the %d connections"
                    " configured; raise LimitNOFILE or lower [server] max_streams", soft,
                    max_connections(settings))
    return soft


def serve(settings) -> None:
    """Serve the hall with the process model the settings name, until SIGTERM or SIGINT."""
    raise_descriptor_limit(settings)
    if settings.process_model == "gunicorn":
        gunicorn_server(settings).run()
    else:
        SingleServer(settings).run()


class SingleServer:
    """gevent's WSGI server in this very process, monkey-patched as gunicorn's gevent worker
    does. SIGTERM or SIGINT: stop listening, close the streams and idle connections, let the
    requests in flight finish (up to ``GRACEFUL_SECONDS``), then stop the background work."""

    def __init__(self, settings):
        self.settings = settings
        self.busy: set = set()  # greenlets inside a request that is not a stream
        self.stopping = False  # set by SIGTERM/SIGINT: answers in flight close their connection

    def run(self) -> None:
        """Serve until a signal asks to stop; returns once everything is closed."""
        from gevent import monkey

        # Before the app is made, like gunicorn's gevent worker (patch_all after the
        # master's imports): sockets, sleep and locks then yield to other greenlets.
        monkey.patch_all()
        import gevent
        from gevent.event import Event
        from gevent.pool import Pool
        from gevent.pywsgi import WSGIHandler, WSGIServer

        from server import create_app

        app = create_app(self.settings)
        stop_background = start_background(app)
        # A greenlet's crash (a stream's generator, say) in the log as one record, not
        # printed on stderr beside it.
        gevent.get_hub().print_exception = _hub_fault

        class Handler(WSGIHandler):
            def handle(self):
                self.socket.settimeout(IDLE_SECONDS)
                super().handle()

            def log_error(self, msg, *args):
                # The server's own refusals (a garbled request line, a bad header) are bad
                # input: one line with the address, bounded like the app's refusals.
                # Without the client's port (gevent names it), so repeats are recognised.
                args = tuple("" if arg is self.client_address else arg for arg in args)
                text = (msg % args if args else msg).replace("(from ) ", "").replace(
                    " (from )", "")
                http_log.warning("refused by the HTTP server: %s", text,
                                 extra=fields(addr=_address(self.client_address)))

            def _log_error(self, t, v, tb):
                if not issubclass(t, gevent.GreenletExit):
                    environ = self.environ or {}
                    http_log.error("fault: %s", t.__name__, exc_info=(t, v, tb), extra=fields(
                        method=environ.get("REQUEST_METHOD"), path=environ.get("PATH_INFO"),
                        addr=_address(self.client_address)))

        server = WSGIServer((self.settings.host, self.settings.port), self._tracking(app),
                            spawn=Pool(max_connections(self.settings)), handler_class=Handler,
                            log=None, error_log=http_log)
        server.start()
        # The database is open and the port listens: now systemd may hear READY=1.
        systemd.serving(app.extensions["goiso"], stop_background)
        stopping = Event()

        def on_signal():
            self.stopping = True
            stopping.set()

        for number in (signal.SIGTERM, signal.SIGINT):
            gevent.signal_handler(number, on_signal)
        stopping.wait()
        self._shut_down(server, gevent)
        stop_background.set()
        self._join_background()

    def _tracking(self, app):
        """The app, noting which greenlets are serving a request that is not a stream."""
        import gevent

        busy = self.busy

        def tracked(environ, start_response):
            current = gevent.getcurrent()

            def starting(status, headers, exc_info=None):
                if any(k.lower() == "content-type" and v.startswith("text/event-stream")
                       for k, v in headers):
                    busy.discard(current)  # a stream only ends when its screen goes
                elif self.stopping:  # the client must not send another request on it
                    headers = [*headers, ("Connection", "close")]
                return start_response(status, headers, exc_info)

            busy.add(current)
            result = app(environ, starting)
            try:
                yield from result
            finally:
                busy.discard(current)
                # WSGI: the server closes what the app returned (Flask's teardown and
                # call_on_close run then); ``yield from`` closes it only when interrupted.
                if hasattr(result, "close"):
                    result.close()

        return tracked

    @staticmethod
    def _join_background() -> None:
        """Give the printers' and devices' workers, told to stop, the time to finish the job in
        hand (a ticket being printed) and close their device."""
        import threading
        import time

        deadline = time.monotonic() + GRACEFUL_SECONDS
        for thread in threading.enumerate():
            if thread is not threading.current_thread() and not isinstance(
                    thread, threading._DummyThread):
                thread.join(max(0.0, deadline - time.monotonic()))
        left = [t.name for t in threading.enumerate()
                if t.is_alive() and t is not threading.current_thread()
                and not isinstance(t, threading._DummyThread)]
        if left:
            log.warning("goiso: still running after %s s: %s", GRACEFUL_SECONDS, ", ".join(left))

    def _shut_down(self, server, gevent) -> None:
        server.close()  # no new connections: a client now is refused, never half-served
        pool = server.pool
        # Streams and idle keep-alive connections end now; a request in flight completes.
        for greenlet in list(pool):
            if greenlet not in self.busy:
                gevent.kill(greenlet)  # does not wait: the join below does
        pool.join(timeout=GRACEFUL_SECONDS)
        if len(pool):
            log.warning("goiso: %d requests outlived the %s s to finish", len(pool),
                        GRACEFUL_SECONDS)
            pool.kill(timeout=1)


def _gunicorn_logger():
    """gunicorn's logger writing its lines (arbiter, worker) in goiso's one format."""
    from gunicorn.glogging import Logger

    class GoisoLogger(Logger):
        def setup(self, cfg):
            super().setup(cfg)
            for handler in self.error_log.handlers:
                handler.setFormatter(LineFormatter(
                    journal=writes_to_journal(getattr(handler, "stream", None))))

    return GoisoLogger


def gunicorn_server(settings):
    """gunicorn with one gevent worker (imported only when configured: it is not small)."""
    from gunicorn.app.base import BaseApplication

    class GunicornServer(BaseApplication):
        def load_config(self):
            for key, value in {
                "bind": f"{settings.host}:{settings.port}",
                "workers": 1,  # one process: the event feed and devices live in it
                "worker_class": "gevent",
                "worker_connections": max_connections(settings),
                "keepalive": 5,
                "graceful_timeout": GRACEFUL_SECONDS,
                "timeout": 30,
                "accesslog": None,
                "errorlog": "-",
                "loglevel": "warning",
                "logger_class": _gunicorn_logger(),
                "proc_name": "goiso",
                "post_worker_init": _worker_ready,
                "worker_exit": lambda arbiter, worker: systemd.stopping(),
            }.items():
                self.cfg.set(key, value)

        def load(self):
            from server import create_app

            return create_app(settings)

    return GunicornServer()

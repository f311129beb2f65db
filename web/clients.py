"""Who is on the other end of a request, as far as the network tells: the client's address."""

from flask import request


def client_address() -> str:
    """The client's IP address (the proxy's X-Forwarded-For only with ``[server]
    trusted_proxies``, applied by ProxyFix in ``create_app``); "unknown" when the server has
    none (a test client without one)."""
    return request.remote_addr or "unknown"

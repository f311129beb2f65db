"""Where this hall is reached from, as the request that came in says."""

from flask import request

from services.tickets import lan_address

LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


def request_base() -> str:
    """The address the request came to; for a browser on the server itself (a kiosk on the
    Pi), the same port at this machine's hall-network address: a phone cannot reach
    127.0.0.1."""
    base = request.host_url
    host = request.host.rsplit(":", 1)[0]
    if host in LOOPBACK:
        base = base.replace(host, lan_address(), 1)
    return base

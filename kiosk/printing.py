"""From an issued ticket to a print job: its status address, its printed facts, the queueing.

Shared by the kiosk (first print), the admin pages and the API (reprints).
"""

import socket

from flask import current_app, request, url_for

from printer import TicketFacts


def status_url(token: str) -> str:
    """The address of the ticket's status page as a phone in the hall reaches it."""
    base = current_app.config.get("PUBLIC_URL") or ""
    if not base:
        base = request.host_url
        host = request.host.rsplit(":", 1)[0]
        if host in ("127.0.0.1", "localhost", "[::1]"):
            # A kiosk browser on the server itself: a phone needs the hall-network address.
            base = base.replace(host, lan_address(), 1)
    return base.rstrip("/") + url_for("phone.ticket", token=token)


def lan_address() -> str:
    """This machine's address on the hall network (127.0.0.1 when it has none)."""
    # Asking the kernel which source address it would use sends no packet at all.
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.254.254.254", 1))
        return probe.getsockname()[0]
    except OSError:
        return "127.0.0.1"
    finally:
        probe.close()


def ticket_facts(sheet: dict) -> TicketFacts:
    """What the ticket of ``sheet`` (``Tickets.sheet``) prints."""
    rules = current_app.extensions["goiso"].hall.rules
    return TicketFacts.from_sheet(sheet, current_app.config["HALL_NAME"],
                                  current_app.config["HALL_UNIT"], status_url(sheet["token"]),
                                  rules.local(sheet["issued_ts"]))


def print_ticket(printer: str, sheet: dict, reprint: bool = False) -> bool:
    """Queue the ticket on ``printer``; False when that printer cannot take jobs."""
    printers = current_app.extensions["goiso"].printers
    return printers.print_ticket(printer, sheet["token"], ticket_facts(sheet), reprint=reprint)


def printer_names() -> list[str]:
    """The hall's printers: those of the settings and one per active kiosk."""
    runtime = current_app.extensions["goiso"]
    kiosks = [k["id"] for k in runtime.read(runtime.hall.catalogue.kiosks) if k["active"]]
    return runtime.printers.names(kiosks)

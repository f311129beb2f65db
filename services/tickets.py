"""Tickets, from a request to the paper: issue at a kiosk and print, reprint, test a printer.

Every door calls these (the kiosk page, the JSON API, the back office, a future hardware button),
so a ticket issued at a kiosk is printed whichever door asked for it.
"""

import socket
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from babel.support import Translations

from hall import errors
from hall.words import N_, TRANSLATIONS, Term
from printer import TicketFacts

from .runtime import Runtime

NO_PRINTER = N_("ki-ốt này không có máy in")
SCREEN_TICKET = N_("vé trên màn hình")


@dataclass(frozen=True)
class Issued:
    """A ticket just issued: the holder's view, what it prints (the sheet; None when it was not
    issued at a kiosk), and whether it is on its way to a printer."""

    ticket: dict
    sheet: dict | None
    printing: bool


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


def status_url(runtime: Runtime, token: str, base=None) -> str:
    """The address of a ticket's status page as a phone in the hall reaches it: the hall's
    ``public_url``, else the address the request came to (``base``, or a function giving it,
    asked only here), else this machine's address on the hall network."""
    settings = runtime.settings
    if not settings.public_url and callable(base):
        base = base()
    base = settings.public_url or base or f"http://{lan_address()}:{settings.port}/"
    return base.rstrip("/") + "/t/" + token


def ticket_facts(runtime: Runtime, sheet: dict, base=None) -> TicketFacts:
    """What the ticket of ``sheet`` (``Printing.sheet``) prints, in the hall's language (the
    paper is the hall's, whichever language the screen that asked for it was in)."""
    settings = runtime.settings
    return TicketFacts.from_sheet(sheet, settings.hall_name, settings.hall_unit,
                                  status_url(runtime, sheet["token"], base),
                                  runtime.hall.rules.local(sheet["issued_ts"]),
                                  paper_words(settings.default_language))


@lru_cache(maxsize=4)
def paper_words(language: str) -> Callable[[str], str]:
    """Translate a msgid into ``language``, outside any request. Babel's own catalogues rather
    than Flask-Babel's: a ticket may be printed from a device's thread (a hardware button),
    where there is no request whose locale could be forced."""
    return Translations.load(str(TRANSLATIONS), [language]).gettext


def printer_names(runtime: Runtime) -> list[str]:
    """The hall's printers: those of the settings and one per active kiosk."""
    kiosks = [k["id"] for k in runtime.read(runtime.hall.catalogue.kiosks) if k["active"]]
    return runtime.printers.names(kiosks)


def issue(runtime: Runtime, procedure, *, priority=None, kiosk=None, request_key=None,
          base=None, client=None) -> Issued:
    """Issue a ticket; at a kiosk, also send it to the kiosk's printer.

    A retry with the same request key gets the same ticket and prints nothing again. When the
    kiosk's printer is not ready the hall's ``[kiosk] printer_down`` decides: refuse
    (``PrinterNotReady``, nothing issued) or issue a screen ticket flagged as not printed.
    ``base``: the address the request came to, or a function giving it (asked only when a
    ticket is printed). ``client``: the address a public door was asked from (held to the
    hall's tickets a minute, ``IssueLimited``; staff doors pass None).
    """
    hall, printers = runtime.hall, runtime.printers
    reading = printers.status(kiosk) if isinstance(kiosk, str) else None
    if reading is not None and not reading.ready \
            and runtime.settings.kiosk.printer_down == "refuse":
        earlier = runtime.read(hall.tickets.by_request_key, request_key) \
            if isinstance(request_key, str) else None
        if earlier is not None and earlier["procedure"]["code"] == procedure \
                and earlier["priority"] == priority:
            # A retry of a ticket issued before the printer went down: still that ticket.
            return Issued(earlier, runtime.read(hall.printing.sheet, earlier["token"]),
                          earlier["printed"] is None)
        # What the core would refuse anyway (bad input, an unknown kiosk, a closed queue) is
        # said first: the printer matters only for a ticket that could be had.
        runtime.read(hall.issuing.check, procedure, priority=priority, kiosk=kiosk)
        raise errors.PrinterNotReady(printer=runtime.read(hall.catalogue.kiosk, kiosk)["name"],
                                     reason=Term(reading.words))
    screen = reading is not None and not reading.ready
    # The core answers a retried request key with the ticket it issued the first time.
    ticket = runtime.act(hall.issuing.issue, procedure, priority=priority, kiosk=kiosk,
                         request_key=request_key, client=client,
                         to_print=reading is not None and not screen,
                         not_printed=f"{SCREEN_TICKET}: {reading.words}" if screen else None)
    if reading is None:
        return Issued(ticket, None, False)
    token = ticket["token"]
    sheet = runtime.read(hall.printing.sheet, token)
    if ticket["printed"] is not None:  # a screen ticket, or a retry whose printing is settled
        return Issued(ticket, sheet, False)
    # A retry while the first print is still on its way is queued once (Printers dedups).
    if printers.print_ticket(kiosk, token, ticket_facts(runtime, sheet, base)):
        return Issued(ticket, sheet, True)
    # The printer stopped between its reading and the job (printing shut down): say so.
    return _flagged(runtime, token, NO_PRINTER, kiosk)


def attach_printer(runtime: Runtime, kiosk: dict) -> None:
    """Start the printer of a kiosk (as ``put_kiosk`` returned it) added or switched on while
    the hall runs."""
    if kiosk["active"]:
        runtime.printers.attach(kiosk["id"])


def _flagged(runtime: Runtime, token: str, detail: str, kiosk: str) -> Issued:
    hall = runtime.hall
    ticket = runtime.act(hall.printing.mark_printed, token, False, detail, printer=kiosk)
    return Issued(ticket, runtime.read(hall.printing.sheet, token), False)


def reprint(runtime: Runtime, *, token: str | None = None, number: str | None = None,
            queue: str | None = None, printer: str | None = None,
            base=None, by: int | None = None, audited: bool = True) -> tuple[str, dict]:
    """Queue a ticket of today on a printer again (its kiosk's unless one is named), audited
    with who (``by``) unless the caller audits it (a bulk action); returns the printer and the
    ticket's sheet."""
    hall = runtime.hall
    if printer is not None and not isinstance(printer, str):
        raise errors.InvalidInput(field="printer")
    if token is None:
        token = runtime.read(hall.tickets.find, number, queue)["token"]
    sheet = runtime.read(hall.printing.sheet, token)
    printer = printer or sheet["kiosk"]
    if not printer:
        raise errors.PrinterNeeded()
    # Only a printer of the hall: any other name would open a new folder printer on the fly.
    if printer not in printer_names(runtime):
        raise errors.UnknownPrinter(printer=printer)
    if not runtime.printers.print_ticket(printer, token, ticket_facts(runtime, sheet, base),
                                         reprint=True):
        raise errors.PrinterNotReady(printer=printer,
                                     reason=Term(runtime.printers.status(printer).words))
    if audited:
        runtime.act(hall.printing.reprint_asked, token, printer, by)
    return printer, sheet


def test_page(runtime: Runtime, printer: str) -> None:
    """Queue a test page (every Vietnamese letter, the print plan, the connection)."""
    printers = runtime.printers
    if printer not in printer_names(runtime):
        raise errors.UnknownPrinter(printer=printer)
    if not printers.test_page(printer, runtime.settings.hall_name):
        raise errors.PrinterNotReady(printer=printer,
                                     reason=Term(printers.status(printer).words))


def cancel_unprinted(runtime: Runtime, token: str, clerk: int | None) -> dict:
    """Withdraw a ticket nobody holds (it never printed and nobody came for it)."""
    hall = runtime.hall
    sheet = runtime.read(hall.printing.sheet, token)
    return runtime.act(hall.calling.cancel, sheet["number"], clerk, sheet["issued_queue"],
                       "không in được vé")

"""Kiosk screens (htmx): what the citizen taps, translated into the application layer's terms."""

import re
import secrets

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from itsdangerous import BadData, URLSafeSerializer
from markupsafe import Markup

from hall import errors, words
from hall.rules import PRIORITY_REASONS
from hall.words import N_
from services import readaloud, tickets
from services.readaloud import VoiceError
from web import runtime
from web.access import role
from web.addresses import request_base
from web.clients import client_address
from web.extensions import htmx
from web.locale import hall_screen
from web.pages import fragment_or_alone, fragment_or_page
from web.replies import error_reply, say, with_retry_after

from . import menu

bp = Blueprint("kiosk", __name__, template_folder="templates")
KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
BAD_TAP = N_("Yêu cầu không hợp lệ. Xin vui lòng chọn lại thủ tục.")
READ_SALT = "kiosk-read-aloud"
READ_ARG_LIMIT = 8000  # characters of a signed reading; a real screen's is a few hundred


def _kiosk(kiosk_id: str) -> dict:
    return runtime().read(runtime().hall.catalogue.kiosk, kiosk_id)


def _priority() -> str | None:
    value = request.values.get("priority") or None
    return value if value in PRIORITY_REASONS else None


def _menu() -> menu.Menu:
    hall = runtime().hall
    return menu.build(runtime().read(hall.catalogue.procedures),
                      runtime().read(hall.issuing.availability))


def _show(kiosk: dict, template: str, status: int = 200, **context):
    """A screen: the fragment for htmx, the whole kiosk page otherwise (first load, reload)."""
    if "read" in context:
        context["read"] = _reading(kiosk, context["read"])
    context.update(kiosk=kiosk, priority=context.get("priority", _priority()),
                   options=runtime().settings.kiosk, new_key=lambda: secrets.token_urlsafe(12),
                   screen=template, printer=runtime().printers.status(kiosk["id"]),
                   day_closed=runtime().read(runtime().hall.bulk.day_closed))
    return fragment_or_page(template, "kiosk/page.html", **context), status


@bp.get("/")
@role("public")
@hall_screen
def start():
    """Choose a kiosk (or go straight to the only one)."""
    kiosks = [k for k in runtime().read(runtime().hall.catalogue.kiosks) if k["active"]]
    if len(kiosks) == 1:
        return redirect(url_for("kiosk.home", kiosk_id=kiosks[0]["id"]))
    return render_template("kiosk/choose.html", kiosks=kiosks)


@bp.get("/<kiosk_id>")
@role("public")
@hall_screen
def home(kiosk_id):
    """The start screen: fields, or the procedures when the hall has one field."""
    kiosk = _kiosk(kiosk_id)
    offer = _menu()
    if len(offer.fields) == 1:
        only = offer.fields[0]
        choices = offer.of_field(only["id"])
        return _show(kiosk, "kiosk/procedures.html", field=only, choices=choices, at_start=True,
                     read=_procedures_words(only, choices, at_start=True))
    lines = [_("Mời chọn lĩnh vực"), *_priority_words(_priority())]
    for f in offer.fields:
        procs = offer.of_field(f["id"])
        if len(procs) == 1:
            lines.extend(_choice_words(procs[0]))
        else:
            lines.append(_in_language(f["name"], f["name_en"]))
            if not f["open"]:
                lines.append(_("Tạm ngừng cấp số"))
    return _show(kiosk, "kiosk/fields.html", fields=offer.fields, menu=offer, at_start=True,
                 read=lines + _tools_words(_priority()))


@bp.get("/<kiosk_id>/fields/<int:field_id>")
@role("public")
@hall_screen
def field(kiosk_id, field_id):
    """The procedures of one field."""
    kiosk = _kiosk(kiosk_id)
    offer = _menu()
    chosen = next((f for f in offer.fields if f["id"] == field_id), None)
    if chosen is None:
        return redirect(url_for("kiosk.home", kiosk_id=kiosk_id, priority=_priority()))
    choices = offer.of_field(field_id)
    return _show(kiosk, "kiosk/procedures.html", field=chosen, choices=choices, at_start=False,
                 read=_procedures_words(chosen, choices, at_start=False))


@bp.get("/<kiosk_id>/search")
@role("public")
@hall_screen
def search(kiosk_id):
    """Search by typing on the on-screen keyboard, accents optional."""
    kiosk = _kiosk(kiosk_id)
    query = request.args.get("q", "")[:80]
    found = _menu().search(query) if query.strip() else []
    found_words = _search_words(query, found)
    if htmx.target == "results":
        return render_template("kiosk/results.html", kiosk=kiosk, query=query, choices=found,
                               priority=_priority(), new_key=lambda: secrets.token_urlsafe(12),
                               found_read=found_words and _reading(kiosk, found_words))
    return _show(kiosk, "kiosk/search.html", query=query, choices=found,
                 read=[_("Tìm thủ tục"), _("Gõ tên thủ tục bằng bàn phím trên màn hình."),
                       *_priority_words(_priority()), _("Quay lại"), _("Làm lại từ đầu")],
                 found_read=found_words and _reading(kiosk, found_words))


@bp.get("/<kiosk_id>/priority")
@role("public")
@hall_screen
def priority(kiosk_id):
    """Who may be served first: choosing a reason marks the ticket about to be taken."""
    kiosk = _kiosk(kiosk_id)
    lines = [_("Đối tượng ưu tiên"),
             _("Chọn trường hợp của quý khách, sau đó chọn thủ tục. Cán bộ có thể kiểm tra"
               " giấy tờ."),
             *(_(words.PRIORITY[reason]) for reason in PRIORITY_REASONS),
             _("Quay lại"), _("Làm lại từ đầu")]
    return _show(kiosk, "kiosk/priority.html", reasons=PRIORITY_REASONS, read=lines)


@bp.post("/<kiosk_id>/tickets")
@role("public")
@hall_screen
def issue(kiosk_id):
    """Issue a ticket for the tapped procedure (once per key) and print it."""
    kiosk = _kiosk(kiosk_id)
    key = request.form.get("key", "")
    code = request.form.get("procedure", "")
    if not KEY.match(key) or not code:
        return _refused(kiosk, errors.InvalidInput(BAD_TAP), 400)
    try:
        issued = tickets.issue(runtime(), code, priority=_priority(), kiosk=kiosk_id,
                               request_key=key, base=request_base, client=client_address())
    except errors.HallError as exc:
        return _refused(kiosk, exc, exc.status)
    return _ticket_screen(kiosk, issued.sheet)


@bp.get("/<kiosk_id>/tickets/<token>")
@role("public")
@hall_screen
def ticket(kiosk_id, token):
    """The ticket screen again (a reload while it shows)."""
    return _ticket_screen(_kiosk(kiosk_id), _sheet(token))


@bp.get("/<kiosk_id>/tickets/<token>/printing")
@role("public")
@hall_screen
def printing(kiosk_id, token):
    """How printing this ticket goes; polled by the ticket screen until it is settled."""
    kiosk = _kiosk(kiosk_id)
    return fragment_or_alone("kiosk/printing.html", f"{kiosk['name']} · {_('Máy in')}",
                             kiosk=kiosk, sheet=_sheet(token), options=runtime().settings.kiosk)


@bp.get("/<kiosk_id>/ping")
@role("public")
@hall_screen
def ping(kiosk_id):
    """Is the server there, and is this kiosk's printer ready? (the kiosk's heartbeat)"""
    kiosk = _kiosk(kiosk_id)
    reading = runtime().printers.status(kiosk["id"])
    return jsonify({"ok": True, "printer": {"state": reading.state, "ready": reading.ready}})


@bp.get("/<kiosk_id>/banner")
@role("public")
@hall_screen
def banner(kiosk_id):
    """The status line over every screen: printer trouble, in the kiosk's words, or issuing
    stopped early today."""
    kiosk = _kiosk(kiosk_id)
    return fragment_or_alone("kiosk/banner.html", f"{kiosk['name']} · {_('Trạng thái')}",
                             kiosk=kiosk, options=runtime().settings.kiosk,
                             printer=runtime().printers.status(kiosk["id"]),
                             day_closed=runtime().read(runtime().hall.bulk.day_closed))


def _sheet(token: str) -> dict:
    try:
        return runtime().read(runtime().hall.printing.sheet, token)
    except errors.NotFound:
        abort(404)


def _ticket_screen(kiosk: dict, sheet: dict):
    url = tickets.status_url(runtime(), sheet["token"], request_base)
    import segno  # the QR page only; not worth importing at start

    qr = segno.make(url, error="m").svg_data_uri(scale=6, border=2)
    return _show(kiosk, "kiosk/ticket.html", sheet=sheet, qr=qr, url=url,
                 priority=sheet["priority"], read=_ticket_words(sheet))


def _refused(kiosk: dict, exc: errors.HallError, status: int):
    # A 429 (too many tickets a minute) says when to come back, as every door does.
    lines = [_("Chưa cấp được số"), say(exc), _("Xin vui lòng hỏi cán bộ hướng dẫn tại sảnh."),
             _("Làm lại từ đầu")]
    return with_retry_after(_show(kiosk, "kiosk/refused.html", status=status, error=exc,
                                  read=lines), exc)


@bp.get("/<kiosk_id>/read")
@role("public")
@hall_screen
def read_aloud(kiosk_id):
    """A screen's title and choices spoken (WAV), in the board's offline voice: ``s`` is the
    signed reading the screen carries, so only what a kiosk screen showed is ever spoken."""
    _kiosk(kiosk_id)
    blob = request.args.get("s", "")
    try:
        if len(blob) > READ_ARG_LIMIT:
            raise BadData("too long")
        lines = [(text, language) for text, language in _signer().loads(blob)]
    except (BadData, TypeError, ValueError):
        abort(400)
    if not all(isinstance(text, str) and language in ("vi", "en") for text, language in lines):
        abort(400)
    try:
        path = runtime().reader.audio(runtime(), lines, client_address())
    except errors.ReadAloudLimited as exc:
        return with_retry_after(error_reply(exc.code, exc.text, exc.params, exc.status), exc)
    except VoiceError as exc:
        current_app.logger.error("read aloud: %s", exc)
        abort(503)
    # The same reading is the same URL and the same words: a kiosk keeps it for the day.
    return send_file(path, mimetype="audio/wav", max_age=3600)


# -- what each screen says when read aloud -------------------------------------------------------

def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=READ_SALT)


def _reading(kiosk: dict, lines: list) -> str:
    """The read-aloud address of a screen saying ``lines``: texts in the screen's language, or
    (text, language) for the hall's own words (a Vietnamese name on an English screen)."""
    screen = str(get_locale())
    said = [list(line) if isinstance(line, tuple) else [str(line), screen] for line in lines]
    return url_for("kiosk.read_aloud", kiosk_id=kiosk["id"], s=_signer().dumps(said))


def _in_language(name: str, name_en: str) -> tuple[str, str]:
    """A name of the hall as the screen shows it, with the language it is in."""
    return (name_en, "en") if name_en and str(get_locale()) == "en" else (name, "vi")


def _choice_words(choice: menu.Choice) -> list:
    name = _in_language(choice.name, choice.name_en)
    return [name, say(choice.refusal)] if choice.refusal else [name]


def _priority_words(priority: str | None) -> list[str]:
    return [f"{_('Ưu tiên')}: {_(words.PRIORITY[priority])}"] if priority else []


def _tools_words(priority: str | None) -> list[str]:
    return [_("Tìm thủ tục")] + ([] if priority else [_("Tôi thuộc diện ưu tiên")])


def _procedures_words(field: dict, choices: list, at_start: bool) -> list:
    lines = [_("Mời chọn thủ tục"), _in_language(field["name"], field["name_en"]),
             *_priority_words(_priority()), *(w for c in choices for w in _choice_words(c))]
    return lines + (_tools_words(_priority()) if at_start
                    else [_("Quay lại"), _("Làm lại từ đầu")])


def _search_words(query: str, found: list) -> list:
    if not query.strip():
        return []
    if not found:
        return [_("Tìm thủ tục"),
                _("Không tìm thấy thủ tục nào. Hãy thử từ khác hoặc chọn theo lĩnh vực.")]
    count = ngettext("Tìm thấy %(num)s thủ tục", "Tìm thấy %(num)s thủ tục", len(found))
    return [_("Tìm thủ tục"), count, *(w for c in found for w in _choice_words(c))]


def _ticket_words(sheet: dict) -> list:
    language = str(get_locale())
    title = _("SỐ THỨ TỰ CỦA QUÝ KHÁCH").lower()
    lines = [f"{title[:1].upper()}{title[1:]}: "
             f"{readaloud.ticket_number(runtime(), sheet['number'], language)}",
             *_priority_words(sheet["priority"]),
             (sheet["procedure"]["name"] if sheet["procedure"] else sheet["queue"]["name"], "vi")]
    if sheet["counters"]:
        lines.append(_("Mời đến: %(c)s", c=", ".join(sheet["counters"])))
    if sheet["waiting_ahead"] is not None:
        lines.append(_("Số người chờ trước: %(n)s", n=sheet["waiting_ahead"]))
        # The same words as the screen's wait line (wait.html), whatever they become.
        wait = Markup(render_template("wait.html", sheet=sheet)).striptags()  # noqa: S704
        if wait and sheet.get("eta_minutes") is not None:
            lines.append(wait)
    if sheet["printed"] is False:  # a ticket only on the screen: say what to do
        lines += [_("Chưa in được vé."),
                  _("Số của quý khách vẫn được giữ. Hãy ghi lại số, chụp ảnh màn hình hoặc quét mã"
                    " QR; cán bộ đã được báo để in lại.")]
    return lines

"""Telling people what went wrong: one shape for every error ({"error": {"code", "message",
"messages": {"vi", "en"}}}), a small page for browsers, and a hall error in the reader's
language."""

from flask import current_app, jsonify, render_template, request
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from hall.errors import HallError
from hall.words import N_, Term

from . import logs
from .extensions import htmx

HTTP_TEXTS = {
    400: N_("Yêu cầu không hợp lệ."),
    401: N_("Cần đăng nhập."),
    403: N_("Bạn không có quyền làm việc này."),
    404: N_("Không tìm thấy trang hoặc mục này."),
    405: N_("Phương thức này không dùng được ở địa chỉ này."),
    413: N_("Dữ liệu gửi lên quá lớn."),
    415: N_("Cần gửi dữ liệu dạng JSON."),
    429: N_("Quá nhiều yêu cầu, hãy thử lại sau ít phút."),
    500: N_("Lỗi máy chủ. Số thứ tự đã cấp không bị mất; hãy thử lại."),
}
CSRF_TEXT = N_("Phiên làm việc đã hết hạn, hãy tải lại trang và thử lại.")


def translate(text: str, params: dict | None = None) -> str:
    """A text of the hall in the current language; parameters that are words of the hall
    (``Term``) are translated first, so the sentence is all in one language."""
    params = {key: _(value) if isinstance(value, Term) else value
              for key, value in (params or {}).items()}
    try:
        return _(text, **params) if params else _(text)
    except (KeyError, TypeError, ValueError):
        return text


def say(exc: HallError) -> str:
    """A hall error as a sentence in the current language."""
    return translate(exc.text, exc.params)


def error_body(code: str, text: str, params: dict) -> dict:
    """The one shape of an error in JSON: its code, and its sentence now and in each language."""
    messages = {}
    for lang in ("vi", "en"):
        with force_locale(lang):
            messages[lang] = translate(text, params)
    current = str(get_locale() or "vi")
    return {"code": code, "message": messages.get(current, messages["vi"]),
            "messages": messages}


def error_reply(code: str, text: str, params: dict, status: int):
    """An error as JSON for API callers, or as a small page for browsers."""
    error = error_body(code, text, params)
    message, messages = error["message"], error["messages"]
    wants_html = (not request.path.startswith("/api/")
                  and request.accept_mimetypes.accept_html
                  and not htmx)
    if wants_html:
        return render_template("error.html", status=status, message=message,
                               messages=messages), status
    return jsonify({"error": error}), status


def hall_error_reply(exc: HallError):
    """A hall error in the one shape (a 429 says when to retry, ``Retry-After``), and one line
    in the log."""
    logs.refused(exc.code, exc.status)
    reply = error_reply(exc.code, exc.text, exc.params, exc.status)
    return with_retry_after(reply, exc)


def with_retry_after(reply, exc: HallError):
    """A reply of a 429 error with its ``Retry-After`` (the error's ``seconds``)."""
    if exc.status == 429 and isinstance(exc.params.get("seconds"), int):
        body, status = reply
        return body, status, {"Retry-After": str(max(1, exc.params["seconds"]))}
    return reply


def http_error_reply(exc):
    """A werkzeug HTTP error (404, 405, CSRF…) in the same shape, in both languages (and one
    line in the log)."""
    status = exc.code or 500
    if isinstance(exc, CSRFError):
        logs.refused("csrf_failed", status)
        return error_reply("csrf_failed", CSRF_TEXT, {}, status)
    code = exc.name.lower().replace(" ", "_")
    logs.refused(code, status)
    reply = error_reply(code, HTTP_TEXTS.get(status, HTTP_TEXTS[400 if status < 500 else 500]),
                        {}, status)
    return (*reply, _http_headers(exc, status))


def _http_headers(exc, status: int) -> list[tuple[str, str]]:
    """What the HTTP error says besides its page: ``Allow`` on every 405 (RFC 9110; also one
    raised by hand, from the routes), ``Retry-After``, ``WWW-Authenticate``…"""
    headers = [(name, value) for name, value in exc.get_headers()
               if name.lower() != "content-type"]
    if status == 405 and not any(name.lower() == "allow" for name, _value in headers):
        adapter = current_app.url_map.bind_to_environ(request.environ)
        allowed = adapter.allowed_methods()
        if allowed:
            headers.append(("Allow", ", ".join(sorted(allowed))))
    return headers


def fault_reply(exc: Exception):
    """A real fault (a bug, not bad input): its traceback in the log, once; the reply says only
    that the server failed, in the one shape."""
    logs.fault(exc)
    return error_reply("internal_server_error", HTTP_TEXTS[500], {}, 500)

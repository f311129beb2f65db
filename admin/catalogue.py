"""The catalogue pages (role admin): fields, procedures, queues, counters, clerks, kiosks and
boards listed, created, changed, reordered and deactivated; the catalogue imported from CSV or
XLSX (upload, preview, apply) and exported. Forms are read here; the work is the service's."""

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _

from hall import errors
from hall.accounts import ROLES
from hall.catalogue import SELECT_MODES
from hall.numbering import FORMATS
from hall.policy import POLICIES
from hall.words import N_
from services import catalogue as service
from services import hubpush
from web import runtime
from web.access import actor, role
from web.replies import say

bp = Blueprint("catalogue", __name__, template_folder="templates")

KIND_TITLES = {
    "field": N_("Lĩnh vực"), "procedure": N_("Thủ tục"), "queue": N_("Hàng đợi"),
    "counter": N_("Quầy"), "clerk": N_("Nhân viên"), "kiosk": N_("Ki-ốt"),
    "board": N_("Màn hình"),
}
LABELS = {
    "id": N_("Mã"), "code": N_("Mã"), "number": N_("Số quầy"), "login": N_("Tên đăng nhập"),
    "name": N_("Tên"), "name_en": N_("Tên tiếng Anh"), "keywords": N_("Từ khóa tìm kiếm"),
    "field": N_("Lĩnh vực"), "queue": N_("Hàng đợi"), "queues": N_("Hàng đợi phục vụ"),
    "counters": N_("Quầy hiển thị"), "active": N_("Đang dùng"),
    "number_format": N_("Kiểu số"), "prefix": N_("Chữ đầu số"), "digits": N_("Số chữ số"),
    "block": N_("Khối số (1–9)"), "priority_policy": N_("Cách gọi số ưu tiên"),
    "daily_limit": N_("Tối đa số mỗi ngày"),
    "interleave_every": N_("Xen kẽ: một số ưu tiên sau mỗi … số thường"),
    "issue_from": N_("Phát số từ (HH:MM)"), "issue_until": N_("Phát số đến (HH:MM)"),
    "service_minutes": N_("Thời gian phục vụ (phút)"),
    "select_mode": N_("Cách chọn hàng đợi"), "role": N_("Vai trò"),
    "pin": N_("PIN (6–12 chữ số)"), "notice": N_("Dòng thông báo"),
}
CHOICES = {
    "prefix": N_("Chữ đầu + số (A001)"), "block": N_("Theo khối (1001)"),
    "plain": N_("Chỉ số (001)"), "": N_("Theo cài đặt sảnh"),
    "strict": N_("Ưu tiên trước hết"), "interleave": N_("Xen kẽ ưu tiên và thường"),
    "oldest": N_("Người chờ lâu nhất"), "ordered": N_("Theo thứ tự hàng đợi"),
    "clerk": N_("Nhân viên"), "supervisor": N_("Giám sát"), "admin": N_("Quản trị"),
}
# The inputs of each kind's form: (name, kind of input); the first names the item.
FORMS = {
    "field": [("name", "text"), ("name_en", "text"), ("active", "flag")],
    "procedure": [("code", "key"), ("name", "text"), ("name_en", "text"),
                  ("keywords", "text"), ("field", "field"), ("queue", "queue"),
                  ("active", "flag")],
    "queue": [("code", "key"), ("name", "text"), ("number_format", "choice"),
              ("prefix", "text"), ("digits", "number"), ("block", "number"),
              ("priority_policy", "choice"), ("interleave_every", "number"),
              ("issue_from", "time"), ("issue_until", "time"), ("daily_limit", "number"),
              ("service_minutes", "decimal"), ("active", "flag")],
    "counter": [("number", "key"), ("name", "text"), ("queues", "weights"),
                ("select_mode", "choice"), ("active", "flag")],
    "clerk": [("login", "key"), ("name", "text"), ("role", "choice"), ("pin", "secret"),
              ("active", "flag")],
    "kiosk": [("id", "key"), ("name", "text"), ("active", "flag")],
    "board": [("id", "key"), ("name", "text"), ("queues", "queue_list"),
              ("counters", "counter_list"), ("notice", "text")],
}
FORM_CHOICES = {"number_format": FORMATS, "priority_policy": ("", *POLICIES),
                "select_mode": SELECT_MODES, "role": ROLES}
# Which input an error of the core names (its ``field``) belongs to.
ERROR_PLACES = {"weight": "queues", "queue": "queue", "counter": "counters",
                "kiosk": "id", "board": "id"}


def _number(text: str):
    """A typed whole number (None when empty; the text itself when it is none, for the
    core to name)."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        return text


def _decimal(text: str):
    text = (text or "").strip().replace(",", ".")
    try:
        return float(text)
    except ValueError:
        return text


def _values(kind: str, form) -> tuple[object, dict]:
    """(the item's key, the keyword arguments for the service) from a submitted form."""
    key, values = None, {}
    for name, input_kind in FORMS[kind]:
        text = form.get(name, "")
        if input_kind == "key":
            key = _number(text) if kind == "counter" else text.strip()
        elif input_kind == "flag":
            values[name] = name in form
        elif input_kind == "number":
            values[name] = _number(text)
        elif input_kind == "decimal":
            values[name] = _decimal(text)
        elif input_kind in ("time", "secret"):
            values[name] = text.strip() or None
        elif input_kind == "weights":
            values[name] = [{"code": code, "weight": _decimal(form.get(f"weight-{code}", "1"))}
                            for code in form.getlist(name)]
        elif input_kind == "queue_list":
            values[name] = form.getlist(name)
        elif input_kind == "counter_list":
            values[name] = [_number(c) for c in form.getlist(name)]
        elif input_kind == "choice" and name == "priority_policy":
            values[name] = text or None
        else:
            values[name] = text
    if kind == "field":
        key = _number(form.get("id", ""))
    if kind == "queue" and values.get("digits") is None:
        values["digits"] = 3
    if kind == "queue" and values.get("service_minutes") == "":
        values["service_minutes"] = 5
    return key, values


def _typed(kind: str, item: dict) -> dict:
    """An item as its form shows it (the same shape as a submitted form)."""
    typed = {name: item.get(name) for name, _kind in FORMS[kind]}
    if kind == "procedure":
        typed["queue"] = item["queue"]["code"]
    if kind == "field":
        typed["id"] = item["id"]
    if kind == "counter":
        typed["queues"] = [q["code"] for q in item["queues"]]
        typed["weights"] = {q["code"]: f"{q['weight']:g}" for q in item["queues"]}
    if kind == "clerk":
        typed["pin"] = ""
    return typed


def _form_of(kind: str, form) -> dict:
    """A submitted form kept as typed, to show again after a refusal."""
    typed = {name: form.get(name, "") for name, _kind in FORMS[kind]}
    for name, input_kind in FORMS[kind]:
        if input_kind == "flag":
            typed[name] = name in form
        elif input_kind in ("weights", "queue_list", "counter_list"):
            typed[name] = form.getlist(name)
    typed["id"] = form.get("id", typed.get("id"))
    typed["pin"] = ""  # a PIN is never sent back
    typed["weights"] = {key[7:]: value for key, value in form.items()
                        if key.startswith("weight-")}
    return typed


def _page(editing: dict | None = None, message: str = "", status: int = 200, preview=None,
          message_at: str = ""):
    """The catalogue page; ``editing`` holds the form being edited: kind, the item's key (None
    when new), what it holds (typed) and its errors (input name -> sentence; "" for the form)."""
    items = service.overview(runtime())
    if editing is None and (wanted := request.args.get("edit")):
        kind, _sep, key = wanted.partition(":")
        editing = _edit(kind, key, items)
    return render_template(
        "admin/catalogue.html", items=items, editing=editing, message=message, forms=FORMS,
        labels=LABELS, choices=CHOICES, form_choices=FORM_CHOICES, titles=KIND_TITLES,
        preview=preview, kinds=service.KINDS, message_at=message_at,
        province=hubpush.catalogue_state(runtime()),
        short_pins=runtime().read(runtime().hall.accounts.short_pins),
        min_pin_length=runtime().settings.security.min_pin_length), status


def _edit(kind: str, key: str, items: dict) -> dict | None:
    """The form of an existing item (``?edit=kind:key``), or None."""
    listed = {"field": ("fields", "id"), "procedure": ("procedures", "code"),
              "queue": ("queues", "code"), "counter": ("counters", "number"),
              "clerk": ("clerks", "login"), "kiosk": ("kiosks", "id"),
              "board": ("boards", "id")}.get(kind)
    if listed is None:
        return None
    found = next((i for i in items[listed[0]] if str(i[listed[1]]) == key), None)
    if found is None:
        return None
    return {"kind": kind, "key": key, "typed": _typed(kind, found), "errors": {}}


@bp.get("/catalogue")
@role("admin")
def catalogue_page():
    """Every kind of item of the hall's catalogue, a form to add one and to change one."""
    return _page()


@bp.post("/catalogue/<kind>")
@role("admin")
def save_item(kind):
    """Create or change one item; an error is shown beside its input, what was typed kept."""
    if kind not in service.KINDS:
        raise errors.NotFound()
    key, values = _values(kind, request.form)
    try:
        saved = service.put(runtime(), kind, key, values, by=actor().clerk)
    except errors.HallError as exc:
        place = exc.params.get("field", "") if isinstance(exc, errors.InvalidInput) else ""
        if isinstance(exc, errors.UnknownQueue):
            place = "queue" if kind == "procedure" else "queues"
        place = ERROR_PLACES.get(place, place)
        if kind in ("procedure", "queue", "kiosk", "board") and place in ("code", "id"):
            place = FORMS[kind][0][0]
        if place not in {name for name, _kind in FORMS[kind]}:
            place = ""
        editing = {"kind": kind, "key": request.form.get("editing") or None,
                   "typed": _form_of(kind, request.form), "errors": {place: say(exc)}}
        return _page(editing, status=exc.status if exc.status != 400 else 422)
    name = saved.get("name", key) if isinstance(saved, dict) else key
    return _page(message=_("Đã lưu %(kind)s %(name)s.", kind=_(KIND_TITLES[kind]).lower(),
                           name=name), message_at=kind)


@bp.post("/catalogue/<kind>/move")
@role("admin")
def move_item(kind):
    """Move a field, procedure or queue one place up or down."""
    if kind not in ("field", "procedure", "queue"):
        raise errors.NotFound()
    key = request.form.get("key", "")
    step = -1 if request.form.get("step") == "up" else 1
    service.move(runtime(), kind, _number(key) if kind == "field" else key, step,
                 by=actor().clerk)
    return _page(message=_("Đã đổi thứ tự."), message_at=kind)


@bp.post("/catalogue/import")
@role("admin")
def import_preview():
    """Read an uploaded catalogue and show what importing it would add, change and
    deactivate; nothing changes yet."""
    upload = request.files.get("file")
    missing = "deactivate_missing" in request.form
    try:
        name, report = service.preview_import(
            runtime(), upload.read() if upload else b"", upload.filename if upload else "",
            deactivate_missing=missing)
    except errors.HallError as exc:
        return _page(preview={"problem": say(exc)}, status=422)
    return _page(preview={"upload": name, "report": report, "deactivate_missing": missing,
                          "filename": upload.filename},
                 status=200 if report.ok else 422)


@bp.post("/catalogue/province")
@role("admin")
def province_preview():
    """Fetch the province's newer catalogue from the hub and show what importing it would
    change, as for an uploaded file; nothing changes yet."""
    try:
        found = hubpush.preview_province_catalogue(runtime())
    except (hubpush.HubRefused, hubpush.HubUnreachable) as exc:
        return _page(preview={"problem": _("Không lấy được danh mục từ hub tỉnh: %(error)s",
                                            error=str(exc))}, status=502)
    if found is None:
        return _page(message=_("Danh mục của tỉnh không có bản nào mới hơn."),
                     message_at="import")
    version, upload, report = found
    return _page(preview={"upload": upload, "report": report, "deactivate_missing": False,
                          "filename": _("danh mục của tỉnh, bản %(v)s", v=version),
                          "province_version": version},
                 status=200 if report.ok else 422)


@bp.post("/catalogue/import/apply")
@role("admin")
def import_apply():
    """Import the previewed file, exactly as previewed, in one change."""
    missing = request.form.get("deactivate_missing") == "1"
    try:
        report = service.apply_import(runtime(), request.form.get("upload", ""),
                                      request.form.get("fingerprint", ""),
                                      deactivate_missing=missing, by=actor().clerk)
    except errors.HallError as exc:
        return _page(preview={"problem": say(exc)}, status=422)
    if not report.ok:
        return _page(preview={"report": report, "filename": ""}, status=409)
    province = request.form.get("province_version", "")
    if province.isdecimal():
        hubpush.province_catalogue_applied(runtime(), int(province))
    return _page(message=_("Đã nhập: thêm %(added)s, sửa %(updated)s, ngừng dùng"
                           " %(deactivated)s thủ tục.", added=len(report.added),
                           updated=len(report.updated), deactivated=len(report.deactivated)))


@bp.get("/catalogue/export.<kind>")
@role("admin")
def export(kind):
    """The procedures as a file with the columns an import reads (code, field, name, …)."""
    if kind not in ("csv", "xlsx"):
        raise errors.NotFound()
    mimetype = "text/csv; charset=utf-8" if kind == "csv" else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(service.export(runtime(), kind), mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="thu-tuc.{kind}"'})

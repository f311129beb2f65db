"""The settings page (role admin): every table a hall may set in the browser, one form each,
errors beside their fields, what was typed kept, one key at a time back to the file's value."""

from flask import Blueprint, render_template, request
from flask_babel import gettext as _

from hall.words import N_
from services import configuration
from settings import EDITABLE, SettingsError
from web import runtime
from web.access import actor, role

bp = Blueprint("configure", __name__, template_folder="templates")

TABLE_TITLES = {
    "hall": N_("Sảnh"), "rules": N_("Quy tắc phục vụ"), "kiosk": N_("Ki-ốt"),
    "ticket": N_("Phiếu số thứ tự"), "board": N_("Màn hình gọi số"), "voice": N_("Giọng đọc"),
}
TABLE_TITLES["security"] = N_("Đăng nhập và PIN")
KEY_LABELS = {
    ("hall", "name"): N_("Tên sảnh"), ("hall", "unit"): N_("Đơn vị"),
    ("hall", "default_language"): N_("Ngôn ngữ mặc định"),
    ("rules", "timezone"): N_("Múi giờ"), ("rules", "day_starts_at"): N_("Ngày mới bắt đầu lúc"),
    ("rules", "priority_policy"): N_("Cách gọi số ưu tiên"),
    ("rules", "interleave_every"): N_("Xen kẽ: một số ưu tiên sau mỗi … số thường"),
    ("rules", "transfer_keeps_time"): N_("Chuyển quầy giữ thời điểm lấy số"),
    ("rules", "next_finishes_current"): N_("Gọi số tiếp theo thì kết thúc số đang phục vụ"),
    ("rules", "outcomes"): N_("Kết quả phục vụ (mỗi dòng một kết quả)"),
    ("rules", "recent_calls"): N_("Số lượt gọi gần nhất trên màn hình"),
    ("rules", "service_samples"): N_("Số lượt dùng để ước tính thời gian phục vụ"),
    ("rules", "rating_levels"): N_("Mức đánh giá (mỗi dòng một mức)"),
    ("rules", "rating_seconds"): N_("Thời gian chờ đánh giá (giây)"),
    ("rules", "target_wait_minutes"): N_("Thời gian chờ mục tiêu (phút)"),
    ("rules", "alert_wait_minutes"): N_("Cảnh báo khi chờ quá (phút)"),
    ("rules", "alert_device_seconds"): N_("Cảnh báo thiết bị mất tín hiệu sau (giây)"),
    ("rules", "opens_at"): N_("Giờ mở cửa (HH:MM)"),
    ("rules", "closes_at"): N_("Giờ đóng cửa (HH:MM)"),
    ("rules", "keep_tickets_days"): N_("Giữ chi tiết số thứ tự (ngày, 0 = mãi mãi)"),
    ("rules", "kiosk_tickets_per_minute"): N_("Số vé tối đa mỗi phút cho một ki-ốt (0 = không giới"
                                              " hạn)"),
    ("rules", "client_tickets_per_minute"): N_("Số vé tối đa mỗi phút cho một địa chỉ mạng (0 ="
                                               " không giới hạn)"),
    ("rules", "numbers_alert_percent"): N_("Cảnh báo khi hàng đợi đã dùng (phần trăm số trong"
                                           " ngày)"),
    ("kiosk", "idle_seconds"): N_("Về màn hình đầu sau (giây)"),
    ("kiosk", "ticket_seconds"): N_("Hiện phiếu sau khi in (giây)"),
    ("kiosk", "failed_ticket_seconds"): N_("Hiện phiếu khi in lỗi (giây)"),
    ("kiosk", "printer_down"): N_("Khi máy in hỏng"),
    ("ticket", "title"): N_("Tiêu đề phiếu"), ("ticket", "footer"): N_("Dòng cuối phiếu"),
    ("ticket", "counters_label"): N_("Dòng quầy ({counters})"),
    ("ticket", "ahead_label"): N_("Dòng số người chờ ({ahead})"),
    ("ticket", "wait_label"): N_("Dòng thời gian chờ ({minutes})"),
    ("ticket", "soon_label"): N_("Dòng sắp đến lượt"),
    ("ticket", "unknown_label"): N_("Dòng chưa ước tính được thời gian chờ"),
    ("ticket", "closing_label"): N_("Dòng có thể quá giờ đóng cửa"),
    ("ticket", "priority_label"): N_("Dòng ưu tiên ({reason})"),
    ("ticket", "qr_label"): N_("Dòng mã QR"), ("ticket", "show_field"): N_("In lĩnh vực"),
    ("ticket", "show_counters"): N_("In quầy phục vụ"),
    ("ticket", "show_wait"): N_("In thời gian chờ"),
    ("ticket", "show_qr"): N_("In mã QR"), ("ticket", "font_dir"): N_("Thư mục phông chữ"),
    ("board", "highlight_seconds"): N_("Làm nổi số vừa gọi (giây)"),
    ("board", "poll_seconds"): N_("Làm mới khi mất kết nối (giây)"),
    ("voice", "enabled"): N_("Đọc số bằng giọng nói"), ("voice", "template"): N_("Câu gọi số"),
    ("voice", "style"): N_("Cách đọc số"), ("voice", "dialect"): N_("Phương ngữ"),
    ("voice", "four"): N_("Đọc số 4 là"), ("voice", "voice"): N_("Giọng"),
    ("voice", "speed"): N_("Tốc độ đọc (từ/phút)"), ("voice", "repeat"): N_("Số lần đọc"),
    ("voice", "chime"): N_("Chuông trước khi gọi"),
    ("voice", "pack_dir"): N_("Thư mục giọng thu sẵn"),
}
KEY_LABELS |= {
    ("security", "free_failures"): N_("Số lần sai PIN chưa phải chờ (mỗi tên đăng nhập)"),
    ("security", "delay_seconds"): N_("Chờ sau lần sai đầu tiên (giây, gấp đôi mỗi lần sai)"),
    ("security", "max_delay_seconds"): N_("Chờ lâu nhất giữa hai lần thử (giây)"),
    ("security", "lock_after"): N_("Khóa tên đăng nhập sau … lần sai PIN"),
    ("security", "address_free_failures"): N_("Số lần sai PIN chưa phải chờ (mỗi địa chỉ máy)"),
    ("security", "address_lock_after"): N_("Khóa địa chỉ máy sau … lần sai PIN"),
    ("security", "lock_minutes"): N_("Thời gian khóa lần đầu (phút, gấp đôi mỗi lần khóa)"),
    ("security", "max_lock_minutes"): N_("Thời gian khóa lâu nhất (phút)"),
    ("security", "forget_hours"): N_("Quên các lần sai sau (giờ)"),
    ("security", "min_pin_length"): N_("Số chữ số tối thiểu của PIN mới"),
}
CHOICE_LABELS = {
    "vi": N_("Tiếng Việt"), "en": N_("Tiếng Anh"), "strict": N_("Ưu tiên trước hết"),
    "interleave": N_("Xen kẽ ưu tiên và thường"), "refuse": N_("Không phát số"),
    "screen": N_("Phát số trên màn hình"), "cardinal": N_("Đọc thành số (một trăm hai mươi ba)"),
    "digits": N_("Đọc từng chữ số (một hai ba)"), "north": N_("Miền Bắc"), "south": N_("Miền Nam"),
    "bốn": N_("bốn"), "tư": N_("tư"), "vi-vn-x-central": N_("Tiếng Việt miền Trung"),
    "vi-vn-x-south": N_("Tiếng Việt miền Nam"), 1: N_("Một lần"), 2: N_("Hai lần"),
}


def _page(typed: dict | None = None, problems: dict | None = None, message: str = "",
          status: int = 200):
    """The settings page; ``typed`` (table -> form) and ``problems`` ((table, key) ->
    sentence) come back after a refused change so nothing typed is lost."""
    tables = []
    for table in EDITABLE:
        fields = configuration.form_fields(runtime(), table)
        form = (typed or {}).get(table)
        for item in fields:
            item["label"] = _(KEY_LABELS.get((table, item["key"]), item["key"]))
            item["error"] = (problems or {}).get((table, item["key"]), "")
            if form is not None:  # what was typed, as it was typed
                item["value"] = form.get(item["key"]) if item["kind"] != "flag" \
                    else item["key"] in form
            elif item["kind"] == "lines":
                item["value"] = "\n".join(item["value"])
        tables.append({"name": table, "title": _(TABLE_TITLES[table]), "fields": fields,
                       "error": (problems or {}).get((table, None), "")})
    return render_template("admin/settings.html", tables=tables, message=message,
                           choice_labels=CHOICE_LABELS), status


@bp.get("/settings")
@role("admin")
def settings_page():
    """Every setting a hall may change in the browser, one form per table."""
    return _page()


@bp.post("/settings/<table>")
@role("admin")
def save_settings(table):
    """Check and apply one table's form; each problem is shown beside its field."""
    if table not in EDITABLE:
        return _page(status=404)
    try:
        changed = configuration.change_from_form(runtime(), table, request.form,
                                                 by=actor().clerk)
    except SettingsError as exc:
        problems = {(table if place_table is None else place_table,
                     key.split("[")[0].split(".")[0] or None): sentence
                    for place_table, key, sentence in exc.places}
        return _page({table: request.form}, problems, status=422)
    message = _("Đã lưu %(count)s thay đổi.", count=len(changed)) if changed \
        else _("Không có gì thay đổi.")
    return _page(message=message)


@bp.post("/settings/<table>/reset")
@role("admin")
def reset_setting(table):
    """Forget the browser's value of one key: the settings file's value applies again."""
    key = request.form.get("key", "")
    if table not in EDITABLE or key not in {k for k, _k, _c in configuration.shape(table)}:
        return _page(status=404)
    configuration.reset(runtime(), table, (key,), by=actor().clerk)
    return _page(message=_("Đã trả %(key)s về giá trị trong tệp cài đặt.",
                           key=_(KEY_LABELS.get((table, key), key))))

"""Domain errors of the hall: each has a stable code, an HTTP-ish kind and a translatable text.

Texts are Vietnamese msgids (Vietnamese first); the web layer translates them with Babel.
"""


def N_(text: str) -> str:
    """Mark a text for translation without translating it (Babel extracts N_ calls)."""
    return text


class HallError(Exception):
    """Base of every error the hall core raises on purpose; never changes state."""

    code = "hall_error"
    status = 400
    text = N_("Yêu cầu không hợp lệ.")

    def __init__(self, text: str | None = None, **params):
        self.params = params
        if text is not None:
            self.text = text
        super().__init__(self.code, params)

    def __str__(self) -> str:
        try:
            return self.text % self.params
        except (KeyError, TypeError, ValueError):
            return self.text


class InvalidInput(HallError):
    code = "invalid_input"
    status = 400
    text = N_("Dữ liệu không hợp lệ: %(detail)s")


class NotFound(HallError):
    code = "not_found"
    status = 404
    text = N_("Không tìm thấy.")


class UnknownProcedure(NotFound):
    code = "unknown_procedure"
    text = N_("Không có thủ tục mã %(code)s.")


class UnknownQueue(NotFound):
    code = "unknown_queue"
    text = N_("Không có hàng đợi mã %(code)s.")


class UnknownCounter(NotFound):
    code = "unknown_counter"
    text = N_("Không có quầy số %(number)s.")


class UnknownTicket(NotFound):
    code = "unknown_ticket"
    text = N_("Không có số thứ tự %(number)s trong ngày hôm nay.")


class UnknownKiosk(NotFound):
    code = "unknown_kiosk"
    text = N_("Không có ki-ốt %(kiosk)s.")


class Conflict(HallError):
    status = 409


class InactiveProcedure(Conflict):
    code = "procedure_inactive"
    text = N_("Thủ tục %(code)s hiện không nhận hồ sơ.")


class QueueClosed(Conflict):
    code = "queue_closed"
    text = N_("Hàng đợi %(queue)s chỉ cấp số từ %(opens)s đến %(closes)s.")
    # The same, saying when to come back (kiosks show these).
    not_yet = N_("Hàng đợi %(queue)s bắt đầu cấp số lúc %(opens)s (đến %(closes)s)."
                 " Mời quý khách quay lại lúc %(opens)s.")
    over = N_("Hàng đợi %(queue)s đã ngừng cấp số lúc %(closes)s. Mời quý khách quay lại từ"
              " %(opens)s ngày làm việc tiếp theo.")


class DailyLimitReached(Conflict):
    code = "daily_limit_reached"
    text = N_("Hàng đợi %(queue)s đã hết số hôm nay (tối đa %(limit)s số). Mời quý khách quay"
              " lại vào ngày làm việc tiếp theo.")


class NoCounterServes(Conflict):
    code = "no_counter_serves"
    text = N_("Chưa có quầy nào phục vụ hàng đợi %(queue)s.")


class CounterPaused(Conflict):
    code = "counter_paused"
    text = N_("Quầy %(number)s đang tạm dừng.")


class CounterClosed(Conflict):
    code = "counter_closed"
    text = N_("Quầy %(number)s đang đóng.")


class NothingWaiting(Conflict):
    code = "nothing_waiting"
    text = N_("Không còn ai chờ ở quầy %(number)s.")


class NoCurrentTicket(Conflict):
    code = "no_current_ticket"
    text = N_("Quầy %(number)s chưa gọi số nào.")


class CounterBusy(Conflict):
    code = "counter_busy"
    text = N_("Quầy %(number)s đang phục vụ số %(ticket)s: hãy hoàn thành hoặc chuyển trước.")


class IllegalTransition(Conflict):
    code = "illegal_transition"
    text = N_("Số %(number)s đang ở trạng thái “%(status)s”, không thể %(action)s.")


class NotServedHere(Conflict):
    code = "not_served_here"
    text = N_("Số %(number)s không thuộc hàng đợi của quầy %(counter)s.")


class DuplicateRequest(Conflict):
    code = "duplicate_request"
    text = N_("Khóa yêu cầu %(key)s đã dùng cho một yêu cầu khác.")


class AuthError(HallError):
    code = "unauthorized"
    status = 401
    text = N_("Sai thông tin đăng nhập.")


class Forbidden(HallError):
    code = "forbidden"
    status = 403
    text = N_("Bạn không có quyền làm việc này.")


class PrinterNotReady(HallError):
    code = "printer_not_ready"
    status = 503
    text = N_("Máy in %(printer)s chưa sẵn sàng: %(reason)s")


class UnknownPrinter(NotFound):
    code = "unknown_printer"
    text = N_("Không có máy in %(printer)s.")


class NothingToRate(Conflict):
    code = "nothing_to_rate"
    text = N_("Quầy %(number)s không có lượt phục vụ nào đang chờ đánh giá.")


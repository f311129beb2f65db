"""Domain errors of the hall: each has a stable code, an HTTP-ish kind and a translatable text.

Texts are whole Vietnamese sentences used as msgids (Vietnamese first); the web layer translates
them with Babel, and a parameter that is itself a word of the hall (a ``Term``: a status, an
action) is translated before it goes into the sentence, so a person always reads one language.
"""

from .words import N_


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
    """A value that cannot be used; the default text names the field (an API or settings
    name, the same in every language), the texts below say what is wrong with it."""

    code = "invalid_input"
    status = 400
    text = N_("Giá trị của %(field)s không hợp lệ.")

    NOT_ONE_OF = N_("%(field)s = %(value)s không hợp lệ; hãy dùng một trong: %(choices)s.")
    OUT_OF_RANGE = N_("%(field)s phải từ %(low)s đến %(high)s.")
    NOT_INTEGER = N_("%(field)s phải là số nguyên.")
    NOT_NUMBER = N_("%(field)s phải là một số.")
    NOT_BOOL = N_("%(field)s phải là true hoặc false.")
    NOT_LIST = N_("%(field)s phải là một danh sách.")
    NOT_TEXT = N_("%(field)s phải là một chuỗi văn bản.")
    EMPTY = N_("%(field)s không được để trống.")
    TOO_LONG = N_("%(field)s dài quá %(limit)s ký tự.")
    BAD_CODE = N_("%(field)s = %(value)s: mã chỉ gồm chữ, số và . _ - (tối đa 40 ký tự).")
    BAD_TIME = N_("%(field)s = %(value)s: cần giờ dạng HH:MM.")
    MISSING = N_("Thiếu trường bắt buộc: %(fields)s.")
    UNEXPECTED = N_("Trường không dùng được ở đây: %(fields)s.")


class AmbiguousNumber(InvalidInput):
    text = N_("Số %(number)s có ở nhiều hàng đợi; hãy nêu hàng đợi.")


def not_one_of(field: str, value, choices) -> InvalidInput:
    """``field`` has a value outside its list."""
    return InvalidInput(InvalidInput.NOT_ONE_OF, field=field, value=repr(value),
                        choices=", ".join(map(str, choices)))


def out_of_range(field: str, low, high) -> InvalidInput:
    """``field`` is a number outside [low, high]."""
    return InvalidInput(InvalidInput.OUT_OF_RANGE, field=field, low=low, high=high)


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


class UnknownBoard(NotFound):
    code = "unknown_board"
    text = N_("Không có màn hình %(board)s.")


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
    """A ticket asked to do what its status forbids (``status`` and ``action`` are Terms)."""

    code = "illegal_transition"
    text = N_("Số %(number)s đang ở trạng thái “%(status)s” nên không thể %(action)s.")


class CounterStateRefused(Conflict):
    """A counter asked to change to a state its status forbids (Terms again)."""

    code = "counter_state_refused"
    text = N_("Quầy %(number)s %(status)s nên không thể %(action)s.")


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


# Dossier codes recorded at a finish (hall.calling.dossier_codes).
TOO_MANY_DOSSIERS = N_("Tối đa %(limit)s mã hồ sơ cho một vé.")
BAD_DOSSIER_CODE = N_("Mã hồ sơ %(code)s có ký tự không in được.")
# The audit log's filter (hall.audit).
BAD_DAY_RANGE = N_("Ngày bắt đầu phải trước hoặc bằng ngày kết thúc.")


# -- bulk actions (hall/bulk.py) --

class EmptySelection(Conflict):
    code = "empty_selection"
    text = N_("Không có vé nào khớp với lựa chọn này.")


class SelectionChanged(Conflict):
    code = "selection_changed"
    text = N_("Danh sách vé đã thay đổi từ lúc xem trước (bây giờ có %(now)s vé): hãy xem"
              " trước lại rồi xác nhận.")


class DayClosed(Conflict):
    code = "day_closed"
    text = N_("Hôm nay đã ngừng cấp số sớm: %(reason)s. Mời quý khách quay lại vào ngày làm"
              " việc tiếp theo.")


class DayOpen(Conflict):
    code = "day_open"
    text = N_("Hôm nay vẫn đang cấp số: không có gì để mở lại.")


class NoPrinterFor(InvalidInput):
    code = "no_printer"
    text = N_("Các số %(numbers)s không cấp từ ki-ốt nên không có máy in để in lại.")


class NotSelectable(Conflict):
    code = "not_selectable"
    text = N_("Các số %(numbers)s không có trong lựa chọn (đã được gọi, đã xong hoặc không"
              " khớp bộ lọc).")


# -- issue limits (hall/limits.py) --

class IssueLimited(HallError):
    """A kiosk or a client took the most tickets a minute the hall allows (``seconds``: when
    the next one can be had)."""

    code = "issue_limited"
    status = 429
    text = N_("Ki-ốt này vừa phát nhiều số liên tiếp. Xin vui lòng chờ %(seconds)s giây rồi"
              " lấy số lại, hoặc hỏi nhân viên hướng dẫn.")
    CLIENT = N_("Thiết bị của quý khách vừa lấy nhiều số liên tiếp. Xin vui lòng chờ"
                " %(seconds)s giây rồi thử lại, hoặc hỏi nhân viên hướng dẫn.")


class NothingToExtend(Conflict):
    code = "nothing_to_extend"
    text = N_("Hàng đợi %(queue)s không giới hạn số trong ngày, không cần cấp thêm.")


class FormatFull(Conflict):
    code = "format_full"
    text = N_("Kiểu số của hàng đợi %(queue)s chỉ có %(limit)s số mỗi ngày. Hãy đổi kiểu số của"
              " hàng đợi (ví dụ sang tiền tố) để cấp thêm số.")


# -- sign-in throttling (hall/signin.py) --

class SigninThrottled(HallError):
    """Too many wrong PINs: a wait (``seconds``) before the next try, or a lock."""

    code = "signin_throttled"
    status = 429
    text = N_("Đã nhập sai PIN nhiều lần. Hãy thử lại sau %(seconds)s giây.")
    LOCKED = N_("Đã nhập sai PIN quá nhiều lần nên việc đăng nhập bị khóa tạm thời. Hãy thử lại"
                " sau %(minutes)s phút hoặc nhờ giám sát viên mở khóa.")


class NotLocked(NotFound):
    code = "not_locked"
    text = N_("%(key)s hiện không bị khóa đăng nhập.")


# A name or a text with a control character (NUL, a line break, a direction override): it
# would garble a ticket, a board or a log line (hall.catalogue.valid_text).
NOT_PRINTABLE = N_("%(field)s có ký tự không in được.")


# -- storage (hall/transaction.py) --

class StorageFull(HallError):
    """The disk holding the database is full: nothing was changed."""

    code = "storage_full"
    status = 503
    text = N_("Máy chủ đã hết chỗ lưu trữ nên chưa ghi được yêu cầu (không có gì bị mất). Xin"
              " báo cán bộ kỹ thuật giải phóng dung lượng đĩa rồi thử lại.")


class StorageBusy(HallError):
    """Another program holds the database's write lock past the busy timeout."""

    code = "storage_busy"
    status = 503
    text = N_("Cơ sở dữ liệu đang bị một chương trình khác giữ khóa; chưa ghi được yêu cầu"
              " (không có gì bị mất). Xin thử lại sau giây lát.")


class PrinterNeeded(Conflict):
    """A reprint of a ticket that no kiosk printed: the request must name a printer."""

    code = "printer_needed"
    text = N_("Vé này không cấp từ ki-ốt: hãy chọn máy in để in lại.")


class TicketExpired(HallError):
    """A ticket's business day is over: its holder's page shows nothing of it any more."""

    code = "ticket_expired"
    status = 410
    text = N_("Vé này dùng cho ngày %(day)s và đã hết hạn.")


class NotRateable(Conflict):
    code = "not_rateable"
    text = N_("Chỉ đánh giá được lượt đã phục vụ xong hôm nay.")


class AlreadyRated(Conflict):
    code = "already_rated"
    text = N_("Lượt phục vụ này đã được đánh giá.")


class PhoneRatingOff(HallError):
    code = "phone_rating_off"
    status = 403
    text = N_("Nơi này không nhận đánh giá qua điện thoại.")


class ReadAloudLimited(HallError):
    """One client asked the kiosk to read aloud too many new screens a minute (``seconds``:
    when it may ask again; screens already read cost nothing and are never refused)."""

    code = "read_aloud_limited"
    status = 429
    text = N_("Đã đọc to nhiều lần liên tiếp. Xin vui lòng chờ %(seconds)s giây rồi thử lại.")

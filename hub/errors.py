"""What the hub refuses, each with a stable code, a status and a sentence (Vietnamese first,
as in a hall: ``hall.errors.HallError``)."""

# Forbidden is a hall's own refusal (the same code and sentence), re-exported for hub doors.
from hall.errors import Forbidden, HallError
from hall.words import N_


class BadBatch(HallError):
    code = "bad_batch"
    status = 400
    text = N_("Lô sự kiện không hợp lệ: %(reason)s")


class ForgedHall(HallError):
    code = "forged_hall"
    status = 403
    text = N_("Mã truy cập này thuộc hội trường %(hall)s, không gửi được sự kiện của hội trường"
              " khác.")


class BadToken(HallError):
    code = "unauthorized"
    status = 401
    text = N_("Mã truy cập (token) của hội trường không hợp lệ.")


class Gap(HallError):
    code = "gap"
    status = 409
    text = N_("Lô bắt đầu sau sự kiện %(after)s nhưng hub mới có đến sự kiện %(expected_after)s;"
              " hãy gửi tiếp từ sự kiện %(expected)s.")


class UnknownHall(HallError):
    code = "unknown_hall"
    status = 404
    text = N_("Không có hội trường %(hall)s.")


class SignInNeeded(HallError):
    code = "unauthorized"
    status = 401
    text = N_("Cần đăng nhập.")


class TooLarge(HallError):
    code = "too_large"
    status = 413
    text = N_("Lô sự kiện quá lớn (tối đa %(limit)s byte khi giải nén).")


class BadRequest(HallError):
    code = "invalid_input"
    status = 400
    text = N_("Thiếu trường bắt buộc: %(fields)s.")


class UnknownVersion(HallError):
    code = "not_found"
    status = 404
    text = N_("Không có bản danh mục %(version)s.")


__all__ = ["BadBatch", "BadRequest", "BadToken", "Forbidden", "ForgedHall", "Gap",
           "SignInNeeded", "TooLarge", "UnknownHall", "UnknownVersion"]

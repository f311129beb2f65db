"""The demo hall: a provincial transport department's one-stop desk with six counters."""

import secrets
from pathlib import Path

from .site import Hall

CATALOGUE = Path(__file__).with_name("demo_procedures.csv")

QUEUES = (
    # code, name, settings
    ("GPLX", "Giấy phép lái xe", {"number_format": "block", "block": 1,
                                  "priority_policy": "interleave", "interleave_every": 3,
                                  "service_minutes": 6}),
    ("VT", "Vận tải đường bộ", {"prefix": "B", "service_minutes": 8}),
    ("DTND", "Đường thủy nội địa", {"prefix": "C", "service_minutes": 10}),
    ("TKQ", "Trả kết quả", {"prefix": "D", "service_minutes": 3}),
    ("HD", "Hướng dẫn", {"prefix": "E", "service_minutes": 4}),
)
COUNTERS = (
    (1, "Quầy 1", ["GPLX"]),
    (2, "Quầy 2", ["GPLX", "VT"]),
    (3, "Quầy 3", ["VT"]),
    (4, "Quầy 4", ["DTND", "VT"]),
    (5, "Quầy 5", ["TKQ"]),
    (6, "Quầy 6", ["HD", "TKQ"]),
)
CLERKS = (
    ("an", "Nguyễn Văn An", "clerk"),
    ("binh", "Trần Thị Bình", "clerk"),
    ("cuong", "Lê Văn Cường", "clerk"),
    ("dung", "Phạm Thị Dung", "clerk"),
    ("giang", "Hoàng Văn Giang", "clerk"),
    ("hoa", "Vũ Thị Hoa", "clerk"),
    ("giamsat", "Đỗ Minh Khoa", "supervisor"),
    ("quantri", "Quản trị viên", "admin"),
)


def seed(hall: Hall) -> dict:
    """Describe the demo hall (idempotent); returns fresh PINs and counter tokens to show."""
    catalogue = hall.catalogue
    for position, (code, name, settings) in enumerate(QUEUES):
        catalogue.put_queue(code, name=name, position=position, **settings)
    report = catalogue.import_procedures(CATALOGUE)
    if not report.ok:
        raise RuntimeError(f"demo catalogue: {report.errors}")
    for number, name, queues in COUNTERS:
        catalogue.put_counter(number, name=name, queues=queues)
    catalogue.put_kiosk("k1", name="Ki-ốt sảnh chính")
    catalogue.put_kiosk("k2", name="Ki-ốt cửa phụ")
    catalogue.put_board("main", name="Màn hình sảnh chính")
    catalogue.put_board("gplx", name="Màn hình khu giấy phép lái xe", queues=["GPLX"])
    pins = {}
    for login, name, role in CLERKS:
        # A fresh PIN each start: only its hash is stored, so it can be shown just now.
        pins[login] = f"{secrets.randbelow(10**6):06d}"
        hall.accounts.put_clerk(login, name=name, pin=pins[login], role=role)
    tokens = {}
    for number, _, _ in COUNTERS:
        hall.accounts.revoke_tokens(number)
        tokens[number] = hall.accounts.new_token(number)
    return {"pins": pins, "tokens": tokens, "clerks": CLERKS}

"""The hall-wide rules (settings) the core follows; a queue may override the priority policy."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from . import errors
from .errors import InvalidInput
from .policy import POLICIES
from .words import N_

PRIORITY_REASONS = ("elderly", "disability", "pregnancy", "war_invalid", "other")


def parse_hhmm(text: str, name: str) -> tuple[int, int]:
    """Parse "HH:MM" into (hour, minute) or raise InvalidInput naming the setting."""
    bad = InvalidInput(InvalidInput.BAD_TIME, field=name, value=repr(text))
    try:
        hour, minute = (int(part) for part in str(text).split(":"))
    except ValueError:
        raise bad from None
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise bad
    return hour, minute


@dataclass(frozen=True)
class Rules:
    """How this hall runs its queues; every field is a documented setting in goiso.example.toml."""

    timezone: str = "Asia/Ho_Chi_Minh"
    day_starts_at: str = "00:00"
    priority_policy: str = "strict"
    interleave_every: int = 3
    transfer_keeps_time: bool = True
    next_finishes_current: bool = True
    outcomes: tuple[str, ...] = ("served", "incomplete", "referred", "rejected")
    recent_calls: int = 10
    service_samples: int = 20
    rating_levels: tuple[str, ...] = ("Rất hài lòng", "Hài lòng", "Không hài lòng")
    rating_seconds: int = 30
    # The holder of a served ticket may rate the service once from the phone page.
    rate_on_phone: bool = True
    # The national target for the average wait (issue → first call); reports count the share
    # of tickets called within it.
    target_wait_minutes: int = 15
    # The monitor raises an alert when a ticket has waited this long, or a device has been
    # offline this many seconds.
    alert_wait_minutes: int = 15
    alert_device_seconds: int = 60
    # The hall's business hours ("" = no limit): a queue with no hours of its own issues
    # tickets only between them.
    opens_at: str = ""
    closes_at: str = ""
    # Ticket rows (and their events) older than this many days may be purged once their days
    # are summed up; 0 keeps them forever.
    keep_tickets_days: int = 0
    # Tickets a minute one kiosk, and one client address, may take from the public doors
    # (0 = no limit); beyond them the door answers 429 and staff get an alert. With the
    # defaults one client needs at least 83 minutes to use up a 999-number queue, long after
    # the alerts below have told staff.
    kiosk_tickets_per_minute: int = 6
    client_tickets_per_minute: int = 12
    # A queue that has given this share of its day's numbers raises an alert (staff can
    # extend today's range before it runs out).
    numbers_alert_percent: int = 90

    def __post_init__(self):
        """Refuse values the types alone allow; each error names its field (the settings
        loader reports it as ``[rules] <field>``)."""
        try:
            self.tz  # noqa: B018 - looks the zone up once, here, so a wrong name fails now
        except Exception:
            raise InvalidInput(field="timezone") from None
        parse_hhmm(self.day_starts_at, "day_starts_at")
        if self.priority_policy not in POLICIES:
            raise errors.not_one_of("priority_policy", self.priority_policy, POLICIES)
        for name, low, high in (("interleave_every", 1, 100), ("recent_calls", 1, 100),
                                ("service_samples", 1, 1000), ("rating_seconds", 5, 600),
                                ("target_wait_minutes", 1, 480), ("alert_wait_minutes", 1, 480),
                                ("alert_device_seconds", 5, 3600),
                                ("keep_tickets_days", 0, 36_500),
                                ("kiosk_tickets_per_minute", 0, 600),
                                ("client_tickets_per_minute", 0, 600),
                                ("numbers_alert_percent", 50, 100)):
            if not low <= int(getattr(self, name)) <= high:
                raise errors.out_of_range(name, low, high)
        for name in ("opens_at", "closes_at"):
            if getattr(self, name):
                parse_hhmm(getattr(self, name), name)
        if self.opens_at and self.closes_at and self.opens_at >= self.closes_at:
            raise InvalidInput(N_("%(field)s: giờ mở cửa phải trước giờ đóng cửa."),
                               field="opens_at")
        if 0 < self.keep_tickets_days < 31:
            raise errors.out_of_range("keep_tickets_days", 31, 36_500)
        if not self.outcomes:
            raise InvalidInput(InvalidInput.EMPTY, field="outcomes")
        if not 2 <= len(self.rating_levels) <= 5 or not all(
                isinstance(x, str) and x.strip() for x in self.rating_levels):
            raise InvalidInput(N_("rating_levels: cần từ 2 đến 5 nhãn, nhãn tốt nhất trước."),
                               field="rating_levels")

    @cached_property
    def tz(self) -> ZoneInfo:
        """The hall's time zone (a property, not a field: the settings file has no such key)."""
        return ZoneInfo(self.timezone)

    def local(self, ts: float) -> datetime:
        """The wall-clock time of the hall at epoch seconds ``ts``."""
        return datetime.fromtimestamp(ts, self.tz)

    def business_day(self, ts: float) -> str:
        """The business day (ISO date) that ``ts`` belongs to; a day starts at ``day_starts_at``."""
        hour, minute = parse_hhmm(self.day_starts_at, "day_starts_at")
        return (self.local(ts) - timedelta(hours=hour, minutes=minute)).date().isoformat()

    def iso(self, ts: float | None) -> str | None:
        """ISO 8601 with the hall's UTC offset, or None."""
        return None if ts is None else self.local(ts).isoformat(timespec="seconds")

"""Turning located YAML scalars into typed values, one function per field kind."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from itaoreport.case.model import Moment

MIN_YEAR = 1900
MAX_YEAR = 2200
"""Dates outside these years are typing mistakes (and would overflow time-zone arithmetic)."""


class BadValue(ValueError):
    """The scalar cannot be read as the field's kind; the message says why."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.hint = hint


_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_MOMENT = re.compile(
    r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:[Tt ]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d{1,6}))?)?"
    r"\s*(?P<tz>Z|z|[+-]\d{2}(?::?\d{2})?)?)?$"
)
_AMOUNT = re.compile(r"^(?:\d+(?:\.\d*)?|\.\d+)$")
MAX_AMOUNT_CHARS = 32
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")


def check_date(y: int, m: int, d: int, text: str) -> date:
    """A calendar date, or BadValue that says why it is impossible."""
    if not 1 <= m <= 12:
        raise BadValue(f"impossible date {text!r}: there is no month {m}")
    if not MIN_YEAR <= y <= MAX_YEAR:
        raise BadValue(f"date {text!r} is out of range",
                       f"years from {MIN_YEAR} to {MAX_YEAR} are accepted")
    days = calendar.monthrange(y, m)[1]
    if not 1 <= d <= days:
        month = calendar.month_name[m]
        raise BadValue(f"impossible date {text!r}: {month} {y} has {days} days")
    return date(y, m, d)


MAX_BOXES = 50
"""Most regions one attachment may list (highlight, redact)."""


def parse_box(value: object) -> tuple[int, int, int, int]:
    """[x0, y0, x1, y1] in whole pixels, x0 < x1 and y0 < y1, none negative.

    `value` is a list of four texts or numbers (YAML scalars). Whether the box lies
    inside the picture is checked where the picture's size is known (the evidence stage).
    """
    if not isinstance(value, (list, tuple)) or len(value) != 4:
        raise BadValue("a box is [x0, y0, x1, y1]: four whole numbers of pixels",
                       "e.g. [30, 420, 860, 560]: left, top, right, bottom")
    numbers = []
    for item in value:
        text = str(item).strip()
        if not re.fullmatch(r"\+?[0-9]{1,6}", text):
            raise BadValue(f"{text[:20]!r} is not a whole number of pixels (0-999999)")
        numbers.append(int(text))
    x0, y0, x1, y1 = numbers
    if not (x0 < x1 and y0 < y1):
        raise BadValue(f"box [{x0}, {y0}, {x1}, {y1}] is empty or reversed: "
                       "x0 < x1 and y0 < y1 are needed")
    return x0, y0, x1, y1


def parse_date(text: str) -> date:
    match = _DATE.match(text.strip())
    if not match:
        raise BadValue(f"{text!r} is not a date", "write it as YYYY-MM-DD, e.g. 2023-10-20")
    y, m, d = (int(g) for g in match.groups())
    return check_date(y, m, d, text.strip())


def parse_moment(text: str, tz: ZoneInfo) -> Moment:
    """A timestamp with optional time, seconds and offset; no offset means the case timezone."""
    raw = text.strip()
    match = _MOMENT.match(raw)
    if not match:
        raise BadValue(
            f"{raw!r} is not a date and time",
            "write it as YYYY-MM-DD HH:MM, optionally with an offset like +08:00",
        )
    g = match.groupdict()
    day = check_date(int(g["y"]), int(g["m"]), int(g["d"]), raw)
    if g["H"] is None:
        local = datetime(day.year, day.month, day.day, tzinfo=tz)
        return Moment(local.astimezone(timezone.utc), local, False, False, raw)
    hour, minute, second = int(g["H"]), int(g["M"]), int(g["S"] or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise BadValue(f"impossible time in {raw!r}")
    micro = int((g["f"] or "0").ljust(6, "0"))
    naive = datetime(day.year, day.month, day.day, hour, minute, second, micro)
    if g["tz"]:
        offset = _offset(g["tz"], raw)
        local = naive.replace(tzinfo=offset)
        return Moment(local.astimezone(timezone.utc), local, True, True, raw)
    local = naive.replace(tzinfo=tz)
    if local.astimezone(timezone.utc).astimezone(tz).replace(tzinfo=None) != naive:
        raise BadValue(
            f"{raw} does not exist in {tz.key}: the clocks skipped that hour (daylight saving)",
            "check the time, or write it with its offset",
        )
    return Moment(local.astimezone(timezone.utc), local, True, False, raw,
                  ambiguous=is_ambiguous(local))


def is_ambiguous(local: datetime) -> bool:
    """The wall-clock time happens twice in its zone (the hour the clocks go back)."""
    return local.replace(fold=0).utcoffset() != local.replace(fold=1).utcoffset()


def offset_text(local: datetime) -> str:
    """+02:00 for a local time's UTC offset."""
    raw = local.strftime("%z")
    return f"{raw[:3]}:{raw[3:]}" if raw else ""


_DURATION = re.compile(r"^\s*(?P<n>\d{1,4})\s*(?P<unit>hours?|days?|weeks?)\s*$", re.IGNORECASE)
DURATION_UNITS = ("hours", "days", "weeks")


@dataclass(frozen=True)
class Duration:
    """A due time written as a duration after the entry's timestamp: `48 hours`, `2 days`."""

    count: int
    unit: str
    """hours | days | weeks"""
    text: str
    """As written."""


def parse_duration(text: str) -> Duration | None:
    """`48 hours`, `2 days`, `1 week` (singular or plural, any capitalisation); None if not one."""
    match = _DURATION.match(text)
    if not match:
        return None
    unit = match["unit"].lower().rstrip("s") + "s"
    count = int(match["n"])
    if count < 1:
        raise BadValue(f"{text.strip()!r} is no time at all", "write at least 1 hour or 1 day")
    return Duration(count, unit, " ".join(text.split()))


def parse_due(text: str, tz: ZoneInfo) -> Moment | Duration:
    """A due field: a moment (like parse_moment), or a Duration to resolve against the entry."""
    duration = parse_duration(text)
    if duration is not None:
        return duration
    try:
        return parse_moment(text, tz)
    except BadValue as exc:
        if exc.hint.startswith("write it as YYYY-MM-DD HH:MM"):
            raise BadValue(str(exc), "write a date (2023-10-29), a date and time "
                           "(2023-10-29 09:15) or a duration after the entry (48 hours, "
                           "2 days, 1 week)") from None
        raise


def resolve_due(due: Duration, start: Moment, tz: ZoneInfo) -> Moment:
    """The moment a duration after `start` (the entry's timestamp) ends.

    Hours are real elapsed time; days and weeks keep the clock time (2 days after
    Oct 27 09:15 is Oct 29 09:15, across a daylight-saving change too). From a bare
    date, days and weeks give a bare date; hours need the time of day.
    """
    if due.unit == "hours" and not start.has_time:
        raise BadValue(f"`{due.text}` counts from the entry's time, but its timestamp "
                       f"{start.text!r} has no time of day",
                       "add the time to `timestamp`, or write the due date itself")
    days = due.count * (7 if due.unit == "weeks" else 1)
    if not start.has_time:
        day = start.day() + timedelta(days=days)
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            raise BadValue(f"`{due.text}` after {start.text} is out of range",
                           f"years from {MIN_YEAR} to {MAX_YEAR} are accepted")
        local = datetime(day.year, day.month, day.day, tzinfo=start.local.tzinfo)
        return Moment(local.astimezone(timezone.utc), local, False, False, day.isoformat(),
                      relative=due.text)
    zone_of_start = start.local.tzinfo if start.explicit_offset else tz
    base = start.instant.astimezone(zone_of_start)
    if due.unit == "hours":
        local = (start.instant + timedelta(hours=due.count)).astimezone(zone_of_start)
    else:
        wall = base.replace(tzinfo=None) + timedelta(days=days)
        local = wall.replace(tzinfo=zone_of_start)
        # a wall-clock time the clocks skipped moves on by the skipped hour
        local = local.astimezone(timezone.utc).astimezone(zone_of_start)
    if not MIN_YEAR <= local.year <= MAX_YEAR:
        raise BadValue(f"`{due.text}` after {start.text} is out of range",
                       f"years from {MIN_YEAR} to {MAX_YEAR} are accepted")
    text = local.strftime("%Y-%m-%d %H:%M") + (offset_text(local) if start.explicit_offset else "")
    return Moment(local.astimezone(timezone.utc), local, True, start.explicit_offset, text,
                  ambiguous=not start.explicit_offset and is_ambiguous(local),
                  relative=due.text)


_TRUE = ("true", "yes", "on")
_FALSE = ("false", "no", "off")


def parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise BadValue(f"{text.strip()!r} is not true or false", "write true or false")


def _offset(text: str, raw: str) -> timezone:
    if text in ("Z", "z"):
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 14 or minutes > 59:
        raise BadValue(f"impossible UTC offset in {raw!r}")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_decimal(text: str) -> Decimal:
    cleaned = text.strip().replace(",", "") if text.count(",") and "." in text else text.strip()
    if len(cleaned) > MAX_AMOUNT_CHARS or not _AMOUNT.match(cleaned):
        # also refuses 1e999999999, NaN, Infinity and negative numbers
        raise BadValue(f"{text!r} is not an amount", "write a positive number like 59.90")
    try:
        return Decimal(cleaned)
    except InvalidOperation:  # pragma: no cover - the pattern only lets plain numbers through
        raise BadValue(f"{text!r} is not an amount", "write a number like 59.90") from None


def parse_currency(text: str) -> str:
    code = text.strip().upper()
    if not _CURRENCY.match(code):
        raise BadValue(f"{text!r} is not a currency code", "use a 3-letter ISO 4217 code like USD")
    return code


def parse_timezone(text: str) -> str:
    name = text.strip()
    if name.upper() == "UTC":
        return "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadValue(
            f"unknown timezone {name!r}", "use an IANA name such as Europe/Berlin or Asia/Shanghai"
        ) from None
    return name


def parse_language(text: str) -> str:
    code = text.strip()
    if not _LANGUAGE.match(code):
        raise BadValue(f"{text!r} is not a language code", "for example en or zh-Hans")
    return code.replace("_", "-")


def zone(name: str) -> ZoneInfo:
    return ZoneInfo("UTC" if name == "UTC" else name)

"""Facts derived from the case: the as-of day, overdue days, contact attempts, replies, silences.

Every day is a calendar day in the case timezone; every duration is measured
between real instants (so a daylight-saving change never adds or loses an hour).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from itaoreport.case.model import Case, Entry, Moment
from itaoreport.case.values import zone

DELIVERY_CLAIMS = ("item_not_received", "other")
"""Claim types for which a passed delivery date is part of the story."""
NOT_CONTACT_KINDS = ("note", "requirement", "approval")
"""Entry kinds that are not attempts to reach the other side: own notes, the order's
requirements and approval decisions (shown in their own section)."""


@dataclass(frozen=True)
class Reply:
    """A buyer message and the seller's next message after it, if any."""

    message: Entry
    reply: Entry | None
    minutes: int | None
    """Whole minutes between the two real instants; None while unanswered."""
    approximate: bool
    """True when either side is a bare date, so the time of day is unknown."""

    def to_json(self) -> dict:
        return {"message": self.message.id, "reply": self.reply.id if self.reply else None,
                "minutes": self.minutes, "approximate": self.approximate}


@dataclass(frozen=True)
class Silence:
    """The longest stretch a buyer message waited for the seller's next message."""

    after: Entry
    """The buyer message that started the wait."""
    until: Entry | None
    """The seller message that ended it; None when still unanswered at as_of."""
    minutes: int

    @property
    def days(self) -> int:
        """Whole days of the silence."""
        return self.minutes // (24 * 60)

    def to_json(self) -> dict:
        return {"after": self.after.id, "until": self.until.id if self.until else None,
                "minutes": self.minutes, "days": self.days}


@dataclass
class Facts:
    as_of: date
    """From case.yaml, else the day of the latest entry, else the order date (never the clock)."""
    as_of_source: str
    days_overdue: int | None
    """Whole days from order.expected_delivery to as_of; None if not overdue or unknown, and
    None once `delivery.delivered` is set (the item arrived: nothing is overdue)."""
    buyer_contact_days: list[date] = field(default_factory=list)
    """Distinct days (case timezone) on which the buyer wrote to anyone."""
    entry_count: int = 0
    replies: list[Reply] = field(default_factory=list)
    """Every buyer message in order, with the seller's next message after it."""
    longest_silence: Silence | None = None
    timezone: str = "UTC"
    """The case timezone every day above is counted in."""

    @property
    def answered(self) -> list[Reply]:
        """Buyer messages the seller answered, in order."""
        return [r for r in self.replies if r.reply is not None]

    @property
    def unanswered(self) -> list[Entry]:
        """Buyer messages no later seller message followed, in order."""
        return [r.message for r in self.replies if r.reply is None]

    def to_json(self) -> dict:
        return {
            "as_of": self.as_of.isoformat(),
            "as_of_source": self.as_of_source,
            "days_overdue": self.days_overdue,
            "buyer_contact_days": [d.isoformat() for d in self.buyer_contact_days],
            "entry_count": self.entry_count,
            "seller_response_times": [r.to_json() for r in self.answered],
            "unanswered_buyer_messages": [e.id for e in self.unanswered],
            "longest_silence": self.longest_silence.to_json() if self.longest_silence else None,
        }


def local_day(moment: Moment, tz_name: str) -> date:
    """The calendar day of a moment in the case timezone (a bare date stays as written)."""
    if not moment.has_time:
        return moment.day()
    return moment.instant.astimezone(zone(tz_name)).date()


def case_day(case: Case, entry: Entry) -> date:
    """The calendar day of an entry in the case timezone."""
    return local_day(entry.timestamp, case.timezone)


def start_of_day(day: date, tz_name: str) -> datetime:
    """The UTC instant at which `day` begins in the timezone (DST-safe: fold=0 is the first)."""
    return datetime.combine(day, time(0), zone(tz_name)).astimezone(timezone.utc)


def end_of_day(day: date, tz_name: str) -> datetime:
    """The UTC instant at which `day` ends in the timezone (the next day's first instant)."""
    return start_of_day(day + timedelta(days=1), tz_name)


def is_contact(entry: Entry) -> bool:
    """A message from the buyer to anyone (notes, requirements and approvals do not count)."""
    return entry.sender == "me" and entry.kind not in NOT_CONTACT_KINDS


def is_seller_message(entry: Entry) -> bool:
    """A message from the seller (its requirements and approvals are not replies)."""
    return entry.sender == "seller" and entry.kind not in NOT_CONTACT_KINDS


def derive_facts(case: Case) -> Facts:
    """All derived facts of a case; reproducible, since nothing depends on the clock."""
    as_of, source = _as_of(case)
    overdue = None
    expected = case.order.expected_delivery
    delivered = case.delivery is not None and case.delivery.delivered is not None
    if expected is not None and as_of > expected and not delivered:
        overdue = (as_of - expected).days
    contact_days = sorted({case_day(case, e) for e in case.entries if is_contact(e)})
    replies = seller_replies(case.entries)
    silence = longest_silence(replies, start_of_day(as_of, case.timezone))
    return Facts(as_of, source, overdue, contact_days, len(case.entries), replies, silence,
                 case.timezone)


def _as_of(case: Case) -> tuple[date, str]:
    if case.as_of is not None:
        return case.as_of, "case.yaml"
    if case.entries:
        return max(case_day(case, e) for e in case.entries), "latest entry"
    return case.order.date, "order date"


def seller_replies(entries: list[Entry]) -> list[Reply]:
    """Each buyer message paired with the first seller message after it (entries are sorted)."""
    replies = []
    for i, entry in enumerate(entries):
        if not is_contact(entry):
            continue
        reply = next((e for e in entries[i + 1:] if is_seller_message(e)
                      and e.timestamp.instant >= entry.timestamp.instant), None)
        if reply is None:
            replies.append(Reply(entry, None, None, not entry.timestamp.has_time))
            continue
        minutes = _minutes(entry.timestamp.instant, reply.timestamp.instant)
        approximate = not (entry.timestamp.has_time and reply.timestamp.has_time)
        replies.append(Reply(entry, reply, minutes, approximate))
    return replies


def longest_silence(replies: list[Reply], as_of_start: datetime) -> Silence | None:
    """The longest wait from a buyer message to the seller's next message (or to as_of).

    Several buyer messages before one reply form one wait, counted from the first of
    them. An open wait counts up to the start of the as-of day, never beyond it.
    """
    best: Silence | None = None
    previous: object = object()
    for r in replies:
        key = r.reply.id if r.reply else None
        if key == previous:
            continue
        previous = key
        start = r.message.timestamp.instant
        end = r.reply.timestamp.instant if r.reply else max(as_of_start, start)
        silence = Silence(r.message, r.reply, _minutes(start, end))
        if best is None or silence.minutes > best.minutes:
            best = silence
    return best


def _minutes(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds() // 60)

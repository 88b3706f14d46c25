"""Facts derived from the case: the as-of day, overdue days, the buyer's contact attempts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from itaoreport.case.model import Case, Entry
from itaoreport.case.values import zone


@dataclass
class Facts:
    as_of: date
    """From case.yaml, else the day of the latest entry, else the order date (never the clock)."""
    as_of_source: str
    days_overdue: int | None
    """Whole days from order.expected_delivery to as_of; None if not overdue or unknown."""
    buyer_contact_days: list[date] = field(default_factory=list)
    """Distinct days (case timezone) on which the buyer wrote to anyone."""
    entry_count: int = 0

    def to_json(self) -> dict:
        return {
            "as_of": self.as_of.isoformat(),
            "as_of_source": self.as_of_source,
            "days_overdue": self.days_overdue,
            "buyer_contact_days": [d.isoformat() for d in self.buyer_contact_days],
            "entry_count": self.entry_count,
        }


def case_day(case: Case, entry: Entry) -> date:
    """The calendar day of an entry in the case timezone."""
    if not entry.timestamp.has_time:
        return entry.timestamp.day()
    return entry.timestamp.instant.astimezone(zone(case.timezone)).date()


def derive_facts(case: Case) -> Facts:
    if case.as_of is not None:
        as_of, source = case.as_of, "case.yaml"
    elif case.entries:
        as_of, source = max(case_day(case, e) for e in case.entries), "latest entry"
    else:
        as_of, source = case.order.date, "order date"
    overdue = None
    expected = case.order.expected_delivery
    if expected is not None and as_of > expected:
        overdue = (as_of - expected).days
    contact_days = sorted({case_day(case, e) for e in case.entries if e.sender == "me"})
    return Facts(as_of, source, overdue, contact_days, len(case.entries))

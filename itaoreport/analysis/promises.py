"""Promise status by the rule in the case format, and the points where deadlines passed.

The rule: `kept` if a later entry `fulfils` the promise on or before `due`;
`broken` if `due` is before `as_of` and nothing kept it (a late fulfilment is still
`broken`, shown as "kept late"); otherwise `pending`. A `status` written in the
entry wins and is marked as stated by the claimant. A due date without a time
means the end of that day in the case timezone; everything is compared by real
instant, so entries written with another offset and daylight-saving changes are
placed where they really happened.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from dataclasses import dataclass
from datetime import date, datetime

from itaoreport.analysis.facts import DELIVERY_CLAIMS, case_day, end_of_day, start_of_day
from itaoreport.case.model import Case, Entry, Moment


@dataclass(frozen=True)
class Deadline:
    """The instant a deadline passes."""

    at: datetime
    """UTC: the due time itself, or the midnight that ends a due date without a time."""
    inclusive: bool
    """True when something at exactly `at` is still on time (a due time, not a due day)."""

    def missed_by(self, instant: datetime) -> bool:
        """Whether `instant` is after the deadline."""
        return instant > self.at if self.inclusive else instant >= self.at


def deadline_of(due: Moment, tz_name: str) -> Deadline:
    """A due time is the instant written; a bare due date lasts to the end of that local day."""
    if due.has_time:
        return Deadline(due.instant, True)
    return Deadline(end_of_day(due.day(), tz_name), False)


@dataclass
class PromiseStatus:
    """A promise made in one entry and what became of it."""

    entry: Entry
    text: str
    due: Moment | None
    status: str
    """kept | broken | pending: as stated by the claimant if they stated it, else derived."""
    kept_by: Entry | None
    """The entry that fulfilled it: the first on time, else the first late one."""
    kept_late: bool
    """Fulfilled, but only after the deadline."""
    stated: bool
    """True when the claimant gave the status explicitly in the entry."""
    derived_status: str = "pending"
    """What the evidence alone shows, whatever the claimant stated."""
    deadline: Deadline | None = None

    def to_json(self) -> dict:
        return {
            "entry": self.entry.id,
            "text": self.text,
            "made": self.entry.timestamp.iso(),
            "due": self.due.iso() if self.due else None,
            "due_relative": self.due.relative if self.due else None,
            "deadline_utc": self.deadline.at.isoformat() if self.deadline else None,
            "status": self.status,
            "derived_status": self.derived_status,
            "kept_by": self.kept_by.id if self.kept_by else None,
            "kept_late": self.kept_late,
            "stated_by_claimant": self.stated,
        }


def promise_statuses(case: Case, as_of: date) -> list[PromiseStatus]:
    """Every promise in the case, in the order they were made."""
    fulfilments: dict[str, list[Entry]] = {}
    for entry in case.entries:
        if entry.fulfils:
            fulfilments.setdefault(entry.fulfils, []).append(entry)
    as_of_start = start_of_day(as_of, case.timezone)
    return [
        _status(case, entry, fulfilments.get(entry.id, []), as_of_start)
        for entry in case.entries
        if entry.promise is not None
    ]


def _status(case: Case, entry: Entry, fulfilled_by: list[Entry],
            as_of_start: datetime) -> PromiseStatus:
    promise = entry.promise
    assert promise is not None
    deadline = deadline_of(promise.due, case.timezone) if promise.due else None
    later = [f for f in fulfilled_by if _not_before(case, f, entry)]
    on_time = [f for f in later if deadline is None or not deadline.missed_by(f.timestamp.instant)]
    kept_by = on_time[0] if on_time else (later[0] if later else None)
    kept_late = bool(later) and not on_time
    if on_time:
        derived = "kept"
    elif kept_late or (deadline is not None and deadline.missed_by(as_of_start)):
        derived = "broken"
    else:
        derived = "pending"
    return PromiseStatus(entry, promise.text, promise.due, promise.status or derived, kept_by,
                         kept_late, stated=promise.status is not None, derived_status=derived,
                         deadline=deadline)


def _not_before(case: Case, later: Entry, earlier: Entry) -> bool:
    """Whether `later` happened at or after `earlier` (by day when either has no time)."""
    if later.timestamp.has_time and earlier.timestamp.has_time:
        return later.timestamp.instant >= earlier.timestamp.instant
    return case_day(case, later) >= case_day(case, earlier)


@dataclass(frozen=True)
class DeadlineMark:
    """A point in the timeline where a deadline passed without being met."""

    deadline: Deadline
    promise: PromiseStatus | None
    """The broken promise, or None for the order's expected delivery date."""
    day: date | None = None
    """The expected delivery day (for the order's delivery deadline)."""
    before: str | None = None
    """Id of the first entry after the deadline; None when it passed after the last entry."""

    def to_json(self) -> dict:
        return {
            "kind": "promise" if self.promise else "expected_delivery",
            "entry": self.promise.entry.id if self.promise else None,
            "at_utc": self.deadline.at.isoformat(),
            "before_entry": self.before,
        }


def deadline_marks(case: Case, promises: list[PromiseStatus], as_of: date) -> list[DeadlineMark]:
    """Deadlines that had passed unmet by the as-of day, in time order, placed between entries."""
    as_of_start = start_of_day(as_of, case.timezone)
    marks: list[DeadlineMark] = []
    for p in promises:
        if p.deadline is not None and p.status == "broken" and p.deadline.missed_by(as_of_start):
            marks.append(DeadlineMark(p.deadline, p))
    expected = case.order.expected_delivery
    delivered = case.delivery is not None and case.delivery.delivered is not None
    if expected is not None and case.claim.type in DELIVERY_CLAIMS and not delivered:
        delivery = Deadline(end_of_day(expected, case.timezone), False)
        if delivery.missed_by(as_of_start):
            marks.append(DeadlineMark(delivery, None, expected))
    marks.sort(key=lambda m: m.deadline.at)
    instants = [e.timestamp.instant for e in case.entries]  # in order (validate sorts them)
    return [_place(m, case.entries, instants) for m in marks]


def _place(mark: DeadlineMark, entries: list[Entry], instants: list[datetime]) -> DeadlineMark:
    """The mark with the first entry after its deadline (bisected: entries are in time order)."""
    at = mark.deadline.at
    first = bisect_right(instants, at) if mark.deadline.inclusive else bisect_left(instants, at)
    after = entries[first] if first < len(entries) else None
    return DeadlineMark(mark.deadline, mark.promise, mark.day, after.id if after else None)


@dataclass
class DeadlineStatus:
    """A deadline set for the claimant (entry `deadline:`) and whether they met it.

    Never a promise of the other side: it is listed apart ("Deadlines set for me") and
    counts in no promise figure. Met when a later entry of the claimant (`sender: me`)
    `fulfils` it on or before `due`; `missed` when the due time passed before the
    as-of day without that, or it was met only late (`met_late`); otherwise `open`.
    """

    entry: Entry
    text: str
    due: Moment
    status: str
    """met | missed | open"""
    met_by: Entry | None
    met_late: bool
    deadline: Deadline

    def to_json(self) -> dict:
        return {
            "entry": self.entry.id,
            "text": self.text,
            "set_by": self.entry.sender,
            "made": self.entry.timestamp.iso(),
            "due": self.due.iso(),
            "due_relative": self.due.relative,
            "deadline_utc": self.deadline.at.isoformat(),
            "status": self.status,
            "met_by": self.met_by.id if self.met_by else None,
            "met_late": self.met_late,
        }


DEADLINE_STATUSES = ("met", "missed", "open")


def deadline_statuses(case: Case, as_of: date) -> list[DeadlineStatus]:
    """Every deadline set for the claimant, in the order they were set."""
    mine: dict[str, list[Entry]] = {}
    for entry in case.entries:
        if entry.fulfils and entry.sender == "me":
            mine.setdefault(entry.fulfils, []).append(entry)
    as_of_start = start_of_day(as_of, case.timezone)
    result = []
    for entry in case.entries:
        if entry.deadline is None:
            continue
        deadline = deadline_of(entry.deadline.due, case.timezone)
        later = [f for f in mine.get(entry.id, []) if _not_before(case, f, entry)]
        on_time = [f for f in later if not deadline.missed_by(f.timestamp.instant)]
        met_by = on_time[0] if on_time else (later[0] if later else None)
        met_late = bool(later) and not on_time
        if on_time:
            status = "met"
        elif met_late or deadline.missed_by(as_of_start):
            status = "missed"
        else:
            status = "open"
        result.append(DeadlineStatus(entry, entry.deadline.text, entry.deadline.due, status,
                                     met_by, met_late, deadline))
    return result

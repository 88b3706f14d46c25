"""Promise status, by the rule in CASE_FORMAT.md."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from itaoreport.case.model import Case, Entry, Moment


@dataclass
class PromiseStatus:
    """A promise made in one entry and what became of it."""

    entry: Entry
    text: str
    due: Moment | None
    status: str
    """kept | broken | pending"""
    kept_by: Entry | None
    kept_late: bool
    stated: bool
    """True when the claimant gave the status explicitly in the entry."""

    def to_json(self) -> dict:
        return {
            "entry": self.entry.id,
            "text": self.text,
            "made": self.entry.timestamp.iso(),
            "due": self.due.iso() if self.due else None,
            "status": self.status,
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
    return [
        _status(entry, fulfilments.get(entry.id, []), as_of)
        for entry in case.entries
        if entry.promise is not None
    ]


def _status(entry: Entry, fulfilled_by: list[Entry], as_of: date) -> PromiseStatus:
    promise = entry.promise
    assert promise is not None
    later = [f for f in fulfilled_by if f.timestamp.instant >= entry.timestamp.instant]
    on_time = [f for f in later if promise.due is None or _on_or_before(f.timestamp, promise.due)]
    kept_by = on_time[0] if on_time else (later[0] if later else None)
    kept_late = bool(later) and not on_time
    if on_time:
        status = "kept"
    elif promise.due is not None and promise.due.day() < as_of:
        status = "broken"
    elif kept_late:
        status = "broken"
    else:
        status = "pending"
    if promise.status:
        status = promise.status
    return PromiseStatus(entry, promise.text, promise.due, status, kept_by, kept_late,
                         stated=promise.status is not None)


def _on_or_before(moment: Moment, due: Moment) -> bool:
    if not due.has_time:
        return moment.day() <= due.day()
    return moment.instant <= due.instant

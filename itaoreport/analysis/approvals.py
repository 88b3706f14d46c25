"""Requirements and approvals: the baseline of what was ordered and each decision on it.

Entries of `kind: requirement` say what was ordered; `kind: approval` entries with
`decision: approved | changes_requested` and `refers_to` record each decision.
Two things are flagged for the reviewer: a requirement that never got an
approval, and an approval that came after a change request on the same
requirement (so the approved version is not the one first agreed).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from itaoreport.case.model import Case, Entry

APPROVED = "approved"
CHANGES_REQUESTED = "changes_requested"


@dataclass
class RequirementStatus:
    """One requirement and the decisions that refer to it, in time order."""

    entry: Entry
    decisions: list[Entry] = field(default_factory=list)

    @property
    def approved_by(self) -> Entry | None:
        """The first approval of this requirement."""
        return next((d for d in self.decisions if d.decision == APPROVED), None)

    @property
    def never_approved(self) -> bool:
        """No decision approved this requirement."""
        return self.approved_by is None

    @property
    def change_request(self) -> Entry | None:
        """The first change request that an approval followed, if any."""
        first_change = next((d for d in self.decisions if d.decision == CHANGES_REQUESTED), None)
        if first_change is None:
            return None
        later = self.decisions[self.decisions.index(first_change) + 1:]
        return first_change if any(d.decision == APPROVED for d in later) else None

    @property
    def approved_after_change_request(self) -> Entry | None:
        """The approval that followed a change request, if any."""
        change = self.change_request
        if change is None:
            return None
        later = self.decisions[self.decisions.index(change) + 1:]
        return next(d for d in later if d.decision == APPROVED)

    @property
    def latest(self) -> str | None:
        """The latest decision, or None if there was none."""
        return self.decisions[-1].decision if self.decisions else None

    @property
    def flagged(self) -> bool:
        """Whether the reviewer should look at this requirement."""
        return self.never_approved or self.approved_after_change_request is not None

    def to_json(self) -> dict:
        late = self.approved_after_change_request
        return {
            "entry": self.entry.id,
            "summary": self.entry.summary,
            "made": self.entry.timestamp.iso(),
            "decisions": [_decision_json(d) for d in self.decisions],
            "latest": self.latest,
            "approved_by": self.approved_by.id if self.approved_by else None,
            "never_approved": self.never_approved,
            "approved_after_change_request": late.id if late else None,
        }


@dataclass
class Approvals:
    """The requirements section of the report."""

    requirements: list[RequirementStatus] = field(default_factory=list)
    other_decisions: list[Entry] = field(default_factory=list)
    """Approvals that refer to no requirement (or to an entry that is not one)."""

    def __bool__(self) -> bool:
        return bool(self.requirements or self.other_decisions)

    @property
    def flagged(self) -> list[RequirementStatus]:
        """Requirements never approved or approved after a change request."""
        return [r for r in self.requirements if r.flagged]

    def to_json(self) -> dict:
        return {
            "requirements": [r.to_json() for r in self.requirements],
            "other_decisions": [_decision_json(d) for d in self.other_decisions],
        }


def _decision_json(entry: Entry) -> dict:
    return {"entry": entry.id, "decision": entry.decision, "at": entry.timestamp.iso(),
            "sender": entry.sender, "refers_to": entry.refers_to}


def requirement_approvals(case: Case) -> Approvals:
    """Requirements in time order, each with its decisions (entries are already sorted)."""
    requirements = {e.id: RequirementStatus(e) for e in case.entries if e.kind == "requirement"}
    other: list[Entry] = []
    for entry in case.entries:
        if entry.kind != "approval" or not entry.decision:
            continue
        target = requirements.get(entry.refers_to or "")
        if target is None:
            other.append(entry)
        else:
            target.decisions.append(entry)
    return Approvals(list(requirements.values()), other)

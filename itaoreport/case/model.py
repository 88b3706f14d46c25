"""The typed case model every later stage works from (never raw YAML)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from itaoreport.errors import Loc


@dataclass(frozen=True)
class Moment:
    """A point in time as the user wrote it, plus its real instant."""

    instant: datetime
    """Aware datetime in UTC, used for ordering and arithmetic."""
    local: datetime
    """Aware datetime in the offset the user wrote, or in the case timezone."""
    has_time: bool
    """False for a bare date (shown as a date, sorted at the start of that day)."""
    explicit_offset: bool
    """True when the user wrote an offset (+08:00, Z)."""
    text: str
    """The text as written in the file; for a duration, the moment it resolves to (ISO)."""
    ambiguous: bool = False
    """A time without offset in the hour that happens twice (clocks go back); read as the first."""
    relative: str | None = None
    """The duration as written (`48 hours`) when the moment was given as one."""

    def iso(self) -> str:
        return self.local.date().isoformat() if not self.has_time else self.local.isoformat()

    def day(self) -> date:
        return self.local.date()


@dataclass
class Attachment:
    path: str
    """Path relative to the case folder, posix separators."""
    caption: str | None
    loc: Loc
    highlight: list[tuple[int, int, int, int]] = field(default_factory=list)
    """Regions to point at, [x0, y0, x1, y1] in the original's pixels after EXIF orientation."""
    highlight_loc: Loc | None = None
    redact: list[tuple[int, int, int, int]] = field(default_factory=list)
    """Regions shown solid black in every output (original pixels after EXIF orientation)."""


@dataclass
class Promise:
    text: str
    due: Moment | None
    status: str | None
    """Status given explicitly by the claimant, or None to derive it."""
    loc: Loc


@dataclass
class Deadline:
    """A deadline set for the claimant (entry field `deadline`), met by a later entry of theirs."""

    text: str
    due: Moment
    loc: Loc


@dataclass
class Entry:
    """One communication: one file under entries/."""

    id: str
    """The file name without .yaml."""
    path: str
    """The file, relative to the case folder."""
    timestamp: Moment
    channel: str
    sender: str
    summary: str
    sender_name: str | None = None
    quote: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    action: str | None = None
    promise: Promise | None = None
    deadline: Deadline | None = None
    fulfils: str | None = None
    kind: str = "message"
    decision: str | None = None
    refers_to: str | None = None
    tags: list[str] = field(default_factory=list)
    redact_text: list[str] = field(default_factory=list)
    """Texts every output shows as █████ (privacy.py), wherever they appear."""
    locs: dict[str, Loc] = field(default_factory=dict)
    """Where each field was written, by field name ("" for the file itself)."""

    def loc(self, name: str = "") -> Loc:
        return self.locs.get(name) or self.locs.get("") or Loc(self.path, 1, 1)


@dataclass
class Party:
    name: str
    account: str | None = None
    email: str | None = None
    store: str | None = None
    address: str | None = None
    """The claimant's postal address: never shown; the privacy check looks for it."""


@dataclass
class Dispute:
    """The platform's dispute or claim (case.yaml `dispute`)."""

    id: str
    opened: date | None = None
    reason: str | None = None
    respond_by: date | None = None


@dataclass
class Delivery:
    """What happened to the parcel (case.yaml `delivery`)."""

    carrier: str | None = None
    tracking: str | None = None
    shipped: date | None = None
    delivered: date | None = None
    condition: str | None = None


@dataclass
class Order:
    id: str
    date: date
    item: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    expected_delivery: date | None = None


@dataclass
class Claim:
    type: str = "other"
    requested: str = "full_refund"
    amount: Decimal | None = None


@dataclass
class Case:
    """A whole case folder, validated."""

    root: Path
    title: str
    claimant: Party
    seller: Party
    order: Order
    claim: Claim
    entries: list[Entry]
    """Sorted by real instant, then by id."""
    platform: str = "ItaoBuy"
    as_of: date | None = None
    timezone: str = "UTC"
    statement: str | None = None
    theme: str = "default"
    language: str = "en"
    paper: str = "A4"
    dispute: Dispute | None = None
    delivery: Delivery | None = None
    declaration: bool = True
    """Close the report with the claimant's declaration, name and date."""
    redact_text: list[str] = field(default_factory=list)
    """Texts every output shows as █████ (privacy.py)."""
    locs: dict[str, Loc] = field(default_factory=dict)
    """Where each case.yaml field was written, by dotted name."""

    def entry(self, entry_id: str) -> Entry | None:
        return next((e for e in self.entries if e.id == entry_id), None)

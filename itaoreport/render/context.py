"""The template context: one documented dict that HTML and PDF templates both get.

Keys (all always present):
    case         Case model (case/model.py)
    facts        Facts (analysis/facts.py)
    promises     list[PromiseStatus] (analysis/promises.py)
    summary      list[str]: the generated claim summary, sentence by sentence
    entries      list[EntryView], chronological
    log_rows     list[LogRow]: the communication log table (log.csv has the same rows in English)
    exhibits     list[Exhibit] (evidence/exhibits.py), numbered E1, E2, ...
    exhibits_by_entry dict[entry id, list[Exhibit]]: the exhibits each entry uses, in exhibit
                 order (every entry has a list, maybe empty)
    attachments  list[AttachmentInfo], appendix order (exhibit, then path)
    kept_separate list of {"a", "b", "score"}: similar files deliberately not merged
    labels       dict[str, str]: every fixed word of the report by catalog key, translated
    sender_labels, claim_type_labels, remedy_labels, status_labels
                 dict[str, str]: the catalog's sender.*, claim_type.*, remedy.*, status.* by code
    fmt          Translator (render/i18n.py): fmt.date(day), fmt.moment(moment),
                 fmt.number(n), fmt.money(amount, currency), fmt.text(key, **values)
    page_content str: CSS `content` value for the PDF page footer ("Page N of M"), safe in <style>
    lang         the report language (BCP 47), for <html lang> and the PDF's /Lang
    css          str: the theme's stylesheets, inlined
    meta         {"generator", "fingerprint", "as_of", "paper", "modified"}
    provenance   list[ProvenanceRow] for every entry and attachment file, or None when
                 the case is not in a git repository (the section is then omitted)
    approvals    Approvals (analysis/approvals.py); false when the case has no requirements
    marks_before dict[entry id, list[DeadlineMark]]: deadlines that passed just before that entry
    marks_after  list[DeadlineMark]: deadlines that passed after the last entry
    when         when(moment, offset=False) -> str: fmt.moment, with the UTC offset when asked
    duration     duration(minutes) -> str: an elapsed time in words
    promise_times promise_times(PromiseStatus) -> (made, due): offsets shown if they differ
    delivery_claim bool: the claim is about delivery (so days overdue belong in the report)
    status_icons dict[status, str]: a symbol per promise status, so status reads without colour
    dispute      None, or {"id", "reason", "opened", "respond_by", "details"}: the platform's
                 dispute, dates formatted, `details` one line of the rest (render/caseviews.py)
    delivery     None, or {"carrier", "tracking", "shipped", "delivered", "condition", "line"}
    deadlines    list of {"entry", "text", "dir", "set_by", "made", "due", "status" (met |
                 missed | open), "status_label", "icon", "met_by", "met_at", "met_late"}:
                 deadlines set for the claimant, never counted as promises
    declaration  bool: close the report with the claimant's declaration (case.yaml)
    print_images (print only) {exhibit label: URL of its print rendition}; absent on screen
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from itaoreport.analysis.approvals import Approvals
from itaoreport.analysis.facts import DELIVERY_CLAIMS, Facts
from itaoreport.analysis.narrative import format_duration
from itaoreport.analysis.promises import DeadlineMark, PromiseStatus
from itaoreport.case.model import Case, Entry
from itaoreport.render.caseviews import deadline_views, delivery_view, dispute_view
from itaoreport.render.i18n import Translator

if TYPE_CHECKING:  # types only: evidence/ imports NumPy and Pillow
    from itaoreport.evidence.exhibits import Evidence, Exhibit
    from itaoreport.evidence.provenance import Provenance

LOG_COLUMNS = ["Timestamp", "Channel", "Sender", "Summary / Key Quote", "Attachment",
               "Action / Promise"]
"""The header of log.csv: a data contract in English in every report language (importers match
it); the HTML and PDF log table take their column names from the catalog (col_*)."""
STATUS_ICONS = {"kept": "\u2713", "broken": "\u2717", "pending": "\u25cb"}
"""Shown beside each status, so it reads without colour."""


@dataclass
class ShownExhibit:
    """An attachment as one entry shows it."""

    label: str
    path: str
    caption: str | None
    first_use: bool
    """True where the timeline shows the picture; later uses refer to it by label."""
    exhibit: Exhibit
    copy_of: str | None = None


@dataclass
class EntryView:
    entry: Entry
    time: str
    """Display time in the case timezone."""
    sender: str
    exhibits: list[ShownExhibit] = field(default_factory=list)
    promise: PromiseStatus | None = None
    safe_links: list[tuple[str, bool]] = field(default_factory=list)
    """(link, clickable): only http, https and mailto links are clickable."""


@dataclass
class LogRow:
    entry_id: str
    timestamp: str
    channel: str
    sender: str
    summary: str
    attachment: str
    action: str

    def cells(self) -> list[str]:
        return [self.timestamp, self.channel, self.sender, self.summary, self.attachment,
                self.action]


def sender_label(entry: Entry, tr: Translator) -> str:
    """The sender's role in the report language, with the display name as written."""
    role = tr.text(f"sender.{entry.sender}")
    return tr.text("sender_named", role=role, name=entry.sender_name) if entry.sender_name else role


def is_clickable(link: str) -> bool:
    return link.lower().startswith(("http://", "https://", "mailto:"))


def entry_views(case: Case, evidence: Evidence, promises: list[PromiseStatus],
                tr: Translator) -> list[EntryView]:
    by_entry = {p.entry.id: p for p in promises}
    by_label = {x.label: x for x in evidence.exhibits}
    shown: set[str] = set()
    views = []
    for entry in case.entries:
        view = EntryView(entry, tr.moment(entry.timestamp), sender_label(entry, tr),
                         promise=by_entry.get(entry.id),
                         safe_links=[(link, is_clickable(link)) for link in entry.links])
        for att in entry.attachments:
            info = evidence.attachments[att.path]
            exhibit = by_label.get(info.exhibit or "")
            if exhibit is None:
                continue
            first = exhibit.label not in shown
            shown.add(exhibit.label)
            view.exhibits.append(ShownExhibit(exhibit.label, att.path, att.caption, first,
                                              exhibit, info.duplicate_of))
        views.append(view)
    return views


def log_rows(views: list[EntryView], tr: Translator) -> list[LogRow]:
    """The communication log, one row per entry, in the words and formats of `tr`."""
    rows = []
    for v in views:
        e = v.entry
        summary = e.summary.strip()
        if e.quote:
            summary += f" \u2014 \u201c{e.quote.strip()}\u201d"
        attachment = "; ".join(f"{x.label}: {x.path}" for x in v.exhibits)
        if e.links:
            attachment = "; ".join(filter(None, [attachment, *e.links]))
        action_parts = []
        if e.action:
            action_parts.append(e.action.strip())
        if e.promise:
            # Data files (log.csv, log.xlsx) keep the due time as written, for import to read back.
            when = (e.promise.due.text if tr.iso_dates else tr.moment(e.promise.due)
                    ) if e.promise.due else ""
            due = tr.text("log_due", due=when) if when else ""
            status = (tr.text("log_status", status=tr.text(f"status.{v.promise.status}"))
                      if v.promise else "")
            action_parts.append(tr.text("log_promise", text=e.promise.text.strip(), due=due,
                                        status=status))
        rows.append(LogRow(e.id, v.time, e.channel, v.sender, summary, attachment,
                           "; ".join(action_parts)))
    return rows


@dataclass
class ProvenanceRow:
    """One file's git history as the appendix shows it."""

    path: str
    first_committed: str | None
    """YYYY-MM-DD HH:MM +hh:mm as the committer's machine recorded it; None if never committed."""
    commit: str | None
    """Abbreviated commit id."""
    changed_later: bool
    uncommitted: bool


def provenance_rows(case: Case, evidence: Evidence,
                    provenance: dict[str, Provenance] | None) -> list[ProvenanceRow] | None:
    """Entries in timeline order, then attachments by path; None without git."""
    if provenance is None:
        return None
    paths = [e.path for e in case.entries] + sorted(evidence.attachments)
    return [_provenance_row(path, provenance[path]) for path in paths if path in provenance]


def _provenance_row(path: str, p: Provenance) -> ProvenanceRow:
    shown = None
    if p.first_recorded:
        day, _, clock = p.first_recorded.partition("T")
        shown = f"{day} {clock[:5]} {clock[8:].replace('Z', '+00:00')}".strip()
    return ProvenanceRow(path, shown, p.first_commit[:12] if p.first_commit else None,
                         p.modified_after, p.uncommitted)


def promise_times(promise: PromiseStatus, tr: Translator) -> tuple[str, str]:
    """Made and due in the case timezone, with offsets when a clock change lies between them."""
    made, due = promise.entry.timestamp, promise.due
    if due is None:
        return tr.moment(made), "\u2014"
    differ = made.has_time and due.has_time and tr.utc_offset(made) != tr.utc_offset(due)
    return tr.moment(made, differ), tr.moment(due, differ)


def exhibits_by_entry(case: Case, evidence: Evidence) -> dict[str, list[Exhibit]]:
    """Entry id -> the exhibits whose `entries` name it, in exhibit order, each once.

    Templates look exhibits up here instead of filtering every exhibit for every promise.
    """
    found: dict[str, list[Exhibit]] = {e.id: [] for e in case.entries}
    for x in evidence.exhibits:
        for entry_id in dict.fromkeys(x.entries):
            found.setdefault(entry_id, []).append(x)
    return found


def appendix_order(evidence: Evidence) -> list:
    order = {x.label: i for i, x in enumerate(evidence.exhibits)}
    return sorted(evidence.attachments.values(),
                  key=lambda a: (order.get(a.exhibit or "", 10**9), a.duplicate_of is not None,
                                 a.path))


def build_context(case: Case, facts: Facts, promises: list[PromiseStatus], evidence: Evidence,
                  summary: list[str], css: str, meta: dict, tr: Translator,
                  provenance: dict[str, Provenance] | None = None,
                  approvals: Approvals | None = None,
                  marks: list[DeadlineMark] | None = None,
                  deadlines: list | None = None) -> dict:
    """The template context (keys in the module docstring) in the language of `tr`."""
    views = entry_views(case, evidence, promises, tr)
    marks_before: dict[str, list[DeadlineMark]] = {}
    for mark in marks or []:
        if mark.before is not None:
            marks_before.setdefault(mark.before, []).append(mark)
    return {
        "case": case,
        "facts": facts,
        "promises": promises,
        "summary": summary,
        "entries": views,
        "log_rows": log_rows(views, tr),
        "exhibits": evidence.exhibits,
        "exhibits_by_entry": exhibits_by_entry(case, evidence),
        "attachments": appendix_order(evidence),
        "kept_separate": evidence.kept_separate,
        "labels": tr.labels(),
        "sender_labels": tr.group("sender"),
        "claim_type_labels": tr.group("claim_type"),
        "remedy_labels": tr.group("remedy"),
        "status_labels": tr.group("status"),
        "fmt": tr,
        "page_content": tr.css_content("page_of", page="counter(page)", pages="counter(pages)"),
        "lang": tr.lang,
        "css": css,
        "meta": meta,
        "provenance": provenance_rows(case, evidence, provenance),
        "approvals": approvals or Approvals(),
        "marks_before": marks_before,
        "marks_after": [m for m in marks or [] if m.before is None],
        "when": tr.moment,
        "duration": lambda minutes: format_duration(minutes, tr),
        "promise_times": lambda promise: promise_times(promise, tr),
        "delivery_claim": case.claim.type in DELIVERY_CLAIMS,
        "status_icons": STATUS_ICONS,
        "dispute": dispute_view(case, tr),
        "delivery": delivery_view(case, tr),
        "deadlines": deadline_views(deadlines or [], tr),
        "declaration": case.declaration,
    }

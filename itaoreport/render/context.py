"""The template context: one documented dict of plain data that HTML and PDF templates both get.

A case's own `theme/` templates come from whoever made the case, so templates get
plain data only: dict, list, str, int, float, bool, None (and Markup this module
makes). No model objects, no Path, no translator, no functions: every date, time,
number and amount is formatted here, in the report language, before the template
runs. The only helper is the `direction` filter (str -> "ltr"/"rtl"), registered
on the environment (render/themes.py). tests/test_context_contract.py checks the
real context against this docstring and that nothing but plain data is in it.

Keys (all always present unless said otherwise). "ref" below is {"entry": entry id,
"time": formatted time} and points at an entry of the timeline (`#entry-<id>`).

    case         {"title", "platform", "language", "paper", "timezone",
                  "claimant": {"name", "account"}, "seller": {"name", "store", "email"},
                  "order": {"id", "date", "item", "amount", "expected_delivery"},
                  "claim": {"type", "type_label", "requested", "requested_label", "amount"},
                  "statement": list of {"text", "dir"} paragraphs (empty when none),
                  "dispute": {"id", "opened", "reason", "respond_by", "opened_text",
                  "respond_by_text", "reason_adds" (bool: the reason says more than the
                  claim type label, so page 1 shows it beside the label)} or None,
                  "delivery": {"carrier", "tracking", "shipped", "delivered", "condition"}
                  or None, "declaration": bool}; dates and amounts formatted, None when absent
    facts        {"as_of", "days_overdue" (int or None), "contact_days": [date text],
                  "replies": int, "answered": [{ref..., "after", "approximate"}],
                  "unanswered": [ref], "longest_silence": {"duration", "after": ref,
                  "until": ref or None} or None}
    promises     list of promise views (below), in time order
    summary      list[str]: the generated claim summary, sentence by sentence (each with
                 the space that follows it in the report language)
    summary_first str: the summary's first sentence
    summary_html list[Markup]: the same sentences, escaped, exhibit labels linked (#exhibit-E3)
    declaration  {"text", "signed"}: the closing declaration in the report language, with the
                 claimant's name and the report date; None with `declaration: false`
    entries      list of entry views (below), chronological
    log_rows     list of {"entry", "timestamp", "channel", "sender", "sender_code",
                 "summary", "quote", "dir", "exhibits": [label], "action"}
    exhibits     list of exhibit views (below), numbered E1, E2, ...
    exhibits_by_entry dict[entry id, list[label]]: the exhibits each entry uses, in exhibit
                 order (every entry has a list, maybe empty)
    attachments  list of {"path", "path_html", "exhibit", "size", "pixels", "sha256",
                 "duplicate_of", "redacted"}, appendix order (exhibit, then path); redacted: shown with redact
                 boxes (the hash is the original's, which is not embedded)
    kept_separate list of {"a", "b"}: similar files deliberately not merged
    labels       dict[str, str]: every fixed word of the report by catalog key, translated
    sender_labels, claim_type_labels, remedy_labels, status_labels
                 dict[str, str]: the catalog's sender.*, claim_type.*, remedy.*, status.* by code
    tz_note      str: "Times are shown in <zone>."
    page_content str: CSS `content` value for the PDF page footer ("Page N of M"), safe in <style>
    lang         the report language (BCP 47), for <html lang> and the PDF's /Lang
    css          str: the theme's stylesheets, inlined
    meta         {"generator", "fingerprint", "as_of", "paper", "modified"}
    provenance   list of {"path", "path_html", "first_committed", "commit", "changed_later", "uncommitted"}
                 for every entry and attachment file, or None when the case is not in git
    approvals    {"requirements": [{ref..., "summary", "flagged", "never_approved",
                 "approved_after_changes", "decisions": [decision]}], "other_decisions":
                 [decision]} or None when the case has no requirements; a decision is
                 {ref..., "decision", "sender", "summary"}
    marks_before dict[entry id, list[mark]]: deadlines that passed just before that entry
    marks_after  list[mark]: deadlines that passed after the last entry
    delivery_claim bool: the claim is about delivery (so days overdue belong in the report)
    show_overdue bool: days overdue are shown (a delivery claim, overdue, and not delivered)
    status_icons dict[status, str]: a symbol per promise status, so status reads without colour
    deadlines    list of {"entry", "text", "dir", "set_by", "made", "due", "status" (met |
                 missed | open), "status_label", "icon", "met_by", "met_at", "met_late"}:
                 deadlines set for the claimant, never counted as promises
                 (render/caseviews.py)
    medium       "screen" or "print" (added by the build)
    print_images (print only) {exhibit label: URL of its print rendition}; absent on screen
    quote_checks dict[entry id, dict]: the quote check of each entry with a quote
                 (analysis/quotes.py QuoteCheck.to_json(): status found|not_found|no_text|
                 skipped, exhibit, path, box [x0, y0, x1, y1] in the file's pixels, score,
                 closest); set by build.render_files

A promise view: {"entry", "text", "dir", "made", "due", "status", "status_label",
"icon", "kept_late", "kept_by": ref or None, "stated", "derived_status",
"derived_label", "exhibits": [label], "kept_by_exhibits": [label]}.

An entry view: {"id", "time", "channel", "sender", "sender_code", "kind", "summary",
"summary_dir", "quote", "quote_dir", "action", "promise": promise view or None,
"deadline": the entry's `deadlines` item (a deadline set for the claimant) or None,
"links": [{"href", "clickable"}], "shown": [shown exhibit], "pictures": [picture] (the
pictures of the exhibits shown here first, in order), "has_wide": bool (one of them is
wide), "marks_before": [mark] (marks_before of this entry)}; a shown exhibit is
{"label", "path", "path_html", "caption", "first_use", "copy_of", "picture": picture or
None, "copies": [path], "copies_html": [path_html], "detail": detail or None}. A "path_html"
is the path as Markup with <wbr> after each "/", "-" and "_", so a long path wraps at
its separators, never inside a word (see `breakable`). A picture is {"src", "full" (the screen
rendition, to open full size), "width", "height", "shape", "trimmed" (bool: the empty
background of a chat screenshot is cut), "crop_pad", "crop_top" (CSS percentages of the width:
the crop's padding-bottom and the picture's margin-top that show only the kept rows), "rows"
(the caption saying which rows), "boxes": [{"margin_top", "left", "width", "pad"}] (CSS
percentages of the width: each frame over a region is a block after the picture, pulled up
by its negative margin-top, padding-bottom its height),
"region_source" ("highlight", "ocr" or None)}. A detail is the enlarged crop around the
region: {"src", "print_src", "width", "height", "width_mm", "height_mm", "caption"} (drawn
width_mm wide in print, so the screenshot's body text prints at 9 pt or more).

A mark: {"kind": "promise" or "delivery", "due", "text", "entry", "made",
"kept_late", "day"} (the promise fields None for the delivery date and the other way round).

An exhibit view: {"label", "path", "path_html", "copies", "entries": [entry id], "entry": first
entry id, "caption", "what" (caption, else the first entry's summary), "date" (the first
entry's time), "picture": picture or None (untrimmed)}.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from markupsafe import Markup, escape

from itaoreport.analysis.approvals import Approvals, RequirementStatus
from itaoreport.analysis.facts import DELIVERY_CLAIMS, Facts
from itaoreport.analysis.narrative import format_duration
from itaoreport.analysis.promises import DeadlineMark, PromiseStatus
from itaoreport.case.model import Case, Entry, Moment
from itaoreport.render.caseviews import deadline_views
from itaoreport.render.i18n import Translator, text_direction

if TYPE_CHECKING:  # types only: evidence/ imports NumPy and Pillow
    from itaoreport.evidence.exhibits import Evidence, Exhibit
    from itaoreport.evidence.regions import Figure
    from itaoreport.evidence.provenance import Provenance

LOG_COLUMNS = ["Timestamp", "Channel", "Sender", "Summary / Key Quote", "Attachment",
               "Action / Promise"]
"""The header of log.csv: a data contract in English in every report language (importers match
it); the HTML and PDF log table take their column names from the catalog (col_*)."""
STATUS_ICONS = {"kept": "\u2713", "broken": "\u2717", "pending": "\u25cb"}
"""Shown beside each status, so it reads without colour."""


@dataclass
class LogRow:
    """One row of log.csv / log.xlsx (data files; templates get `log_rows` as dicts)."""

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


def entry_exhibits(case: Case, evidence: Evidence) -> dict[str, list[tuple[str, str, str | None,
                                                                           bool, str | None]]]:
    """Entry id -> (label, path, caption, first use, copy of) of each attachment it shows."""
    known = {x.label for x in evidence.exhibits}
    shown: set[str] = set()
    found: dict[str, list] = {}
    for entry in case.entries:
        rows = found.setdefault(entry.id, [])
        for att in entry.attachments:
            info = evidence.attachments[att.path]
            if info.exhibit not in known:
                continue
            rows.append((info.exhibit, att.path, att.caption, info.exhibit not in shown,
                         info.duplicate_of))
            shown.add(info.exhibit)
    return found


def log_rows(case: Case, evidence: Evidence, promises: list[PromiseStatus],
             tr: Translator) -> list[LogRow]:
    """The communication log, one row per entry, in the words and formats of `tr`."""
    by_entry = {p.entry.id: p for p in promises}
    exhibits = entry_exhibits(case, evidence)
    rows = []
    for e in case.entries:
        summary = e.summary.strip()
        if e.quote:
            summary += f" \u2014 \u201c{e.quote.strip()}\u201d"
        attachment = "; ".join(f"{label}: {path}" for label, path, *_ in exhibits[e.id])
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
            p = by_entry.get(e.id)
            status = tr.text("log_status", status=tr.text(f"status.{p.status}")) if p else ""
            action_parts.append(tr.text("log_promise", text=e.promise.text.strip(), due=due,
                                        status=status))
        if e.deadline:  # a deadline set for the claimant (#17); import reads it back
            when = e.deadline.due.text if tr.iso_dates else tr.moment(e.deadline.due)
            action_parts.append(tr.text("log_deadline", text=e.deadline.text.strip(),
                                        due=tr.text("log_due", due=when)))
        rows.append(LogRow(e.id, tr.moment(e.timestamp), e.channel, sender_label(e, tr),
                           summary, attachment, "; ".join(action_parts)))
    return rows


def _provenance_row(path: str, p: Provenance) -> dict:
    shown = None
    if p.first_recorded:
        day, _, clock = p.first_recorded.partition("T")
        shown = f"{day} {clock[:5]} {clock[8:].replace('Z', '+00:00')}".strip()
    return {"path": path, "path_html": breakable(path), "first_committed": shown,
            "commit": p.first_commit[:12] if p.first_commit else None,
            "changed_later": bool(p.modified_after), "uncommitted": bool(p.uncommitted)}


def provenance_rows(case: Case, evidence: Evidence,
                    provenance: dict[str, Provenance] | None) -> list[dict] | None:
    """Entries in timeline order, then attachments by path; None without git."""
    if provenance is None:
        return None
    paths = [e.path for e in case.entries] + sorted(evidence.attachments)
    return [_provenance_row(path, provenance[path]) for path in paths if path in provenance]


def exhibits_by_entry(case: Case, evidence: Evidence) -> dict[str, list[Exhibit]]:
    """Entry id -> the exhibits whose `entries` name it, in exhibit order, each once."""
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


class _Views:
    """Makes the plain views of one build, in the words and formats of `tr`."""

    def __init__(self, case: Case, evidence: Evidence, tr: Translator):
        self.case, self.evidence, self.tr = case, evidence, tr
        self.by_entry = exhibits_by_entry(case, evidence)

    def ref(self, entry: Entry, offset: bool = False) -> dict:
        return {"entry": entry.id, "time": self.tr.moment(entry.timestamp, offset)}

    def date(self, day) -> str | None:  # noqa: ANN001 - date or None
        return self.tr.date(day) if day is not None else None

    def money(self, amount) -> str | None:  # noqa: ANN001 - Decimal or None
        return self.tr.money(amount, self.case.order.currency) if amount is not None else None

    def labels_of(self, entry_id: str) -> list[str]:
        return [x.label for x in self.by_entry.get(entry_id, [])]

    # -- the case ----------------------------------------------------------------
    def case_view(self) -> dict:
        c, tr = self.case, self.tr
        statement = [{"text": para, "dir": text_direction(para)}
                     for para in (c.statement or "").strip().split("\n\n") if para.strip()]
        return {
            "title": c.title, "platform": c.platform, "language": c.language,
            "paper": c.paper, "timezone": c.timezone,
            "claimant": _party(c.claimant), "seller": _party(c.seller),
            "order": {"id": c.order.id, "date": self.date(c.order.date), "item": c.order.item,
                      "amount": self.money(c.order.amount),
                      "expected_delivery": self.date(c.order.expected_delivery)},
            "claim": {"type": c.claim.type, "type_label": tr.text(f"claim_type.{c.claim.type}"),
                      "requested": c.claim.requested,
                      "requested_label": tr.text(f"remedy.{c.claim.requested}"),
                      "amount": self.money(c.claim.amount)},
            "statement": statement,
            "dispute": self.dispute(),
            "delivery": self.plain_record(getattr(c, "delivery", None)),
            "declaration": bool(getattr(c, "declaration", True)),
        }

    def dispute(self) -> dict | None:
        found = self.plain_record(getattr(self.case, "dispute", None))
        if found is not None:
            found["opened_text"] = (self.tr.text("dispute_opened", date=found["opened"])
                                    if found.get("opened") else None)
            found["respond_by_text"] = (self.tr.text("respond_by", date=found["respond_by"])
                                        if found.get("respond_by") else None)
            claim_type = self.case.claim.type
            found["reason_adds"] = reason_adds(
                found.get("reason"), [self.tr.text(f"claim_type.{claim_type}"), claim_type])
        return found

    def plain_record(self, record: object) -> dict | None:
        """A small model record (dispute, delivery) with its dates formatted; None if absent."""
        if record is None:
            return None
        fields = getattr(record, "__dataclass_fields__", None)
        items = ((name, getattr(record, name)) for name in fields) if fields else (
            record.items() if isinstance(record, dict) else ())
        return {name: self.plain_value(value) for name, value in items
                if name != "locs" and not name.startswith("_")}

    def plain_value(self, value: object) -> object:
        from datetime import date
        from decimal import Decimal

        if value is None or isinstance(value, (str, bool, int, float)):
            return value
        if isinstance(value, Moment):
            return self.tr.moment(value)
        if isinstance(value, date):
            return self.tr.date(value)
        if isinstance(value, Decimal):
            return self.tr.number(value)
        return str(value)

    # -- facts -----------------------------------------------------------------
    def facts_view(self, facts: Facts) -> dict:
        tr = self.tr
        silence = facts.longest_silence
        return {
            "as_of": tr.date(facts.as_of),
            "days_overdue": facts.days_overdue,
            "contact_days": [tr.date(d) for d in facts.buyer_contact_days],
            "replies": len(facts.replies),
            "answered": [{**self.ref(r.message), "after": format_duration(r.minutes or 0, tr),
                          "approximate": r.approximate} for r in facts.answered],
            "unanswered": [self.ref(e) for e in facts.unanswered],
            "longest_silence": {
                "duration": format_duration(silence.minutes, tr),
                "after": self.ref(silence.after),
                "until": self.ref(silence.until) if silence.until else None,
            } if silence else None,
        }

    # -- promises ----------------------------------------------------------------
    def promise_view(self, p: PromiseStatus) -> dict:
        tr = self.tr
        made, due = promise_times(p, tr)
        return {
            "entry": p.entry.id, "text": p.text, "dir": text_direction(p.text),
            "made": made, "due": due if p.due is not None else None,
            "status": p.status, "status_label": tr.text(f"status.{p.status}"),
            "icon": STATUS_ICONS[p.status], "kept_late": p.kept_late,
            "kept_by": self.ref(p.kept_by) if p.kept_by else None,
            "stated": p.stated, "derived_status": p.derived_status,
            "derived_label": tr.text(f"status.{p.derived_status}"),
            "exhibits": self.labels_of(p.entry.id),
            "kept_by_exhibits": self.labels_of(p.kept_by.id) if p.kept_by else [],
        }

    # -- exhibits and entries ---------------------------------------------------------
    def picture(self, x: Exhibit, figure: Figure | None = None) -> dict | None:
        r = x.rendition
        if r is None:
            return None
        info = self.evidence.attachments.get(x.path)
        width, height = (info.width, info.height) if info and info.width else (r.width, r.height)
        first, end = figure.rows if figure else (0, height)
        shown = max(1, end - first)
        # Everything vertical in % of the width: CSS resolves margin and padding percentages
        # against the width, so the crop and the frames need no absolute positioning (which
        # WeasyPrint can misplace when a block moves to the next page).
        boxes, flow = [], height  # the frames follow the picture: the flow is at its bottom
        for x0, y0, x1, y1 in sorted(figure.boxes if figure else [], key=lambda b: b[1]):
            boxes.append({"margin_top": _pct(y0 - flow, width), "left": _pct(x0, width),
                          "width": _pct(x1 - x0, width), "pad": _pct(y1 - y0, width)})
            flow = y1
        return {"src": r.name, "full": r.name, "width": r.width, "height": r.height,
                "shape": r.shape, "trimmed": (first, end) != (0, height),
                "crop_pad": _pct(shown, width), "crop_top": _pct(-first, width),
                # a redacted picture is not the unaltered original: its caption says so
                "rows": self.tr.text("detail_rows_redacted" if x.redact else "detail_rows",
                                     first=self.tr.number(first),
                                     end=self.tr.number(end), height=self.tr.number(height)),
                "boxes": boxes, "region_source": figure.source if figure else None}

    def exhibit_views(self, entries: list[dict]) -> list[dict]:
        by_entry = {e["id"]: e for e in entries}
        views = []
        for x in self.evidence.exhibits:
            first = by_entry.get(x.entries[0]) if x.entries else None
            caption = next((s["caption"] for e in (by_entry.get(i) for i in x.entries) if e
                            for s in e["shown"] if s["label"] == x.label and s["caption"]), None)
            views.append({"label": x.label, "path": x.path, "path_html": breakable(x.path),
                          "copies": list(x.copies),
                          "entries": list(x.entries), "entry": first["id"] if first else None,
                          "caption": caption,
                          "what": caption or (first["summary"] if first else x.path),
                          "date": first["time"] if first else None,
                          "picture": self.picture(x)})
        return views

    def entry_views(self, promise_views: dict[str, dict],
                    figures: dict[tuple[str, str], Figure]) -> list[dict]:
        tr = self.tr
        by_label = {x.label: x for x in self.evidence.exhibits}
        exhibits = entry_exhibits(self.case, self.evidence)
        views = []
        for e in self.case.entries:
            shown = []
            for label, path, caption, first, copy_of in exhibits[e.id]:
                x = by_label[label]
                figure = figures.get((e.id, path))
                shown.append({"label": label, "path": path, "path_html": breakable(path),
                              "copies_html": [breakable(c) for c in x.copies],
                              "caption": caption,
                              "first_use": first, "copy_of": copy_of,
                              "picture": self.picture(x, figure), "copies": list(x.copies),
                              "detail": _detail_view(figure, tr.text("detail_of",
                                                                      label=label))})
            pictures = [s["picture"] for s in shown if s["first_use"] and s["picture"]]
            views.append({
                "id": e.id, "time": tr.moment(e.timestamp), "channel": e.channel,
                "sender": sender_label(e, tr), "sender_code": e.sender, "kind": e.kind,
                "summary": e.summary, "summary_dir": text_direction(e.summary),
                "quote": e.quote, "quote_dir": text_direction(e.quote) if e.quote else None,
                "action": e.action, "promise": promise_views.get(e.id),
                "links": [{"href": link, "clickable": is_clickable(link)} for link in e.links],
                "shown": shown,
                "pictures": pictures,
                "has_wide": any(p["shape"] == "wide" for p in pictures),
            })
        return views

    # -- marks and approvals ---------------------------------------------------------------
    def mark_view(self, m: DeadlineMark) -> dict:
        p, tr = m.promise, self.tr
        return {"kind": "promise" if p else "delivery",
                "due": tr.moment(p.due) if p and p.due else None,
                "text": p.text if p else None, "entry": p.entry.id if p else None,
                "made": tr.moment(p.entry.timestamp) if p else None,
                "kept_late": bool(p and p.kept_late),
                "day": tr.date(m.day) if m.day is not None else None}

    def decision(self, d: Entry) -> dict:
        return {**self.ref(d), "decision": d.decision, "sender": d.sender,
                "summary": d.summary}

    def requirement(self, r: RequirementStatus) -> dict:
        return {**self.ref(r.entry), "summary": r.entry.summary, "flagged": r.flagged,
                "never_approved": r.never_approved,
                "approved_after_changes": r.approved_after_change_request is not None,
                "decisions": [self.decision(d) for d in r.decisions]}

    def approvals_view(self, approvals: Approvals | None) -> dict | None:
        if not approvals:
            return None
        return {"requirements": [self.requirement(r) for r in approvals.requirements],
                "other_decisions": [self.decision(d) for d in approvals.other_decisions]}


_SEPARATORS = re.compile(r"([/\\_-]+)")


@lru_cache(maxsize=8192)
def breakable(path: str) -> Markup:
    """A file path, escaped, with a line-break chance (<wbr>) after each run of separators
    ("/", "\\", "-", "_"): a long path wraps between its parts, never inside a word."""
    # escaping works character by character and leaves the separators as they are, so the
    # whole path is escaped once and <wbr> put after each run of separators
    return Markup(_SEPARATORS.sub(r"\1<wbr>", str(escape(path))))


def _words(text: str) -> str:
    """Text reduced to its lower-case words, for "says the same" comparisons."""
    return " ".join(re.findall(r"\w+", text.casefold().replace("_", " ")))


def reason_adds(reason: object, labels: list[str]) -> bool:
    """Whether a dispute reason says something the claim type label does not: not when it
    is the label again (in any case or punctuation) or a part of it."""
    said = _words(str(reason)) if reason else ""
    if not said:
        return False
    return not any(said == _words(label) or f" {said} " in f" {_words(label)} "
                   for label in labels if label)


def _pct(part: float, whole: float) -> str:
    """A CSS percentage, to 3 decimals."""
    return f"{part / whole * 100:.3f}%" if whole else "0%"


def _detail_view(figure: Figure | None, caption: str) -> dict | None:
    if figure is None or figure.detail is None:
        return None
    d, p = figure.detail, figure.detail_print or figure.detail
    return {"src": d.rendition.name, "print_src": p.rendition.name,
            "width": d.rendition.width, "height": d.rendition.height,
            "width_mm": d.width_mm, "height_mm": d.height_mm, "caption": caption}


def detail_assets(figures: dict[tuple[str, str], Figure]) -> dict[str, tuple[bytes, str]]:
    """The detail pictures by name (screen and print), for report.html's folder and the PDF."""
    assets = {}
    for figure in figures.values():
        for d in (figure.detail, figure.detail_print):
            if d is not None:
                assets[d.rendition.name] = (d.rendition.data, d.rendition.media_type)
    return assets


def _party(p) -> dict:  # noqa: ANN001 - case.model.Party
    return {"name": p.name, "account": p.account, "email": getattr(p, "email", None),
            "store": p.store}


def promise_times(promise: PromiseStatus, tr: Translator) -> tuple[str, str]:
    """Made and due in the case timezone, with offsets when a clock change lies between them."""
    made, due = promise.entry.timestamp, promise.due
    if due is None:
        return tr.moment(made), "\u2014"
    differ = made.has_time and due.has_time and tr.utc_offset(made) != tr.utc_offset(due)
    return tr.moment(made, differ), tr.moment(due, differ)


def _log_row_view(row: LogRow, entry: Entry, labels: list[str]) -> dict:
    return {"entry": row.entry_id, "timestamp": row.timestamp, "channel": row.channel,
            "sender": row.sender, "sender_code": entry.sender, "summary": entry.summary.strip(),
            "quote": entry.quote.strip() if entry.quote else None,
            "dir": text_direction(row.summary), "exhibits": labels, "action": row.action}


_LABEL = re.compile(r"\bE[0-9]+\b")


def _linked_labels(text: str, known: set[str]) -> Markup:
    """`text`, escaped, with each exhibit label in it (E3) a link to the exhibit."""
    parts, last = [], 0
    for found in _LABEL.finditer(text):
        if found.group() in known:
            parts += [escape(text[last:found.start()]),
                      Markup('<a class="ref" href="#exhibit-{0}">{0}</a>').format(found.group())]
            last = found.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


def _plain_check(check: object) -> dict:
    """A quote check (analysis/quotes.py QuoteCheck or a dict) as plain data."""
    names = ("status", "exhibit", "path", "box", "score", "closest")
    get = check.get if isinstance(check, dict) else (lambda n: getattr(check, n, None))
    plain = {n: get(n) for n in names}
    box = plain["box"]
    plain["box"] = [int(v) for v in box] if isinstance(box, (list, tuple)) else None
    return {k: v if isinstance(v, (str, int, float, list, type(None))) else str(v)
            for k, v in plain.items()}


def build_context(case: Case, facts: Facts, promises: list[PromiseStatus], evidence: Evidence,
                  summary: list[str], css: str, meta: dict, tr: Translator,
                  provenance: dict[str, Provenance] | None = None,
                  approvals: Approvals | None = None,
                  marks: list[DeadlineMark] | None = None,
                  figures: dict[tuple[str, str], Figure] | None = None,
                  quote_checks: dict | None = None,
                  deadlines: list | None = None) -> dict:
    """The template context (keys in the module docstring) in the language of `tr`."""
    views = _Views(case, evidence, tr)
    promise_views = [views.promise_view(p) for p in promises]
    by_entry = {p["entry"]: p for p in promise_views}
    entries = views.entry_views(by_entry, figures or {})
    rows = log_rows(case, evidence, promises, tr)
    marks_before: dict[str, list[dict]] = {}
    for mark in marks or []:
        if mark.before is not None:
            marks_before.setdefault(mark.before, []).append(views.mark_view(mark))
    deadline_list = deadline_views(deadlines or [], tr)
    deadline_of = {d["entry"]: d for d in deadline_list}
    for view in entries:
        view["deadline"] = deadline_of.get(view["id"])
        view["marks_before"] = marks_before.get(view["id"], [])
    sentences = [tr.text("summary.sentence", sentence=s) for s in summary]
    known = {x.label for x in evidence.exhibits}
    redacted = any(x.redact for x in evidence.exhibits)
    declaration = ({"text": tr.text("declaration_redacted" if redacted else "declaration"),
                    "signed": tr.text("declaration_signed", name=case.claimant.name,
                                      date=tr.date(facts.as_of))}
                   if getattr(case, "declaration", True) is not False else None)
    return {
        "case": views.case_view(),
        "facts": views.facts_view(facts),
        "promises": promise_views,
        "summary": sentences,
        "summary_first": summary[0] if summary else "",
        "summary_html": [_linked_labels(s, known) for s in sentences],
        "declaration": declaration,
        "entries": entries,
        "log_rows": [_log_row_view(row, e, [x["label"] for x in v["shown"]])
                     for row, e, v in zip(rows, case.entries, entries)],
        "exhibits": views.exhibit_views(entries),
        "quote_checks": {k: _plain_check(v) for k, v in (quote_checks or {}).items()},
        "exhibits_by_entry": {k: [x.label for x in v] for k, v in views.by_entry.items()},
        "attachments": [{"path": a.path, "path_html": breakable(a.path), "exhibit": a.exhibit, "size": tr.number(a.size),
                         "pixels": f"{a.width}\u00d7{a.height}" if a.width else None,
                         "sha256": a.sha256, "duplicate_of": a.duplicate_of,
                         "redacted": a.redacted}
                        for a in appendix_order(evidence)],
        "kept_separate": [{"a": str(p["a"]), "b": str(p["b"])} for p in evidence.kept_separate],
        "labels": tr.labels(),
        "sender_labels": tr.group("sender"),
        "claim_type_labels": tr.group("claim_type"),
        "remedy_labels": tr.group("remedy"),
        "status_labels": tr.group("status"),
        "tz_note": tr.text("tz_note", timezone=case.timezone),
        "page_content": tr.css_content("page_of", page="counter(page)", pages="counter(pages)"),
        "lang": tr.lang,
        "css": css,
        "meta": {k: meta[k] for k in meta},
        "provenance": provenance_rows(case, evidence, provenance),
        "approvals": views.approvals_view(approvals),
        "marks_before": marks_before,
        "marks_after": [views.mark_view(m) for m in marks or [] if m.before is None],
        "delivery_claim": case.claim.type in DELIVERY_CLAIMS,
        "show_overdue": bool(facts.days_overdue and case.claim.type in DELIVERY_CLAIMS
                             and not getattr(getattr(case, "delivery", None), "delivered",
                                             None)),
        "status_icons": dict(STATUS_ICONS),
        "deadlines": deadline_list,
    }

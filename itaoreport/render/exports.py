"""Machine-readable and plain-text outputs: report.json, summary.txt, log.csv, log.xlsx."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime

from typing import TYPE_CHECKING

from itaoreport.case.model import Case, Entry
from itaoreport.render.context import LOG_COLUMNS, LogRow

if TYPE_CHECKING:
    from itaoreport.analysis.quotes import QuoteCheck
    from itaoreport.evidence.exhibits import Evidence, Exhibit

REPORT_JSON_FORMAT = 1


def case_json(case: Case) -> dict:
    o, c = case.order, case.claim
    return {
        "title": case.title,
        "platform": case.platform,
        "claimant": {"name": case.claimant.name, "account": case.claimant.account,
                     "email": case.claimant.email},
        "seller": {"name": case.seller.name, "store": case.seller.store,
                   "email": case.seller.email},
        "order": {
            "id": o.id,
            "date": o.date.isoformat(),
            "item": o.item,
            "amount": _money(o.amount),
            "currency": o.currency,
            "expected_delivery": o.expected_delivery.isoformat() if o.expected_delivery else None,
        },
        "claim": {"type": c.type, "requested": c.requested, "amount": _money(c.amount)},
        "as_of": case.as_of.isoformat() if case.as_of else None,
        "timezone": case.timezone,
        "language": case.language,
        "statement": case.statement,
        "dispute": _dispute(case),
        "delivery": _delivery(case),
        "declaration": case.declaration,
    }


def _day(value) -> str | None:  # noqa: ANN001
    return value.isoformat() if value is not None else None


def _dispute(case: Case) -> dict | None:
    d = case.dispute
    if d is None:
        return None
    return {"id": d.id, "opened": _day(d.opened), "reason": d.reason,
            "respond_by": _day(d.respond_by)}


def _delivery(case: Case) -> dict | None:
    d = case.delivery
    if d is None:
        return None
    return {"carrier": d.carrier, "tracking": d.tracking, "shipped": _day(d.shipped),
            "delivered": _day(d.delivered), "condition": d.condition}


def entry_json(entry: Entry, exhibit_of: dict[str, str], quote_check: QuoteCheck | None = None
               ) -> dict:
    p, d = entry.promise, entry.deadline
    return {
        "id": entry.id,
        "file": entry.path,
        "timestamp": entry.timestamp.iso(),
        "timestamp_utc": entry.timestamp.instant.isoformat() if entry.timestamp.has_time else None,
        "channel": entry.channel,
        "sender": entry.sender,
        "sender_name": entry.sender_name,
        "summary": entry.summary,
        "quote": entry.quote,
        "attachments": [{"path": a.path, "caption": a.caption, "exhibit": exhibit_of.get(a.path)}
                        for a in entry.attachments],
        "links": entry.links,
        "action": entry.action,
        "promise": {"text": p.text, "due": p.due.iso() if p.due else None, "status": p.status,
                    "due_relative": p.due.relative if p.due else None}
        if p else None,
        "deadline": {"text": d.text, "due": d.due.iso(), "due_relative": d.due.relative}
        if d else None,
        "fulfils": entry.fulfils,
        "kind": entry.kind,
        "decision": entry.decision,
        "refers_to": entry.refers_to,
        "tags": entry.tags,
        "quote_check": quote_check.to_json() if quote_check else None,
    }


def exhibit_json(exhibit: Exhibit, evidence: Evidence) -> dict:
    """An exhibit with `ocr_text`: the words OCR read in its kept file, line by line (as
    privacy.clean_ocr left them: nothing under a redact box, redact_text hidden), else None."""
    text = evidence.ocr.get(evidence.attachments[exhibit.path].sha256)
    return {**exhibit.to_json(),
            "ocr_text": {"engine": text.engine, "text": text.text()} if text else None}


def _money(value) -> str | None:  # noqa: ANN001
    return None if value is None else str(value)


_ONE_LINE = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))
PRETTY_DEPTH = 2
"""report.json lays out its top level and the objects and lists directly in it one member
per line (indented by 2 per level); anything deeper (one entry, one attachment, one
exhibit) is one line. So a changed entry is one changed line in a diff, and the text is
made by json's C encoder: a 1,000-entry report in ~15 ms instead of ~55 ms with indent=2
(whose pure-Python encoder was most of a warm HTML-only build's report.json cost, #18)."""


def report_json_text(report: dict) -> str:
    """Stable text: same report, same bytes (and the same JSON value as report)."""
    parts: list[str] = []
    _layout(report, 0, parts)
    parts.append("\n")
    return "".join(parts)


def _layout(value: object, depth: int, out: list[str]) -> None:
    if depth >= PRETTY_DEPTH or not isinstance(value, (dict, list)) or not value or (
            isinstance(value, dict) and not all(isinstance(k, str) for k in value)):
        out.append(_ONE_LINE.encode(value))  # (json turns other keys into strings its way)
        return
    inner = "\n" + "  " * (depth + 1)
    if isinstance(value, dict):
        out.append("{")
        for n, (key, item) in enumerate(value.items()):
            out.append(("," if n else "") + inner + _ONE_LINE.encode(key) + ": ")
            _layout(item, depth + 1, out)
        out.append("\n" + "  " * depth + "}")
    else:
        out.append("[")
        for n, item in enumerate(value):
            out.append(("," if n else "") + inner)
            _layout(item, depth + 1, out)
        out.append("\n" + "  " * depth + "]")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """Text a spreadsheet shows as text: a leading =, +, -, @ would start a formula."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def log_csv_text(rows: list[LogRow]) -> str:
    """UTF-8 with a byte-order mark so spreadsheet programs pick the right encoding.

    Cells that a spreadsheet would run as a formula (`=HYPERLINK(...)` in a
    summary) get a leading apostrophe, the spreadsheets' own "this is text" mark.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(LOG_COLUMNS)
    for row in rows:
        writer.writerow([spreadsheet_safe(cell) for cell in row.cells()])
    return "\ufeff" + buf.getvalue()


def log_xlsx_bytes(rows: list[LogRow], as_of: date) -> bytes:
    """The same table as log.csv as a workbook, dated as_of so the bytes are reproducible."""
    from itaoreport.render.xlsx import log_xlsx

    table = [dict(zip(LOG_COLUMNS, row.cells())) for row in rows]
    return log_xlsx(table, LOG_COLUMNS, created=datetime(as_of.year, as_of.month, as_of.day))

"""Plain-data views of the dispute, the delivery and the deadlines set for the claimant.

Templates get these as dicts of strings (see render/context.py: `dispute`, `delivery`,
`deadlines`, `declaration`); every date and time is formatted here, in the report's
language, so a template only places them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from itaoreport.case.model import Case

if TYPE_CHECKING:
    from itaoreport.analysis.promises import DeadlineStatus
    from itaoreport.render.i18n import Translator

DEADLINE_ICONS = {"met": "\u2713", "missed": "\u2717", "open": "\u25cb"}
"""Shown beside each deadline status, so it reads without colour."""


def dispute_view(case: Case, tr: Translator) -> dict | None:
    """{id, reason, opened, respond_by, line}: dates formatted, `line` the cover's one line."""
    d = case.dispute
    if d is None:
        return None
    opened = tr.date(d.opened) if d.opened else None
    respond_by = tr.date(d.respond_by) if d.respond_by else None
    parts = [d.reason] if d.reason else []
    if opened:
        parts.append(tr.text("dispute_opened", date=opened))
    if respond_by:
        parts.append(tr.text("dispute_respond_by", date=respond_by))
    return {"id": d.id, "reason": d.reason, "opened": opened, "respond_by": respond_by,
            "details": " · ".join(parts)}


def delivery_view(case: Case, tr: Translator) -> dict | None:
    """{carrier, tracking, shipped, delivered, condition, line}: dates formatted."""
    d = case.delivery
    if d is None:
        return None
    shipped = tr.date(d.shipped) if d.shipped else None
    delivered = tr.date(d.delivered) if d.delivered else None
    parts = [p for p in (d.carrier, d.tracking) if p]
    if shipped:
        parts.append(tr.text("delivery_shipped", date=shipped))
    if delivered:
        parts.append(tr.text("delivery_delivered", date=delivered))
    return {"carrier": d.carrier, "tracking": d.tracking, "shipped": shipped,
            "delivered": delivered, "condition": d.condition, "line": " · ".join(parts)}


def deadline_views(deadlines: list[DeadlineStatus], tr: Translator) -> list[dict]:
    """One dict per deadline set for the claimant, in the order set."""
    from itaoreport.render.context import sender_label

    views = []
    for d in deadlines:
        views.append({
            "entry": d.entry.id,
            "text": d.text,
            "dir": tr.direction(d.text),
            "set_by": sender_label(d.entry, tr),
            "made": tr.moment(d.entry.timestamp),
            "due": tr.moment(d.due),
            "status": d.status,
            "status_label": tr.text(f"deadline_status.{d.status}"),
            "icon": DEADLINE_ICONS[d.status],
            "met_by": d.met_by.id if d.met_by else None,
            "met_at": tr.moment(d.met_by.timestamp) if d.met_by else None,
            "met_late": d.met_late,
        })
    return views

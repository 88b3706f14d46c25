"""Plain-data views of the deadlines set for the claimant ("Deadlines set for me").

Templates get these as dicts of strings (render/context.py: `deadlines`, and each entry
view's `deadline`); every date and time is formatted here, in the report's language, so
a template only places them. The dispute and the delivery are in the `case` view.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from itaoreport.analysis.promises import DeadlineStatus
    from itaoreport.render.i18n import Translator

DEADLINE_ICONS = {"met": "\u2713", "missed": "\u2717", "open": "\u25cb"}
"""Shown beside each deadline status, so it reads without colour."""


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

"""`itaoreport new`: a fresh entry file with the fields to fill in."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from itaoreport.case import fields as F
from itaoreport.case.fields import Field
from itaoreport.case.files import ENTRIES_DIR, case_timezone
from itaoreport.case.safety import safe_case_dir, write_new_file
from itaoreport.case.schema import SCHEMA_DIR, modeline, write_schema_files
from itaoreport.case.values import zone

NAME = "new-entry"
COMMENT_COLUMN = 22
_HIDDEN = {"decision", "refers_to", "fulfils", "redact_text"}
"""Rarely used fields, offered as comments so an empty key cannot confuse anyone."""


__all__ = ["case_timezone", "entry_template", "new_entry"]


def new_entry(case_dir: str | Path, at: datetime | None = None,
              timezone: str | ZoneInfo = "UTC") -> Path:
    """Write entries/YYYY-MM-DD-HHMM-new-entry.yaml (-2, -3, ... if taken); returns its path.

    at defaults to now; a naive `at` is in `timezone`, an aware one is shown in it.
    """
    tz = timezone if isinstance(timezone, ZoneInfo) else zone(timezone)
    moment = datetime.now(tz) if at is None else (
        at.replace(tzinfo=tz) if at.tzinfo is None else at.astimezone(tz))
    root = Path(case_dir)
    safe_case_dir(root, ENTRIES_DIR)  # refuses an entries/ that is a link before anything
    safe_case_dir(root, SCHEMA_DIR)
    stem = f"{moment:%Y-%m-%d-%H%M}-{NAME}"
    n = 1
    while True:
        name = stem if n == 1 else f"{stem}-{n}"
        rel = f"{ENTRIES_DIR}/{name}.yaml"
        try:
            path = write_new_file(root, rel, entry_template(rel, moment).encode("utf-8"))
        except FileExistsError:
            n += 1
            continue
        write_schema_files(root)
        return path


def entry_template(rel_path: str, moment: datetime) -> str:
    """The text of a new entry: every field, with what it is for, the timestamp filled in."""
    lines = [modeline(rel_path, "entry"),
             "# Fill in the fields; leave optional ones empty or delete them."]
    for spec in F.ENTRY_FIELDS:
        if spec.name == "timestamp":
            lines.append(_line(f"timestamp: {moment:%Y-%m-%d %H:%M}", spec))
        elif spec.name in _HIDDEN:
            lines.append(_line(f"# {spec.name}:", spec))
        elif spec.kind == "map":
            lines.append(_line(f"{spec.name}:", spec))
            lines.extend(_line(f"#   {sub.name}:", sub) for sub in spec.fields)
        else:
            lines.append(_line(f"{spec.name}:", spec))
    return "\n".join(lines) + "\n"


def _line(text: str, spec: Field) -> str:
    note = spec.doc
    if spec.choices:
        note = f"{' | '.join(spec.choices)}. {note}"
    if spec.required:
        note = f"required. {note}"
    return f"{text.ljust(COMMENT_COLUMN - 1)} # {note}"


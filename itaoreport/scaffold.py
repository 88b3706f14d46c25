"""`itaoreport init`: a new case folder with comments that teach the format."""

from __future__ import annotations

import os
from pathlib import Path

from itaoreport.case.files import entry_files
from itaoreport.case.safety import safe_case_dir, write_new_file
from itaoreport.case.schema import SCHEMA_DIR, modeline, write_schema_files
from itaoreport.errors import ItaoError

CASE_YAML = """\
# The case: who, what was ordered, what you claim. Lines starting with # are comments.
# Every field is explained, with examples, in docs/case-format.md (the case format).
# Replace the example values, then run `itaoreport validate .` (it names any left over).
title: No tracking for order IT-00000000-0000     # one line that names the problem
platform: ItaoBuy
claimant:                       # you, the buyer
  name: Your Name
  account: your_account         # optional
seller:
  name: Seller Name
  store: https://example.invalid/shop/seller   # optional; shown, never opened
  # email: support@seller.example              # optional: the seller's e-mail address
order:
  id: "IT-00000000-0000"        # quote ids so they stay exactly as written
  date: 2023-10-20              # YYYY-MM-DD
  item: What you ordered
  amount: 59.90
  currency: USD
  expected_delivery: 2023-11-01 # optional: the latest promised delivery day
claim:
  type: item_not_received       # item_not_received | not_as_described | damaged | unauthorized | other
  requested: full_refund        # full_refund | partial_refund | replacement | return_and_refund | other
# dispute:                      # optional: the platform's dispute or claim, once you opened one
#   id: ITB-D-00000000          # the number exactly as the platform shows it
#   opened: 2023-11-05
#   reason: Item not received   # the platform's reason, as it shows it
#   respond_by: 2023-11-19      # the platform's deadline for you
# delivery:                     # optional: what happened to the parcel
#   carrier: Correos
#   tracking: LP000000000CN
#   shipped: 2023-10-24
#   delivered: 2023-11-03       # once set, the report counts no days overdue
#   condition: Box crushed, lid cracked   # for damaged or not-as-described items
# as_of: 2023-11-05             # optional: the day the report speaks from
timezone: UTC                   # IANA zone for times without an offset, e.g. Europe/Berlin
language: en                    # the report's own words and date formats: en | zh-Hans
statement: |                    # optional: your own words, shown first
  Write two or three sentences about what happened, in your own words.
declaration: true               # close the report with your declaration, name and date
"""

EXAMPLE_ENTRY = """\
# One file per communication. The file name (without .yaml) is the entry's id.
timestamp: 2023-10-26 14:30     # YYYY-MM-DD HH:MM, in the case timezone (or add +08:00)
channel: ItaoBuy Messaging      # Email, Phone, WhatsApp, ...
sender: me                      # me | seller | platform | carrier | other
summary: I asked the seller for shipping confirmation and a tracking number.
quote: "Hello, could you please confirm shipment and send the tracking number?"
# attachments:                  # screenshots, relative to the case folder
#   - screenshots/2023-10-26-1430.png
# promise:                      # when the other side commits to something by a deadline
#   text: Tracking will update
#   due: 2 days                 # a date, a date and time, or 48 hours / 2 days / 1 week after this
# deadline:                     # when someone sets YOU a deadline (e.g. the platform)
#   text: Upload photos of the packaging
#   due: 2023-11-08
# fulfils: ID                   # this entry keeps that promise or meets that deadline
"""

GITIGNORE = """\
# itaoreport output and cache: safe to delete, rebuilt by `itaoreport build`
build/
.itaoreport/
"""


class InitError(ItaoError):
    """The case folder could not be created."""


def create_case(case_dir: Path) -> list[Path]:
    """Create the files of a new case, or complete a folder that has no case.yaml yet.

    Nothing that exists is overwritten: files already there are kept (see `kept_files`),
    and the example entry is only written into a case without entries (an imported log,
    for example, is the real thing). Every folder and file is made with case/safety.py's
    writers, so an `entries/` or `case.yaml` that is a link (shipped in a folder from
    someone else) is refused, never written through.
    """
    if os.path.lexists(case_dir) and not case_dir.is_dir():
        raise InitError(f"{case_dir} exists and is not a folder")
    if os.path.lexists(case_dir / "case.yaml"):
        raise InitError(f"{case_dir} is already a case (it has case.yaml); nothing was changed. "
                        f"Check it with `itaoreport validate {case_dir}`")
    files = _planned(case_dir)
    links = [case_dir / rel for rel in files if (case_dir / rel).is_symlink()]
    if links:
        raise InitError("refusing to overwrite: " + ", ".join(str(p) for p in links)
                        + (" is a link" if len(links) == 1 else " are links")
                        + "; a case keeps its own files, so remove the link first")
    kept = set(kept_files(case_dir))
    created = [] if case_dir.is_dir() else [case_dir]
    for folder in ("entries", "screenshots", SCHEMA_DIR):
        if not os.path.lexists(case_dir / folder):
            created.append(case_dir / folder)
        safe_case_dir(case_dir, folder)
    for rel, text in files.items():
        if case_dir / rel in kept:
            continue
        try:
            created.append(write_new_file(case_dir, rel, text.encode("utf-8")))
        except FileExistsError:
            raise InitError(f"{case_dir / rel} appeared while init ran; nothing was "
                            "overwritten") from None
    # Generated, not edited by hand: refreshed rather than refused (an import may have
    # written them already).
    created.extend(case_dir / rel for rel in write_schema_files(case_dir))
    return [p for p in created if p.name != SCHEMA_DIR]


def kept_files(case_dir: Path) -> list[Path]:
    """The files `create_case` leaves as they are, because they already exist."""
    return [case_dir / rel for rel in _planned(case_dir) if os.path.lexists(case_dir / rel)]


EXAMPLE = "entries/2023-10-26-1430-asked-for-tracking.yaml"


def _planned(case_dir: Path) -> dict[str, str]:
    """The files init writes, relative to the case (the example only into a case without
    entries)."""
    files = {
        "case.yaml": modeline("case.yaml", "case") + "\n" + CASE_YAML,
        ".gitignore": GITIGNORE,
    }
    if not entry_files(case_dir):
        files[EXAMPLE] = modeline(EXAMPLE, "entry") + "\n" + EXAMPLE_ENTRY
    return files

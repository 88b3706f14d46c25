"""`itaoreport init`: a new case folder with comments that teach the format."""

from __future__ import annotations

import os
from pathlib import Path

from itaoreport.case.safety import safe_case_dir, write_new_file
from itaoreport.case.schema import SCHEMA_DIR, modeline, write_schema_files
from itaoreport.errors import ItaoError

CASE_YAML = """\
# The case: who, what was ordered, what you claim. Lines starting with # are comments.
# Every field is described in CASE_FORMAT.md; run `itaoreport validate .` after editing.
title: No tracking for order IT-00000000-0000     # one line that names the problem
platform: ItaoBuy
claimant:                       # you, the buyer
  name: Your Name
  account: your_account         # optional
seller:
  name: Seller Name
  store: https://example.invalid/shop/seller   # optional; shown, never opened
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
# as_of: 2023-11-05             # optional: the day the report speaks from
timezone: UTC                   # IANA zone for times without an offset, e.g. Europe/Berlin
language: en                    # the report's own words and date formats: en | zh-Hans
statement: |                    # optional: your own words, shown first
  Write two or three sentences about what happened, in your own words.
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
# promise:                      # when someone commits to something by a deadline
#   text: Tracking will update
#   due: 2023-10-29 09:15
"""

GITIGNORE = """\
# itaoreport output and cache: safe to delete, rebuilt by `itaoreport build`
build/
.itaoreport/
"""


class InitError(ItaoError):
    """The case folder could not be created."""


def create_case(case_dir: Path) -> list[Path]:
    """Create the files of a new case; refuse to overwrite anything that exists.

    Into an existing folder too: every folder and file is made with case/safety.py's
    writers, so an `entries/` or `case.yaml` that is a link (shipped in a folder from
    someone else) is refused, never written through.
    """
    example = "entries/2023-10-26-1430-asked-for-tracking.yaml"
    files = {
        "case.yaml": modeline("case.yaml", "case") + "\n" + CASE_YAML,
        example: modeline(example, "entry") + "\n" + EXAMPLE_ENTRY,
        ".gitignore": GITIGNORE,
    }
    if os.path.lexists(case_dir) and not case_dir.is_dir():
        raise InitError(f"{case_dir} exists and is not a folder")
    existing = [case_dir / rel for rel in files if os.path.lexists(case_dir / rel)]
    if existing:
        raise InitError(
            "refusing to overwrite: " + ", ".join(str(p) for p in existing)
            + "; choose a new folder"
        )
    created = [] if case_dir.is_dir() else [case_dir]
    for folder in ("entries", "screenshots", SCHEMA_DIR):
        if not os.path.lexists(case_dir / folder):
            created.append(case_dir / folder)
        safe_case_dir(case_dir, folder)
    for rel, text in files.items():
        try:
            created.append(write_new_file(case_dir, rel, text.encode("utf-8")))
        except FileExistsError:
            raise InitError(f"refusing to overwrite: {case_dir / rel}; choose a new folder") \
                from None
    # Generated, not edited by hand: refreshed rather than refused (an import may have
    # written them already).
    created.extend(case_dir / rel for rel in write_schema_files(case_dir))
    return [p for p in created if p.name != SCHEMA_DIR]

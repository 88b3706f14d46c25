"""Small case folders for the analysis tests: one call writes a case and builds its outputs."""

from __future__ import annotations

from pathlib import Path

from conftest import write_case

from itaoreport.build import BuildOptions, build

CASE = """\
title: Analysis test
claimant:
  name: Buyer
seller:
  name: {seller}
order:
  id: T-1
  date: 2023-10-20
  item: Desk lamp
  amount: 30.00
  currency: EUR
{expected}claim:
  type: {claim}
  requested: full_refund
{as_of}timezone: Europe/Berlin
"""


def case_yaml(as_of: str | None = "2023-11-05", expected: str | None = "2023-11-01",
              claim: str = "item_not_received", seller: str = "ShopCo") -> str:
    """case.yaml text for a Berlin case; None leaves the field out."""
    return CASE.format(
        seller=seller, claim=claim,
        expected=f"  expected_delivery: {expected}\n" if expected else "",
        as_of=f"as_of: {as_of}\n" if as_of else "",
    )


def entry(timestamp: str, sender: str = "me", summary: str = "A message.", **extra: str) -> str:
    """One entry file; extra fields are written as given (YAML text, e.g. promise blocks)."""
    lines = [f"timestamp: {timestamp}", "channel: Email", f"sender: {sender}",
             f"summary: {summary}"]
    lines += [f"{key}: {value}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


def promise(text: str, due: str | None = None, status: str | None = None) -> str:
    """The YAML block of a promise field."""
    block = f"\n  text: {text}"
    if due:
        block += f"\n  due: {due}"
    if status:
        block += f"\n  status: {status}"
    return block


def run_case(root: Path, entries: dict[str, str], case: str | None = None,
             formats: tuple[str, ...] = ("json", "txt"), summary_chars: int = 2000) -> dict:
    """Write the case, build it, and return report.json (plus summary.txt under "_summary_txt")."""
    write_case(root, case or case_yaml(), entries)
    report = build(root, BuildOptions(formats=formats, summary_chars=summary_chars)).report
    out = root / "build"
    if (out / "summary.txt").exists():
        report = {**report, "_summary_txt": (out / "summary.txt").read_text(encoding="utf-8")}
    if (out / "report.html").exists():
        report = {**report, "_html": (out / "report.html").read_text(encoding="utf-8")}
    return report


def promise_of(report: dict, entry_id: str) -> dict:
    """The report.json promise made in that entry."""
    return next(p for p in report["promises"] if p["entry"] == entry_id)

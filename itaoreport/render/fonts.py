"""The missing-glyph check: every character of user text against the fonts the PDF will use.

WeasyPrint lays text out with Pango, which asks fontconfig for the theme's
font-family list and falls back, character by character, through fontconfig's
sorted list of every installed font. So a character prints as an empty box
exactly when no font in `fc-match --sort` for that list covers it. This module
asks fontconfig the same question (one `fc-match` call per process, its
coverage cached), and turns each field with uncovered characters into a
located warning, so a quote is never silently destroyed.
"""

from __future__ import annotations

import bisect
import re
import shutil
import subprocess
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from itaoreport.case.files import CASE_FILE
from itaoreport.case.model import Case
from itaoreport.errors import Loc, Problem, warning

FC_MATCH = "fc-match"
DEFAULT_FAMILIES = ("sans-serif",)
MAX_LISTED = 8
"""At most this many characters are named in one warning."""

_FONT_FAMILY = re.compile(r"(?:^|[}\s;])(?:html|body)\s*\{[^}]*?font-family\s*:\s*([^;}]+)", re.DOTALL)
_RANGE = re.compile(r"([0-9a-f]+)(?:-([0-9a-f]+))?")
_IGNORABLE = ((0xFE00, 0xFE0F), (0xE0100, 0xE01EF))
"""Variation selectors: they pick a glyph's style and never need one of their own."""


class FontconfigMissing(RuntimeError):
    """fontconfig's fc-match could not be run, so coverage is unknown."""


@dataclass(frozen=True)
class Coverage:
    """A set of code points as sorted, disjoint, inclusive ranges."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def __contains__(self, code_point: object) -> bool:
        if not isinstance(code_point, int):
            return False
        i = bisect.bisect_right(self.starts, code_point) - 1
        return i >= 0 and code_point <= self.ends[i]

    @classmethod
    def from_ranges(cls, ranges: list[tuple[int, int]]) -> Coverage:
        merged: list[list[int]] = []
        for start, end in sorted(ranges):
            if merged and start <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        return cls(tuple(r[0] for r in merged), tuple(r[1] for r in merged))


@dataclass(frozen=True)
class TextField:
    """One piece of user text the report shows, and where it was written."""

    loc: Loc
    name: str
    """The field as the user knows it: quote, claimant.name, attachments[2].caption."""
    text: str


def font_families(css: str) -> tuple[str, ...]:
    """The font-family list of the theme's first `html` or `body` rule (else sans-serif)."""
    match = _FONT_FAMILY.search(css)
    if not match:
        return DEFAULT_FAMILIES
    names = [n.strip().strip("\"'").strip() for n in match.group(1).split(",")]
    return tuple(n for n in names if n) or DEFAULT_FAMILIES


def parse_charsets(text: str) -> Coverage:
    """The union of fc-match's `%{charset}` lines (hex ranges like `20-7e a0 4e00-9fff`)."""
    ranges = [(int(a, 16), int(b or a, 16)) for a, b in _RANGE.findall(text.lower())]
    return Coverage.from_ranges(ranges)


_LOOKUP_LOCK = threading.Lock()


def font_coverage(families: tuple[str, ...]) -> Coverage:
    """Every code point some font in fontconfig's fallback list for `families` has a glyph for.

    Raises FontconfigMissing when fc-match is absent or fails. Cached per process; a lookup
    under way in the background (start_font_lookup) is waited for, not run twice.
    """
    with _LOOKUP_LOCK:
        return _coverage(families)


def start_font_lookup(css: str) -> None:
    """Ask fontconfig in a background thread, so that its fc-match run (~30 ms) overlaps
    with the build's other work and check_glyphs finds the answer ready."""
    def lookup() -> None:
        try:
            font_coverage(font_families(css))
        except FontconfigMissing:  # check_glyphs asks again and says so
            pass

    threading.Thread(target=lookup, name="itaoreport-fonts", daemon=True).start()


@lru_cache(maxsize=8)
def _coverage(families: tuple[str, ...]) -> Coverage:
    executable = shutil.which(FC_MATCH)
    if executable is None:
        raise FontconfigMissing(f"{FC_MATCH} was not found")
    pattern = ",".join(_fc_escape(f) for f in families)
    try:
        run = subprocess.run([executable, "--sort", pattern, "--format", "%{charset}\\n"],
                             capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FontconfigMissing(f"{FC_MATCH} failed: {exc}") from exc
    if run.returncode != 0 or not run.stdout.strip():
        raise FontconfigMissing(f"{FC_MATCH} failed: {run.stderr.strip()[:200] or 'no fonts'}")
    return parse_charsets(run.stdout)


def _fc_escape(family: str) -> str:
    return re.sub(r"([\\,:=-])", r"\\\1", family)


def needs_glyph(char: str) -> bool:
    """False for characters that are never drawn: controls, spaces, joiners, bidi marks."""
    if char.isspace():
        return False
    category = unicodedata.category(char)
    if category in ("Cc", "Cf"):
        return False
    code = ord(char)
    return not any(lo <= code <= hi for lo, hi in _IGNORABLE)


def user_text(case: Case) -> Iterator[TextField]:
    """Every piece of user text the report shows, with its file and line."""
    def at(name: str) -> Loc:
        return case.locs.get(name) or Loc(CASE_FILE)

    o = case.order
    for name, value in (("title", case.title), ("platform", case.platform),
                        ("claimant.name", case.claimant.name),
                        ("claimant.account", case.claimant.account),
                        ("claimant.email", case.claimant.email),
                        ("seller.name", case.seller.name), ("seller.store", case.seller.store),
                        ("order.id", o.id), ("order.item", o.item),
                        ("statement", case.statement)):
        if value:
            yield TextField(at(name), name, value)
    for e in case.entries:
        for name, value in (("channel", e.channel), ("sender_name", e.sender_name),
                            ("summary", e.summary), ("quote", e.quote), ("action", e.action)):
            if value:
                yield TextField(e.loc(name), name, value)
        if e.promise:
            yield TextField(e.loc("promise.text"), "promise.text", e.promise.text)
        for i, att in enumerate(e.attachments, 1):
            yield TextField(att.loc, f"attachments[{i}].path", att.path)
            if att.caption:
                yield TextField(att.loc, f"attachments[{i}].caption", att.caption)
        for i, link in enumerate(e.links, 1):
            yield TextField(e.loc("links"), f"links[{i}]", link)


def missing_glyphs(fields: Iterator[TextField] | list[TextField],
                   coverage: Coverage) -> list[Problem]:
    """One warning per field that has characters no font covers, naming them as U+XXXX."""
    fields = list(fields)
    # Each distinct character is looked up once; a case repeats the same few hundred.
    uncovered = {c for c in set().union(*(f.text for f in fields))
                 if needs_glyph(c) and ord(c) not in coverage}
    problems = []
    for f in fields:
        if uncovered.isdisjoint(f.text):
            continue
        missing = [c for c in dict.fromkeys(f.text) if c in uncovered]
        if missing:
            problems.append(warning(
                f.loc, f"{f.name}: no installed font has a glyph for {_describe(missing)}; "
                "it would print as an empty box",
                "install a font that has it, as the README's Install section says, "
                "or check that the character is meant",
            ))
    return problems


def _describe(chars: list[str]) -> str:
    named = []
    for c in chars[:MAX_LISTED]:
        name = unicodedata.name(c, "")
        named.append(f"U+{ord(c):04X}" + (f" {name}" if name else ""))
    more = f" and {len(chars) - MAX_LISTED} more" if len(chars) > MAX_LISTED else ""
    return ", ".join(named) + more


def check_glyphs(case: Case, css: str) -> list[Problem]:
    """Warnings for user text the report's fonts cannot show (one if fontconfig is absent)."""
    try:
        coverage = font_coverage(font_families(css))
    except FontconfigMissing as exc:
        return [warning(Loc(CASE_FILE), f"the missing-glyph check was skipped: {exc}",
                        "install fontconfig and the fonts the README's Install section lists")]
    return missing_glyphs(user_text(case), coverage)

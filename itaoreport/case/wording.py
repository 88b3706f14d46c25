"""Loaded language in what the claimant writes: the seed guide's "use neutral language".

Entry `summary` and `action` are the claimant's own words; reviewers discount a claim that
calls names (scam, liar), shouts in capitals or piles up exclamation marks. `quote` is
verbatim and never checked, nor is text in quotation marks inside a summary ("the seller
wrote “...”"). The word lists are data: `wording/<language>.txt`, one per language,
shipped with the package; every list is applied, whatever the report language, since a
claimant may write in another language than the report's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

LANGUAGES = ("en", "zh-Hans")
_QUOTED = re.compile(r"\"[^\"\n]*\"|“[^”\n]*”|„[^“”\n]*[“”]|«[^»\n]*»|「[^」\n]*」|『[^』\n]*』|"
                     r"‘[^’\n]*’|`[^`\n]*`")
_BANGS = re.compile(r"[!！]{2,}")
_CAPS_WORD = re.compile(r"(?<![\w-])[A-Z]{2,}(?:'[A-Z]+)?(?![\w-])")
MIN_SHOUT = 5
"""A single word in capitals counts from this many letters (USPS, ASAP, EMS are names)."""


@dataclass(frozen=True)
class Loaded:
    """What makes a text sound loaded: the words as written, in order of appearance."""

    words: tuple[str, ...] = ()
    capitals: tuple[str, ...] = ()
    exclamations: bool = False

    def __bool__(self) -> bool:
        return bool(self.words or self.capitals or self.exclamations)

    def describe(self) -> str:
        parts = []
        if self.words:
            parts.append(", ".join(f"“{w}”" for w in self.words))
        if self.capitals:
            parts.append("words in capitals (" + ", ".join(self.capitals) + ")")
        if self.exclamations:
            parts.append("repeated “!”")
        return "; ".join(parts)


@lru_cache(maxsize=None)
def word_list(language: str) -> tuple[str, ...]:
    """The loaded words of one language, as the data file lists them."""
    text = resources.files("itaoreport.case").joinpath("wording", f"{language}.txt").read_text(
        encoding="utf-8")
    return tuple(dict.fromkeys(line.strip() for line in text.splitlines()
                               if line.strip() and not line.lstrip().startswith("#")))


@lru_cache(maxsize=1)
def _pattern() -> re.Pattern[str]:
    words, chinese = [], []
    for language in LANGUAGES:
        for word in word_list(language):
            stem, open_end = (word[:-1], True) if word.endswith("*") else (word, False)
            body = r"\s+".join(re.escape(w) for w in stem.split())
            if not stem.isascii():
                chinese.append(body)  # Chinese words have no spaces around them
            else:
                words.append(body + (r"[\w-]*" if open_end else ""))
    words.sort(key=len, reverse=True)
    chinese.sort(key=len, reverse=True)
    # One word-start check for all the words, so that a position inside a word fails at
    # once instead of trying every word (a 1,000-entry case checks in milliseconds).
    parts = [rf"(?<![\w-])(?:{'|'.join(words)})(?![\w-])"] if words else []
    parts += chinese
    return re.compile("|".join(parts), re.IGNORECASE)


@lru_cache(maxsize=8192)
def loaded_language(text: str, names: tuple[str, ...] = ()) -> Loaded:
    """What in `text` (outside quotation marks) is loaded; names in capitals are allowed.
    (Kept per text: watch mode checks the same summaries on every save.)"""
    own = _QUOTED.sub(" ", text)
    words = tuple(dict.fromkeys(m.group() for m in _pattern().finditer(own)))
    allowed = {w for name in names for w in re.findall(r"[A-Z]{2,}", name)}
    caps = [m.group() for m in _CAPS_WORD.finditer(own) if m.group() not in allowed]
    shouted = _shouting(own, caps)
    return Loaded(words, tuple(dict.fromkeys(shouted)), bool(_BANGS.search(own)))


def _shouting(text: str, caps: list[str]) -> list[str]:
    """Words in capitals: a run of three or more (WHERE IS MY ORDER), or one long word
    (REFUND); short ones alone are usually names (USPS, ASAP, EMS)."""
    found, inside = [], set()
    for run in re.finditer(r"(?<![\w-])[A-Z]{1,}(?:[\s,]+[A-Z]{1,}){2,}(?![\w-])", text):
        words = re.findall(r"[A-Z]+", run.group())
        if sum(len(w) >= 2 for w in words) >= 2 and all(len(w) == 1 or w in caps for w in words):
            found.append(" ".join(run.group().split()))
            inside.update(words)
    found += [w for w in caps if len(w.replace("'", "")) >= MIN_SHOUT and w not in inside]
    return found

"""The quote check: is an entry's `quote:` in the text of its screenshots, and where?

Both sides are normalised the same way (Unicode NFKC, so full-width forms become ASCII;
case folded; curly quotes, apostrophes and dashes made plain; punctuation dropped:
OCR reads it least reliably and it never changes what a message promised) and
compared character by character by an alignment that is

- free over spaces (a quote may run across lines and bubbles; OCR splits and joins words),
- free over the chat app's own marks between messages (times such as `09:12` at the end
  of a line, read ticks), so a quote spanning two bubbles is still found,
- cheap over a few pairs OCR confuses (`rn`/`m`, `vv`/`w`, `i`/`l`, `e`/`c`; a letter O
  or l inside a number, a digit 0 or 1 inside a word),
- and strict otherwise: a quote is `found` only when every other character matches,
  except one slip inside one long word (7+ letters) of a long quote (40+ characters).
  A digit never: numbers must match exactly (`5 days` is not `3 days`, `10` not `100`),
  and a quote must start and end on word boundaries.

A quote with `...` or `…` is checked part by part, each part found in order. The box is
the union of the words matched, in the original file's pixels.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from itaoreport.evidence.ocr import OcrText

FOUND, NOT_FOUND, NO_TEXT, SKIPPED = "found", "not_found", "no_text", "skipped"
MAX_PART = 160
"""Longer quotes are aligned in parts of about this many characters (the alignment is
quadratic); every part must be found."""
CONFUSED_COST = 0.3
CLOSEST_CHARS = 120
"""The `closest` text shown in a warning is cut to about this many characters."""


@dataclass
class QuoteCheck:
    """Whether an entry's quote was found in the OCR text of its pictures."""

    status: str
    """found | not_found | no_text (no picture with text) | skipped (no OCR engine)."""
    exhibit: str | None = None
    path: str | None = None
    """The picture file (the exhibit's kept file) the quote was found in, or looked for in."""
    box: list[int] | None = None
    """[x0, y0, x1, y1] around the quoted text, in the original file's pixels."""
    score: float | None = None
    """1.0: every character matched as typed; lower: OCR slips (found) or differences."""
    closest: str | None = None
    """When not found: the text in the picture most like the quote."""

    def to_json(self) -> dict:
        return {"status": self.status, "exhibit": self.exhibit, "path": self.path,
                "box": self.box, "score": self.score, "closest": self.closest}

    @classmethod
    def from_json(cls, data: object) -> QuoteCheck | None:
        """The check to_json gave, or None for anything of another shape (a cache miss)."""
        if not (isinstance(data, dict) and set(data) == _CHECK_KEYS
                and data["status"] in (FOUND, NOT_FOUND, NO_TEXT, SKIPPED)
                and all(data[k] is None or isinstance(data[k], str)
                        for k in ("exhibit", "path", "closest"))
                and (data["box"] is None or (isinstance(data["box"], list)
                                             and len(data["box"]) == 4
                                             and all(type(v) is int for v in data["box"])))
                and (data["score"] is None or (type(data["score"]) in (int, float)
                                               and 0 <= data["score"] <= 1))):
            return None
        return cls(data["status"], data["exhibit"], data["path"], data["box"],
                   data["score"], data["closest"])


_CHECK_KEYS = {"status", "exhibit", "path", "box", "score", "closest"}


_PLAIN = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'",
    "`": "'", "\u02bc": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"',
    "\u00bb": '"', "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
    "\u2015": "-", "\u2212": "-", "\u3000": " ", "\u00a0": " ",
})
def _is_cjk(c: str) -> bool:
    """A CJK character (CJK punctuation, U+3000-303F, is punctuation). Compared, not matched
    with a regular expression: compiling one over these ranges took ~10 ms at start-up."""
    return ("\u2e80" <= c <= "\u2fff" or "\u3040" <= c <= "\u9fff" or "\uac00" <= c <= "\ud7af"
            or "\uf900" <= c <= "\ufaff")
_TIMEISH = r"[\dOoIlSsBgqZz|]"
_TIME = re.compile(rf"{_TIMEISH}{{1,2}}:{_TIMEISH}{{2}}(?:am|pm)?[vVwW\u2713\u2714\u221a/]{{0,3}}",
                   re.IGNORECASE)
_TICKS = re.compile(r"[vVwW\u2713\u2714\u221a/\\|~]{1,3}|am|pm", re.IGNORECASE)
"""A chat app's own marks at the end of a line: a time (as OCR may misread it) and read ticks."""
_CONFUSED = {frozenset(p) for p in ("il", "ec", "ij")}
_LIKE_DIGIT = {"o": "0", "l": "1", "i": "1", "|": "1", "s": "5", "b": "8", "z": "2"}
_LIKE_LETTER = {"0": "o", "1": "l", "5": "s"}


def normalise(text: str) -> str:
    """NFKC, plain quotes and dashes, case folded, accents of Latin letters dropped (OCR
    often drops them: `é` is read `e`), whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).translate(_PLAIN).casefold()
    if not text.isascii():
        text = "".join(_strip_accent(c) for c in text)
    return " ".join(text.split())


def _strip_accent(c: str) -> str:
    if c.isascii() or not ("\u00c0" <= c <= "\u024f"):
        return c
    base = unicodedata.normalize("NFD", c)[0]
    return base if base.isascii() else c


def _kind(c: str) -> str:
    if c.isdigit():
        return "d"
    if _is_cjk(c):
        return "c"
    if c.isalpha():
        return "a"
    return " "


@dataclass
class _Stream:
    """Characters to align: letters, digits and CJK; ' ' between words."""

    chars: list[str]
    skippable: list[bool]
    word: list[int]
    """OCR word index of each character (-1 for the quote and for spaces)."""


def _chars(text: str) -> list[str]:
    """Letters, digits and CJK of normalised text; one ' ' for any run of anything else,
    except a '.', ',' or ':' between digits, kept as '.' (10.50 is not 10)."""
    out: list[str] = []
    for k, c in enumerate(text):
        kind = _kind(c)
        if kind != " ":
            out.append(c)
        elif c in ".,:" and 0 < k < len(text) - 1 and text[k - 1].isdigit() \
                and text[k + 1].isdigit():
            out.append(".")
        elif out and out[-1] != " ":
            out.append(" ")
    while out and out[-1] == " ":
        out.pop()
    return out


def _numeric(c: str) -> bool:
    return c.isdigit() or c == "."


def _quote_stream(text: str) -> _Stream:
    folded = normalise(text).replace("'", "").replace("rn", "m").replace("vv", "w")
    chars = _chars(folded)
    return _Stream(chars, [c == " " for c in chars], [-1] * len(chars))


def _ocr_stream(ocr: OcrText) -> _Stream:
    chars: list[str] = []
    skippable: list[bool] = []
    word: list[int] = []
    words = ocr.words
    small = _small_lines(words)
    tail = _line_tails(words)
    for i, w in enumerate(words):
        raw = unicodedata.normalize("NFKC", w["text"]).translate(_PLAIN)
        if not raw.isascii():
            raw = "".join(_strip_accent(c) for c in raw)
        chrome = w["line"] in small or i in tail
        text = _chars(_fold_ocr_word(raw.replace("'", "")))
        if not text:
            continue
        if chars:
            chars.append(" ")
            skippable.append(True)
            word.append(-1)
        for c in text:
            chars.append(c)
            skippable.append(chrome or c == " ")
            word.append(-1 if c == " " else i)
    return _Stream(chars, skippable, word)


def _line_tails(words: list[dict]) -> set[int]:
    """Words that end a line as a chat app's time and read ticks do (`... 09:12 ✓✓`)."""
    tails: set[int] = set()
    k = len(words) - 1
    while k >= 0:
        line, run = words[k]["line"], []
        while k >= 0 and words[k]["line"] == line and len(run) < 3:
            text = words[k]["text"].strip(".,")
            if _TIME.fullmatch(text):
                tails.update(run + [k])
                break
            if not _TICKS.fullmatch(text):
                break
            run.append(k)
            k -= 1
        while k >= 0 and words[k]["line"] == line:
            k -= 1
    return tails


def _small_lines(words: list[dict]) -> set[int]:
    """Lines of at most 3 words in clearly smaller print than the picture's usual text: the
    time and ticks under a message, which OCR reads worst (`09:12 ✓✓` as `og:lavv`)."""
    heights = sorted(w["box"][3] - w["box"][1] for w in words)
    if len(heights) < 8:
        return set()
    usual = heights[len(heights) // 2]
    lines: dict[int, list[int]] = {}
    for w in words:
        lines.setdefault(w["line"], []).append(w["box"][3] - w["box"][1])
    return {n for n, hs in lines.items() if len(hs) <= 3 and max(hs) < 0.8 * usual}


def _fold_ocr_word(text: str) -> str:
    """Undo OCR's letter/digit confusions by context: in a run of letters and digits that has
    a digit and otherwise only digit-like letters (O, l, I, |, S, B, Z), those are digits;
    a run with at least two digits and no more letters than digits is a code (a tracking
    number such as LP551204771CN) and is kept as read; in a run with other letters, 0, 1
    and 5 are letters; a capital I inside a lower-case word
    is an l. Then case fold and the rn/m, vv/w pairs."""
    if text == "|":  # the pronoun I, as OCR reads it in sans-serif fonts
        return "i"

    def fold(run: re.Match) -> str:
        word = run.group()
        if any(c.isdigit() for c in word) and all(c.isdigit() or c.lower() in _LIKE_DIGIT
                                                  for c in word):
            return "".join(c if c.isdigit() else _LIKE_DIGIT[c.lower()] for c in word)
        digits = sum(c.isdigit() for c in word)
        if digits >= 2 and digits >= sum(c.isalpha() for c in word):
            return word  # a code of letters and digits (LP551204771CN): read as it is
        if any(c.isalpha() for c in word):
            out = []
            for k, c in enumerate(word):
                if c in _LIKE_LETTER:
                    c = _LIKE_LETTER[c]
                elif c == "|":
                    c = "l"
                elif c == "I" and k and word[k - 1].islower():
                    c = "l"
                out.append(c)
            return "".join(out)
        return word

    return re.sub(r"[A-Za-z0-9|]+", fold, text).casefold().replace("rn", "m").replace("vv", "w")


@dataclass
class _Match:
    cost: float
    hard: int
    """Edits that are not OCR confusions."""
    number_edit: bool
    words: list[int]
    """OCR words the quote was aligned with."""
    first: int
    last: int
    """OCR stream positions of the alignment."""
    boundaries: bool
    long_word_slip: bool


def _align(q: _Stream, s: _Stream, lo: int, hi: int) -> _Match | None:
    """Semi-global alignment of the whole quote against s.chars[lo:hi]."""
    qc, sc = q.chars, s.chars[lo:hi]
    sk = s.skippable[lo:hi]
    n, m = len(qc), len(sc)
    if n == 0 or m == 0:
        return None
    inf = float("inf")
    prev = [0.0] * (m + 1)
    back: list[bytearray] = [bytearray(m + 1)]
    for i in range(1, n + 1):
        a = qc[i - 1]
        del_cost = 0.0 if a == " " else 1.0
        cur = [prev[0] + del_cost] + [inf] * m
        row = bytearray(m + 1)
        row[0] = 2
        for j in range(1, m + 1):
            b = sc[j - 1]
            if a == b:
                best, op = prev[j - 1], 0
            elif a != " " and b != " " and frozenset((a, b)) in _CONFUSED:
                best, op = prev[j - 1] + CONFUSED_COST, 1
            else:
                best, op = prev[j - 1] + 1.0, 1
            d = prev[j] + del_cost  # quote char left out
            if d < best:
                best, op = d, 2
            ins = cur[j - 1] + (0.0 if sk[j - 1] else 1.0)  # OCR char left out
            if ins < best:
                best, op = ins, 3
            cur[j] = best
            row[j] = op
        back.append(row)
        prev = cur
    end = min(range(1, m + 1), key=lambda j: (prev[j], j))
    i, j = n, end
    hard = 0
    number_edit = False
    words: list[int] = []
    first = end
    edits_in: list[int] = []
    while i > 0:
        op = back[i][j]
        if op in (0, 1):
            a, b = qc[i - 1], sc[j - 1]
            if a != b:
                if frozenset((a, b)) in _CONFUSED:
                    pass
                else:
                    hard += 1
                    edits_in.append(lo + j - 1)
                    number_edit |= _numeric(a) or _numeric(b)
            w = s.word[lo + j - 1]
            if w >= 0 and a != " ":
                words.append(w)
            first = j - 1
            i, j = i - 1, j - 1
        elif op == 2:
            if qc[i - 1] != " ":
                hard += 1
                number_edit |= _numeric(qc[i - 1])
                edits_in.append(lo + max(j - 1, 0))
            i -= 1
        else:
            if not sk[j - 1]:
                hard += 1
                number_edit |= _numeric(sc[j - 1])
                edits_in.append(lo + j - 1)
            j -= 1
    start, stop = lo + first, lo + end - 1
    boundaries = (_boundary(s.chars, start - 1, qc[0]) and _boundary(s.chars, stop + 1, qc[-1]))
    slip = hard == 1 and not number_edit and n >= 40 and _in_long_word(s.chars, edits_in[0])
    return _Match(prev[end], hard, number_edit, sorted(set(words)), start, stop, boundaries, slip)


def _boundary(chars: list[str], k: int, edge: str) -> bool:
    """The OCR character next to a match does not continue the quote's first/last word."""
    if k < 0 or k >= len(chars) or chars[k] == " ":
        return True
    if _numeric(edge):
        return not _numeric(chars[k])
    if _kind(edge) == "a":
        return _kind(chars[k]) != "a"
    return True


def _in_long_word(chars: list[str], k: int) -> bool:
    lo = hi = k
    while lo > 0 and chars[lo - 1].isalpha():
        lo -= 1
    while hi + 1 < len(chars) and chars[hi + 1].isalpha():
        hi += 1
    return hi - lo + 1 >= 7 and all(chars[x].isalpha() for x in range(lo, hi + 1))


def _candidates(q: _Stream, s: _Stream, limit: int = 3
                ) -> list[tuple[int, int, float]]:
    """OCR stream windows where the quote may be, voted by shared character n-grams:
    (lo, hi, share of the quote's n-grams found there), best first."""
    qn = [c for c in q.chars if c != " "]
    pos = [k for k, c in enumerate(s.chars) if c != " "]
    sn = [s.chars[k] for k in pos]
    if not qn or not sn:
        return []
    size = 3 if len(qn) >= 6 else 1
    index: dict[str, list[int]] = {}
    for b in range(len(sn) - size + 1):
        index.setdefault("".join(sn[b:b + size]), []).append(b)
    votes: Counter = Counter()
    for a in range(len(qn) - size + 1):
        for b in index.get("".join(qn[a:a + size]), ()):
            votes[(b - a) // 4] += 1
    grams = max(1, len(qn) - size + 1)
    windows: list[tuple[int, int, float]] = []
    slack = 12 + len(qn) // 5
    for bucket, _n in votes.most_common():
        start = bucket * 4
        lo = pos[max(0, min(len(pos) - 1, start - slack))]
        hi = pos[max(0, min(len(pos) - 1, start + len(qn) + slack))] + 1
        if any(lo < h and w_lo < hi for w_lo, h, _ in windows):
            continue
        near = votes[bucket - 1] + votes[bucket] + votes[bucket + 1]
        windows.append((lo, hi, min(1.0, near / grams)))
        if len(windows) >= limit:
            break
    return windows


def _close_enough(share: float, q: _Stream) -> bool:
    """Whether a window shares enough n-grams with the quote that it may be found there:
    each slip a found quote may have spoils at most 3 of them; alignment is only worth
    its cost (quadratic, in Python) where this holds."""
    grams = max(1, sum(c != " " for c in q.chars) - 2)
    return share * grams >= min(grams - 18, grams * 0.5)


def _parts(quote: str) -> list[str]:
    """The quote's parts: split at ellipses, long runs cut at spaces into MAX_PART pieces."""
    parts = []
    for piece in re.split(r"\.\.\.+|\u2026", quote):
        piece = piece.strip()
        while len(piece) > MAX_PART:
            cut = piece.rfind(" ", MAX_PART // 2, MAX_PART)
            cut = cut if cut > 0 else MAX_PART
            parts.append(piece[:cut])
            piece = piece[cut:].strip()
        if piece:
            parts.append(piece)
    return [p for p in parts if any(_kind(c) != " " for c in normalise(p))]


@dataclass
class _Found:
    found: bool
    score: float
    box: list[int] | None
    closest: str | None
    position: int


def find_quote(quote: str, ocr: OcrText) -> _Found:
    """Look for a quote in one picture's words."""
    s = _ocr_stream(ocr)
    results = []
    for part in _parts(quote):
        q = _quote_stream(part)
        best: _Match | None = None
        windows = _candidates(q, s)
        close = [w for w in windows if _close_enough(w[2], q)] or windows[:1]
        for lo, hi, _share in close:
            if not _close_enough(_share, q):  # the closest text only, roughly placed
                words = sorted({s.word[k] for k in range(lo, hi) if s.word[k] >= 0})
                best = _Match(len(q.chars) * (1 - _share), len(q.chars), False, words, lo,
                              hi - 1, True, False)
                break
            m = _align(q, s, lo, hi)
            if m is not None and (best is None or (_ok(m), -m.cost) > (_ok(best), -best.cost)):
                best = m
        results.append((q, best))
    if not results:
        return _Found(False, 0.0, None, None, -1)
    words = ocr.words
    ok = all(m is not None and _ok(m) for _, m in results)
    positions = [m.first for _, m in results if m is not None]
    if ok and positions != sorted(positions):
        ok = False
    length = sum(max(1, sum(c != " " for c in q.chars)) for q, _ in results)
    cost = sum((m.cost if m is not None else len(q.chars)) for q, m in results)
    score = round(max(0.0, 1.0 - cost / length), 3)
    matched = sorted({w for _, m in results if m is not None for w in m.words})
    box = _union([words[w]["box"] for w in matched]) if matched else None
    closest = None
    if not ok and matched:
        closest = _excerpt(words, matched)
    return _Found(ok, score, box if ok else None, closest, positions[0] if positions else -1)


def _ok(m: _Match) -> bool:
    return m.boundaries and not m.number_edit and (m.hard == 0 or m.long_word_slip) \
        and m.cost <= CONFUSED_COST * 4 + (1.0 if m.long_word_slip else 0.0)


def _union(boxes: Iterable[list[int]]) -> list[int]:
    boxes = list(boxes)
    return [min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes)]


def _excerpt(words: list[dict], matched: list[int]) -> str:
    text = " ".join(words[w]["text"] for w in range(matched[0], matched[-1] + 1))
    text = " ".join(text.split())
    if len(text) > CLOSEST_CHARS:
        text = text[:CLOSEST_CHARS].rsplit(" ", 1)[0] + " \u2026"
    return text


def check_quote(quote: str | None, pictures: list[tuple[str, str, OcrText | None]]
                ) -> QuoteCheck | None:
    """The check of one entry's quote against its pictures: (exhibit, path, words or None
    when OCR was not available for it). None when the entry has no quote."""
    if not quote or not quote.strip():
        return None
    if not pictures:
        return QuoteCheck(NO_TEXT)
    read = [(x, p, t) for x, p, t in pictures if t is not None]
    if not read:
        return QuoteCheck(SKIPPED)
    with_text = [(x, p, t) for x, p, t in read if t.words]
    if not with_text:
        return QuoteCheck(NO_TEXT, read[0][0], read[0][1])
    best: tuple[_Found, str, str] | None = None
    for exhibit, path, text in with_text:
        found = find_quote(quote, text)
        if found.found:
            return QuoteCheck(FOUND, exhibit, path, found.box, found.score)
        if best is None or found.score > best[0].score:
            best = (found, exhibit, path)
    assert best is not None
    found, exhibit, path = best
    return QuoteCheck(NOT_FOUND, exhibit, path, None, found.score, found.closest)

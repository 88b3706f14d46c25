"""The privacy check, and the text half of redaction.

Before a build writes anything it looks for personal and payment data a claimant
should not send: payment card numbers (13–19 digits of a card issuer's ranges that
pass the Luhn check, spaced or not), IBANs (country length and mod-97 checksum),
e-mail addresses, phone numbers, and the claimant's own address lines (case.yaml
`claimant.address`). It looks in every text field of the case and, given the OCR
words of a picture, in the picture. Each finding is a located warning naming the
file and what it looks like; card numbers and IBANs are never printed whole.

`redact_text:` (case.yaml and entries) lists strings that every output shows as
REDACTED_MARK; `apply_redact_text` does that on the case model, before anything
is analysed or rendered, so no output can show them.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from itaoreport.errors import Loc, Problem, warning

REDACTED_MARK = "█████"
MIN_ADDRESS_CHARS = 8
"""Shorter address lines (a bare town name, a postcode) are not looked for: too many false hits."""

# -- detectors ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    kind: str
    """card, iban, email, phone or address."""
    shown: str
    """What it looks like, safe to print (card numbers and IBANs masked)."""
    start: int
    end: int
    """The span in the text searched."""

    def describe(self) -> str:
        what = {"card": "a payment card number", "iban": "a bank account number (IBAN)",
                "email": "an e-mail address", "phone": "a phone number",
                "address": "a line of your address"}[self.kind]
        return f"{what} ({self.shown})"


_CARD = re.compile(r"(?<![\d.,/-])\d(?:[ -]?\d){12,18}(?![\d]|[.,/-]\d)")
_CARD_PREFIXES: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("4", (13, 16, 19)),                                           # Visa
    *((str(p), (16,)) for p in range(51, 56)),                     # Mastercard
    *((str(p), (16,)) for p in range(2221, 2721)),                 # Mastercard 2-series
    ("34", (15,)), ("37", (15,)),                                  # American Express
    ("6011", (16, 17, 18, 19)), ("65", (16, 17, 18, 19)),          # Discover
    *((str(p), (16, 17, 18, 19)) for p in range(644, 650)),
    *((str(p), (16, 17, 18, 19)) for p in range(3528, 3590)),      # JCB
    ("36", (14, 15, 16, 17, 18, 19)), ("38", (14, 16)), ("39", (14, 16)),  # Diners
    *((str(p), (14, 16)) for p in range(300, 306)),
    ("62", (16, 17, 18, 19)),                                      # UnionPay
    *((str(p), (16, 17, 18, 19)) for p in range(2200, 2205)),      # Mir
    ("50", (13, 16, 17, 18, 19)), *((str(p), (13, 16, 17, 18, 19)) for p in range(56, 70)),
)


def luhn_ok(digits: str) -> bool:
    total = 0
    for n, ch in enumerate(reversed(digits)):
        d = int(ch)
        if n % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def looks_like_card(digits: str) -> bool:
    """A number of a card issuer's range and length that passes the Luhn check."""
    if not 13 <= len(digits) <= 19 or not luhn_ok(digits) or len(set(digits)) == 1:
        return False
    return any(digits.startswith(prefix) and len(digits) in lengths
               for prefix, lengths in _CARD_PREFIXES)


def mask_number(digits: str) -> str:
    """`4111 … 1111`: the first and last four only."""
    return f"{digits[:4]} … {digits[-4:]}"


IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}
"""Countries that use IBANs and their IBAN lengths (SWIFT's registry)."""
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])([A-Z]{2})(\d{2})")


def iban_ok(iban: str) -> bool:
    """The ISO 13616 check: moved country and check digits, letters as numbers, mod 97 == 1."""
    moved = iban[4:] + iban[:4]
    try:
        return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1
    except ValueError:
        return False


def _ibans(text: str) -> Iterable[Finding]:
    for match in _IBAN_START.finditer(text):
        length = IBAN_LENGTHS.get(match.group(1))
        if length is None:
            continue
        chars: list[str] = []
        pos = match.start()
        while pos < len(text) and len(chars) < length:
            ch = text[pos]
            if ch.isascii() and ch.isalnum():
                chars.append(ch.upper())
            elif ch not in " -" or (pos + 1 < len(text) and text[pos + 1] in " -"):
                break
            pos += 1
        iban = "".join(chars)
        follows = text[pos:pos + 1]
        if len(iban) == length and not (follows.isascii() and follows.isalnum()) \
                and iban_ok(iban):
            yield Finding("iban", f"{iban[:4]} … {iban[-4:]}", match.start(), pos)


_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*"
                    r"\.[A-Za-z]{2,24}(?![\w-])")
_PHONE_LABEL = (r"(?:phone|tel|telephone|mobile|mob|cell|call|whatsapp|fax|telefon|handy|"
                r"téléphone|tél|portable|teléfono|móvil|telefono|cellulare|电话|手机|電話|携帯)")
_PHONES = (
    # +49 30 1234567, +1 (555) 010-0199, +86 138 0013 8000, 0049 30 1234567
    re.compile(r"(?<![\w+])(?:\+|00)[1-9]\d{0,2}(?:[ .\-/]?\(?\d{1,5}\)?){2,6}(?![\w])"),
    # (555) 010-0199, 555-010-0199, 555.010.0199
    re.compile(r"(?<![\w(])\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b(?![-.]\d)"),
    # a number after a label: "Tel: 030 1234567", "手机：13800138000"
    re.compile(_PHONE_LABEL + r"\.?\s*(?:no\.?|number|nr\.?)?\s*[:：]?\s*"
               r"(?P<n>\(?\+?\d[\d ()./-]{5,18}\d)", re.IGNORECASE),
)
_SEVEN_DIGITS = re.compile(r"\d(?:\D*\d){6}")
"""Seven digits anywhere in a text: fewer, and it holds no card or phone number."""
_DATE_LIKE = re.compile(r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$")


def _phones(text: str) -> Iterable[Finding]:
    for pattern in _PHONES:
        for match in pattern.finditer(text):
            start, end = match.span("n") if "n" in pattern.groupindex else match.span()
            number = text[start:end].strip()
            digits = re.sub(r"\D", "", number)
            if not 7 <= len(digits) <= 15 or _DATE_LIKE.match(number):
                continue
            yield Finding("phone", number, start, end)


def _normal(text: str) -> str:
    return " ".join(text.casefold().split())


def find_private(text: str, addresses: Sequence[str] = (),
                 allowed_emails: Iterable[str] = ()) -> list[Finding]:
    """Everything in `text` that looks private, in order, overlapping finds merged.

    addresses: the claimant's address lines; allowed_emails: addresses (or @domains)
    that are not private (the seller's business address).
    """
    found: list[Finding] = []
    # A card number has 13 digits or more, a phone number 7 or more: a text with fewer
    # (most texts) is not scanned for them; one without "@" not for e-mail addresses.
    numbers = _SEVEN_DIGITS.search(text) is not None
    for match in _CARD.finditer(text) if numbers else ():
        raw = match.group()
        digits = re.sub(r"\D", "", raw)
        separators = set(re.findall(r"[ -]", raw))
        if len(separators) <= 1 and looks_like_card(digits):
            found.append(Finding("card", mask_number(digits), *match.span()))
    found.extend(_ibans(text))
    if "@" in text:
        allowed = {a.casefold() for a in allowed_emails}
        for match in _EMAIL.finditer(text):
            address = match.group().casefold()
            if address in allowed or "@" + address.rpartition("@")[2] in allowed:
                continue
            found.append(Finding("email", match.group(), *match.span()))
    if numbers:
        found.extend(_phones(text))
    if addresses:
        folded = text.casefold()
        for line in addresses:
            needle = _normal(line)
            if len(needle) < MIN_ADDRESS_CHARS:
                continue
            pattern = r"\s+".join(re.escape(part) for part in needle.split(" "))
            for match in re.finditer(pattern, folded):
                found.append(Finding("address", line.strip(), *match.span()))
    return _without_overlaps(found)


_RANK = {"card": 0, "iban": 1, "address": 2, "email": 3, "phone": 4}


def _without_overlaps(found: list[Finding]) -> list[Finding]:
    """One finding per stretch of text: the more specific kind wins (a card is not a phone)."""
    kept: list[Finding] = []
    for f in sorted(found, key=lambda f: (_RANK[f.kind], f.start)):
        if not any(f.start < k.end and k.start < f.end for k in kept):
            kept.append(f)
    return sorted(kept, key=lambda f: (f.start, f.end))


# -- text fields --------------------------------------------------------------------------------

_CASE_TEXTS = ("title", "statement", "dispute.reason", "delivery.condition")
_ENTRY_TEXTS = ("summary", "quote", "action", "sender_name", "channel")
_SKIP_FIELDS = {"root", "locs", "loc", "path", "id", "fulfils", "refers_to", "timezone", "language",
                "theme", "paper", "kind", "sender", "decision", "status", "currency", "type",
                "requested", "redact", "redact_text", "highlight", "highlight_loc"}
"""Model fields that are not text a report shows (names of files, codes, settings, boxes)."""


@dataclass(frozen=True)
class TextFinding:
    loc: Loc
    field: str
    finding: Finding


def case_settings(case: object) -> tuple[list[str], list[str]]:
    """(claimant address lines, e-mail addresses and @domains that are not private)."""
    claimant = getattr(case, "claimant", None)
    seller = getattr(case, "seller", None)
    address = getattr(claimant, "address", None) or ""
    lines = [line.strip(" ,") for line in re.split(r"[\n;]", address) if line.strip(" ,")]
    allowed: list[str] = []
    seller_mail = getattr(seller, "email", None) or ""
    for mail in re.split(r"[,;\s]+", seller_mail):
        if "@" in mail:
            allowed.append(mail)
            allowed.append("@" + mail.rpartition("@")[2])
    return lines, allowed


def check_case_texts(case: object) -> list[Problem]:
    """Located warnings for private data in every text of the case and its entries."""
    addresses, allowed = case_settings(case)
    problems: list[Problem] = []
    locs = getattr(case, "locs", {})
    for name in _CASE_TEXTS:
        part, _, leaf = name.rpartition(".")
        owner = getattr(case, part, None) if part else case
        text = getattr(owner, leaf, None)
        if isinstance(text, str):
            where = locs.get(name, Loc("case.yaml"))
            problems += _problems(where, name, find_private(text, addresses, allowed))
    settings = (tuple(addresses), tuple(allowed))
    for entry in getattr(case, "entries", []):
        for name, text, where in _entry_texts(entry):
            problems += _problems(where, name, _find_private_kept(text, *settings))
    return problems


@lru_cache(maxsize=16384)
def _find_private_kept(text: str, addresses: tuple[str, ...],
                       allowed: tuple[str, ...]) -> tuple[Finding, ...]:
    """find_private of an entry's text, kept per text: watch mode checks the same texts on
    every save."""
    return tuple(find_private(text, addresses, allowed))


def _entry_texts(entry: object) -> Iterable[tuple[str, str, Loc]]:
    loc = entry.loc  # type: ignore[attr-defined]
    for name in _ENTRY_TEXTS:
        text = getattr(entry, name, None)
        if isinstance(text, str):
            yield name, text, loc(name)
    for name in ("promise", "deadline"):
        part = getattr(entry, name, None)
        if part is not None and isinstance(getattr(part, "text", None), str):
            yield f"{name}.text", part.text, getattr(part, "loc", None) or loc(name)
    for link in getattr(entry, "links", []) or []:
        yield "links", link, loc("links")
    for att in getattr(entry, "attachments", []) or []:
        if att.caption:
            yield "caption", att.caption, att.loc


def _problems(where: Loc, name: str, findings: Sequence[Finding]) -> list[Problem]:
    return [warning(where, f"{name}: {f.describe()}; anyone who gets the report can read it",
                    "remove it, or list it under `redact_text:` so every output shows "
                    f"{REDACTED_MARK}") for f in findings]


# -- pictures (OCR words with boxes) ------------------------------------------------------------

Box = tuple[int, int, int, int]


def inside(box: Sequence[int], region: Sequence[int], share: float = 0.5) -> bool:
    """At least `share` of `box`'s area lies in `region`."""
    x0, y0 = max(box[0], region[0]), max(box[1], region[1])
    x1, y1 = min(box[2], region[2]), min(box[3], region[3])
    area = max(1, (box[2] - box[0]) * (box[3] - box[1]))
    return x1 > x0 and y1 > y0 and (x1 - x0) * (y1 - y0) >= share * area


def without_redacted(words: Sequence[dict], redact: Sequence[Sequence[int]]) -> list[dict]:
    """The OCR words that no redact box hides (what outputs may carry)."""
    if not redact:
        return list(words)
    return [w for w in words if not any(inside(w["box"], r, 0.25) for r in redact)]


def picture_findings(words: Sequence[dict], redact: Sequence[Sequence[int]] = (),
                     addresses: Sequence[str] = (), allowed_emails: Iterable[str] = ()
                     ) -> list[tuple[Finding, Box]]:
    """Private data readable in a picture: each finding with the box around its words.

    words: OCR words `{text, box: [x0, y0, x1, y1], line, block}` (evidence/ocr.py), in the
    original's pixels after EXIF orientation. Words a redact box hides are not read.
    A card number split over words of one line ("4111 1111 1111 1111") is found.
    """
    visible = without_redacted(words, redact)
    lines: dict[tuple, list[dict]] = {}
    for word in visible:
        lines.setdefault((word.get("block", 0), word.get("line", 0)), []).append(word)
    results: list[tuple[Finding, Box]] = []
    for line_words in lines.values():
        line_words = sorted(line_words, key=lambda w: w["box"][0])
        text, spans = "", []
        for word in line_words:
            if text:
                text += " "
            spans.append((len(text), len(text) + len(word["text"]), word))
            text += word["text"]
        for finding in find_private(text, addresses, allowed_emails):
            hit = [w for s, e, w in spans if s < finding.end and finding.start < e]
            if not hit:
                continue
            box = (min(w["box"][0] for w in hit), min(w["box"][1] for w in hit),
                   max(w["box"][2] for w in hit), max(w["box"][3] for w in hit))
            results.append((finding, box))
    return sorted(results, key=lambda r: (r[1][1], r[1][0]))


def check_picture(path: str, words: Sequence[dict], redact: Sequence[Sequence[int]] = (),
                  addresses: Sequence[str] = (), allowed_emails: Iterable[str] = ()
                  ) -> list[Problem]:
    """`shots/card.png: warning: a payment card number (4111 … 1111) is visible at [...]`."""
    return _picture_problems(path, picture_findings(words, redact, addresses, allowed_emails))


def _picture_problems(path: str, found: list[tuple[Finding, Box]]) -> list[Problem]:
    return [warning(Loc(path), f"{f.describe()} is visible at [{', '.join(map(str, box))}]; "
                    "add a redact box",
                    f"under the attachment: `redact: [[{', '.join(map(str, box))}]]` "
                    "(a little margin does no harm)")
            for f, box in found]


# -- redact_text --------------------------------------------------------------------------------


def redact_patterns(strings: Iterable[str]) -> re.Pattern | None:
    """One pattern for every string, any spacing and case (`4111 1111` also hides `41111111`)."""
    parts = []
    for s in sorted({" ".join(s.split()) for s in strings if s and s.strip()}, key=len,
                    reverse=True):
        chars = [re.escape(c) for c in s.replace(" ", "")]
        parts.append(r"[\s\-]*".join(chars))
    if not parts:
        return None
    return re.compile("|".join(parts), re.IGNORECASE)


def redact_string(text: str, pattern: re.Pattern | None) -> str:
    return text if pattern is None else pattern.sub(REDACTED_MARK, text)


def apply_redact_text(case: object) -> re.Pattern | None:
    """Replace every `redact_text` string (of case.yaml and every entry) in every text of the
    case model, in place; returns the pattern, for texts made later (OCR text)."""
    strings = list(getattr(case, "redact_text", None) or [])
    for entry in getattr(case, "entries", []):
        strings += getattr(entry, "redact_text", None) or []
    pattern = redact_patterns(strings)
    if pattern is not None:
        _redact_object(case, pattern, set())
    return pattern


def _redact_object(obj: object, pattern: re.Pattern, seen: set[int]) -> None:
    if (id(obj) in seen or not dataclasses.is_dataclass(obj) or isinstance(obj, (type, Loc))):
        return  # a Loc names a file and line: not text of the report
    seen.add(id(obj))
    params = getattr(type(obj), "__dataclass_params__", None)
    frozen = bool(params and params.frozen)
    for f in dataclasses.fields(obj):
        if f.name in _SKIP_FIELDS:
            continue
        value = getattr(obj, f.name)
        new = _redact_value(value, pattern, seen)
        if new is not value and not frozen:
            setattr(obj, f.name, new)


def _redact_value(value: object, pattern: re.Pattern, seen: set[int]) -> object:
    if isinstance(value, str):
        return pattern.sub(REDACTED_MARK, value)
    if isinstance(value, list):
        return [_redact_value(v, pattern, seen) for v in value]
    if isinstance(value, dict):
        return {k: _redact_value(v, pattern, seen) for k, v in value.items()}
    if dataclasses.is_dataclass(value):
        _redact_object(value, pattern, seen)
    return value


# -- the build's picture check (OCR words from evidence/ocr.py) ---------------------------------


def picture_scan_requests(case: object, wanted: dict) -> tuple[dict, list[str]]:
    """OCR specs for the pictures the quote check does not read already (`wanted`, by path),
    so that every picture is checked; and a note when pictures cannot be checked."""
    from pathlib import PurePosixPath

    from itaoreport.evidence.exhibits import IMAGE_SUFFIXES
    from itaoreport.evidence.ocr import find_engine

    paths = {a.path for e in getattr(case, "entries", []) for a in e.attachments
             if PurePosixPath(a.path).suffix.lower() in IMAGE_SUFFIXES}
    if not paths:
        return {}, []
    engine = find_engine()
    spec = engine.spec(("eng",)) if engine is not None else None
    if spec is None:
        return {}, ["pictures were not checked for card numbers, e-mail addresses and other "
                    "private data: no OCR engine (Debian: tesseract-ocr)"]
    return {path: spec for path in sorted(paths) if path not in wanted}, []


def clean_ocr(evidence: object, hide: re.Pattern | None) -> None:
    """The OCR words of every exhibit as outputs may carry them, in place: words under its
    redact boxes dropped, `redact_text` strings replaced by REDACTED_MARK.

    Words that neither touches stay as they are; the others get a digest of their own
    (evidence/derived.py), and are cleaned when first used."""
    ocr = getattr(evidence, "ocr", None)
    if not ocr:
        return
    from itaoreport.evidence.derived import key
    from itaoreport.evidence.ocr import OcrText

    for x in evidence.exhibits:  # type: ignore[attr-defined]
        sha = evidence.attachments[x.path].sha256  # type: ignore[attr-defined]
        text = ocr.get(sha)
        if text is None or (not x.redact and hide is None):
            continue
        digest = key("clean", text.digest, [list(b) for b in x.redact],
                     None if hide is None else [hide.pattern, hide.flags])
        ocr[sha] = OcrText(text.engine, digest=digest,
                           load=lambda text=text, redact=x.redact: _cleaned(text, redact, hide))


def _cleaned(text: object, redact: Sequence[Sequence[int]], hide: re.Pattern | None
             ) -> list[dict]:
    words = without_redacted(text.words, redact)  # type: ignore[attr-defined]
    return hide_in_words(words, hide) if hide is not None else words


def hide_in_words(words: Sequence[dict], hide: re.Pattern) -> list[dict]:
    """Words with every match of `hide` (within a line) replaced by REDACTED_MARK."""
    lines: dict[tuple, list[int]] = {}
    for n, word in enumerate(words):
        lines.setdefault((word.get("block", 0), word.get("line", 0)), []).append(n)
    hidden: set[int] = set()
    for members in lines.values():
        text, spans = "", []
        for n in sorted(members, key=lambda n: words[n]["box"][0]):
            if text:
                text += " "
            spans.append((len(text), len(text) + len(words[n]["text"]), n))
            text += words[n]["text"]
        for match in hide.finditer(text):
            hidden.update(n for s, e, n in spans if s < match.end() and match.start() < e)
    return [{**w, "text": REDACTED_MARK} if n in hidden else dict(w) for n, w in enumerate(words)]


def check_pictures(case: object, evidence: object, derived: object | None = None
                   ) -> list[Problem]:
    """A located warning for private data OCR reads in each picture the report shows.

    With `derived` (evidence/derived.DerivedCache) what was found in a picture is kept
    under its words' digest, so unchanged pictures are not read again."""
    from itaoreport.evidence.derived import key

    ocr = getattr(evidence, "ocr", None) or {}
    addresses, allowed = case_settings(case)
    problems: list[Problem] = []
    for x in evidence.exhibits:  # type: ignore[attr-defined]
        text = ocr.get(evidence.attachments[x.path].sha256)  # type: ignore[attr-defined]
        if text is None:
            continue
        name = key("picture", text.digest, addresses, allowed) if derived is not None else ""
        found = _findings_from_json(derived.get(name)) if name else None  # type: ignore[union-attr]
        if found is None:
            found = picture_findings(text.words, (), addresses, allowed)
            if name:
                derived.put(name, [[f.kind, f.shown, f.start, f.end, list(box)]  # type: ignore[union-attr]
                                   for f, box in found])
        problems += _picture_problems(x.path, found)
    return problems


def _findings_from_json(data: object) -> list[tuple[Finding, Box]] | None:
    """Cached findings of exactly the shape check_pictures stores, else None (a miss)."""
    if not isinstance(data, list):
        return None
    found = []
    for item in data:
        if not (isinstance(item, list) and len(item) == 5 and item[0] in _RANK
                and isinstance(item[1], str) and type(item[2]) is int and type(item[3]) is int
                and isinstance(item[4], list) and len(item[4]) == 4
                and all(type(v) is int for v in item[4])):
            return None
        found.append((Finding(item[0], item[1], item[2], item[3]), tuple(item[4])))
    return found

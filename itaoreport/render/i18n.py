"""The report's own words and formats in the case's language.

Every fixed word of the report lives in a gettext catalog, one file per
language: `i18n/<language>.po` in a theme folder (`themes/default/i18n/en.po`,
`zh-Hans.po`, ...). Message ids are symbolic (`order_date`, `sender.seller`,
`summary.ordered`); English is a catalog like any other and the fallback for a
message another catalog leaves out. Catalogs are found on the theme search
path, so a case's `theme/i18n/zh-Hans.po` can change single messages, and
adding a language is adding one file. Dates, numbers and money follow the
language's CLDR conventions through Babel.

User text (quotes, summaries, names) never passes through here: only the
report's own words are translated.
"""

from __future__ import annotations

import base64
import gettext
import hashlib
import io
import json
import os
import string
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import format_skeleton
from babel.numbers import format_currency, format_decimal
from babel.support import Translations

from itaoreport.case.model import Moment
from itaoreport.case.safety import is_inside
from itaoreport.case.values import zone
from itaoreport.errors import Loc, Problem, warning
from itaoreport.evidence.cache import _write, read_cache_file
from itaoreport.render.themes import ThemeError

if TYPE_CHECKING:  # Babel's catalog modules are imported only to parse a .po file
    from babel.messages.catalog import Catalog

DEFAULT_LANGUAGE = "en"
CATALOG_DIR = "i18n"
CATALOG_SUFFIX = ".po"
MAX_CATALOG_BYTES = 1_000_000
"""A catalog is a few hundred messages; anything much bigger is not one."""

DATE_SKELETON = "date.skeleton"
"""Catalog key: the CLDR skeleton for dates in the report (e.g. yMMMd)."""
TIME_SKELETON = "time.skeleton"
"""Catalog key: the CLDR skeleton for times of day (e.g. Hm)."""


class Translator:
    """The report's words and formats for one language; user text never goes through it."""

    def __init__(self, lang: str, locale: Locale, messages: gettext.NullTranslations,
                 keys: tuple[str, ...], timezone: str = "UTC", iso_dates: bool = False,
                 reference: gettext.NullTranslations | None = None):
        self.lang = lang
        """BCP 47 tag for `<html lang>` and the PDF's /Lang (en, en-GB, zh-Hans)."""
        self.locale = locale
        """The Babel locale for dates, numbers and money."""
        self.timezone = timezone
        """IANA zone that times are shown in (the case timezone)."""
        self.iso_dates = iso_dates
        """True for data files (log.csv): dates as YYYY-MM-DD, times as YYYY-MM-DD HH:MM."""
        self._messages = messages
        self._keys = keys
        self._reference = reference or messages
        """The built-in English catalog: used when a message cannot be filled in."""
        self._dates: dict[tuple[date, str], str] = {}
        """date() by (day, skeleton key): a long case repeats the same few days."""
        self._times: dict[tuple, str] = {}
        """Times of day by (skeleton, hour, minute, second)."""
        self._datetime_pattern: str | None = None
        self._numbers: dict[int, str] = {}
        """number() of whole numbers: a long case counts the same few numbers often."""
        self._moments: dict[tuple, str] = {}
        """moment() of moments with a time, by what its text depends on."""

    # -- words -----------------------------------------------------------------
    def text(self, key: str, **values: object) -> str:
        """The message `key`, with {named} placeholders filled in.

        A translation that asks for something else than the named values (a catalog
        from a case's theme/ is untrusted) gives way to the built-in English message.
        """
        message = self._messages.gettext(key)
        if not values:
            return message
        filled = fill(message, values)
        if filled is None:
            filled = fill(self._reference.gettext(key), values)
        return message if filled is None else filled

    def plural(self, key: str, n: int, **values: object) -> str:
        """The plural message `key` in the form the language uses for `n` ({n} is filled in)."""
        values = {"n": self.number(n), **values}
        try:
            filled = fill(self._messages.ngettext(key, key, n), values)
        except (ArithmeticError, ValueError, TypeError, RecursionError):
            filled = None  # a case catalog's plural= failing for this n: the built-in words
        if filled is None:
            filled = fill(self._reference.ngettext(key, key, n), values)
        return key if filled is None else filled

    def labels(self) -> dict[str, str]:
        """Every message of the catalog by key (the template context's `labels`)."""
        return {key: self.text(key) for key in self._keys}

    def group(self, prefix: str) -> dict[str, str]:
        """Messages `prefix.X` by X, e.g. group("sender") == {"me": "Me (buyer)", ...}."""
        dotted = prefix + "."
        return {key[len(dotted):]: self.text(key) for key in self._keys if key.startswith(dotted)}

    def css_content(self, key: str, **counters: str) -> str:
        """A CSS `content` value from a message whose placeholders are CSS counters.

        css_content("page_of", page="counter(page)", pages="counter(pages)") gives
        `"Page " counter(page) " of " counter(pages)` for "Page {page} of {pages}".
        """
        for message in (self.text(key), self._reference.gettext(key)):
            parts = _parse(message)
            if parts is not None and all(name in counters for _lit, name in parts if name):
                return " ".join(p for literal, name in parts
                                for p in ((css_string(literal) if literal else ""),
                                          counters.get(name or "", "")) if p) or '""'
        return '""'

    @staticmethod
    def direction(text: str) -> str:
        """dir="..." for a piece of user text: see text_direction."""
        return text_direction(text)

    # -- formats ---------------------------------------------------------------
    def date(self, day: date, skeleton_key: str = DATE_SKELETON) -> str:
        """A calendar day the locale's way (Oct 20, 2023; 2023年10月20日).

        skeleton_key names the catalog message holding the CLDR skeleton to use.
        """
        if self.iso_dates:
            return day.isoformat()
        if type(day) is not date:  # a datetime: equal across zones, so never a cache key
            return format_skeleton(self.text(skeleton_key), day, locale=self.locale)
        key = (day, skeleton_key)
        text = self._dates.get(key)
        if text is None:
            text = self._dates[key] = format_skeleton(self.text(skeleton_key), day,
                                                      locale=self.locale)
        return text

    def moment(self, moment: Moment, offset: bool = False) -> str:
        """A timestamp in the case timezone; a bare date stays a date.

        When the writer gave another offset, the time as written follows in brackets.
        The case timezone's UTC offset follows where it matters: when asked (`offset`),
        and in the hour the clocks go back, when the same wall-clock time happens twice.
        """
        if not moment.has_time:
            return self.date(moment.local.date())
        # the same moment is shown two or three times (timeline, log, index): the text
        # depends on the instant, the offset it was written with, and these two flags
        key = (moment.instant, moment.local.utcoffset(), moment.explicit_offset, offset)
        text = self._moments.get(key)
        if text is not None:
            return text
        local = moment.instant.astimezone(zone(self.timezone))
        text = self._date_time(local)
        if moment.explicit_offset and moment.local.utcoffset() != local.utcoffset():
            text += f" ({self._time(moment.local)} UTC{_offset(moment.local)})"
        elif (offset or _ambiguous(local)) and not self.iso_dates:
            text += f" (UTC{_offset(local)})"
        if len(self._moments) > 50_000:
            self._moments.clear()
        self._moments[key] = text
        return text

    def utc_offset(self, moment: Moment) -> timedelta | None:
        """The case timezone's UTC offset at that moment."""
        return moment.instant.astimezone(zone(self.timezone)).utcoffset()

    def number(self, value: int | Decimal) -> str:
        """A number with the locale's grouping and decimal signs."""
        if self.iso_dates:
            return str(value)
        if type(value) is int:
            text = self._numbers.get(value)
            if text is None:
                if len(self._numbers) > 10_000:
                    self._numbers.clear()
                text = self._numbers[value] = format_decimal(value, locale=self.locale)
            return text
        return format_decimal(value, locale=self.locale)

    def money(self, amount: Decimal, currency: str | None) -> str:
        """An amount with its currency the locale's way ($59.90, US$59.90), or a bare number."""
        if currency is None:
            return self.number(amount)
        if self.iso_dates:
            return f"{amount} {currency}"
        return format_currency(amount, currency, locale=self.locale)

    def _date_time(self, local: datetime) -> str:
        if self.iso_dates:
            return local.strftime("%Y-%m-%d %H:%M")
        pattern = self._datetime_pattern
        if pattern is None:
            pattern = self._datetime_pattern = str(self.locale.datetime_formats["medium"])
        return pattern.replace("{1}", self.date(local.date())).replace("{0}", self._time(local))

    def _time(self, local: datetime) -> str:
        if self.iso_dates:
            return local.strftime("%H:%M")
        skeleton = self.text(TIME_SKELETON)
        if not set(skeleton) <= _CLOCK_FIELDS:  # it shows more than the time of day
            return format_skeleton(skeleton, local, locale=self.locale)
        key = (skeleton, local.hour, local.minute, local.second)
        text = self._times.get(key)
        if text is None:
            text = self._times[key] = format_skeleton(skeleton, local, locale=self.locale)
        return text


_CLOCK_FIELDS = set("HhKkjJmsaB")
"""Skeleton letters whose text depends only on the hour, minute and second."""


def _offset(local: datetime) -> str:
    raw = local.strftime("%z")
    return f"{raw[:3]}:{raw[3:]}" if raw else ""


def _ambiguous(local: datetime) -> bool:
    """The wall-clock time occurs twice in its zone (daylight saving ends)."""
    return local.replace(fold=0).utcoffset() != local.replace(fold=1).utcoffset()


@lru_cache(maxsize=4096)
def _parse(message: str) -> tuple[tuple[str, str | None], ...] | None:
    """(literal, placeholder name) pairs; None unless every placeholder is a plain {name}."""
    try:
        pieces = list(string.Formatter().parse(message))
    except ValueError:  # unbalanced braces
        return None
    if any(name is not None and (spec or conv or not name.isidentifier())
           for _lit, name, spec, conv in pieces):
        return None
    return tuple((literal, name) for literal, name, _spec, _conv in pieces)


def fill(message: str, values: dict[str, object]) -> str | None:
    """`message` with its {name} placeholders replaced by `values`, or None if it asks for more.

    Unlike str.format, no attribute or index look-ups and no format specs: a
    catalog can only place the values it is given.
    """
    parts = _parse(message)
    if parts is None or any(name is not None and name not in values for _lit, name in parts):
        return None
    return "".join(literal + (str(values[name]) if name is not None else "")
                   for literal, name in parts)


def text_direction(text: str) -> str:
    """rtl or ltr by the text's first strong character (Unicode bidi rules P2, P3); auto if none.

    Browsers do this for dir="auto"; WeasyPrint does not, so the report states it.
    """
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind == "L":
            return "ltr"
        if kind in ("R", "AL"):
            return "rtl"
    return "auto"


def css_string(text: str) -> str:
    """`text` as a CSS string literal, safe inside a <style> element."""
    escaped = "".join(f"\\{ord(c):x} " if c in '"\\<>&' or ord(c) < 0x20 or ord(c) == 0x7F
                      else c for c in text)
    return f'"{escaped}"'


# -- finding and reading catalogs ---------------------------------------------------
def available_languages(search_path: list[Path]) -> list[str]:
    """The languages that have a catalog somewhere on the theme search path."""
    found = {p.name[: -len(CATALOG_SUFFIX)] for folder in search_path
             if (folder / CATALOG_DIR).is_dir()
             for p in (folder / CATALOG_DIR).iterdir() if p.name.endswith(CATALOG_SUFFIX)}
    return sorted(found)


def resolve_language(code: str, available: list[str]) -> str | None:
    """The catalog for a BCP 47 tag, or None.

    Tried in order: the tag itself (case-insensitive), the language with its
    likely script (zh, zh-CN -> zh-Hans), the bare language (en-GB -> en).
    """
    by_lower = {name.lower(): name for name in available}
    candidates = [code]
    parts = code.replace("_", "-").split("-")
    likely = get_global("likely_subtags").get("_".join(parts[:2])) or \
        get_global("likely_subtags").get(parts[0])
    if likely:
        script = likely.split("_")[1] if len(likely.split("_")) > 2 else None
        if script:
            candidates.append(f"{parts[0]}-{script}")
    candidates.append(parts[0])
    return next((by_lower[c.lower()] for c in candidates if c.lower() in by_lower), None)


def catalog_files(search_path: list[Path], language: str) -> list[Path]:
    """Every catalog file for `language` on the search path, the one that wins first.

    Raises ThemeError for a catalog that links out of its theme folder.
    """
    found = []
    for folder in search_path:
        path = folder / CATALOG_DIR / f"{language}{CATALOG_SUFFIX}"
        if path.is_file():
            try:
                inside = is_inside(folder, path)
            except (OSError, RuntimeError, ValueError):
                inside = False
            if not inside:
                raise ThemeError(f"catalog {path} is a link that points outside {folder}")
            found.append(path)
    return found


@lru_cache(maxsize=64)
def read_catalog(path: Path, mtime_ns: int) -> Catalog:
    """A parsed .po file (cached per process by path and modification time).

    Raises ThemeError for a catalog that is too big or not a valid .po file.
    """
    return _parse_catalog(path, _catalog_bytes(path))


def _catalog_bytes(path: Path) -> bytes:
    if path.stat().st_size > MAX_CATALOG_BYTES:
        raise ThemeError(f"catalog {path} is over {MAX_CATALOG_BYTES:,} bytes")
    with path.open("rb") as fh:
        data = fh.read(MAX_CATALOG_BYTES + 1)
    if len(data) > MAX_CATALOG_BYTES:
        raise ThemeError(f"catalog {path} is over {MAX_CATALOG_BYTES:,} bytes")
    return data


def read_po(fileobj, **options) -> Catalog:  # noqa: ANN001 - a binary file
    """Babel's .po parser, imported when a catalog is parsed (~10 ms of start-up that a warm
    build, reading compiled catalogs, does without)."""
    from babel.messages.pofile import read_po as parse

    return parse(fileobj, **options)


def _parse_catalog(path: Path, data: bytes) -> Catalog:
    from babel.messages.pofile import PoFileError

    try:
        catalog = read_po(io.BytesIO(data), abort_invalid=True)
    except (PoFileError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ThemeError(f"catalog {path} is not a valid .po file: {exc}") from None
    problem = plural_forms_problem(catalog.num_plurals, catalog.plural_expr)
    if problem:
        raise ThemeError(f"catalog {path}{_header_line(path)}: Plural-Forms {problem}",
                         ) from None
    return catalog


MAX_PLURALS = 6
"""CLDR's most plural forms in any language (Arabic: zero, one, two, few, many, other)."""
MAX_PLURAL_EXPR_CHARS = 400
_PLURAL_SAMPLES = (*range(0, 1001), *(10 ** k for k in range(4, 19)),
                   *(10 ** k + d for k in range(4, 10) for d in range(1, 13)))


def plural_forms_problem(nplurals: object, expr: object) -> str | None:
    """Why a catalog's `Plural-Forms: nplurals=N; plural=EXPR;` cannot be used, or None.

    The expression comes from a case's theme/i18n (untrusted): it must be something
    gettext compiles, and give a form 0..N-1 for every sample count (0 to 1,000 and
    powers of ten), with no error such as a division by zero (#14).
    """
    if not isinstance(nplurals, int) or not 1 <= nplurals <= MAX_PLURALS:
        return f"nplurals={nplurals!r} is not a number of forms from 1 to {MAX_PLURALS}"
    if not isinstance(expr, str) or not expr.strip():
        return "has no plural= expression"
    if len(expr) > MAX_PLURAL_EXPR_CHARS:
        return f"plural= is {len(expr):,} characters; the limit is {MAX_PLURAL_EXPR_CHARS}"
    try:
        func = gettext.c2py(expr)
    except (ValueError, SyntaxError, RecursionError, MemoryError, OverflowError) as exc:
        return f"plural={_short(expr)} is not a valid expression ({exc})"
    for n in _PLURAL_SAMPLES:
        try:
            form = func(n)
        except (ArithmeticError, ValueError, TypeError, RecursionError) as exc:
            return f"plural={_short(expr)} fails for n={n} ({type(exc).__name__}: {exc})"
        if not isinstance(form, int) or not 0 <= form < nplurals:
            return (f"plural={_short(expr)} gives form {form!r} for n={n}; "
                    f"nplurals={nplurals} allows 0 to {nplurals - 1}")
    return None


def _short(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:60] + "...")


def _header_line(path: Path) -> str:
    """':LINE' of the Plural-Forms header in a .po file, or '' when not found."""
    try:
        for number, line in enumerate(path.read_bytes().splitlines(), start=1):
            if b"Plural-Forms:" in line:
                return f":{number}"
    except OSError:
        pass
    return ""


@dataclass(frozen=True)
class CompiledCatalog:
    """What a translator needs of one .po file: its compiled .mo bytes, its message ids
    (catalog_keys, without the plural ones) and its plural message ids (plural_keys)."""

    mo: bytes
    keys: tuple[str, ...]
    plurals: tuple[str, ...]

    def to_json(self) -> dict:
        return {"mo": base64.b64encode(self.mo).decode("ascii"), "keys": list(self.keys),
                "plurals": list(self.plurals)}

    @classmethod
    def from_json(cls, data: object) -> CompiledCatalog | None:
        """None unless `data` has exactly the shape to_json gives."""
        if not (isinstance(data, dict) and set(data) == {"mo", "keys", "plurals"}
                and isinstance(data["mo"], str)
                and all(isinstance(data[k], list) and all(isinstance(i, str) for i in data[k])
                        for k in ("keys", "plurals"))):
            return None
        try:
            mo = base64.b64decode(data["mo"], validate=True)
        except ValueError:
            return None
        return cls(mo, tuple(data["keys"]), tuple(data["plurals"]))


COMPILED_FORMAT = "1"
"""Bumped when what CompiledCatalog holds, or how it is made, changes."""


@lru_cache(maxsize=64)
def compiled_catalog(path: Path, mtime_ns: int) -> CompiledCatalog:
    """A catalog ready for a translator. Parsing a .po file with Babel takes ~20 ms (and
    imports the email package), a noticeable part of a warm build; so the result is kept
    in the user's own cache folder (outside every case, like compiled templates), named by
    the SHA-256 of the .po file's bytes, Babel's version and COMPILED_FORMAT. Only a valid
    catalog is kept; a kept file of the wrong shape is ignored and made again.

    Raises ThemeError as read_catalog does."""
    import babel

    data = _catalog_bytes(path)
    name = hashlib.sha256(f"{COMPILED_FORMAT} babel {babel.__version__}\0".encode()
                          + data).hexdigest()
    folder = _catalog_cache_folder()
    kept = None if folder is None else os.path.join(folder, f"{name}.json")
    if kept is not None:
        try:
            found = CompiledCatalog.from_json(json.loads(read_cache_file(kept)))
        except (OSError, ValueError, RecursionError):
            found = None
        if found is not None:
            return found
    from babel.messages.mofile import write_mo

    catalog = _parse_catalog(path, data)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    plurals = tuple(plural_keys(catalog))
    compiled = CompiledCatalog(buf.getvalue(), tuple(
        k for k in dict.fromkeys(catalog_keys(catalog)) if k not in plurals), plurals)
    if kept is not None:
        _write(kept, json.dumps(compiled.to_json(), ensure_ascii=False).encode("utf-8"))
    return compiled


def _catalog_cache_folder() -> str | None:
    from itaoreport.usercache import user_cache_folder

    folder = user_cache_folder()
    return None if folder is None else str(folder / "catalogs")


def _catalog(path: Path) -> CompiledCatalog:
    return compiled_catalog(path, path.stat().st_mtime_ns)


def _translations(catalog: CompiledCatalog) -> Translations:
    return Translations(io.BytesIO(catalog.mo))


def catalog_keys(catalog: Catalog) -> list[str]:
    """The message ids of a catalog, without the header (a plural message by its first id)."""
    return [m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id]


def plural_keys(catalog: Catalog) -> list[str]:
    """The ids of the catalog's plural messages."""
    return [m.id[0] for m in catalog if m.id and not isinstance(m.id, str)]


def load_translator(search_path: list[Path], language: str, timezone: str = "UTC",
                    language_loc: Loc | None = None) -> tuple[Translator, list[Problem]]:
    """The translator for a case's `language:`; an unknown language warns and falls back to en."""
    problems: list[Problem] = []
    available = available_languages(search_path)
    chosen = resolve_language(language, available)
    if chosen is None:
        problems.append(warning(
            language_loc or Loc("case.yaml"),
            f"language: no catalog for {language!r}; the report is written in English",
            f"available: {', '.join(available)}; a language is added by adding "
            f"theme/{CATALOG_DIR}/<language>{CATALOG_SUFFIX}",
        ))
        chosen, language = DEFAULT_LANGUAGE, DEFAULT_LANGUAGE
    return build_translator(search_path, chosen, language, timezone), problems


def build_translator(search_path: list[Path], catalog_language: str, tag: str,
                     timezone: str = "UTC", iso_dates: bool = False) -> Translator:
    """A translator over the catalogs for `catalog_language`, falling back to English."""
    files = catalog_files(search_path, catalog_language)
    if catalog_language != DEFAULT_LANGUAGE:
        files += catalog_files(search_path, DEFAULT_LANGUAGE)
    chain: gettext.NullTranslations = gettext.NullTranslations()
    keys: dict[str, None] = {}
    plurals: set[str] = set()
    reference: gettext.NullTranslations | None = None
    for path in reversed(files):  # the last fallback first, then wrap the winners around it
        catalog = _catalog(path)
        plurals.update(catalog.plurals)
        keys.update(dict.fromkeys(k for k in catalog.keys if k not in plurals))
        layer = _translations(catalog)
        layer.add_fallback(chain)
        chain = layer
        reference = reference or layer  # the built-in default theme's en.po: last on the path
    return Translator(tag, _locale(tag, catalog_language), chain, tuple(sorted(keys)), timezone,
                      iso_dates, reference)


def data_translator(search_path: list[Path], timezone: str = "UTC") -> Translator:
    """English words with ISO dates, for data files other tools read back (log.csv)."""
    return build_translator(search_path, DEFAULT_LANGUAGE, DEFAULT_LANGUAGE, timezone,
                            iso_dates=True)


def _locale(tag: str, fallback: str) -> Locale:
    for candidate in (tag, fallback, DEFAULT_LANGUAGE):
        try:
            return Locale.parse(candidate, sep="-")
        except (UnknownLocaleError, ValueError):
            continue
    raise AssertionError("Babel has no English locale")  # pragma: no cover


__all__ = [
    "Translator",
    "available_languages",
    "catalog_keys",
    "css_string",
    "data_translator",
    "load_translator",
    "plural_keys",
    "read_catalog",
    "resolve_language",
    "text_direction",
]

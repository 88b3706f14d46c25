"""`itaoreport add CASE FILE...`: screenshots and photos into a case, one draft entry each.

Each file is copied into the case (`screenshots/` or `photos/`, never over another
file; a file whose bytes are already in the case is used where it is), and a draft
entry is written that attaches it. The timestamp comes from what phones and
desktops write, in this order: the file name (FILENAME_PATTERNS), the EXIF
DateTimeOriginal (+ OffsetTimeOriginal), PNG text chunks; only then the file's
modification time, and the draft says so. The fields only the claimant can fill
in are placeholders (PLACEHOLDER), which `validate` warns about and `validate
--strict` refuses. When OCR is available, the picture's text is added as YAML
comments to copy a quote from, never into a field.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from itaoreport.case.files import (
    CACHE_DIR,
    CASE_FILE,
    ENTRIES_DIR,
    OUTPUT_DIR,
    case_timezone,
    entry_mappings,
)
from itaoreport.case.safety import CaseFileError, read_case_file, read_head, short_repr
from itaoreport.case.schema import SCHEMA_DIR, modeline, write_schema_files
from itaoreport.case.validate import PLACEHOLDER
from itaoreport.case.values import BadValue, check_date, parse_moment, zone
from itaoreport.case.yamlload import YMap, YScalar, YSeq
from itaoreport.errors import ItaoError, Loc, Problem, error, warning
from itaoreport.importers import free_id

SCREENSHOTS_DIR = "screenshots"
PHOTOS_DIR = "photos"
MAX_FILES = 1_000
"""Most files one `add` takes."""
MAX_OCR_COMMENT_LINES = 60
MAX_OCR_LINE_CHARS = 200
_SKIP_DIRS = {OUTPUT_DIR, CACHE_DIR, SCHEMA_DIR, ENTRIES_DIR, ".git"}


# -- timestamps from file names -----------------------------------------------------------------


@dataclass(frozen=True)
class FoundTime:
    """A timestamp for an entry and where it came from."""

    text: str
    """As written into the entry: `2024-05-10 10:03:12`, `2024-05-10`, or with an offset."""
    source: str
    """Where it came from, in words (`the file name (Android screenshot)`)."""
    day_only: bool = False
    note: str = ""
    """Something the claimant should know (day only, UTC, modification time)."""


_AMPM_BEFORE = {"上午": "am", "下午": "pm", "午前": "am", "午後": "pm", "오전": "am", "오후": "pm"}


@dataclass(frozen=True)
class NamePattern:
    name: str
    regex: re.Pattern
    day_only: bool = False
    utc: bool = False
    """The app writes the name in UTC (Google Pixel camera)."""


def _p(name: str, pattern: str, **kw: bool) -> NamePattern:
    return NamePattern(name, re.compile(pattern, re.IGNORECASE), **kw)


_CLOCK_SEP = r"[.:_-]"
FILENAME_PATTERNS: tuple[NamePattern, ...] = (
    _p("WhatsApp", r"(?:^|[^A-Za-z])(?:IMG|VID|AUD|PTT|DOC|STK)-(?P<d>\d{8})-WA\d+", day_only=True),
    _p("Google Pixel camera", r"(?:^|[^A-Za-z])PXL_(?P<d>\d{8})_(?P<t>\d{6})\d*", utc=True),
    _p("Android screenshot",
       r"Screenshot[_-](?P<d>\d{8})[-_](?P<t>\d{6})"),
    _p("Android screenshot",
       r"Screenshot[_-](?P<Y>\d{4})-(?P<m>\d{2})-(?P<dd>\d{2})-(?P<H>\d{2})-(?P<M>\d{2})-(?P<S>\d{2})"),
    _p("Android camera", r"(?:^|[^A-Za-z])(?:IMG|VID|PANO|MVIMG|DSC)_(?P<d>\d{8})_(?P<t>\d{6})"),
    _p("Signal", r"signal-(?P<Y>\d{4})-(?P<m>\d{2})-(?P<dd>\d{2})-(?P<t>\d{6})"),
    _p("Telegram", r"(?:photo|image)_(?P<Y>\d{4})-(?P<m>\d{2})-(?P<dd>\d{2})_(?P<H>\d{2})-(?P<M>\d{2})"
       r"-(?P<S>\d{2})"),
    _p("Windows screenshot",
       r"(?P<Y>\d{4})-(?P<m>\d{2})-(?P<dd>\d{2}) (?P<t>\d{6})(?!\d)"),
    # macOS in every language: "Screenshot 2024-05-10 at 10.03.12", "Bildschirmfoto ... um",
    # "Capture d’écran ... à", "Schermafbeelding ... om", "截屏2024-05-10 下午3.03.12",
    # 12-hour clocks with AM/PM after the time.
    _p("macOS screenshot",
       r"(?P<Y>\d{4})-(?P<m>\d{2})-(?P<dd>\d{2})\s*(?:[^\d\s]{1,12}\s*){0,3}?"
       r"(?P<pre>上午|下午|午前|午後|오전|오후)?\s*"
       r"(?P<H>\d{1,2})[.:](?P<M>\d{2})[.:](?P<S>\d{2})(?!\d)"
       r"(?:\s*(?P<ampm>[AaPp])\.?\s?[Mm]\.?(?![A-Za-z]))?"),
    _p("date in the name",
       r"(?<!\d)(?P<Y>20\d{2})-?(?P<m>[01]\d)-?(?P<dd>[0-3]\d)[ _T-]?(?P<H>[0-2]\d)[.:_-]?"
       r"(?P<M>[0-5]\d)[.:_-]?(?P<S>[0-5]\d)(?!\d)"),
)
"""Checked in order; the first that matches a plausible date wins."""


def time_from_name(name: str) -> FoundTime | None:
    """The timestamp a phone, desktop or app wrote into a file name, or None."""
    stem = unicodedata.normalize("NFC", PurePosixPath(name).stem)
    for pattern in FILENAME_PATTERNS:
        for match in pattern.regex.finditer(stem):
            found = _from_match(pattern, match)
            if found is not None:
                return found
    return None


def _from_match(pattern: NamePattern, match: re.Match) -> FoundTime | None:
    g = match.groupdict()
    if g.get("d"):
        y, mo, d = int(g["d"][:4]), int(g["d"][4:6]), int(g["d"][6:])
    else:
        y, mo, d = int(g["Y"]), int(g["m"]), int(g["dd"])
    try:
        day = check_date(y, mo, d, match.group())
    except BadValue:
        return None
    source = f"the file name ({pattern.name})"
    if pattern.day_only:
        return FoundTime(day.isoformat(), source, day_only=True,
                         note=f"{pattern.name} file names give the day only; add the time if "
                              "you know it (the message's time is in the chat)")
    if g.get("t"):
        hh, mm, ss = int(g["t"][:2]), int(g["t"][2:4]), int(g["t"][4:])
    else:
        hh, mm, ss = int(g["H"]), int(g["M"]), int(g["S"] or 0)
    ampm = (g.get("ampm") or "").lower() and ("am" if g["ampm"].lower() == "a" else "pm")
    ampm = ampm or _AMPM_BEFORE.get(g.get("pre") or "", "")
    if ampm:
        if not 1 <= hh <= 12:
            return None
        hh = hh % 12 + (12 if ampm == "pm" else 0)
    if hh > 23 or mm > 59 or ss > 59:
        return None
    text = f"{day.isoformat()} {hh:02d}:{mm:02d}:{ss:02d}"
    if pattern.utc:
        return FoundTime(text + "+00:00", source,
                         note="Pixel phones name files in UTC; the offset says so")
    return FoundTime(text, source)


# -- timestamps from the picture's metadata -----------------------------------------------------

_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL, _OFFSET_ORIGINAL = 36867, 36881
_EXIF_TIME = re.compile(r"^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"^[+-]\d{2}:\d{2}$")
_ISO_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*(Z|[+-]\d{2}:?\d{2})?")
_XMP_DATE = re.compile(
    r"(?:photoshop:DateCreated|xmp:CreateDate|exif:DateTimeOriginal)\s*(?:=\s*[\"']|>)\s*"
    r"([0-9T:+\-. Z]{10,40})")
_MAX_META_CHARS = 1_000_000


def time_from_metadata(path: Path) -> FoundTime | None:
    """EXIF DateTimeOriginal (+ OffsetTimeOriginal), else a date in the PNG text chunks."""
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                exif = im.getexif()
                ifd = exif.get_ifd(_EXIF_IFD) if exif else {}
                original = ifd.get(_DATETIME_ORIGINAL)
                offset = ifd.get(_OFFSET_ORIGINAL)
                found = _exif_time(original, offset)
                if found is not None:
                    return found
                if (im.format or "").upper() == "PNG":  # text chunks before IDAT: read by open()
                    texts = {str(k): str(v)[:_MAX_META_CHARS]
                             for k, v in getattr(im, "text", {}).items()}
                    return _png_text_time(texts)
    except Exception:  # noqa: BLE001 - metadata of hostile files; the name or mtime remains
        return None
    return None


def _exif_time(original: object, offset: object) -> FoundTime | None:
    if isinstance(original, bytes):
        original = original.decode("ascii", "replace")
    if not isinstance(original, str):
        return None
    match = _EXIF_TIME.match(original.strip("\x00 "))
    if not match:
        return None
    y, mo, d, hh, mm, ss = (int(g) for g in match.groups())
    try:
        day = check_date(y, mo, d, original)
    except BadValue:
        return None
    if hh > 23 or mm > 59 or ss > 59:
        return None
    text = f"{day.isoformat()} {hh:02d}:{mm:02d}:{ss:02d}"
    if isinstance(offset, bytes):
        offset = offset.decode("ascii", "replace")
    if isinstance(offset, str) and _OFFSET.match(offset.strip("\x00 ")):
        return FoundTime(text + offset.strip("\x00 "), "the photo's EXIF DateTimeOriginal and "
                         "OffsetTimeOriginal")
    return FoundTime(text, "the photo's EXIF DateTimeOriginal",
                     note="EXIF gives the camera's local time without its offset; it is read "
                          "in the case timezone")


def _png_text_time(texts: dict[str, str]) -> FoundTime | None:
    for key in ("Creation Time", "CreationTime", "date:create"):
        if key in texts:
            found = _iso_time(texts[key]) or _rfc_time(texts[key])
            if found:
                return FoundTime(found, f"the PNG text chunk {key!r}")
    for key, value in texts.items():
        if "xmp" in key.lower():
            match = _XMP_DATE.search(value)
            if match:
                found = _iso_time(match.group(1))
                if found:
                    return FoundTime(found, "the picture's XMP metadata")
    return None


def _iso_time(text: str) -> str | None:
    if _EXIF_TIME.match(text.strip()):
        exif = _exif_time(text.strip(), None)
        return exif.text if exif else None
    match = _ISO_TIME.search(text)
    if not match:
        return None
    y, mo, d, hh, mm, ss, tz = match.groups()
    try:
        day = check_date(int(y), int(mo), int(d), text)
    except BadValue:
        return None
    if int(hh) > 23 or int(mm) > 59 or int(ss or 0) > 59:
        return None
    stamp = f"{day.isoformat()} {hh}:{mm}:{int(ss or 0):02d}"
    if tz:
        stamp += "+00:00" if tz == "Z" else (tz if ":" in tz else f"{tz[:3]}:{tz[3:]}")
    return stamp


def _rfc_time(text: str) -> str | None:
    from email.utils import parsedate_to_datetime

    try:
        moment = parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None or not 1900 <= moment.year <= 2200:
        return None
    stamp = moment.strftime("%Y-%m-%d %H:%M:%S")
    return stamp + moment.strftime("%z")[:3] + ":" + moment.strftime("%z")[3:] \
        if moment.tzinfo else stamp


def time_from_mtime(path: Path, tz_name: str) -> FoundTime:
    """The file's modification time in the case timezone: the last resort, said so."""
    moment = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
    local = moment.astimezone(zone(tz_name))
    return FoundTime(local.strftime("%Y-%m-%d %H:%M:%S"), "the file's modification time",
                     note="no time in the file name or the picture; this is when the file was "
                          "last saved or copied, which may not be when the screenshot was taken: "
                          "check it")


def find_time(path: Path, tz_name: str) -> FoundTime:
    """File name, then EXIF / PNG metadata, then (said so) the modification time."""
    return (time_from_name(path.name) or time_from_metadata(path)
            or time_from_mtime(path, tz_name))


# -- which folder ------------------------------------------------------------------------------

_SCREENSHOT_WORDS = re.compile(
    r"screenshot|screen shot|bildschirmfoto|capture d|schermafbeelding|captura de pantalla|"
    r"schermata|zrzut ekranu|snímek obrazovky|skärmavbild|skjermbilde|skærmbillede|"
    r"kuvakaappaus|снимок экрана|截屏|屏幕快照|截图|螢幕截圖|スクリーンショット|스크린샷",
    re.IGNORECASE)


def picture_kind(path: Path, fmt: str, camera: bool) -> str:
    """'screenshot' or 'photo': by the name, then a camera in EXIF, then the format."""
    if _SCREENSHOT_WORDS.search(unicodedata.normalize("NFC", path.name)):
        return "screenshot"
    if camera:
        return "photo"
    return "photo" if fmt in ("JPEG", "MPO") and time_from_name(path.name) else "screenshot"


def _has_camera(path: Path) -> bool:
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                exif = im.getexif()
                return bool(exif.get(271) or exif.get(272))  # Make, Model
    except Exception:  # noqa: BLE001
        return False


def safe_file_name(name: str, default: str = "picture") -> str:
    """An ASCII file name anyone can type in YAML: `Capture d’écran 2024…` → `Capture-d-ecran-2024…`."""
    path = PurePosixPath(name.replace("\\", "/").split("/")[-1])
    ascii_name = "".join(c if ord(c) < 128 else "-"
                         for c in unicodedata.normalize("NFKD", path.stem)
                         if not unicodedata.combining(c))
    stem = re.sub(r"[^A-Za-z0-9._]+", "-", ascii_name).strip(".-_")[:80] or default
    suffix = re.sub(r"[^A-Za-z0-9]", "", path.suffix)[:8].lower()
    return f"{stem}.{suffix}" if suffix else stem


# -- the command -------------------------------------------------------------------------------


@dataclass
class Added:
    """One file added: where it went and the draft entry written for it."""

    source: str
    attachment: str
    """The file's path inside the case."""
    copied: bool
    """False when the same bytes were already in the case."""
    entry: str | None
    """The draft entry (relative to the case), None when one already attaches the file."""
    entry_text: str = ""
    time: FoundTime | None = None
    existing_entry: str | None = None


@dataclass
class AddResult:
    added: list[Added] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


@dataclass
class AddOptions:
    at: str | None = None
    """A timestamp for every file (as the entry would have it)."""
    sender: str | None = None
    channel: str | None = None
    dry_run: bool = False
    ocr: Callable[[Path, str], list[str] | None] | None = None
    """Lines of text in a picture (path, sha256), or None; default: evidence/ocr.py if usable."""


def add_files(case_dir: str | os.PathLike, files: list[str | os.PathLike],
              options: AddOptions | None = None) -> AddResult:
    """Copy each picture into the case and write its draft entry; never raises for bad input."""
    from itaoreport.case.safety import safe_case_dir, write_new_file

    options = options or AddOptions()
    root = Path(case_dir)
    result = AddResult()
    if not (root / CASE_FILE).is_file():
        result.problems.append(error(Loc(str(case_dir)), "not a case folder (no case.yaml)",
                                     f"start one with `itaoreport init {case_dir}`"))
        return result
    if len(files) > MAX_FILES:
        result.problems.append(error(Loc(str(case_dir)), f"{len(files):,} files; the limit is "
                                     f"{MAX_FILES:,} per `add`"))
        return result
    tz_name = case_timezone(root)
    if options.at is not None:
        try:
            parse_moment(options.at, zone(tz_name))
        except BadValue as exc:
            result.problems.append(error(Loc("--at"), str(exc), exc.hint))
            return result
    ocr = options.ocr if options.ocr is not None else _default_ocr(root, options.dry_run)
    known = CaseFiles(root)
    attached = _attached_paths(root)
    taken_ids = {PurePosixPath(p).stem for p in _entry_names(root)}
    planned: dict[str, str] = {}
    """sha256 -> path inside the case, for files copied by this run (dry run too)."""
    wrote_any = False
    for raw in files:
        source = Path(raw)
        where = Loc(str(raw))
        try:
            data, decoded_format = _read_picture(source)
        except CaseFileError as exc:
            result.problems.append(error(where, str(exc), exc.hint))
            continue
        sha = hashlib.sha256(data).hexdigest()
        rel = planned.get(sha) or known.find(root, sha, len(data))
        copied = rel is None
        kind = picture_kind(source, decoded_format, _has_camera(source))
        if rel is None:
            folder = SCREENSHOTS_DIR if kind == "screenshot" else PHOTOS_DIR
            name = safe_file_name(source.name, kind)
            try:
                rel = _copy_in(root, folder, name, data, options.dry_run, known.names,
                               safe_case_dir, write_new_file)
            except CaseFileError as exc:
                result.problems.append(error(where, str(exc), exc.hint))
                continue
            except ItaoError as exc:  # CaseWriteError: a link or a file in the way
                result.problems.append(_located(exc, where))
                continue
            known.names.add(rel)
        planned[sha] = rel
        if rel in attached:
            result.added.append(Added(str(raw), rel, copied, None,
                                      existing_entry=attached[rel]))
            continue
        found = FoundTime(options.at, "--at") if options.at else find_time(source, tz_name)
        lines = ocr(source, sha) if (ocr and kind == "screenshot") else None
        entry_id = free_id(_entry_stem(found.text, kind), taken_ids)
        taken_ids.add(entry_id)
        entry_rel = f"{ENTRIES_DIR}/{entry_id}.yaml"
        text = draft_entry(entry_rel, rel, found, options, lines, kind, str(raw))
        if not options.dry_run:
            try:
                write_new_file(root, entry_rel, text.encode("utf-8"))
            except ItaoError as exc:
                result.problems.append(_located(exc, where))
                continue
            except OSError as exc:  # FileExistsError: made meanwhile by someone else
                result.problems.append(error(where, f"cannot write {entry_rel}: {exc}"))
                continue
            wrote_any = True
        attached[rel] = entry_rel
        result.added.append(Added(str(raw), rel, copied, entry_rel, text, found))
        if found.note:
            result.problems.append(warning(Loc(entry_rel), f"timestamp from {found.source}: "
                                           f"{found.note}"))
    if wrote_any:
        write_schema_files(root)
    return result


def _located(exc: ItaoError, where: Loc) -> Problem:
    """The problem a case-writing error carries (CaseWriteError), else one at `where`."""
    problem = getattr(exc, "problem", None)
    return problem if isinstance(problem, Problem) else error(where, str(exc))


def _default_ocr(root: Path, dry_run: bool) -> Callable[[Path, str], list[str] | None] | None:
    """Lines of a picture's text from evidence/ocr.py when its engine is installed, else None.

    Results go to the case's OCR cache (the build then reads them from there), except in a
    dry run, which writes nothing.
    """
    try:
        from itaoreport.evidence.ocr import find_engine, ocr_files
    except ImportError:  # an installation without the OCR module
        return None
    if find_engine() is None:
        return None
    from itaoreport.evidence.exhibits import cache_folder

    folder = None if dry_run else cache_folder(root)

    def lines(path: Path, sha256: str) -> list[str] | None:
        try:
            found = ocr_files([(path, sha256)], folder)
        except Exception:  # noqa: BLE001 - OCR is a convenience here, never a reason to fail
            return None
        text = found.get(sha256) if found else None
        if text is None or isinstance(text, str):  # no engine, or OCR failed on this picture
            return None
        return [line for line in text.text().splitlines() if line.strip()]

    return lines


_YAML_BREAKS = re.compile(r"[\r\n\x85\u2028\u2029]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufeff]")


def comment_text(text: str, limit: int = MAX_OCR_LINE_CHARS) -> str:
    """Text that stays one YAML comment line: no line breaks of any kind, no control characters."""
    one = _CONTROL.sub("", _YAML_BREAKS.sub(" ", text)).strip()
    return one[:limit] + ("…" if len(one) > limit else "")


def draft_entry(entry_rel: str, rel: str, found: FoundTime, options: AddOptions,
                ocr_lines: list[str] | None, kind: str, source: str) -> str:
    """The text of draft entry `entry_rel` attaching `rel`: placeholders where only the
    claimant knows."""
    from itaoreport.importers import Moment, dump_fields

    values: dict = {
        "timestamp": Moment(found.text),
        "channel": options.channel or f"{PLACEHOLDER}: where it happened (ItaoBuy Messaging, "
                                       "Email, WhatsApp, ...)",
        "sender": options.sender or f"{PLACEHOLDER}: me, seller, platform, carrier or other",
        "summary": f"{PLACEHOLDER}: what this {kind} shows, in one or two neutral sentences",
        "attachments": [rel],
    }
    head = [modeline(entry_rel, "entry"),
            f"# Draft from `itaoreport add` for {comment_text(source)}.",
            f"# Timestamp from {found.source}."]
    if found.note:
        head.append(f"# {comment_text(found.note, 300)}")
    head.append(f"# Replace every `{PLACEHOLDER}` value; `validate --strict` refuses a draft "
                "until then.")
    head.append("# Add `quote:` with the key words, copied exactly as the picture shows them.")
    if ocr_lines:
        head.append("# Text read from the picture (OCR, may contain mistakes), to copy a quote "
                    "from:")
        shown = [comment_text(line) for line in ocr_lines if comment_text(line)]
        head.extend(f"#   {line}" for line in shown[:MAX_OCR_COMMENT_LINES])
        if len(shown) > MAX_OCR_COMMENT_LINES:
            head.append(f"#   … {len(shown) - MAX_OCR_COMMENT_LINES} more lines")
    return "\n".join(head) + "\n" + dump_fields(values)


def _entry_stem(timestamp: str, kind: str) -> str:
    day = timestamp[:10]
    clock = timestamp[11:16].replace(":", "")
    return f"{day}-{clock}-{kind}" if len(clock) == 4 else f"{day}-{kind}"


def _read_picture(path: Path) -> tuple[bytes, str]:
    """The file's bytes and image format; CaseFileError unless it is a picture a build can use."""
    from itaoreport.case.validate import MAX_ATTACHMENT_BYTES
    from itaoreport.evidence.images import ImageError, open_image

    try:
        st = os.stat(path)
    except (OSError, ValueError) as exc:
        raise CaseFileError(f"cannot read {short_repr(str(path))}: "
                            f"{getattr(exc, 'strerror', None) or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise CaseFileError("is a folder; name the pictures in it (e.g. folder/*.png)")
    if not stat.S_ISREG(st.st_mode):
        raise CaseFileError("not a regular file (a device, pipe or socket)")
    if st.st_size > MAX_ATTACHMENT_BYTES:
        raise CaseFileError(f"the file is {st.st_size:,} bytes; the limit is "
                            f"{MAX_ATTACHMENT_BYTES:,}")
    try:
        data = read_head(path, MAX_ATTACHMENT_BYTES + 1)
    except OSError as exc:
        raise CaseFileError(f"cannot read the file: {exc.strerror or exc}") from None
    if path.suffix.lower() in (".eml", ".mbox"):
        raise CaseFileError("is an e-mail, not a picture",
                            "bring e-mails in with `itaoreport import MAIL.eml CASE`")
    try:  # decoded as a build will decode it, and only if it still has the bytes just read
        decoded = open_image(path, hashlib.sha256(data).hexdigest())
    except ImageError as exc:
        raise CaseFileError(f"not a picture a report can show: {exc}",
                            "add screenshots and photos (PNG, JPEG, WEBP, GIF)") from None
    return data, decoded.format


class CaseFiles:
    """Files already in the case (not entries, output or caches), found by size, then hash."""

    def __init__(self, root: Path):
        self.by_size: dict[int, list[str]] = {}
        self.names: set[str] = set()
        self._hashes: dict[str, str] = {}
        for folder, dirs, files in os.walk(root):
            here = Path(folder)
            if here == root:
                dirs[:] = [d for d in dirs if d not in _SKIP_DIRS]
            dirs[:] = sorted(d for d in dirs if not (here / d).is_symlink())
            for name in sorted(files):
                full = here / name
                rel = full.relative_to(root).as_posix()
                self.names.add(rel)
                try:
                    st = full.lstat()
                except OSError:
                    continue
                if stat.S_ISREG(st.st_mode):
                    self.by_size.setdefault(st.st_size, []).append(rel)

    def remember(self, rel: str, size: int, sha: str) -> None:
        """A file this command wrote."""
        self.names.add(rel)
        self.by_size.setdefault(size, []).append(rel)
        self._hashes[rel] = sha

    def find(self, root: Path, sha: str, size: int) -> str | None:
        for rel in self.by_size.get(size, []):
            if rel not in self._hashes:
                try:
                    self._hashes[rel] = hashlib.sha256(
                        read_case_file(root, rel, limit=size + 1)).hexdigest()
                except CaseFileError:
                    self._hashes[rel] = ""
            if self._hashes[rel] == sha:
                return rel
        return None


def _entry_names(root: Path) -> list[str]:
    from itaoreport.case.files import entry_files

    return entry_files(root)


def _attached_paths(root: Path) -> dict[str, str]:
    """Attachment path -> the first entry file that attaches it."""
    found: dict[str, str] = {}
    for rel, node in entry_mappings(root):
        items = node.items.get("attachments")
        seq = items.items if isinstance(items, YSeq) else [items] if items is not None else []
        for item in seq:
            path = item.items.get("path") if isinstance(item, YMap) else item
            if isinstance(path, YScalar):
                found.setdefault(path.text, rel)
    return found


def _copy_in(root: Path, folder: str, name: str, data: bytes, dry_run: bool, names: set[str],
             safe_case_dir: Callable, write_new_file: Callable) -> str:
    """Copy `data` into root/folder under `name` (name-2, name-3, ... if taken); its path."""
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    if not dry_run:
        safe_case_dir(root, folder, create=True)
    n = 1
    while True:
        candidate = name if n == 1 else (f"{stem}-{n}.{suffix}" if suffix else f"{stem}-{n}")
        rel = f"{folder}/{candidate}"
        if rel not in names and not (root / rel).exists() and not (root / rel).is_symlink():
            if dry_run:
                return rel
            try:
                write_new_file(root, rel, data)
                return rel
            except FileExistsError:
                pass
        n += 1
        if n > 10_000:
            raise CaseFileError(f"no free name for {name} in {folder}/")

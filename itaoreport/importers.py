"""Spreadsheet communication log (CSV or XLSX) → one entry file per row.

Buyers keep their log with the columns Timestamp, Communication Channel,
Sender, Summary / Key Quote, Attachment/Link, Action/Promise Made. This module
reads such a sheet as Google Sheets or Excel export it and writes entry files
that `load_case` reads. It never overwrites: a row that is already in the case
(same timestamp and summary) is reported as unchanged, so importing the same
sheet twice writes nothing the second time.
"""

from __future__ import annotations

import csv
import io
import os
import re
import stat
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path, PurePosixPath
from zoneinfo import ZoneInfo

import yaml

from itaoreport.case.files import (
    CACHE_DIR,
    ENTRIES_DIR,
    OUTPUT_DIR,
    case_timezone,
    entry_files,
    entry_mappings,
    read_case_mapping,
)
from itaoreport.case.safety import safe_case_dir, write_new_file
from itaoreport.case.schema import SCHEMA_DIR, modeline, write_schema_files
from itaoreport.case.values import BadValue, check_date, parse_duration, parse_moment, zone
from itaoreport.case.yamlload import YMap, YScalar
from itaoreport.errors import CaseWriteError, Loc, Problem, error, warning

MAX_ROWS = 10_000
MAX_LOG_BYTES = 50_000_000
HEADER_SEARCH_ROWS = 10
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")
EMPTY_CELLS = {"", "-", "--", "---", "–", "—", "n/a"}


@dataclass
class ImportResult:
    """What an import did: entry files written and already present (relative to the case)."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def import_log(
    log_path: str | os.PathLike, case_dir: str | os.PathLike, *, dayfirst: bool | None = None
) -> ImportResult:
    """Import every readable row of a CSV/XLSX log into case_dir/entries/; never raises for bad input.

    dayfirst: True reads 05/11/2023 as 5 November, False as May 11; None makes
    such a date an error naming its row (26/10/2023 is never ambiguous).
    """
    log, root = Path(log_path), Path(case_dir)
    result = ImportResult()
    where = Loc(log.name)
    try:
        rows = read_rows(log)
    except LogUnreadable as exc:
        result.problems.append(error(where, str(exc), exc.hint))
        return result
    sheet = _Sheet(log.name, root, dayfirst, result.problems)
    drafts = sheet.drafts(rows)
    if drafts:
        _write_drafts(drafts, root, log.name, result)
    return result


# -- reading the table ---------------------------------------------------------------------------


class LogUnreadable(Exception):
    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.hint = hint


Row = tuple[int, list[str]]
"""A spreadsheet row number (1-based, as the spreadsheet shows it) and its cells as text."""


MAX_XLSX_UNPACKED = 100_000_000
"""Sum of the uncompressed sizes a workbook's zip declares (a log of 10,000 rows is ~5 MB)."""
MAX_XLSX_MEMBERS = 1_000
MAX_COLUMNS = 100
"""Cells read per row; a log has a dozen columns."""
MAX_CELL_CHARS = 20_000
"""Longest cell, as long as the longest text value an entry may hold (case/validate.py)."""
MAX_SCANNED_ROWS = 1_048_576
"""Excel's own row limit: rows (empty ones included) looked at before giving up."""


def read_rows(path: Path) -> list[Row]:
    """The rows of a CSV or XLSX file, every cell as text; LogUnreadable with the reason.

    Bounded while reading: at most MAX_ROWS non-empty rows after the header rows,
    MAX_COLUMNS cells a row, MAX_CELL_CHARS a cell; a workbook's zip is checked for
    its unpacked size before anything in it is opened (a zip bomb).
    """
    try:
        st = path.stat()
    except OSError:
        raise LogUnreadable("no such file") from None
    if not stat.S_ISREG(st.st_mode):
        raise LogUnreadable("not a regular file (a device, pipe or socket)")
    if st.st_size > MAX_LOG_BYTES:
        raise LogUnreadable(f"the file is over {MAX_LOG_BYTES // 1_000_000} MB; is it a log?")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_rows(path)
    if suffix in (".xls", ".ods", ".numbers"):
        raise LogUnreadable(f"{suffix} files cannot be read", "save the sheet as .xlsx or .csv")
    return _csv_rows(_read_regular(path))


def _read_regular(path: Path) -> bytes:
    """The bytes of a regular file, read without blocking on a pipe swapped in meanwhile."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise LogUnreadable(f"cannot read the file: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise LogUnreadable("not a regular file (a device, pipe or socket)")
        return fh.read(MAX_LOG_BYTES + 1)


class _Rows:
    """Collects rows as text while enforcing the limits; raises LogUnreadable when one is hit."""

    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.filled = 0

    def add(self, number: int, values) -> None:  # noqa: ANN001 - any iterable of cell values
        if number > MAX_SCANNED_ROWS:
            raise LogUnreadable(f"more than {MAX_SCANNED_ROWS:,} rows; is it a log?")
        values = tuple(values)[:MAX_COLUMNS]
        if values.count(None) + values.count("") == len(values):
            return  # an empty row (a sheet formatted to its last row has a million): not kept
        cells = []
        for col, value in enumerate(values, start=1):
            if col > MAX_COLUMNS:
                break
            text = _cell_text(value)
            if len(text) > MAX_CELL_CHARS:
                raise LogUnreadable(f"row {number}, column {col}: a cell of {len(text):,} "
                                    f"characters; the limit is {MAX_CELL_CHARS:,}")
            cells.append(text)
        if any(c.strip() for c in cells):
            self.filled += 1
            if self.filled > MAX_ROWS + HEADER_SEARCH_ROWS:
                raise LogUnreadable(f"more than {MAX_ROWS:,} rows; the limit is {MAX_ROWS:,}",
                                    "split the log into several files")
        self.rows.append((number, cells))


def _csv_rows(data: bytes) -> list[Row]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:  # odd length, or a lone surrogate
            raise LogUnreadable(
                f"the file is not valid UTF-16 text (byte {exc.start:,}: {exc.reason})",
                "save it again as 'CSV UTF-8'") from None
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise LogUnreadable(
                "the file is not UTF-8 text",
                "in Excel choose 'CSV UTF-8' when saving; Google Sheets exports UTF-8",
            ) from None
    if "\0" in text:
        raise LogUnreadable("the file has NUL characters; it is not a text log",
                            "save it again as 'CSV UTF-8'")
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = _Rows()
    try:
        for n, row in enumerate(reader, start=1):
            rows.add(n, row)
    except csv.Error as exc:
        raise LogUnreadable(f"cannot read as CSV (record {reader.line_num}): {exc}") from None
    return rows.rows


def _check_xlsx_zip(path: Path) -> None:
    """Refuse a workbook whose zip would unpack to more than MAX_XLSX_UNPACKED bytes.

    Python's zipfile never returns more than the size a member declares, so checking
    the declared sizes bounds what openpyxl can read; a member that holds more fails
    its CRC check and is reported as damaged.
    """
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise LogUnreadable(f"cannot read as XLSX: {exc}") from None
    if len(members) > MAX_XLSX_MEMBERS:
        raise LogUnreadable(f"the workbook has {len(members):,} parts; the limit is "
                            f"{MAX_XLSX_MEMBERS:,}", "is it a log? save the sheet as .csv")
    unpacked = sum(m.file_size for m in members)
    if unpacked > MAX_XLSX_UNPACKED:
        raise LogUnreadable(f"the workbook unpacks to {unpacked:,} bytes; the limit is "
                            f"{MAX_XLSX_UNPACKED:,}", "is it a log? save the sheet as .csv")


def _xlsx_rows(path: Path) -> list[Row]:
    import zipfile
    import zlib
    from xml.etree.ElementTree import ParseError

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    _check_xlsx_zip(path)
    damaged = (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError,
               TypeError, IndexError, AttributeError, EOFError, ParseError, zlib.error,
               NotImplementedError)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except damaged as exc:
        raise LogUnreadable(f"cannot read as XLSX: {type(exc).__name__}: {str(exc)[:200]}") \
            from None
    try:
        if not book.worksheets:
            raise LogUnreadable("the workbook has no sheets")
        sheet = book.worksheets[0]
        if hasattr(sheet, "reset_dimensions"):
            sheet.reset_dimensions()  # a declared A1:XFD1048576 must not pad every row
        rows = _Rows()
        for n, values in enumerate(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS),
                                   start=1):
            rows.add(n, values)
        return rows.rows
    except damaged as exc:
        raise LogUnreadable(f"cannot read as XLSX: {type(exc).__name__}: {str(exc)[:200]}") \
            from None
    finally:
        book.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M:%S" if value.second else "%Y-%m-%d %H:%M")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# -- columns -------------------------------------------------------------------------------------

# Checked in this order; the first rule that matches a header wins.
_COLUMN_RULES: tuple[tuple[str, object], ...] = (
    ("id", lambda w, n: n in ("id", "entry id", "entry")),
    ("sender_name", lambda w, n: n in ("sender name", "name", "display name")),
    ("due", lambda w, n: "due" in w or "deadline" in w),
    ("timestamp", lambda w, n: "timestamp" in w or n in ("datetime", "when", "time stamp")
        or {"date", "time"} <= w),
    ("date", lambda w, n: n in ("date", "day")),
    ("time", lambda w, n: n == "time"),
    ("channel", lambda w, n: "channel" in w or n in ("via", "medium", "method", "contact method")),
    ("sender", lambda w, n: bool(w & {"sender", "from", "who", "author"})),
    ("quote", lambda w, n: "quote" in w and "summary" not in w),
    ("summary", lambda w, n: "summary" in w or n in ("message", "content", "details",
                                                     "description")),
    ("attachments", lambda w, n: bool(w & {"attachment", "attachments", "link", "links",
                                           "evidence", "screenshot", "screenshots", "file",
                                           "files", "url"})),
    ("action", lambda w, n: "action" in w),
    ("promise", lambda w, n: "promise" in w),
    ("kind", lambda w, n: n == "kind"),
    ("tags", lambda w, n: n in ("tags", "tag", "labels")),
)
_MULTI = {"attachments"}
"""Fields whose cells are combined when several columns map to them (Attachment + Link)."""


def column_field(header: str) -> str | None:
    """The entry field a log column header stands for, tolerant of case, spacing and wording."""
    words = re.sub(r"[^a-z0-9]+", " ", header.lower()).split()
    name = " ".join(words)
    return next((f for f, rule in _COLUMN_RULES if rule(set(words), name)), None)  # type: ignore[operator]


def _map_columns(cells: list[str]) -> dict[int, str]:
    mapping: dict[int, str] = {}
    for index, header in enumerate(cells):
        name = column_field(header) if header.strip() else None
        if name and (name in _MULTI or name not in mapping.values()):
            mapping[index] = name
    return mapping


def _is_header(mapping: dict[int, str]) -> bool:
    names = set(mapping.values())
    return bool(names & {"timestamp", "date"}) and bool(names & {"summary", "quote"})


# -- one sheet -----------------------------------------------------------------------------------


@dataclass
class _Draft:
    """One row, ready to be written as an entry."""

    row: int
    timestamp: str
    values: dict
    comments: list[str] = field(default_factory=list)
    entry_id: str | None = None
    """The id the sheet gives (an `Entry id` column), else named from timestamp and summary."""

    def key(self) -> tuple[str, str]:
        return _entry_key(self.timestamp, self.values["summary"])


class _Sheet:
    """Turns the rows of one log into drafts, collecting problems with row numbers."""

    def __init__(self, name: str, root: Path, dayfirst: bool | None, problems: list[Problem]):
        self.name = name
        self.root = root
        self.dayfirst = dayfirst
        self.problems = problems
        self.names = _party_names(read_case_mapping(root))
        self.tz = zone(case_timezone(root))
        self.files = _case_files_by_name(root)

    def drafts(self, rows: list[Row]) -> list[_Draft]:
        found = self._find_header(rows)
        if found is None:
            return []
        header_index, mapping = found
        data = [r for r in rows[header_index + 1:] if any(c.strip() for c in r[1])]
        if len(data) > MAX_ROWS:
            self.problems.append(error(Loc(self.name), f"{len(data):,} rows; the limit is "
                                       f"{MAX_ROWS:,}"))
            return []
        drafts = []
        for number, cells in data:
            cols = _row_values(cells, mapping)
            try:
                drafts.append(self._draft(number, cols, mapping))
            except RowError as exc:
                self.problems.append(error(Loc(self.name, number, exc.col),
                                           f"row {number}: {exc}", exc.hint))
        return drafts

    def _find_header(self, rows: list[Row]) -> tuple[int, dict[int, str]] | None:
        for index, (number, cells) in enumerate(rows[:HEADER_SEARCH_ROWS]):
            mapping = _map_columns(cells)
            if _is_header(mapping):
                return index, self._check_columns(number, cells, mapping)
        self.problems.append(
            error(Loc(self.name), "no header row found in the first rows of the sheet",
                  "the log needs columns like Timestamp, Communication Channel, Sender, "
                  "Summary / Key Quote, Attachment/Link, Action/Promise Made")
        )
        return None

    def _check_columns(self, number: int, cells: list[str],
                       mapping: dict[int, str]) -> dict[int, str]:
        for index, header in enumerate(cells):
            if header.strip() and index not in mapping:
                self.problems.append(warning(Loc(self.name, number, index + 1),
                                             f"column {header.strip()!r} is not imported"))
        return mapping

    def _draft(self, number: int, cols: dict[str, str], mapping: dict[int, str]) -> _Draft:
        col_of = {name: index + 1 for index, name in reversed(list(mapping.items()))}

        def fail(name: str, message: str, hint: str = "") -> RowError:
            return RowError(message, hint, col_of.get(name, 0))

        stamp = cols.get("timestamp") or " ".join(
            part for part in (cols.get("date", ""), cols.get("time", "")) if part)
        if not stamp:
            raise fail("timestamp", "no timestamp")
        try:
            timestamp = parse_log_moment(stamp, self.dayfirst, self.tz)
        except BadValue as exc:
            raise fail("timestamp", str(exc), exc.hint) from None
        channel = " ".join(cols.get("channel", "").split())
        if not channel:
            raise fail("channel", "no communication channel",
                       "write where it happened, e.g. ItaoBuy Messaging, Email, Phone")
        if not cols.get("sender"):
            raise fail("sender", "no sender", "write who said it: me, seller, platform, carrier")
        sender, sender_name = parse_sender(cols["sender"], self.names)
        if sender is None:
            sender = "other"
            self.problems.append(warning(
                Loc(self.name, number, col_of.get("sender", 0)),
                f"row {number}: sender {cols['sender']!r} is not me, seller, platform or carrier; "
                "imported as `sender: other`"))
        summary, quote = split_summary(cols.get("summary", ""))
        if cols.get("quote"):
            quote = unquote(cols["quote"])
            summary = summary or quote
        if not summary:
            raise fail("summary", "no summary", "write one or two neutral sentences")
        values: dict = {"channel": channel, "sender": sender}
        _put(values, "sender_name", cols.get("sender_name") or sender_name)
        values["summary"] = summary
        _put(values, "quote", quote)
        draft = _Draft(number, timestamp, values, entry_id=self._entry_id(number, cols))
        self._attachments(draft, cols.get("attachments", ""), col_of.get("attachments", 0))
        rest, deadline = split_deadline(cols.get("action", ""))
        action, promise = split_action(rest)
        promise = promise or cols.get("promise") or None
        if deadline and not self._deadline(draft, deadline, col_of):
            action = "; ".join(filter(None, [action, f"Deadline for me: {deadline}"]))
        _put(values, "action", action)
        if promise:
            self._promise(draft, promise, cols.get("due", ""), col_of)
        _put(values, "kind", cols.get("kind"))
        tags = [t.strip() for t in re.split(r"[,;\n]", cols.get("tags", "")) if t.strip()]
        _put(values, "tags", tags)
        return draft

    def _entry_id(self, number: int, cols: dict[str, str]) -> str | None:
        entry_id = cols.get("id", "").strip()
        if not entry_id:
            return None
        if not _SAFE_ID.match(entry_id):
            self.problems.append(warning(Loc(self.name, number),
                                         f"row {number}: {entry_id!r} cannot be a file name; "
                                         "the entry is named from its timestamp and summary"))
            return None
        return entry_id

    def _promise(self, draft: _Draft, text: str, due_cell: str, col_of: dict[str, int]) -> None:
        text, due_text = split_due(text) if not due_cell else (text, due_cell)
        promise: dict = {"text": text}
        relative = relative_due(due_text) if due_text else (None if due_cell else
                                                             relative_due(text))
        if relative:
            promise["due"] = relative
        elif due_text:
            try:
                promise["due"] = parse_log_moment(due_text, self.dayfirst, self.tz)
            except BadValue as exc:
                raise RowError(f"promise due: {exc}", exc.hint, col_of.get("due", 0)) from None
        else:
            self.problems.append(warning(
                Loc(self.name, draft.row, col_of.get("action") or col_of.get("promise", 0)),
                f"row {draft.row}: the promise has no due date",
                "add `due:` under `promise:` so the report can tell whether it was kept"))
        draft.values["promise"] = promise

    def _deadline(self, draft: _Draft, text: str, col_of: dict[str, int]) -> bool:
        """`Deadline for me: TEXT (due WHEN)` (as log.csv writes it) → the entry's `deadline`;
        False (kept as action text, with a warning) when it names no due time."""
        text, due_text = split_due(text)
        due = relative_due(due_text or text) if (due_text or text) else None
        if due is None and due_text:
            try:
                due = parse_log_moment(due_text, self.dayfirst, self.tz)
            except BadValue as exc:
                raise RowError(f"deadline due: {exc}", exc.hint, col_of.get("action", 0)) from None
        if due is None:
            self.problems.append(warning(
                Loc(self.name, draft.row, col_of.get("action", 0)),
                f"row {draft.row}: the deadline set for you has no due date; kept as action text",
                "write it as `Deadline for me: what (due 2023-11-08)`"))
            return False
        draft.values["deadline"] = {"text": text, "due": due}
        return True

    def _attachments(self, draft: _Draft, cell: str, col: int) -> None:
        paths, links, notes = split_attachments(cell)
        found = []
        for raw in paths:
            rel = self._locate(raw)
            if rel is None:
                self.problems.append(warning(
                    Loc(self.name, draft.row, col),
                    f"row {draft.row}: attachment {raw!r} is not in the case folder",
                    "copy it into the case folder (e.g. screenshots/) and fix the path"))
                rel = raw
            found.append(rel)
        _put(draft.values, "attachments", found)
        _put(draft.values, "links", links)
        for note in notes:
            self.problems.append(warning(
                Loc(self.name, draft.row, col),
                f"row {draft.row}: {note!r} is neither a file path nor a link",
                "kept as a comment in the entry file"))
            draft.comments.append(f"Attachment/Link in the log: {note}")

    def _locate(self, raw: str) -> str | None:
        """The case-relative path of an attachment cell, or None if no such file is in the case."""
        rel = raw.replace("\\", "/").strip()
        pure = PurePosixPath(rel)
        if not pure.is_absolute() and ".." not in pure.parts and (self.root / pure).is_file():
            return pure.as_posix()
        matches = self.files.get(pure.name.lower(), [])
        return matches[0] if len(matches) == 1 else None


class RowError(Exception):
    def __init__(self, message: str, hint: str = "", col: int = 0):
        super().__init__(message)
        self.hint = hint
        self.col = col


def _row_values(cells: list[str], mapping: dict[int, str]) -> dict[str, str]:
    cols: dict[str, str] = {}
    for index, name in mapping.items():
        value = cells[index].strip() if index < len(cells) else ""
        if value.lower() in EMPTY_CELLS:
            continue
        cols[name] = f"{cols[name]}\n{value}" if name in cols else value
    return cols


def _put(values: dict, name: str, value: object) -> None:
    if value:
        values[name] = value


# -- cell parsers --------------------------------------------------------------------------------

_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}
_TIME = (r"(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.\d+)?)?\s*"
         r"(?P<ampm>[ap]\.?m\.?)?\s*(?P<tz>z|utc|gmt|(?:utc|gmt)?\s*[+-]\d{1,2}(?::?\d{2})?)?")
_SEP = r"(?:\s*[t,@]\s*|\s+at\s+|\s+)"
_YMD = re.compile(rf"^(?P<y>\d{{4}})[-/.](?P<m>\d{{1,2}})[-/.](?P<d>\d{{1,2}})(?:{_SEP}{_TIME})?$",
                  re.IGNORECASE)
_XYZ = re.compile(rf"^(?P<a>\d{{1,2}})[-/.](?P<b>\d{{1,2}})[-/.](?P<y>\d{{4}}|\d{{2}})"
                  rf"(?:{_SEP}{_TIME})?$", re.IGNORECASE)
_MDY_TEXT = re.compile(rf"^(?P<mon>[a-z]{{3,9}})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+"
                       rf"(?P<y>\d{{4}})(?:{_SEP}{_TIME})?$", re.IGNORECASE)
_DMY_TEXT = re.compile(rf"^(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\.?\s+(?P<mon>[a-z]{{3,9}})\.?,?\s+"
                       rf"(?P<y>\d{{4}})(?:{_SEP}{_TIME})?$", re.IGNORECASE)


def parse_log_moment(text: str, dayfirst: bool | None = None, tz: ZoneInfo | None = None) -> str:
    """A log timestamp as the entry format writes it (YYYY-MM-DD HH:MM, offset kept).

    Accepts ISO (2023-10-26T14:30, 2023-10-26, 14:30), day/month/year and
    month/day/year with / . or -, English month names, 12-hour times, and
    log.csv's `2023-10-27 03:15 (09:15 UTC+08:00)` (case time, then the time
    as written), which gives back 2023-10-27 09:15+08:00; tz is the case timezone.
    """
    raw = " ".join(text.split())
    original = _ORIGINAL_OFFSET.search(raw)
    if original:
        shown = parse_log_moment(raw[: original.start()], dayfirst)
        return _as_written(shown, original, tz or zone("UTC"), raw)
    for pattern in (_YMD, _MDY_TEXT, _DMY_TEXT):
        match = pattern.match(raw)
        if match:
            g = match.groupdict()
            month = int(g["m"]) if "m" in g else _month(g["mon"], raw)
            day = check_date(int(g["y"]), month, int(g["d"]), raw)
            return _with_time(day, g, raw)
    match = _XYZ.match(raw)
    if not match:
        raise BadValue(f"{raw!r} is not a date and time",
                       "write it like 2023-10-26 14:30 or 26/10/2023 14:30")
    g = match.groupdict()
    year = int(g["y"]) + (2000 if len(g["y"]) == 2 else 0)
    day = check_date(year, *_day_month_order(int(g["a"]), int(g["b"]), dayfirst, raw), raw)
    return _with_time(day, g, raw)


_ORIGINAL_OFFSET = re.compile(r"\s*\((?P<H>\d{1,2}):(?P<M>\d{2}) UTC(?P<off>[+-]\d{2}:\d{2})\)$")


def _as_written(shown: str, original: re.Match, tz: ZoneInfo, raw: str) -> str:
    """The time as first written, from the case-time text and `(HH:MM UTC+hh:mm)`."""
    local = parse_moment(shown, tz).instant.astimezone(
        parse_moment(f"2000-01-01 00:00{original['off']}", tz).local.tzinfo)
    if (local.hour, local.minute) != (int(original["H"]), int(original["M"])):
        raise BadValue(f"{raw!r}: the two times do not agree")
    return local.strftime("%Y-%m-%d %H:%M") + original["off"]


def _month(name: str, raw: str) -> int:
    month = _MONTHS.get(name[:3].lower())
    if month is None or not _is_month_name(name):
        raise BadValue(f"{raw!r}: {name!r} is not a month")
    return month


def _is_month_name(name: str) -> bool:
    full = ("january", "february", "march", "april", "may", "june", "july", "august",
            "september", "october", "november", "december", "sept")
    low = name.lower()
    return any(m.startswith(low) for m in full) or low in full


def _day_month_order(a: int, b: int, dayfirst: bool | None, raw: str) -> tuple[int, int]:
    """(month, day) from the first two numbers of a day/month or month/day date."""
    if a > 12 and b > 12:
        raise BadValue(f"impossible date {raw!r}: neither {a} nor {b} is a month")
    if dayfirst is None:
        if a == b or a > 12:
            return b, a
        if b > 12:
            return a, b
        raise BadValue(
            f"{raw!r} is ambiguous: {a} {_MONTH_NAMES[b]} or {_MONTH_NAMES[a]} {b}",
            "pass --dayfirst or --monthfirst to say how the sheet writes dates")
    if dayfirst and b > 12:
        raise BadValue(f"{raw!r} cannot be day/month/year (--dayfirst): there is no month {b}")
    if not dayfirst and a > 12:
        raise BadValue(f"{raw!r} cannot be month/day/year (--monthfirst): there is no month {a}")
    return (b, a) if dayfirst else (a, b)


_MONTH_NAMES = ["", "January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December"]


def _with_time(day: date, g: dict, raw: str) -> str:
    if g.get("H") is None:
        return day.isoformat()
    hour, minute = int(g["H"]), int(g["M"])
    ampm = (g.get("ampm") or "").replace(".", "").lower()
    if ampm:
        if not 1 <= hour <= 12:
            raise BadValue(f"impossible time in {raw!r}: {hour} {ampm.upper()}")
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    if hour > 23 or minute > 59 or int(g["S"] or 0) > 59:
        raise BadValue(f"impossible time in {raw!r}")
    text = f"{day.isoformat()} {hour:02d}:{minute:02d}"
    if g["S"] and int(g["S"]):
        text += f":{int(g['S']):02d}"
    return text + _offset(g.get("tz"), raw)


def _offset(tz: str | None, raw: str) -> str:
    if not tz:
        return ""
    sign_part = re.sub(r"^(utc|gmt)\s*", "", tz.strip().lower())
    if sign_part in ("", "z"):
        return "+00:00"
    sign, digits = sign_part[0], sign_part[1:].replace(":", "")
    hours, minutes = (int(digits[:-2] or 0), int(digits[-2:])) if len(digits) > 2 else (
        int(digits), 0)
    if hours > 14 or minutes > 59:
        raise BadValue(f"impossible UTC offset in {raw!r}")
    return f"{sign}{hours:02d}:{minutes:02d}"


from itaoreport.case.senders import _QUOTES, parse_sender, role_of  # noqa: E402,F401 (shared)


def unquote(text: str) -> str:
    """The inside of a quotation ("…", “…”, «…», 「…」), or the text itself if it is not one."""
    inner = _quotation(text.strip())
    return inner if inner is not None else text.strip()


def _quotation(text: str) -> str | None:
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] == _QUOTES[text[0]]:
        inner = text[1:-1].strip()
        return inner or None
    return None


_QUOTE_BREAK = re.compile(r"\n|\s+[—–]\s+(?=\S)")
_QUOTE_LABEL = re.compile(r"^(?:key\s+)?quote\s*:\s*", re.IGNORECASE)


def split_summary(cell: str) -> tuple[str, str | None]:
    """(summary, quote) from a Summary / Key Quote cell.

    A cell that is one quotation is the quote, and its text is also the
    summary. A summary followed by a quotation on its own line(s), or after a
    dash (`Summary — “quote”`, as log.csv writes it), gives both.
    """
    text = cell.strip()
    whole = _quotation(_QUOTE_LABEL.sub("", text))
    if whole is not None:
        return whole, whole
    for match in _QUOTE_BREAK.finditer(text):
        summary, rest = text[: match.start()].strip(), text[match.end():].strip()
        inner = _quotation(_QUOTE_LABEL.sub("", rest))
        if inner is not None and summary:
            return summary, inner
    return text, None


_PROMISE = re.compile(r"(?:^|(?<=[\n;.]))\s*promise\s*:\s*", re.IGNORECASE)
_DUE = re.compile(r"\s*(?:[(\[]\s*|[,;–—-]\s*|\s)(?:due|by|until|before)(?:\s+(?:by|on))?\s*:?\s*"
                  r"(?P<due>\d[^()\[\]]*?|[a-z]{3,9}\.?\s+\d[^()\[\]]*?)\s*[)\]]?\s*$", re.IGNORECASE)


_STATUS_NOTE = re.compile(r"\s*\[(?:kept|broken|pending)[^\]]*\]\s*$", re.IGNORECASE)
"""The status log.csv shows after a promise; derived by the report, so not imported."""


_DEADLINE = re.compile(r"(?:^|(?<=[\n;.]))\s*deadline\s+(?:set\s+)?for\s+me\s*:\s*",
                       re.IGNORECASE)
"""Only "Deadline for me:": a plain "Deadline:" in a buyer's log is as often one they set."""
_DEADLINE_STATUS = re.compile(r"\s*\[(?:met|missed|open)[^\]]*\]\s*$", re.IGNORECASE)


def split_deadline(cell: str) -> tuple[str, str | None]:
    """(the rest, deadline text) from an Action/Promise cell: `Deadline for me: ...` (as
    log.csv writes a deadline set for the claimant) is the deadline, up to the end."""
    text = cell.strip()
    match = _DEADLINE.search(text)
    if not match:
        return text, None
    rest = text[: match.start()].strip().rstrip(";").strip()
    return rest, _DEADLINE_STATUS.sub("", text[match.end():]).strip() or None


def split_action(cell: str) -> tuple[str | None, str | None]:
    """(action, promise text) from an Action/Promise Made cell; `Promise: ...` is the promise."""
    text = cell.strip()
    match = _PROMISE.search(text)
    if not match:
        return text or None, None
    action = text[: match.start()].strip().rstrip(";").strip() or None
    promise = _STATUS_NOTE.sub("", text[match.end():]).strip() or None
    return action, promise


_RELATIVE = re.compile(r"(?:^|\b(?:in|within)\s+)(?:the\s+next\s+)?(?P<n>\d{1,4})\s*"
                       r"(?P<unit>hours?|hrs?|h|days?|d|weeks?|wks?)\b\.?", re.IGNORECASE)
_UNITS = {"h": "hour", "hr": "hour", "hrs": "hour", "hour": "hour", "hours": "hour",
          "d": "day", "day": "day", "days": "day",
          "week": "week", "weeks": "week", "wk": "week", "wks": "week"}


def relative_due(text: str) -> str | None:
    """`48 hours` from a promise like "Tracking update in 48 hours" or "within 2 days", or from
    a due cell that is a duration: the entry format's duration, counted from the timestamp."""
    duration = parse_duration(text)
    if duration is not None:
        return duration.text.lower()
    match = _RELATIVE.search(text)
    if match is None or (match.start() == 0 and match.end() < len(text.rstrip())):
        return None
    count = int(match["n"])
    if count < 1:
        return None
    unit = _UNITS[match["unit"].lower()]
    return f"{count} {unit}{'' if count == 1 else 's'}"


def split_due(text: str) -> tuple[str, str | None]:
    """(text, due) where a promise ends in `(due 2023-10-29 09:15)` or `, due 29/10/2023`."""
    match = _DUE.search(text)
    if not match or not match.start():
        return text, None
    return text[: match.start()].rstrip(" ,;–—-"), match["due"]


_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|www\.|mailto:)", re.IGNORECASE)
_EXHIBIT_LABEL = re.compile(r"^E\d+:\s+")
_PATHLIKE = re.compile(r"[/\\]|\.[A-Za-z0-9]{2,5}$")


def split_attachments(cell: str) -> tuple[list[str], list[str], list[str]]:
    """(paths, links, other text) from an Attachment/Link cell (one item per line or `;`)."""
    paths: list[str] = []
    links: list[str] = []
    notes: list[str] = []
    for part in re.split(r"[\n;]", cell):
        items = [part]
        if ", " in part and all(_URL.match(p.strip()) or _PATHLIKE.search(p.strip())
                                for p in part.split(", ")):
            items = part.split(", ")
        for item in (_EXHIBIT_LABEL.sub("", i.strip()) for i in items):
            if not item or item.lower() in EMPTY_CELLS:
                continue
            if _URL.match(item):
                links.append(item)
            elif _PATHLIKE.search(item):
                paths.append(item)
            else:
                notes.append(item)
    return paths, links, notes


# -- the case folder -----------------------------------------------------------------------------


def _party_names(case_yaml: YMap | None) -> dict[str, str]:
    """Seller, claimant and platform names from case.yaml (casefolded) → their sender role."""
    names: dict[str, str] = {}
    if case_yaml is None:
        return names
    for key, role in (("seller", "seller"), ("claimant", "me")):
        party = case_yaml.items.get(key)
        if isinstance(party, YMap):
            for name_key in ("name", "account"):
                value = party.items.get(name_key)
                if isinstance(value, YScalar) and value.text.strip():
                    names[value.text.strip().casefold()] = role
    platform = case_yaml.items.get("platform")
    if isinstance(platform, YScalar) and platform.text.strip():
        names[platform.text.strip().casefold()] = "platform"
    return names


_SKIP_DIRS = {OUTPUT_DIR, CACHE_DIR, SCHEMA_DIR, ENTRIES_DIR, ".git"}


def _case_files_by_name(root: Path) -> dict[str, list[str]]:
    """Files in the case folder (not entries, output or caches) by lower-case file name."""
    found: dict[str, list[str]] = {}
    if not root.is_dir():
        return found
    for folder, dirs, files in os.walk(root):
        if Path(folder) == root:
            dirs[:] = [d for d in dirs if d not in _SKIP_DIRS]
        dirs.sort()
        for name in sorted(files):
            rel = (Path(folder) / name).relative_to(root).as_posix()
            found.setdefault(name.lower(), []).append(rel)
    return found


def _entry_key(timestamp: str, summary: str) -> tuple[str, str]:
    """What identifies a row already in the case: its instant as written, and its summary."""
    try:
        moment = parse_moment(timestamp, zone("UTC"))
        stamp = moment.local.isoformat() if moment.explicit_offset else (
            moment.local.replace(tzinfo=None).isoformat() if moment.has_time
            else moment.local.date().isoformat())
    except BadValue:
        stamp = timestamp.strip()
    return stamp, " ".join(summary.split())


def _existing_entries(root: Path) -> dict[tuple[str, str], str]:
    """Entry files already in the case by their key (unreadable files are skipped)."""
    found: dict[tuple[str, str], str] = {}
    for rel, node in entry_mappings(root):
        stamp, summary = node.items.get("timestamp"), node.items.get("summary")
        if isinstance(stamp, YScalar) and isinstance(summary, YScalar):
            found.setdefault(_entry_key(stamp.text, summary.text), rel)
    return found


def _write_drafts(drafts: list[_Draft], root: Path, log_name: str, result: ImportResult) -> None:
    try:
        # refused before anything is written: an entries/ or .schema/ that is a link or a file
        safe_case_dir(root, ENTRIES_DIR)
        safe_case_dir(root, SCHEMA_DIR)
    except CaseWriteError as exc:
        result.problems.append(exc.problem)
        return
    existing = _existing_entries(root)
    taken = {PurePosixPath(rel).stem for rel in entry_files(root)}
    by_key: dict[tuple[str, str], int] = {}
    try:
        for draft in drafts:
            key = draft.key()
            if key in by_key:
                result.problems.append(warning(
                    Loc(log_name, draft.row),
                    f"row {draft.row} repeats row {by_key[key]} (same timestamp and summary); "
                    "skipped"))
                continue
            by_key[key] = draft.row
            if key in existing:
                result.unchanged.append(existing[key])
                continue
            stem = draft.entry_id or entry_stem(draft.timestamp, draft.values["summary"])
            while True:
                entry_id = free_id(stem, taken)
                taken.add(entry_id)
                rel = f"{ENTRIES_DIR}/{entry_id}.yaml"
                text = entry_yaml(rel, draft.timestamp, draft.values,
                                  (f"Imported from {log_name}, row {draft.row}.", *draft.comments))
                try:
                    write_new_file(root, rel, text.encode("utf-8"))
                except FileExistsError:  # a name entry_files() does not list (litter, a link)
                    continue
                break
            result.written.append(rel)
        if result.written:
            write_schema_files(root)
    except CaseWriteError as exc:
        result.problems.append(exc.problem)


def entry_stem(timestamp: str, summary: str) -> str:
    """YYYY-MM-DD-HHMM-slug (YYYY-MM-DD-slug for a bare date) from a timestamp and a summary."""
    day, _, clock = timestamp.partition(" ")
    stamp = f"{day}-{clock[:2]}{clock[3:5]}" if clock else day
    return f"{stamp}-{slug(summary)}"


def slug(text: str, max_words: int = 6, max_chars: int = 40) -> str:
    """Lower-case ASCII words joined by hyphens, e.g. 'asked-for-tracking'; 'entry' if none."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())[:max_words]
    result = ""
    for word in words:
        candidate = f"{result}-{word}" if result else word
        if len(candidate) > max_chars:
            break
        result = candidate
    return result or "entry"


def free_id(stem: str, taken: set[str]) -> str:
    """`stem`, or stem-2, stem-3, ... : the first id not in `taken`."""
    entry_id, n = stem, 1
    while entry_id in taken:
        n += 1
        entry_id = f"{stem}-{n}"
    return entry_id


# -- writing YAML --------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Plain scalars where safe, quoted where YAML would misread them, `|` for several lines."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)  # lists indented under their key


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", text,
                                   style="|" if "\n" in text else None)


_Dumper.add_representer(str, _represent_str)

class Moment(str):
    """A timestamp text, written plain (`timestamp: 2023-10-27 09:15`) as in docs/case-format.md."""


def _represent_moment(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    # Tagged as whatever a plain scalar of this text resolves to, so the emitter never
    # quotes it; the validator reads it as text either way.
    return dumper.represent_scalar(dumper.resolve(yaml.ScalarNode, text, (True, False)), text)


_Dumper.add_representer(Moment, _represent_moment)


def dump_fields(values: dict) -> str:
    """YAML for a mapping of entry fields, in the order given."""
    return yaml.dump(values, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=2**30,
                     default_flow_style=False, indent=2)


def entry_yaml(rel_path: str, timestamp: str, values: dict, comments: tuple[str, ...] = ()) -> str:
    """The text of an entry file: the schema line, comments, then the fields."""
    head = [modeline(rel_path, "entry"), *(f"# {c}" for c in comments)]
    for name in ("promise", "deadline"):
        part = values.get(name)
        if part and part.get("due"):
            values = {**values, name: {**part, "due": Moment(part["due"])}}
    body = dump_fields({"timestamp": Moment(timestamp), **values})
    return "\n".join(head) + "\n" + body

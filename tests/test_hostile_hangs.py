"""Hangs and crashes that remained (issue #14 part 7): each ends in seconds, named, exit 1.

Non-UTF-8 entry file names are in test_hostile_names.py. The commands that could hang
run in a child process with a guard, so a regression fails instead of stalling pytest.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from conftest import ENTRY_YAML, SAMPLE_CASE, case_cache, png_bytes, write_case
from hostile_support import (
    assert_clean_failure,
    assert_clean_subprocess_failure,
    run_cli,
    run_subprocess,
)

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX pipes and devices")
GUARD = 30
"""Seconds before a child process counts as hung; each case ends in about one."""
HEADER = "Timestamp,Communication Channel,Sender,Summary / Key Quote\n"


# -- dedupe over pipes and devices ----------------------------------------------------------------

@posix_only
def test_dedupe_over_a_folder_with_a_fifo_and_a_link_to_dev_zero(tmp_path: Path):
    folder = tmp_path / "shots"
    folder.mkdir()
    (folder / "a.png").write_bytes(png_bytes())
    os.mkfifo(folder / "pipe.png")
    (folder / "zero.png").symlink_to("/dev/zero")
    (folder / "random.jpg").symlink_to("/dev/urandom")
    started = time.monotonic()
    proc = run_subprocess("dedupe", folder, timeout=GUARD)
    assert_clean_subprocess_failure(proc, "pipe.png: error: not a regular file",
                                    "zero.png: error: not a regular file",
                                    "random.jpg: error: not a regular file")
    assert "1 images" in proc.stdout
    assert time.monotonic() - started < GUARD


@posix_only
def test_dedupe_over_the_shared_bad_images_with_pipes_among_them(tmp_path: Path):
    """Pillow's broken and bomb images plus a FIFO and /dev/zero: named errors, no hang."""
    import shutil

    from conftest import require_shared

    folder = tmp_path / "bad"
    shutil.copytree(require_shared("corpora", "bad-images"), folder)
    os.mkfifo(folder / "pipe.png")
    (folder / "zero.jpg").symlink_to("/dev/zero")
    proc = run_subprocess("dedupe", folder, timeout=GUARD * 2)
    assert_clean_subprocess_failure(proc, "pipe.png: error: not a regular file",
                                    "zero.jpg: error: not a regular file")
    named = {line.split(": error: ")[0] for line in proc.stderr.splitlines() if ": error: " in line}
    assert len(named) >= 3


@posix_only
def test_dedupe_of_a_fifo_or_device_named_directly(tmp_path: Path):
    os.mkfifo(tmp_path / "pipe.png")
    proc = run_subprocess("dedupe", "--json", tmp_path / "pipe.png", "/dev/zero", timeout=GUARD)
    assert_clean_subprocess_failure(proc, "pipe.png: error: not a regular file",
                                    "/dev/zero: error: not a regular file")


# -- import: workbooks that expand, text that does not decode -------------------------------------

def _workbook_bytes(rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _rezip(path: Path, template: bytes, replace: dict[str, object], extra: int = 0) -> Path:
    """The workbook `template` with members replaced (bytes, or a callable yielding chunks)."""
    source = zipfile.ZipFile(io.BytesIO(template))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
        for info in source.infolist():
            content = replace.get(info.filename)
            if callable(content):
                with out.open(info.filename, "w", force_zip64=True) as fh:
                    for chunk in content():
                        fh.write(chunk)
            else:
                out.writestr(info.filename, content if content is not None
                             else source.read(info.filename))
        for n in range(extra):
            out.writestr(f"customXml/item{n}.xml", b"<a/>")
    return path


SHEET = "xl/worksheets/sheet1.xml"
SHEET_HEAD = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
              b'openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
SHEET_TAIL = b"</sheetData></worksheet>"
LOG_ROWS = [HEADER.strip().split(","), ["2023-11-03 10:00", "Email", "me", "Asked again."]]


@pytest.fixture(scope="module")
def expanding_xlsx(tmp_path_factory) -> Path:
    """About 2 MB on disk, 220 MB of sheet XML once unpacked (the issue's example)."""
    row = b'<row><c t="inlineStr"><is><t>' + b"A" * 1000 + b"</t></is></c></row>"
    block = row * 1000

    def chunks():
        yield SHEET_HEAD
        for _ in range(220):
            yield block
        yield SHEET_TAIL

    path = tmp_path_factory.mktemp("bomb") / "log.xlsx"
    return _rezip(path, _workbook_bytes(LOG_ROWS), {SHEET: chunks})


def test_a_small_xlsx_that_expands_to_hundreds_of_mb_is_refused_before_opening(
        expanding_xlsx: Path, tmp_path: Path):
    assert expanding_xlsx.stat().st_size < 5_000_000
    started = time.monotonic()
    proc = run_subprocess("import", expanding_xlsx, tmp_path / "case", timeout=GUARD)
    assert_clean_subprocess_failure(proc, "log.xlsx: error: the workbook unpacks to",
                                    "the limit is 100,000,000")
    assert time.monotonic() - started < 10
    assert not (tmp_path / "case" / "entries").exists()


def test_shared_strings_that_expand_are_refused_too(tmp_path: Path):
    def strings():
        yield (b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/'
               b'spreadsheetml/2006/main">')
        for _ in range(120):
            yield b"<si><t>" + b"B" * 1_000_000 + b"</t></si>"
        yield b"</sst>"

    template = _workbook_bytes(LOG_ROWS)
    path = _rezip(tmp_path / "log.xlsx", template, {"xl/sharedStrings.xml": strings}) \
        if "xl/sharedStrings.xml" in zipfile.ZipFile(io.BytesIO(template)).namelist() else \
        _rezip(tmp_path / "log.xlsx", template, {"docProps/app.xml": strings})
    assert_clean_failure(run_cli("import", path, tmp_path / "case"), "the workbook unpacks to")


def test_a_workbook_of_thousands_of_parts_is_refused(tmp_path: Path):
    path = _rezip(tmp_path / "log.xlsx", _workbook_bytes(LOG_ROWS), {}, extra=1_001)
    assert_clean_failure(run_cli("import", path, tmp_path / "case"), "parts; the limit is 1,000")


def test_limits_apply_while_streaming_rows(tmp_path: Path):
    """More rows than the limit stop the reading there; a cell too long is named."""
    many = [LOG_ROWS[0]] + [[f"2023-11-03 10:{n % 60:02d}", "Email", "me", f"Row {n}."]
                            for n in range(10_020)]
    path = tmp_path / "many.xlsx"
    path.write_bytes(_workbook_bytes(many))
    assert_clean_failure(run_cli("import", path, tmp_path / "case"),
                         "more than 10,000 rows; the limit is 10,000")
    long_cell = tmp_path / "long.csv"
    long_cell.write_text(HEADER + "2023-11-03 10:00,Email,me," + "x" * 20_001 + "\n",
                         encoding="utf-8")
    assert_clean_failure(run_cli("import", long_cell, tmp_path / "case"),
                         "row 2, column 4: a cell of 20,001 characters; the limit is 20,000")


def test_a_cell_at_the_last_row_and_column_does_not_pad_a_million_rows(tmp_path: Path):
    """A sheet claiming A1:XFD1048576 with a value at its far corner reads in seconds."""
    from openpyxl import Workbook

    book = Workbook()
    for row in LOG_ROWS:
        book.active.append(row)
    book.active["XFD1048576"] = "far away"
    path = tmp_path / "far.xlsx"
    book.save(path)
    started = time.monotonic()
    proc = run_subprocess("import", path, tmp_path / "case", timeout=GUARD)
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - started < 20
    assert len(list((tmp_path / "case" / "entries").glob("*.yaml"))) == 1


@pytest.mark.parametrize("data, message", [
    (b"\xff\xfe" + HEADER.encode("utf-16-le") + b"x", "is not valid UTF-16 text"),  # odd length
    (b"\xff\xfe" + HEADER.encode("utf-16-le") + b"\x00\xd8,\x00", "is not valid UTF-16 text"),
    (b"\xfe\xff" + HEADER.encode("utf-16-be")[:-1], "is not valid UTF-16 text"),
    (HEADER.encode() + b"2023-11-03 10:00,Email,me,A\x00B\n", "has NUL characters"),
])
def test_text_logs_that_do_not_decode_are_named_errors(tmp_path: Path, data: bytes, message: str):
    log = tmp_path / "log.csv"
    log.write_bytes(data)
    assert_clean_failure(run_cli("import", log, tmp_path / "case"),
                         f"log.csv: error: the file {message}")


@posix_only
def test_a_device_or_fifo_as_the_log_is_refused_without_reading(tmp_path: Path):
    os.mkfifo(tmp_path / "log.csv")
    for log in (tmp_path / "log.csv", Path("/dev/zero")):
        proc = run_subprocess("import", log, tmp_path / "case", timeout=GUARD)
        assert_clean_subprocess_failure(proc, "not a regular file")


# -- a case theme's catalog with broken Plural-Forms ----------------------------------------------

@pytest.mark.parametrize("plural_forms, message", [
    ("nplurals=2; plural=(n != 1;", "is not a valid expression"),  # the kind of example
    ("nplurals=2; plural=n/0;", "fails for n=0 (ZeroDivisionError"),
    ("nplurals=2; plural=n==5 ? n/0 : 0;", "fails for n=5"),
    ("nplurals=2; plural=5;", "gives form 5 for n=0"),
    ("nplurals=1000000; plural=n;", "not a number of forms from 1 to 6"),
    ("nplurals=2; plural=" + "(" * 300 + "n" + ")" * 300 + ";", "plural= is 601 characters"),
    ("nplurals=2; plural=__import__('os').system('x');", "is not a valid expression"),
])
def test_a_broken_plural_forms_header_is_a_named_error(tmp_path: Path, plural_forms: str,
                                                       message: str):
    case = write_case(tmp_path / "case")
    po = (SAMPLE_CASE.parent / "themes" / "default" / "i18n" / "en.po").read_text(encoding="utf-8")
    lines = po.splitlines()
    number = next(n for n, line in enumerate(lines, start=1) if "Plural-Forms:" in line)
    lines[number - 1] = f'"Plural-Forms: {plural_forms}\\n"'
    (case / "theme" / "i18n").mkdir(parents=True)
    (case / "theme" / "i18n" / "en.po").write_text("\n".join(lines) + "\n", encoding="utf-8")
    started = time.monotonic()
    assert_clean_failure(run_cli("build", case, "--format", "json"),
                         f"theme/i18n/en.po:{number}: Plural-Forms", message)
    assert time.monotonic() - started < 10
    assert not (case / "build").exists()


def test_a_plural_expression_failing_for_a_rare_count_falls_back_to_english():
    import gettext

    class Failing(gettext.NullTranslations):
        def ngettext(self, msgid1, msgid2, n):
            raise ZeroDivisionError("integer division or modulo by zero")

    from itaoreport.render.i18n import build_translator
    from itaoreport.render.themes import theme_search_path

    translator = build_translator(theme_search_path(Path("/nonexistent"), "default"), "en", "en")
    translator._messages = Failing()
    assert "3" in translator.plural(translator_plural_key(translator), 3)


def translator_plural_key(translator) -> str:  # noqa: ANN001
    from itaoreport.render.i18n import plural_keys, read_catalog

    po = SAMPLE_CASE.parent / "themes" / "default" / "i18n" / "en.po"
    return plural_keys(read_catalog(po, po.stat().st_mtime_ns))[0]


# -- a poisoned analysis cache --------------------------------------------------------------------

def _built_case(tmp_path: Path) -> Path:
    shots = {f"s/{n}.png": png_bytes(colour=c, text=f"shot {n}")
             for n, c in enumerate(["white", "yellow", "pink"])}
    entries = {f"e{n}.yaml": ENTRY_YAML + f"attachments: [s/{n}.png]\n" for n in range(3)}
    case = write_case(tmp_path / "case", entries=entries, files=shots)
    assert run_cli("build", case, "--format", "json").exit_code == 0
    return case


def _exhibits(case: Path) -> int:
    result = run_cli("build", case, "--format", "json")
    assert result.exit_code == 0, result.output
    return len(json.loads((case / "build" / "report.json").read_text())["exhibits"])


POISONS = {
    "a list": lambda d: [],
    "null": lambda d: None,
    "deep nesting": lambda d: "deep",
    "an empty pixel digest": lambda d: {**d, "pixel_digest": ""} if "pixel_digest" in d else d,
    "a number as pixel digest": lambda d: {**d, "pixel_digest": 5} if "pixel_digest" in d else d,
    "a bool as width": lambda d: {**d, "width": True} if "width" in d else d,
    "negative height": lambda d: {**d, "height": -5} if "height" in d else d,
    "verdict fields of other types": lambda d: {**d, "same": [], "score": "nan"}
    if "same" in d else d,
    "rendition meta as a list": lambda d: [d] if "media_type" in d else d,
}


WHOLE_FILE = {"a list", "null", "deep nesting"}
"""Poisons of a whole file; the others are applied to each entry of the cache index (every
image's facts, every pair's verdict) and to each rendition's metadata."""


@pytest.mark.parametrize("poison", list(POISONS))
def test_cache_entries_of_the_wrong_shape_are_misses(tmp_path: Path, poison: str):
    case = _built_case(tmp_path)
    files = sorted((case / ".itaoreport").rglob("*.json"))
    index = next(p for p in files if p.name == "index.json")
    good = json.loads(index.read_text())
    assert len(good["facts"]) == 3
    for path in files:
        data = json.loads(path.read_text())
        if path == index and poison not in WHOLE_FILE:
            value = {kind: {key: POISONS[poison](entry) for key, entry in entries.items()}
                     for kind, entries in data.items()}
        else:
            value = POISONS[poison](data)
        path.write_text("[" * 100_000 if value == "deep" else json.dumps(value))
    assert _exhibits(case) == 3  # three different pictures stay three exhibits
    assert json.loads(index.read_text())["facts"] == good["facts"]  # made again, rewritten


# -- leftovers of a killed build ------------------------------------------------------------------

def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_temporary_files_of_a_killed_build_are_cleaned_and_nothing_else(tmp_path: Path):
    case = _built_case(tmp_path)
    dead = _dead_pid()
    ours = [case / "build" / f".itaoreport-report.html.{dead}-ab12cd34.tmp",
            case / "build" / "assets" / f".itaoreport-x.jpg.{dead}-zz_9zz99.tmp",
            case_cache(case) / f".itaoreport-x.json.{dead}-00000000.tmp"]
    old = case / "build" / f".itaoreport-report.json.{os.getppid()}-oldoldol.tmp"
    alive = case / "build" / f".itaoreport-report.pdf.{os.getppid()}-running.tmp"
    not_ours = [case / "build" / ".report.html.abcd1234.tmp", case / "build" / "notes.tmp",
                case / "build" / ".itaoreport-notes.tmp", case / "s" / "shot.tmp",
                case / ".itaoreport" / f"itaoreport-x.{dead}-abcdefgh.tmp", alive]
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    link = case / "build" / f".itaoreport-link.{dead}-abcdefgh.tmp"
    link.symlink_to(victim)
    for path in [*ours, old, *not_ours]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"partial")
    os.utime(old, (time.time() - 7200, time.time() - 7200))  # older than an hour: stale anyway
    assert run_cli("build", case, "--format", "json").exit_code == 0
    assert not any(p.exists() for p in [*ours, old])
    assert all(p.exists() for p in not_ours)
    assert link.is_symlink() and victim.read_text() == "keep"


def test_schema_refresh_uses_the_same_temporary_naming(tmp_path: Path):
    from itaoreport.case.safety import TEMP_PREFIX, replace_case_file
    from itaoreport.write import _OUR_TEMP

    case = write_case(tmp_path / "case")
    replace_case_file(case, ".schema/x.json", b"{}")
    seen = []
    real_replace = os.replace

    def spy(src, dst, **kwargs):
        seen.append(os.path.basename(src))
        return real_replace(src, dst, **kwargs)

    os.replace = spy
    try:
        replace_case_file(case, ".schema/x.json", b"[]")
    finally:
        os.replace = real_replace
    assert seen and seen[0].startswith(TEMP_PREFIX) and _OUR_TEMP.match(seen[0])

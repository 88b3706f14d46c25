"""`itaoreport verify`: check evidence files against the manifest embedded in report.pdf.

The PDF carries report.json (with the SHA-256 and size of every evidence file) as
an attachment. Reading it needs a PDF parser at run time: pypdf, because it is
pure Python (no compiler, installs everywhere WeasyPrint does), well maintained,
and reads embedded files with one call.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from itaoreport.errors import ItaoError


class VerifyError(ItaoError):
    """The PDF cannot be read or has no itaoreport manifest."""


@dataclass
class Outcome:
    """What verify found; lines() is what the user reads."""

    pdf: Path
    case_dir: Path
    fingerprint: str
    checked: int = 0
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.added or self.refused)

    def lines(self) -> list[str]:
        head = f"{self.pdf}: report fingerprint {self.fingerprint[:16]} (see the page footer)"
        if self.ok:
            return [head, f"OK: all {self.checked} evidence files in {self.case_dir} match"]
        lines = [head]
        lines += [f"{self.case_dir / p}: changed (SHA-256 differs from the report)"
                  for p in self.changed]
        lines += [f"{self.case_dir / p}: missing" for p in self.missing]
        lines += [f"{self.case_dir / p}: added (not in the report)" for p in self.added]
        lines += [f"{self.case_dir / p}: {why}" for p, why in self.refused]
        problems = len(self.changed) + len(self.missing) + len(self.added) + len(self.refused)
        lines.append(f"FAILED: {problems} of the evidence files differ from the report")
        return lines


MAX_MANIFEST_BYTES = 50_000_000
"""Largest embedded report.json read (a 5,000-attachment case is a few MB)."""
MAX_MANIFEST_FILES = 5_000
"""Same as the build's attachment limit (case/validate.py MAX_ATTACHMENTS)."""
MAX_CASE_FILES = 100_000
"""Files looked at while searching the case folder for evidence the manifest does not list."""
MAX_PATH_CHARS = 1_000
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
CASE_OWN = {"case.yaml", "entries", "build", "theme"}
"""Top-level names of the case that are not evidence: its text, default output and theme."""
SYSTEM_LITTER = {"Thumbs.db", "desktop.ini"}


class ManifestInvalid(VerifyError):
    """The embedded report.json is not an itaoreport manifest of a shape verify can trust."""


def read_manifest(pdf: Path) -> tuple[dict, bytes]:
    """The report.json embedded in a report.pdf, parsed and its shape checked, and its bytes."""
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    fh = _open_regular(pdf)
    if isinstance(fh, str):
        raise VerifyError(f"{pdf}: cannot read the PDF ({fh})")
    with fh:
        try:
            attachments = PdfReader(fh).attachments
            data = attachments.get("report.json", [None])[0]
        except (OSError, PyPdfError, ValueError, KeyError, TypeError, AttributeError,
                IndexError, RecursionError, AssertionError, UnicodeError, ZeroDivisionError) \
                as exc:
            raise VerifyError(f"{pdf}: cannot read the PDF ({type(exc).__name__}: "
                              f"{str(exc)[:200]})") from None
    if data is None:
        raise VerifyError(f"{pdf}: no embedded report.json; was it made by itaoreport build?")
    if not isinstance(data, bytes) or len(data) > MAX_MANIFEST_BYTES:
        raise ManifestInvalid(f"{pdf}: the embedded report.json is over "
                              f"{MAX_MANIFEST_BYTES:,} bytes; it is not an itaoreport manifest")
    try:
        report = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise ManifestInvalid(f"{pdf}: the embedded report.json is damaged "
                              f"({type(exc).__name__}: {str(exc)[:200]})") from None
    check_manifest(pdf, report)
    return report, data


def check_manifest(pdf: Path, report: object) -> None:
    """Refuse a manifest verify cannot trust: wrong shape, or a path that is not plain.

    Every path must be relative, posix, without `.`/`..`/empty parts, control
    characters or NUL, at most 1,000 characters, and listed once; every sha256
    64 lower-case hex digits; every size (when given) a whole number >= 0.
    """
    def bad(where: str, why: str) -> ManifestInvalid:
        return ManifestInvalid(f"{pdf}: report.json {where}: {why}; the manifest is damaged or "
                               "not made by itaoreport, so nothing was checked")

    if not isinstance(report, dict):
        raise bad("top level", "not a JSON object")
    if report.get("format") != 1:
        raise bad("format", f"{_short(report.get('format'))} (this itaoreport reads format 1)")
    files = report.get("attachments")
    if not isinstance(files, list):
        raise bad("attachments", "missing or not a list")
    if len(files) > MAX_MANIFEST_FILES:
        raise bad("attachments", f"{len(files):,} files; the limit is {MAX_MANIFEST_FILES:,}")
    seen: set[str] = set()
    for n, item in enumerate(files):
        where = f"attachments[{n}]"
        if not isinstance(item, dict):
            raise bad(where, "not a JSON object")
        path, sha, size = item.get("path"), item.get("sha256"), item.get("size")
        if not isinstance(path, str) or not path:
            raise bad(f"{where}.path", "missing or not text")
        why = _unsafe_path(path)
        if why:
            raise bad(f"{where}.path {_short(path)}", why)
        if path in seen:
            raise bad(f"{where}.path {_short(path)}", "listed twice")
        seen.add(path)
        if not isinstance(sha, str) or not _SHA256.match(sha):
            raise bad(f"{where}.sha256", "not a SHA-256 (64 lower-case hex digits)")
        if size is not None and (type(size) is not int or size < 0):
            raise bad(f"{where}.size", "not a whole number of bytes")


def _unsafe_path(path: str) -> str | None:
    if len(path) > MAX_PATH_CHARS:
        return f"{len(path):,} characters; the limit is {MAX_PATH_CHARS:,}"
    if _CONTROL.search(path):
        return "has control characters"
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path) or path.startswith("\\"):
        return "an absolute path; evidence paths are relative to the case folder"
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return "has `..`, `.` or empty parts; evidence paths stay inside the case folder"
    return None


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:80] + "..."


def default_case_dir(pdf: Path) -> Path:
    """The case folder of a report in its default place, CASE/build/report.pdf.

    The manifest's own `case_dir` is never used to choose what to read: a crafted
    one could name `/` or any folder on the disk.
    """
    folder = Path(os.path.abspath(pdf)).parent
    case_dir = folder.parent if folder.parent != folder else None
    if case_dir is None or not (case_dir / "case.yaml").is_file():
        raise VerifyError(f"{pdf}: the report is not in a case's build/ folder; give the case "
                          "folder: `itaoreport verify REPORT.pdf CASE_DIR`")
    return case_dir


def verify_report(pdf: Path, case_dir: Path | None = None) -> Outcome:
    """Compare every evidence file in case_dir (default: CASE/build/report.pdf's CASE)."""
    report, data = read_manifest(pdf)
    if case_dir is None:
        case_dir = default_case_dir(pdf)
    if not case_dir.is_dir():
        raise VerifyError(f"{case_dir}: no such case folder; give it as "
                          "`itaoreport verify REPORT.pdf CASE_DIR`")
    _check_same_order(report, case_dir)
    outcome = Outcome(pdf, case_dir, hashlib.sha256(data).hexdigest())
    root = case_dir.resolve()
    expected = {a["path"]: (a["sha256"], a.get("size")) for a in report["attachments"]}
    for path, (sha, size) in sorted(expected.items()):
        outcome.checked += 1
        result = _check_file(root, path, sha, size)
        if result == "missing":
            outcome.missing.append(path)
        elif result == "changed":
            outcome.changed.append(path)
        elif result != "ok":
            outcome.refused.append((path, result))
    outcome.added = sorted(set(evidence_files(case_dir, pdf)) - set(expected))
    return outcome


def _check_same_order(report: dict, case_dir: Path) -> None:
    """A report checked against another case's folder would list every file as changed;
    say what is wrong instead (case.yaml's order id differs from the report's)."""
    from itaoreport.case.files import read_case_mapping
    from itaoreport.case.yamlload import YMap, YScalar

    order = (report.get("case") or {}).get("order") or {}
    reported = order.get("id") if isinstance(order, dict) else None
    node = read_case_mapping(case_dir)
    found = node.items.get("order") if node is not None else None
    found_id = found.items.get("id") if isinstance(found, YMap) else None
    if not isinstance(reported, str) or not isinstance(found_id, YScalar):
        return
    if " ".join(found_id.text.split()) != reported:
        raise VerifyError(f"this report belongs to another order: it is the report of order "
                          f"{reported}, and {case_dir} is the case of order "
                          f"{' '.join(found_id.text.split())}; give the case folder of order "
                          f"{reported}")


def _check_file(root: Path, rel: str, sha: str, size: int | None) -> str:
    """"ok", "changed", "missing", or why the file was not read (never read outside root)."""
    full = root / rel
    try:
        if not os.path.lexists(full):
            return "missing"
        real = full.resolve(strict=True)
    except FileNotFoundError:
        return "missing (a broken link)"
    except (OSError, RuntimeError, ValueError):
        return "refused: the path cannot be resolved (a link loop?)"
    if real != root and root not in real.parents:
        return "refused: a link that points outside the case folder; not read"
    fh = _open_regular(real)
    if isinstance(fh, str):
        return f"refused: {fh}; not read"
    with fh:
        if size is not None and os.fstat(fh.fileno()).st_size != size:
            return "changed"
        digest = hashlib.sha256()
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return "ok" if digest.hexdigest() == sha else "changed"


def _open_regular(path: Path):  # noqa: ANN202 - a binary file, or why it cannot be read
    """The file opened for reading if it is a regular file; else the reason, as text.

    Opened without blocking (a named pipe has no writer) and checked on the open
    descriptor, so a FIFO, device or socket is never read.
    """
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            return "not a regular file (a device, pipe, socket or folder)"
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        return "no such file"
    except (OSError, ValueError) as exc:
        return getattr(exc, "strerror", None) or str(exc)
    fh = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        fh.close()
        return "not a regular file (a device, pipe, socket or folder)"
    return fh


def evidence_files(case_dir: Path, pdf: Path | None = None) -> list[str]:
    """Every file of the case folder that could be evidence, relative posix paths.

    All files except the case's own: case.yaml, entries/, build/, theme/, hidden
    files and folders at any depth (.git, .itaoreport, .schema, ...), Thumbs.db and
    desktop.ini, and the folder holding the PDF when it is inside the case. Folder
    links are not walked into; a file link is listed (verify then refuses to read it
    if it leads out of the case).
    """
    root = case_dir.resolve()
    skip_dirs = set()
    if pdf is not None:
        try:
            skip_dirs.add(pdf.resolve().parent)
        except (OSError, RuntimeError):
            pass
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        top = here == root
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and not (top and d in CASE_OWN) and here / d not in skip_dirs)
        for name in sorted(files):
            if name.startswith(".") or name in SYSTEM_LITTER or (top and name in CASE_OWN):
                continue
            found.append((here / name).relative_to(root).as_posix())
            if len(found) > MAX_CASE_FILES:
                raise VerifyError(f"{case_dir}: more than {MAX_CASE_FILES:,} files; is this "
                                  "really a case folder?")
    return found

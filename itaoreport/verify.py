"""`itaoreport verify`: check evidence files against the manifest embedded in report.pdf.

The PDF carries report.json (with the SHA-256 and size of every evidence file) as
an attachment. Reading it needs a PDF parser at run time: pypdf, because it is
pure Python (no compiler, installs everywhere WeasyPrint does), well maintained,
and reads embedded files with one call.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

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

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.added)

    def lines(self) -> list[str]:
        head = f"{self.pdf}: report fingerprint {self.fingerprint[:16]} (see the page footer)"
        if self.ok:
            return [head, f"OK: all {self.checked} evidence files in {self.case_dir} match"]
        lines = [head]
        lines += [f"{self.case_dir / p}: changed (SHA-256 differs from the report)"
                  for p in self.changed]
        lines += [f"{self.case_dir / p}: missing" for p in self.missing]
        lines += [f"{self.case_dir / p}: added (not in the report)" for p in self.added]
        problems = len(self.changed) + len(self.missing) + len(self.added)
        lines.append(f"FAILED: {problems} of the evidence files differ from the report")
        return lines


def read_manifest(pdf: Path) -> tuple[dict, bytes]:
    """The report.json embedded in a report.pdf, parsed, and its bytes."""
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        attachments = PdfReader(pdf).attachments
        data = attachments.get("report.json", [None])[0]
    except (OSError, PyPdfError, ValueError, KeyError) as exc:
        raise VerifyError(f"{pdf}: cannot read the PDF ({exc})") from None
    if data is None:
        raise VerifyError(f"{pdf}: no embedded report.json; was it made by itaoreport build?")
    try:
        return json.loads(data), data
    except ValueError as exc:
        raise VerifyError(f"{pdf}: the embedded report.json is damaged ({exc})") from None


def verify_report(pdf: Path, case_dir: Path | None = None) -> Outcome:
    """Compare every evidence file in case_dir (default: as recorded) with the manifest."""
    report, data = read_manifest(pdf)
    if case_dir is None:
        case_dir = pdf.parent / report.get("case_dir", "..")
    if not case_dir.is_dir():
        raise VerifyError(f"{case_dir}: no such case folder; give it as "
                          "`itaoreport verify REPORT.pdf CASE_DIR`")
    _check_same_order(report, case_dir)
    outcome = Outcome(pdf, case_dir, hashlib.sha256(data).hexdigest())
    expected = {a["path"]: a["sha256"] for a in report.get("attachments", [])}
    for path, sha in sorted(expected.items()):
        outcome.checked += 1
        try:
            actual = _sha256(case_dir / path)
        except OSError:
            outcome.missing.append(path)
            continue
        if actual != sha:
            outcome.changed.append(path)
    outcome.added = sorted(set(_evidence_files(case_dir, expected)) - set(expected))
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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _evidence_files(case_dir: Path, expected: dict[str, str]) -> list[str]:
    """Files in the case's evidence folders: the top folders that hold listed evidence
    (e.g. screenshots/), searched recursively; hidden files and folders are skipped."""
    tops = {PurePosixPath(p).parts[0] for p in expected if len(PurePosixPath(p).parts) > 1}
    found = []
    for top in sorted(tops):
        for path in (case_dir / top).rglob("*"):
            rel = path.relative_to(case_dir)
            if path.is_file() and not any(part.startswith(".") for part in rel.parts):
                found.append(rel.as_posix())
    return found

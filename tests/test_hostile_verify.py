"""`verify` treats the manifest in a PDF as untrusted input (issue #14 part 4).

The PDFs here are made with pypdf: a blank page and an embedded report.json
written by the test, as someone crafting a report would.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
from pathlib import Path

import pytest
from conftest import png_bytes, write_case
from hostile_support import (
    assert_clean_failure,
    assert_clean_subprocess_failure,
    run_cli,
    run_subprocess,
)

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX links and pipes")
DAMAGED = "the manifest is damaged or not made by itaoreport, so nothing was checked"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def crafted_pdf(path: Path, manifest: object | bytes) -> Path:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(72, 72)
    data = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
    writer.add_attachment("report.json", data)
    buf = io.BytesIO()
    writer.write(buf)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())
    return path


def manifest(*files: tuple[str, bytes], **extra: object) -> dict:
    return {"format": 1, "case_dir": "..", **extra,
            "attachments": [{"path": p, "sha256": sha(d), "size": len(d)} for p, d in files]}


SHOT = png_bytes()


@pytest.fixture
def case(tmp_path: Path) -> Path:
    return write_case(tmp_path / "case", files={"screenshots/a.png": SHOT,
                                                 "emails/reply.eml": b"From: seller"})


def test_a_true_manifest_is_ok(case: Path):
    pdf = crafted_pdf(case / "build" / "report.pdf", manifest(
        ("screenshots/a.png", SHOT), ("emails/reply.eml", b"From: seller")))
    result = run_cli("verify", pdf)
    assert result.exit_code == 0, result.output
    assert "OK: all 2 evidence files" in result.output


# -- the examples --------------------------------------------------------------------------

def test_a_path_out_of_the_case_is_refused_not_hashed(case: Path, tmp_path: Path):
    """`../../../etc/hostname` with its real hash was "OK": a hash oracle for any file."""
    secret = tmp_path / "hostname"
    secret.write_bytes(b"victim-machine\n")
    for path in ("../hostname", "../../../etc/hostname", "screenshots/../../hostname"):
        pdf = crafted_pdf(case / "build" / "report.pdf",
                          manifest(("screenshots/a.png", SHOT), (path, b"victim-machine\n")))
        out = assert_clean_failure(run_cli("verify", pdf), DAMAGED, "has `..`")
        assert "OK" not in out


@pytest.mark.parametrize("path", ["/etc/hostname", "/dev/zero", "C:/Windows/win.ini",
                                  "\\\\server\\share\\x.png"])
def test_absolute_paths_are_refused(case: Path, path: str):
    pdf = crafted_pdf(case / "build" / "report.pdf", manifest((path, b"x")))
    assert_clean_failure(run_cli("verify", pdf), DAMAGED, "an absolute path")


@posix_only
def test_dev_zero_and_fifos_are_never_read(case: Path):
    """/dev/zero hung verify; a link to it or a FIFO under a listed name now ends at once."""
    (case / "screenshots" / "zero.png").symlink_to("/dev/zero")
    os.mkfifo(case / "screenshots" / "pipe.png")
    pdf = crafted_pdf(case / "build" / "report.pdf", manifest(
        ("screenshots/a.png", SHOT), ("screenshots/zero.png", b"x"),
        ("screenshots/pipe.png", b"x")))
    proc = run_subprocess("verify", pdf, timeout=30)
    assert_clean_subprocess_failure(proc, "zero.png: refused: a link that points outside",
                                    "pipe.png: refused: not a regular file")
    assert "FAILED" in proc.stderr


def test_case_dir_in_the_manifest_is_never_walked(case: Path, tmp_path: Path):
    """`case_dir: "/"` walked the whole disk; the folder walked is the one given, or CASE."""
    (tmp_path / "elsewhere.png").write_bytes(b"not in the case")
    pdf = crafted_pdf(case / "build" / "report.pdf",
                      manifest(("screenshots/a.png", SHOT), case_dir="/"))
    out = assert_clean_failure(run_cli("verify", pdf), "emails/reply.eml: added")
    assert "elsewhere.png" not in out and "/etc" not in out
    loose = crafted_pdf(tmp_path / "loose" / "report.pdf",
                        manifest(("screenshots/a.png", SHOT), case_dir="/"))
    assert_clean_failure(run_cli("verify", loose), "give the case folder")
    assert run_cli("verify", loose, case).exit_code == 1  # emails/reply.eml is not listed


def test_an_empty_manifest_against_a_case_with_evidence_fails_listing_every_file(case: Path):
    """`attachments: []` said "OK: all 0 evidence files match"."""
    pdf = crafted_pdf(case / "build" / "report.pdf", manifest())
    out = assert_clean_failure(run_cli("verify", pdf), "screenshots/a.png: added",
                               "emails/reply.eml: added", "FAILED: 2 of the evidence files")
    added = [line for line in out.splitlines() if line.endswith("added (not in the report)")]
    assert len(added) == 2


# -- more of each class --------------------------------------------------------------------------

@posix_only
def test_a_link_out_of_the_case_is_refused_whether_or_not_the_hash_matches(case: Path,
                                                                         tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"password")
    (case / "screenshots" / "b.png").symlink_to(secret)
    outputs = []
    for guess in (b"password", b"wrong guess"):
        pdf = crafted_pdf(case / "build" / "report.pdf", manifest(
            ("screenshots/a.png", SHOT), ("emails/reply.eml", b"From: seller"),
            ("screenshots/b.png", guess)))
        outputs.append(assert_clean_failure(
            run_cli("verify", pdf), "b.png: refused: a link that points outside")
            .split("\n", 1)[1])  # after the fingerprint line
    assert outputs[0] == outputs[1]  # nothing tells whether the guess was right


def test_files_in_folders_the_manifest_never_names_are_added(case: Path):
    (case / "notes" / "deep").mkdir(parents=True)
    (case / "notes" / "deep" / "new.pdf").write_bytes(b"%PDF")
    (case / ".git").mkdir()
    (case / ".git" / "HEAD").write_bytes(b"ref")
    (case / "theme").mkdir()
    (case / "theme" / "report.css").write_bytes(b"body{}")
    pdf = crafted_pdf(case / "build" / "report.pdf", manifest(
        ("screenshots/a.png", SHOT), ("emails/reply.eml", b"From: seller")))
    out = assert_clean_failure(run_cli("verify", pdf), "notes/deep/new.pdf: added",
                               "FAILED: 1 of the evidence files")
    assert ".git" not in out and "theme" not in out


DAMAGED_MANIFESTS = [
    (b"[1, 2]", "top level: not a JSON object"),
    (b"\xff\xfe not utf-8", "damaged"),
    (b"[" * 100_000 + b"]" * 100_000, "damaged"),
    (b'{"format": 1, "attachments": [' + b"1" * 5000 + b"]}", "damaged"),
    ({"format": 2, "attachments": []}, "this itaoreport reads format 1"),
    ({"generator": "other tool", "files": []}, "format"),
    ({"format": 1}, "attachments: missing or not a list"),
    ({"format": 1, "attachments": {"a": 1}}, "attachments: missing or not a list"),
    ({"format": 1, "attachments": ["screenshots/a.png"]}, "attachments[0]: not a JSON object"),
    ({"format": 1, "attachments": [{"path": 5, "sha256": "0" * 64}]}, "missing or not text"),
    ({"format": 1, "attachments": [{"path": "a.png", "sha256": "XYZ"}]}, "not a SHA-256"),
    ({"format": 1, "attachments": [{"path": "a.png", "sha256": "0" * 64, "size": -1}]},
     "not a whole number"),
    ({"format": 1, "attachments": [{"path": "a.png", "sha256": "0" * 64, "size": True}]},
     "not a whole number"),
    ({"format": 1, "attachments": [{"path": "a.png", "sha256": "0" * 64}] * 2}, "listed twice"),
    ({"format": 1, "attachments": [{"path": "screenshots/./a.png", "sha256": "0" * 64}]},
     "has `..`"),
    ({"format": 1, "attachments": [{"path": "screenshots//a.png", "sha256": "0" * 64}]},
     "has `..`"),
    ({"format": 1, "attachments": [{"path": "a\x00.png", "sha256": "0" * 64}]},
     "control characters"),
    ({"format": 1, "attachments": [{"path": "x" * 1001, "sha256": "0" * 64}]},
     "the limit is 1,000"),
    ({"format": 1, "attachments": [{"path": "a.png", "sha256": "0" * 64}] * 0
      + [{"path": f"f{n}.png", "sha256": "0" * 64} for n in range(5001)]}, "the limit is 5,000"),
]


@pytest.mark.parametrize("data, message", DAMAGED_MANIFESTS,
                         ids=[str(n) for n in range(len(DAMAGED_MANIFESTS))])
def test_a_damaged_or_foreign_manifest_is_a_named_error(case: Path, data: object, message: str):
    pdf = crafted_pdf(case / "build" / "report.pdf", data)
    out = assert_clean_failure(run_cli("verify", pdf), message)
    assert "OK" not in out and "internal error" not in out


@posix_only
def test_the_pdf_itself_must_be_a_regular_file(tmp_path: Path):
    fifo = tmp_path / "report.pdf"
    os.mkfifo(fifo)
    proc = run_subprocess("verify", fifo, tmp_path, timeout=30)
    assert_clean_subprocess_failure(proc, "not a regular file")
    proc = run_subprocess("verify", "/dev/zero", tmp_path, timeout=30)
    assert_clean_subprocess_failure(proc, "not a regular file")


def test_a_file_that_is_not_a_pdf_is_a_named_error(tmp_path: Path):
    junk = tmp_path / "report.pdf"
    junk.write_bytes(b"%PDF-1.7\n" + os.urandom(2000))
    assert_clean_failure(run_cli("verify", junk, tmp_path), "cannot read the PDF")

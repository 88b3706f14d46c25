"""Nothing lost: evidence never changes, a failed build keeps the last good report.

Also: output folders that would mix the report with evidence are refused, a
case cannot redirect writes through links, and an unexpected internal error
ends in a short message with a hint to report it (exit 1, no traceback).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from conftest import ENTRY_YAML, png_bytes, write_case
from hostile_support import assert_clean_failure, digest_tree, file_outside, run_cli

from itaoreport.cli import main
from itaoreport.errors import BuildFailed

FAST = "html,json,txt,csv"
LONG_RUNNING = {"watch", "serve"}
"""Commands that run until interrupted; they call the same build() checked here."""

WITH_SHOT = ENTRY_YAML + "attachments: [s/x.png]\n"
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX links")


def case_files(case: Path) -> dict[str, str]:
    """Hashes of every file of the case outside its build/ output."""
    return {name: digest for name, digest in digest_tree(case).items()
            if not name.startswith("build/")}


GENERATED = (".schema/",)
"""Case files that commands own and may refresh (JSON Schemas for editors), never evidence."""


def invocations(case: Path, tmp_path: Path) -> list[list[str]]:
    """Every command a user can run on a case, with the options that write something."""
    log = tmp_path / "log.csv"
    log.write_text("Timestamp,Communication Channel,Sender,Summary / Key Quote\n"
                   "2023-11-03 10:00,Email,me,Asked for a refund again.\n"
                   "2023-10-26 14:30,Email,me,Asked for tracking.\n", encoding="utf-8")
    picture = tmp_path / "Screenshot_20231103-100000.png"
    picture.write_bytes(png_bytes(colour="navy"))
    mail = tmp_path / "mail.eml"
    mail.write_bytes(b"From: ShopCo <shop@shopco.example>\nTo: me@example.org\n"
                     b"Subject: Your refund\nDate: Fri, 03 Nov 2023 10:00:00 +0100\n"
                     b"Message-ID: <r1@shopco.example>\n\nRefund approved.\n")
    return [
        ["validate", str(case)],
        ["validate", "--strict", str(case)],
        ["build", str(case)],
        ["verify", str(case / "build" / "report.pdf")],
        ["build", str(case), "--format", FAST, "-o", str(tmp_path / "elsewhere")],
        ["init", str(case)],
        ["schema"],
        ["new", str(case), "--at", "2023-10-27 09:15"],  # the same minute as an existing entry
        ["import", str(log), str(case)],
        ["import", str(log), str(case)],  # a second time: nothing new
        ["dedupe", str(case / "screenshots")],
        ["dedupe", "--json", str(case)],
        ["add", str(case), str(picture), "--dry-run"],
        ["add", str(case), str(picture)],
        ["add", str(case), str(picture)],  # a second time: already attached, nothing new
        ["import", str(mail), str(case)],
        ["import", str(mail), str(case)],  # a second time: nothing new
    ]


def test_every_command_is_covered_here(tmp_path: Path):
    """A new command must be added to invocations() (or LONG_RUNNING) before it ships.

    Enumerated from the click group itself, so a command added to cli.py without a
    case in invocations() fails here, as does one missing from the link test
    (tests/test_hostile_case_writes.py uses the same invocations()).
    """
    covered = {args[0] for args in invocations(tmp_path / "case", tmp_path)} | LONG_RUNNING
    missing = set(main.commands) - covered
    assert not missing, f"commands with no case in invocations(): {sorted(missing)}"


def test_no_command_changes_any_evidence_file(warm_sample_copy: Path, tmp_path: Path):
    """Commands may add files (new, import) and refresh generated ones, never change evidence."""
    def evidence() -> dict[str, str]:
        return {name: digest for name, digest in case_files(warm_sample_copy).items()
                if not name.startswith(GENERATED)}

    before = evidence()
    stats = {p: p.stat().st_mtime_ns for p in warm_sample_copy.rglob("*")
             if p.is_file() and not p.relative_to(warm_sample_copy).as_posix().startswith(
                 ("build/", ".itaoreport/", *GENERATED))}  # output and the tool's caches
    for args in invocations(warm_sample_copy, tmp_path):
        result = run_cli(*args)
        assert result.exit_code in (0, 1), (args, result.output)
        assert isinstance(result.exception, (SystemExit, type(None))), (args, result.exception)
        now = evidence()
        assert {name: now.get(name) for name in before} == before, args
    assert {p: p.stat().st_mtime_ns for p in stats} == stats
    added = set(evidence()) - set(before)
    # new entries, and what `add` and e-mail import bring in (copies, messages, attachments)
    assert all(name.startswith(("entries/", "screenshots/", "attachments/")) for name in added), \
        added


def test_failed_pdf_keeps_the_last_good_report(warm_sample_copy: Path,
                                                monkeypatch: pytest.MonkeyPatch):
    assert run_cli("build", warm_sample_copy).exit_code == 0
    good = digest_tree(warm_sample_copy / "build")
    assert "report.pdf" in good
    entry = next((warm_sample_copy / "entries").glob("*seller*"))
    entry.write_text(entry.read_text(encoding="utf-8").replace("Please wait.", "Wait!"),
                     encoding="utf-8")

    def failing_pdf(*args, **kwargs):
        raise BuildFailed("PDF rendering failed: simulated")

    from itaoreport.render import fit

    monkeypatch.setattr(fit, "render_document", failing_pdf)
    assert_clean_failure(run_cli("build", warm_sample_copy), "PDF rendering failed: simulated")
    assert digest_tree(warm_sample_copy / "build") == good
    assert not [p for p in (warm_sample_copy / "build").rglob("*") if p.name.endswith(".tmp")]


def test_crash_during_pdf_is_an_internal_error_and_keeps_the_report(
        warm_sample_copy: Path, monkeypatch: pytest.MonkeyPatch):
    assert run_cli("build", warm_sample_copy, "--format", "html,pdf").exit_code == 0
    good = digest_tree(warm_sample_copy / "build")

    def crashing_pdf(*args, **kwargs):
        raise RuntimeError("simulated crash in the renderer")

    from itaoreport.render import fit

    monkeypatch.setattr(fit, "render_document", crashing_pdf)
    monkeypatch.delenv("ITAOREPORT_DEBUG", raising=False)
    result = run_cli("build", warm_sample_copy, "--format", "html,pdf")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "internal error: RuntimeError: simulated crash in the renderer" in result.output
    assert "this is a bug in itaoreport; please report it" in result.output
    assert "Traceback" not in result.output
    assert digest_tree(warm_sample_copy / "build") == good


@pytest.mark.parametrize("stage", ["itaoreport.build.gather_evidence",
                                   "itaoreport.case.validate.load_case"])
def test_unexpected_exception_in_a_stage_is_reported_briefly(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stage: str):
    case = write_case(tmp_path / "case")

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(stage, boom)
    monkeypatch.delenv("ITAOREPORT_DEBUG", raising=False)
    command = "validate" if stage.endswith("load_case") else "build"
    result = run_cli(command, case)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.output.splitlines()[-2:] == [
        "internal error: RuntimeError: boom",
        ("this is a bug in itaoreport; please report it with the command you ran "
         "(set ITAOREPORT_DEBUG=1 to see the traceback)"),
    ]
    monkeypatch.setenv("ITAOREPORT_DEBUG", "1")
    assert "Traceback" in run_cli(command, case).output
    assert not (case / "build").exists()


def test_failure_while_writing_keeps_the_whole_previous_set(
        warm_sample_copy: Path, monkeypatch: pytest.MonkeyPatch):
    assert run_cli("build", warm_sample_copy, "--format", FAST).exit_code == 0
    good = digest_tree(warm_sample_copy / "build")
    (warm_sample_copy / "case.yaml").write_text(
        (warm_sample_copy / "case.yaml").read_text(encoding="utf-8").replace("Alex", "Alexa"),
        encoding="utf-8")
    from itaoreport import write

    real_stage, calls = write._stage, []

    def disk_full_on_second(path: Path, data: bytes) -> str:
        calls.append(path.name)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_stage(path, data)

    monkeypatch.setattr(write, "_stage", disk_full_on_second)
    assert_clean_failure(run_cli("build", warm_sample_copy, "--format", FAST),
                         "No space left on device")
    assert len(calls) == 2  # the first new file was already complete on disk
    assert digest_tree(warm_sample_copy / "build") == good
    assert not [p for p in (warm_sample_copy / "build").rglob("*") if p.name.endswith(".tmp")]


def test_broken_image_after_a_good_build_keeps_the_report(tmp_path: Path):
    case = write_case(tmp_path / "case", entries={"a.yaml": WITH_SHOT},
                      files={"s/x.png": png_bytes()})
    assert run_cli("build", case, "--format", FAST).exit_code == 0
    good = digest_tree(case / "build")
    (case / "s" / "x.png").write_bytes(png_bytes()[:50])
    assert_clean_failure(run_cli("build", case, "--format", FAST),
                         "entries/a.yaml:5:15: error: attachment 's/x.png'")
    assert digest_tree(case / "build") == good


# -- where a report may be written ---------------------------------------------------------

@pytest.mark.parametrize("out, message", [
    (".", "cannot be the case folder itself"),
    ("s", "contains evidence (s/x.png)"),
    ("entries", "contains evidence (entries/a.yaml)"),
    ("..", "contains the case folder"),
])
def test_output_folder_mixing_report_and_evidence_is_refused(tmp_path: Path, out: str,
                                                             message: str):
    case = write_case(tmp_path / "case", entries={"a.yaml": WITH_SHOT},
                      files={"s/x.png": png_bytes()})
    before = digest_tree(tmp_path)
    assert_clean_failure(run_cli("build", case, "-o", case / out, "--format", FAST), message)
    assert digest_tree(tmp_path) == before


@posix_only
def test_generated_schema_files_are_not_written_through_links(tmp_path: Path):
    victim = file_outside(tmp_path, "victim.json", "the user's own file")
    case = write_case(tmp_path / "case")
    (case / ".schema").mkdir()
    for name in ("case.schema.json", "entry.schema.json"):
        (case / ".schema" / name).symlink_to(victim)
    assert run_cli("new", case, "--at", "2023-10-27 09:15").exit_code == 0
    assert victim.read_text(encoding="utf-8") == "the user's own file"
    assert not (case / ".schema" / "case.schema.json").is_symlink()

    shutil.rmtree(case / ".schema")
    (case / ".schema").symlink_to(tmp_path)
    assert_clean_failure(run_cli("new", case, "--at", "2023-10-27 09:16"),
                         ".schema: error: is a link that points outside the case folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case", "victim.json"]


@posix_only
def test_build_folder_linking_out_of_the_case_is_refused(tmp_path: Path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "report.html").write_text("the user's own file", encoding="utf-8")
    case = write_case(tmp_path / "case")
    (case / "build").symlink_to(victim)
    assert_clean_failure(run_cli("build", case, "--format", FAST),
                         "is a link that points outside the case folder")
    assert (victim / "report.html").read_text(encoding="utf-8") == "the user's own file"
    assert sorted(p.name for p in victim.iterdir()) == ["report.html"]


@posix_only
def test_links_inside_the_output_folder_are_not_written_through(tmp_path: Path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("keep", encoding="utf-8")
    secret = file_outside(tmp_path, "secret.json", "{}")
    case = write_case(tmp_path / "case", entries={"a.yaml": WITH_SHOT},
                      files={"s/x.png": png_bytes()})
    (case / "build").mkdir()
    (case / "build" / "assets").symlink_to(victim)
    assert_clean_failure(run_cli("build", case, "--format", "html"),
                         "is a link that points outside the output folder")
    assert sorted(p.name for p in victim.iterdir()) == ["keep.txt"]

    (case / "build" / "assets").unlink()
    (case / "build" / "report.json").symlink_to(secret)
    assert run_cli("build", case, "--format", FAST).exit_code == 0
    assert secret.read_text(encoding="utf-8") == "{}"  # the link was replaced, not followed
    assert not os.path.islink(case / "build" / "report.json")

"""The command line through click's CliRunner: exit codes and messages, never a traceback."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from conftest import ENTRY_YAML, write_case

from itaoreport.cli import main


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_init_creates_a_valid_case_and_refuses_to_overwrite(tmp_path: Path):
    case = tmp_path / "new-case"
    result = run("init", case)
    assert result.exit_code == 0, result.output
    assert (case / "case.yaml").is_file() and (case / "screenshots").is_dir()
    assert "build/" in (case / ".gitignore").read_text()
    assert run("validate", case).exit_code == 0
    before = (case / "case.yaml").read_bytes()
    again = run("init", case)
    assert again.exit_code == 1
    assert "already a case (it has case.yaml); nothing was changed" in again.output
    assert (case / "case.yaml").read_bytes() == before


def test_validate_reports_count_and_exit_1(tmp_path: Path):
    write_case(tmp_path, entries={"a.yaml": ENTRY_YAML.replace("sender: me\n", "")})
    result = run("validate", tmp_path)
    assert result.exit_code == 1
    assert "entries/a.yaml:1:1: error: missing required field `sender`" in result.output
    assert "1 error, 0 warnings" in result.output
    assert "Traceback" not in result.output


def test_validate_strict_fails_on_warnings(tmp_path: Path):
    write_case(tmp_path, entries={"a.yaml": ENTRY_YAML + "colour: red\n"})
    assert run("validate", tmp_path).exit_code == 0
    strict = run("validate", "--strict", tmp_path)
    assert strict.exit_code == 1
    assert "warning: unknown field `colour`" in strict.output


def test_build_with_errors_writes_nothing(tmp_path: Path):
    write_case(tmp_path, entries={"a.yaml": "timestamp: 2023-13-01\n"})
    result = run("build", tmp_path)
    assert result.exit_code == 1
    assert "there is no month 13" in result.output
    assert "nothing was written" in result.output
    assert not (tmp_path / "build").exists()


def test_build_formats_limit_outputs(tmp_path: Path):
    write_case(tmp_path)
    out = tmp_path / "out"
    result = run("build", tmp_path, "-o", out, "--format", "json,csv,txt")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["log.csv", "report.json", "summary.txt"]


def test_usage_errors_exit_2(tmp_path: Path):
    assert run("build", tmp_path, "--format", "docx").exit_code == 2
    assert run("no-such-command").exit_code == 2


def test_output_folder_cannot_be_the_case_folder(tmp_path: Path):
    write_case(tmp_path)
    result = run("build", tmp_path, "-o", tmp_path, "--format", "json")
    assert result.exit_code == 1
    assert "cannot be the case folder" in result.output

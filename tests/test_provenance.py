"""Git provenance: when each case file was first committed, and whether it changed after."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ENTRY_YAML, png_bytes, write_case

from itaoreport.build import BuildOptions, build
from itaoreport.evidence import provenance
from itaoreport.evidence.provenance import git_provenance

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git(repo: Path, *args: str, when: str = "2023-10-26T14:30:00+02:00") -> None:
    env = {**os.environ, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when,
           "GIT_AUTHOR_NAME": "Alex", "GIT_AUTHOR_EMAIL": "alex@example.invalid",
           "GIT_COMMITTER_NAME": "Alex", "GIT_COMMITTER_EMAIL": "alex@example.invalid",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "-C", str(repo), *args], check=True, env=env, capture_output=True)


def commit(repo: Path, message: str, when: str) -> None:
    git(repo, "add", "-A", when=when)
    git(repo, "commit", "-q", "-m", message, when=when)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with the case in a sub-folder, three commits on known dates."""
    git(tmp_path, "init", "-q")
    case = tmp_path / "my case"
    (case / "entries").mkdir(parents=True)
    (case / "screenshots").mkdir()
    (case / "entries/2023-10-26-1430-asked.yaml").write_text("summary: Asked.\n")
    (case / "screenshots/chat.png").write_bytes(b"\x89PNG one")
    commit(tmp_path, "asked", "2023-10-26T14:35:00+02:00")
    (case / "entries/2023-10-27-0915-promised.yaml").write_text("summary: Promised.\n")
    (case / "entries/über straße.yaml").write_text("summary: Unicode name.\n")
    commit(tmp_path, "promised", "2023-10-27T09:20:00+02:00")
    (case / "entries/2023-10-26-1430-asked.yaml").write_text("summary: Asked for tracking.\n")
    commit(tmp_path, "reworded", "2023-11-01T10:00:00+01:00")
    return case


FILES = ["entries/2023-10-26-1430-asked.yaml", "entries/2023-10-27-0915-promised.yaml",
         "entries/über straße.yaml", "screenshots/chat.png"]


def test_first_recorded_comes_from_the_commit_that_added_the_file(repo):
    found = git_provenance(repo, FILES)
    assert found is not None
    asked, promised, unicode_name, shot = (found[f] for f in FILES)
    assert asked.first_recorded == "2023-10-26T14:35:00+02:00"
    assert promised.first_recorded == "2023-10-27T09:20:00+02:00"
    assert unicode_name.first_recorded == promised.first_recorded
    assert shot.first_commit == asked.first_commit and len(asked.first_commit) == 40
    assert [found[f].modified_after for f in FILES] == [True, False, False, False]
    assert not any(found[f].uncommitted for f in FILES)


def test_working_tree_changes_and_new_files_are_marked_uncommitted(repo):
    (repo / "screenshots/chat.png").write_bytes(b"\x89PNG edited")
    (repo / "screenshots/new.png").write_bytes(b"\x89PNG new")
    found = git_provenance(repo, FILES + ["screenshots/new.png"])
    assert found["screenshots/chat.png"].uncommitted is True
    assert found["screenshots/chat.png"].modified_after is False
    assert found["screenshots/new.png"].as_json() == {
        "first_commit": None, "first_recorded": None, "modified_after": False,
        "uncommitted": True}
    assert found["entries/2023-10-27-0915-promised.yaml"].uncommitted is False


def test_a_file_changed_and_changed_back_is_not_modified(repo):
    path = repo / "entries/2023-10-27-0915-promised.yaml"
    original = path.read_text()
    path.write_text("summary: Something else.\n")
    commit(repo.parent, "oops", "2023-11-02T10:00:00+01:00")
    path.write_text(original)
    commit(repo.parent, "revert", "2023-11-02T10:05:00+01:00")
    found = git_provenance(repo, ["entries/2023-10-27-0915-promised.yaml"])
    assert found["entries/2023-10-27-0915-promised.yaml"].modified_after is False


def test_the_whole_case_costs_one_git_log(repo, monkeypatch):
    calls = []
    real_run = subprocess.run

    def counting_run(args, **kwargs):
        calls.append(args)
        return real_run(args, **kwargs)

    monkeypatch.setattr(provenance.subprocess, "run", counting_run)
    git_provenance(repo, FILES * 50)
    # config (filter drivers to disable, see provenance._filter_overrides), rev-parse, log, status
    assert len(calls) == 4 and sum("log" in call for call in calls) == 1


def test_outside_a_repository_there_is_no_provenance(tmp_path):
    (tmp_path / "case").mkdir()
    assert git_provenance(tmp_path / "case", ["case.yaml"]) is None


def test_without_git_there_is_no_provenance_and_nothing_fails(repo, monkeypatch):
    monkeypatch.setenv("PATH", str(repo))
    assert git_provenance(repo, FILES) is None


def test_a_repository_without_commits_marks_everything_uncommitted(tmp_path):
    git(tmp_path, "init", "-q")
    (tmp_path / "case.yaml").write_text("title: x\n")
    found = git_provenance(tmp_path, ["case.yaml"])
    assert found == {"case.yaml": provenance.Provenance(None, None, False, True)}


def test_a_shallow_clone_gives_no_provenance(repo, tmp_path):
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo.parent}", str(clone))
    assert git_provenance(clone / "my case", FILES) is None


def test_report_json_and_appendix_carry_provenance_in_a_repository(tmp_path):
    case = write_case(tmp_path / "case", entries={
        "2023-10-26-1430-asked.yaml": ENTRY_YAML + "attachments: [screenshots/a.png]\n",
        "2023-10-27-0915-replied.yaml": ENTRY_YAML.replace("14:30", "09:15").replace(
            "2023-10-26", "2023-10-27")},
        files={"screenshots/a.png": png_bytes(text="a")})
    git(tmp_path, "init", "-q")
    commit(tmp_path, "first", "2023-10-26T15:00:00+02:00")
    replied = case / "entries/2023-10-27-0915-replied.yaml"
    replied.write_text(replied.read_text().replace("Asked for tracking.", "Asked again."))
    commit(tmp_path, "edit", "2023-10-28T08:00:00+02:00")
    (case / "entries/2023-10-29-1000-new.yaml").write_text(
        ENTRY_YAML.replace("2023-10-26", "2023-10-29"))

    build(case, BuildOptions(formats=("json", "html")))
    report = json.loads((case / "build/report.json").read_text())
    by_id = {e["id"]: e["provenance"] for e in report["entries"]}
    assert by_id["2023-10-26-1430-asked"]["first_recorded"] == "2023-10-26T15:00:00+02:00"
    assert [by_id[i]["modified_after"] for i in sorted(by_id)] == [False, True, False]
    assert by_id["2023-10-29-1000-new"]["uncommitted"] is True
    assert by_id["2023-10-29-1000-new"]["first_commit"] is None
    [shot] = report["attachments"]
    assert shot["provenance"]["first_recorded"] == "2023-10-26T15:00:00+02:00"
    html = (case / "build/report.html").read_text()
    assert "When each file was recorded (git)" in html
    assert "2023-10-26 15:00 +02:00" in html and "changed later" in html
    assert "not committed" in html and "committer" in html


def test_without_git_the_report_has_no_provenance(tmp_path):
    case = write_case(tmp_path / "case")
    build(case, BuildOptions(formats=("json", "html")))
    report = json.loads((case / "build/report.json").read_text())
    assert "provenance" not in report["entries"][0]
    assert "recorded (git)" not in (case / "build/report.html").read_text()

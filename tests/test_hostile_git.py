"""A case folder that is a git repository with a hostile .git/config runs nothing.

Builds ask git when each file was first recorded. Settings in the case's own
.git/config could make those read-only commands run programs: core.fsmonitor
(run by `git status`), a clean filter named in .gitattributes (run for files
whose timestamps changed), gpg.program with log.showSignature. None may run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import write_case
from hostile_support import run_cli

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(case: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    subprocess.run(["git", "-c", "user.name=T", "-c", "user.email=t@example.invalid",
                    "-c", "commit.gpgsign=false", "-C", str(case), *args],
                   check=True, capture_output=True, env=env)


def test_hostile_git_config_runs_nothing_and_provenance_still_works(tmp_path: Path):
    case = write_case(tmp_path / "case")
    git(case, "init", "-q")
    git(case, "add", "-A")
    git(case, "commit", "-q", "-m", "evidence")
    marker = tmp_path / "ran"
    command = f"touch {marker}-$0; cat"
    git(case, "config", "core.fsmonitor", f"touch {marker}-fsmonitor; false")
    git(case, "config", "filter.evil.clean", command.replace("$0", "clean"))
    git(case, "config", "filter.evil.smudge", command.replace("$0", "smudge"))
    git(case, "config", "filter.with.dots.clean", command.replace("$0", "dots"))
    git(case, "config", "log.showSignature", "true")
    git(case, "config", "gpg.program", f"touch {marker}-gpg")
    (case / ".gitattributes").write_text("*.yaml filter=evil\ncase.yaml filter=with.dots\n",
                                         encoding="utf-8")
    for path in [case / "case.yaml", *(case / "entries").iterdir()]:
        os.utime(path)  # a changed timestamp makes git status re-read (and filter) the file

    result = run_cli("build", case, "--format", "json")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case"], "a git setting ran a program"
    report = json.loads((case / "build" / "report.json").read_text(encoding="utf-8"))
    [entry] = report["entries"]
    assert entry["provenance"]["first_commit"], entry
    assert entry["provenance"]["uncommitted"] is False

"""Names mean exactly one file (issue #14 part 6), and file names that are not UTF-8 (part 7).

Attachment paths are taken exactly as written; editor-litter rules apply to file
names only, and every YAML file that is not read as an entry is reported.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pytest
from conftest import ENTRY_YAML, png_bytes, write_case
from hostile_support import assert_clean_failure, run_cli

from itaoreport.case.validate import load_case
from itaoreport.watch import case_change

posix_only = pytest.mark.skipif(sys.platform == "win32",
                                reason="file names with backslashes or trailing spaces need POSIX")
A, B = png_bytes(colour="white", text="A"), png_bytes(colour="yellow", text="B")


def entry_with(path: str) -> str:
    return ENTRY_YAML + f"attachments:\n  - {json.dumps(path)}\n"


def report_attachments(case: Path) -> dict[str, str]:
    assert run_cli("build", case, "--format", "json").exit_code == 0
    data = json.loads((case / "build" / "report.json").read_text(encoding="utf-8"))
    return {a["path"]: a["sha256"] for a in data["attachments"]}


# -- attachment paths, exactly as written ---------------------------------------------------------

@pytest.mark.parametrize("written, hint", [
    ("screenshots/shot.png ", "did you mean 'screenshots/shot.png' (without the spaces"),  # issue
    (" screenshots/shot.png", "did you mean 'screenshots/shot.png' (without the spaces"),
    ("screenshots/shot.png\u00a0", "did you mean 'screenshots/shot.png' (without the spaces"),
    ("screenshots/sub\\b.png", "did you mean 'screenshots/sub/b.png' (with / between"),  # issue
    ("screenshots\\shot.png", "did you mean 'screenshots/shot.png' (with / between"),
    ("screenshots\\sub\\b.png ", "did you mean 'screenshots/sub/b.png' (trimmed, with /"),
])
def test_a_path_that_is_not_exactly_a_file_is_a_located_error_with_a_hint(
        tmp_path: Path, written: str, hint: str):
    case = write_case(tmp_path / "case", entries={"a.yaml": entry_with(written)},
                      files={"screenshots/shot.png": A, "screenshots/sub/b.png": B})
    out = assert_clean_failure(run_cli("validate", case), "entries/a.yaml:6:5: error: attachment",
                               "does not exist", hint)
    assert "1 error" in out


@posix_only
def test_the_file_written_is_the_file_used_even_beside_its_trimmed_twin(tmp_path: Path):
    """`shot.png ` and `a\\b.png` are files of their own on POSIX: the report uses those."""
    case = write_case(tmp_path / "case",
                      entries={"a.yaml": entry_with("screenshots/shot.png "),
                               "b.yaml": entry_with("screenshots/sub\\b.png")},
                      files={"screenshots/shot.png": A, "screenshots/shot.png ": B,
                             "screenshots/sub/b.png": A, "screenshots/sub\\b.png": B})
    hashes = report_attachments(case)
    assert hashes == {"screenshots/shot.png ": hashlib.sha256(B).hexdigest(),
                      "screenshots/sub\\b.png": hashlib.sha256(B).hexdigest()}


def test_backslash_traversal_is_still_refused(tmp_path: Path):
    case = write_case(tmp_path / "case", entries={"a.yaml": entry_with("screenshots\\..\\..\\x")})
    assert_clean_failure(run_cli("validate", case), "uses `..`")


# -- editor litter: file names only, and always reported -------------------------------------------

LITTER_NAMED_FOLDERS = ["sediments", "old.bak", "drafts~", "#inbox#", "4913", "notes.tmp",
                        "sedABCDEF", "x___jb_tmp___"]


def test_folders_named_like_litter_are_read(tmp_path: Path):
    """entries/sediments/ and entries/old.bak/ were dropped whole: "6 entries, 0 warnings"."""
    entries = {f"{folder}/e{n}.yaml": ENTRY_YAML for n, folder in enumerate(LITTER_NAMED_FOLDERS)}
    case = write_case(tmp_path / "case", entries={"a.yaml": ENTRY_YAML, **entries})
    result = run_cli("validate", case)
    assert result.exit_code == 0, result.output
    assert f"{len(LITTER_NAMED_FOLDERS) + 1} entries, 0 errors, 0 warnings" in result.output


@pytest.mark.parametrize("name", [".#a.yaml", "~$a.yaml", ".a.yaml", "sub/.#b.yaml"])
def test_a_skipped_yaml_file_is_always_reported(tmp_path: Path, name: str):
    case = write_case(tmp_path / "case", entries={"a.yaml": ENTRY_YAML, name: ENTRY_YAML})
    result = run_cli("validate", case)
    assert result.exit_code == 0, result.output
    assert (f"warning: skipped entries/{name} (looks like an editor temp file)"
            in result.output), result.output
    assert "1 entries, 0 errors, 1 warning" in result.output


def test_yaml_files_in_hidden_folders_are_reported(tmp_path: Path):
    case = write_case(tmp_path / "case", entries={"a.yaml": ENTRY_YAML,
                                                  ".archive/old/b.yaml": ENTRY_YAML})
    result = load_case(case)
    assert [e.id for e in result.case.entries] == ["a"]
    assert [p.format() for p in result.problems] == [
        "entries/.archive/old/b.yaml: warning: skipped entries/.archive/old/b.yaml (in the hidden "
        "folder entries/.archive/) (move it out of the hidden folder if it is an entry)"]


def test_watch_uses_the_same_rules(tmp_path: Path):
    root = tmp_path
    for folder in LITTER_NAMED_FOLDERS:
        rel = f"entries/{folder}/x.yaml"
        assert case_change(root, (), str(root / rel)) == rel
    for litter in ("entries/sediments/x.yaml~", "entries/old.bak/.#x.yaml", ".git/objects/ab"):
        assert case_change(root, (), str(root / litter)) is None


# -- file names that are not UTF-8 (part 7) -------------------------------------------------------

@pytest.mark.skipif(sys.platform in ("win32", "darwin"),
                    reason="needs a file system that stores any bytes as a name")
@pytest.mark.parametrize("rel", [b"entries/caf\xe9.yaml", b"entries/\xff\xfe/x.yaml"])
@pytest.mark.parametrize("command", ["validate", "build"])
def test_an_entry_file_name_that_is_not_utf8_is_a_named_error(tmp_path: Path, rel: bytes,
                                                              command: str):
    case = write_case(tmp_path / "case")
    path = os.path.join(os.fsencode(case), rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(ENTRY_YAML.encode())
    shown = rel.decode("utf-8", "backslashreplace")
    args = [command, case] + (["--format", "json"] if command == "build" else [])
    assert_clean_failure(run_cli(*args), f"{shown}: error: the file name is not UTF-8 text")

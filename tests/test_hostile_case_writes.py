"""Commands that write into a case follow no link, in or out of it (issue #14 part 3).

One helper (case/safety.py: safe_case_dir, write_new_file, replace_case_file) does every
write inside a case; these tests hold each command to it, and the enumeration in
test_hostile_outputs.invocations() makes a new command fail here until it has a case.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from conftest import ENTRY_YAML, png_bytes, write_case
from hostile_support import assert_clean_failure, digest_tree, run_cli
from test_hostile_outputs import LONG_RUNNING, invocations

from itaoreport.case.safety import replace_case_file, safe_case_dir, write_new_file
from itaoreport.cli import main
from itaoreport.errors import CaseWriteError

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX links and pipes")

LOG_CSV = ("Timestamp,Communication Channel,Sender,Summary / Key Quote\n"
           "2023-11-03 10:00,Email,me,Asked for a refund again.\n")


def listing(root: Path) -> list[str]:
    """Every name under root, links not followed (a new link or file anywhere shows)."""
    names = []
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            names.append(os.path.relpath(os.path.join(folder, name), root))
    return sorted(names)


def outside_folder(tmp_path: Path) -> Path:
    victim = tmp_path / "outside"
    (victim / "sub").mkdir(parents=True)
    (victim / "keep.txt").write_text("the user's own file", encoding="utf-8")
    (victim / "a.yaml").write_text(ENTRY_YAML, encoding="utf-8")
    return victim


def snapshot(folder: Path) -> tuple[list[str], dict[str, str]]:
    return listing(folder), digest_tree(folder)


# -- every command, every writable place a link -------------------------------------------------

LINKED = ["entries", ".schema", ".itaoreport", "build", "screenshots", "attachments"]


@pytest.mark.parametrize("linked", LINKED)
def test_no_command_writes_through_a_folder_link_out_of_the_case(tmp_path: Path, linked: str):
    """Every command in invocations() (all of cli.main's but the long-running ones)."""
    victim = outside_folder(tmp_path)
    case = write_case(tmp_path / "case", entries={} if linked == "entries" else None,
                      files={} if linked == "screenshots" else {"screenshots/x.png": png_bytes()})
    (case / linked).symlink_to(victim, target_is_directory=True)
    before = snapshot(victim)
    seen = set()
    for args in invocations(case, tmp_path):
        seen.add(args[0])
        result = run_cli(*args)
        assert result.exit_code in (0, 1), (args, result.output)
        assert isinstance(result.exception, (SystemExit, type(None))), (args, result.exception)
        assert "internal error" not in result.output, (args, result.output)
        assert snapshot(victim) == before, (linked, args, result.output)
    assert seen | LONG_RUNNING >= set(main.commands)


# -- the examples, and more of the class --------------------------------------------------

def test_new_refuses_an_entries_link_out_of_the_case(tmp_path: Path):
    victim = outside_folder(tmp_path)
    case = write_case(tmp_path / "case", entries={})
    (case / "entries").symlink_to(victim)
    before = snapshot(victim)
    assert_clean_failure(run_cli("new", case, "--at", "2023-10-27 09:15"),
                         "entries: error: is a link that points outside the case folder")
    assert snapshot(victim) == before
    assert not (case / ".schema").exists()


def test_import_refuses_an_entries_link_out_of_the_case(tmp_path: Path):
    victim = outside_folder(tmp_path)
    case = write_case(tmp_path / "case", entries={})
    (case / "entries").symlink_to(victim)
    log = tmp_path / "log.csv"
    log.write_text(LOG_CSV, encoding="utf-8")
    before = snapshot(victim)
    assert_clean_failure(run_cli("import", log, case),
                         "entries: error: is a link that points outside the case folder")
    assert snapshot(victim) == before


def test_init_into_an_existing_folder_refuses_an_entries_link(tmp_path: Path):
    victim = outside_folder(tmp_path)
    case = tmp_path / "case"
    case.mkdir()
    (case / "entries").symlink_to(victim)
    before = snapshot(victim)
    assert_clean_failure(run_cli("init", case), "entries: error: is a link")
    assert snapshot(victim) == before


def test_init_refuses_a_dangling_link_where_a_file_goes(tmp_path: Path):
    case = tmp_path / "case"
    case.mkdir()
    (case / ".gitignore").symlink_to(tmp_path / "created-outside")
    assert_clean_failure(run_cli("init", case), "refusing to overwrite")
    assert not (tmp_path / "created-outside").exists()
    assert listing(case) == [".gitignore"]


def test_new_and_import_refuse_a_link_that_stays_inside_the_case(tmp_path: Path):
    """Not only links out: a link to another folder of the case is refused too."""
    case = write_case(tmp_path / "case", entries={}, files={"inbox/keep.txt": b"keep"})
    (case / "entries").symlink_to(case / "inbox")
    log = tmp_path / "log.csv"
    log.write_text(LOG_CSV, encoding="utf-8")
    assert_clean_failure(run_cli("new", case), "entries: error: is a link that points elsewhere")
    assert_clean_failure(run_cli("import", log, case), "entries: error: is a link")
    assert listing(case / "inbox") == ["keep.txt"]


def test_new_never_writes_through_a_dangling_link_at_its_file_name(tmp_path: Path):
    case = write_case(tmp_path / "case")
    planted = case / "entries" / "2023-10-27-0915-new-entry.yaml"
    planted.symlink_to(tmp_path / "created-outside.yaml")
    result = run_cli("new", case, "--at", "2023-10-27 09:15")
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("2023-10-27-0915-new-entry-2.yaml")
    assert not (tmp_path / "created-outside.yaml").exists()
    assert planted.is_symlink()


def test_import_never_writes_through_a_link_at_an_entry_name(tmp_path: Path):
    """The importer's free name comes from entry_files(), which skips links; the write refuses."""
    case = write_case(tmp_path / "case", entries={})
    (case / "entries").mkdir()
    (case / "entries" / "2023-11-03-1000-asked-for-a-refund-again.yaml").symlink_to(
        tmp_path / "created-outside.yaml")
    log = tmp_path / "log.csv"
    log.write_text(LOG_CSV, encoding="utf-8")
    result = run_cli("import", log, case)
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "created-outside.yaml").exists()
    assert (case / "entries" / "2023-11-03-1000-asked-for-a-refund-again-2.yaml").is_file()


def test_schema_folder_deeper_link_and_fifo(tmp_path: Path):
    case = write_case(tmp_path / "case")
    (case / ".schema").mkdir()
    os.mkfifo(case / ".schema" / "case.schema.json")  # a pipe: never opened, refused
    assert_clean_failure(run_cli("new", case), ".schema/case.schema.json: error: is not a "
                                               "regular file")


# -- the helper itself ---------------------------------------------------------------------------

@pytest.mark.parametrize("rel", ["../x", "/etc/x", "a/../../x", "", "a//b", "a/./b", "a\0b"])
def test_write_new_file_refuses_paths_that_are_not_plain(tmp_path: Path, rel: str):
    case = tmp_path / "case"
    case.mkdir()
    with pytest.raises(CaseWriteError, match="not a plain path inside the case folder"):
        write_new_file(case, rel, b"x")
    assert listing(tmp_path) == ["case"]


def test_write_new_file_never_overwrites_and_walks_no_link(tmp_path: Path):
    case, victim = tmp_path / "case", outside_folder(tmp_path)
    assert write_new_file(case, "a/b/c.yaml", b"one") == case / "a" / "b" / "c.yaml"
    with pytest.raises(FileExistsError):
        write_new_file(case, "a/b/c.yaml", b"two")
    assert (case / "a" / "b" / "c.yaml").read_bytes() == b"one"
    (case / "a" / "link").symlink_to(victim)
    before = snapshot(victim)
    with pytest.raises(CaseWriteError, match="a/link: error: is a link that points outside"):
        write_new_file(case, "a/link/sub/new.yaml", b"x")
    with pytest.raises(CaseWriteError, match="a/b/c.yaml: error: is not a folder"):
        write_new_file(case, "a/b/c.yaml/x", b"x")
    (case / "a" / "file-link").symlink_to(victim / "keep.txt")
    with pytest.raises(FileExistsError):
        write_new_file(case, "a/file-link", b"overwritten")
    assert snapshot(victim) == before


def test_safe_case_dir_creates_only_real_folders(tmp_path: Path):
    case = tmp_path / "case"
    assert safe_case_dir(case, "entries/2023") == case / "entries" / "2023"
    assert (case / "entries" / "2023").is_dir()
    with pytest.raises(CaseWriteError, match="no such folder in the case"):
        safe_case_dir(case, "other", create=False)
    (case / "loop").symlink_to(case / "loop")
    with pytest.raises(CaseWriteError, match="loop: error: is a link"):
        safe_case_dir(case, "loop/x")


def test_replace_case_file_replaces_a_link_instead_of_writing_through_it(tmp_path: Path):
    case, victim = tmp_path / "case", outside_folder(tmp_path)
    (case / ".schema").mkdir(parents=True)
    (case / ".schema" / "x.json").symlink_to(victim / "keep.txt")
    replace_case_file(case, ".schema/x.json", b"{}")
    assert (victim / "keep.txt").read_text(encoding="utf-8") == "the user's own file"
    assert not (case / ".schema" / "x.json").is_symlink()
    assert listing(case) == [".schema", ".schema/x.json"]

"""`itaoreport new`: a new entry file to fill in."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from click.testing import CliRunner

from itaoreport.case.newentry import new_entry
from itaoreport.case.validate import load_case
from itaoreport.cli import main

CASE_YAML = """\
title: t
claimant: {name: Alex}
seller: {name: GadgetWorld}
order: {id: IT-1, date: 2023-10-20}
timezone: Asia/Shanghai
"""


def test_the_file_is_named_from_the_time_and_never_overwrites(tmp_path):
    at = datetime(2023, 10, 27, 9, 15)
    first = new_entry(tmp_path, at, "Asia/Shanghai")
    first.write_text(first.read_text() + "# mine\n")
    second = new_entry(tmp_path, at, "Asia/Shanghai")
    third = new_entry(tmp_path, at, "Asia/Shanghai")
    assert [p.name for p in (first, second, third)] == [
        "2023-10-27-0915-new-entry.yaml", "2023-10-27-0915-new-entry-2.yaml",
        "2023-10-27-0915-new-entry-3.yaml"]
    assert first.read_text().endswith("# mine\n")


def test_an_aware_time_is_written_in_the_case_timezone(tmp_path):
    path = new_entry(tmp_path, datetime(2023, 10, 27, 1, 15, tzinfo=timezone.utc), "Asia/Shanghai")
    assert path.name.startswith("2023-10-27-0915")
    assert "timestamp: 2023-10-27 09:15" in path.read_text()


def test_without_a_time_it_uses_now(tmp_path):
    before = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    assert new_entry(tmp_path, None, "UTC").name[:10] >= before


def test_the_template_has_the_schema_line_and_validates_once_filled_in(tmp_path):
    (tmp_path / "case.yaml").write_text(CASE_YAML)
    path = new_entry(tmp_path, datetime(2023, 10, 27, 9, 15), "Asia/Shanghai")
    text = path.read_text()
    assert text.startswith("# yaml-language-server: $schema=../.schema/entry.schema.json\n")
    assert (tmp_path / ".schema/entry.schema.json").is_file()
    empty = load_case(tmp_path)
    assert sorted(p.message for p in empty.errors) == [
        "missing required field `channel`", "missing required field `sender`",
        "missing required field `summary`"]
    filled = (text.replace("channel:     ", "channel: Email")
              .replace("sender:      ", "sender: me  ")
              .replace("summary:        ", "summary: Asked"))
    path.write_text(filled)
    result = load_case(tmp_path)
    assert result.problems == []
    [entry] = result.case.entries
    assert (entry.channel, entry.sender, entry.summary) == ("Email", "me", "Asked")
    assert entry.timestamp.local.isoformat() == "2023-10-27T09:15:00+08:00"


def test_new_command_prints_the_path_and_takes_at_in_the_case_timezone(tmp_path):
    (tmp_path / "case.yaml").write_text(CASE_YAML)
    result = CliRunner().invoke(main, ["new", str(tmp_path), "--at", "2023-10-27T01:15Z"])
    assert result.exit_code == 0, result.output
    path = Path(result.output.strip())
    assert path == tmp_path / "entries/2023-10-27-0915-new-entry.yaml" and path.is_file()
    bad = CliRunner().invoke(main, ["new", str(tmp_path), "--at", "next week"])
    assert bad.exit_code == 2 and "--at" in bad.output

"""YAML's implicit typing, handled on purpose: what a user typed is what the report says.

PyYAML (YAML 1.1) would read `no` as False, `10:30` as 630, `0123` as 83 and
`2023-10-27` as a date object. The loader keeps every scalar as the text
written and each field converts it by its own kind, so text fields stay text.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import CASE_YAML, ENTRY_YAML, write_case

from itaoreport.build import BuildOptions, build
from itaoreport.case.validate import load_case


def report_for(tmp_path: Path, case_yaml: str = CASE_YAML, entry: str = ENTRY_YAML) -> dict:
    case = write_case(tmp_path / "case", case_yaml=case_yaml, entries={"a.yaml": entry})
    build(case, BuildOptions(formats=("json",)))
    return json.loads((case / "build" / "report.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("typed", ["yes", "no", "on", "off", "Y", "n", "true", "False", "NO",
                                   "10:30", "1:20:30", "190:20:30", "0123", "0o17", "0x1F", "1e3",
                                   ".inf", "-.nan", "2023-10-27", "2023-10-27 09:15",
                                   "1_000", "+12", "'quoted'"])
def test_text_fields_keep_exactly_what_was_typed(tmp_path: Path, typed: str):
    entry = ENTRY_YAML.replace("summary: Asked for tracking.", f"summary: {typed}")
    entry += f"quote: {typed}\naction: {typed}\ntags: [{typed}]\n"
    case_yaml = CASE_YAML.replace("id: T-1", f"id: {typed}").replace("name: Buyer",
                                                                     f"name: {typed}")
    report = report_for(tmp_path, case_yaml, entry)
    [e] = report["entries"]
    expected = typed.strip("'") if typed.startswith("'") else typed
    assert (e["summary"], e["quote"], e["action"], e["tags"]) == (expected, expected, expected,
                                                                  [expected])
    assert report["case"]["order"]["id"] == expected
    assert report["case"]["claimant"]["name"] == expected


def test_amounts_keep_their_decimals_and_thousands(tmp_path: Path):
    case_yaml = CASE_YAML.replace(
        "  expected_delivery: 2023-11-01",
        "  amount: 59.90\n  currency: usd\n  expected_delivery: 2023-11-01",
    ).replace("requested: full_refund", "requested: full_refund\n  amount: 1,234.50")
    report = report_for(tmp_path, case_yaml)
    assert report["case"]["order"]["amount"] == "59.90"  # not the float 59.9
    assert report["case"]["order"]["currency"] == "USD"
    assert report["case"]["claim"]["amount"] == "1234.50"


@pytest.mark.parametrize("stamp, iso", [
    ("2023-10-27", "2023-10-27"),
    ("2023-10-27 9:15", "2023-10-27T09:15:00+02:00"),
    ("2023-10-27T09:15+08:00", "2023-10-27T09:15:00+08:00"),
    ('"2023-10-27 09:15"', "2023-10-27T09:15:00+02:00"),
    ("2023-10-27 09:15:30Z", "2023-10-27T09:15:30+00:00"),
])
def test_timestamps_in_every_written_form(tmp_path: Path, stamp: str, iso: str):
    report = report_for(tmp_path, entry=ENTRY_YAML.replace("2023-10-26 14:30", stamp))
    assert report["entries"][0]["timestamp"] == iso


def test_null_looking_values_are_null_unless_quoted(tmp_path: Path):
    entry = ENTRY_YAML + 'quote: ~\naction: "~"\nsender_name: "null"\n'
    [e] = report_for(tmp_path, entry=entry)["entries"]
    assert (e["quote"], e["action"], e["sender_name"]) == (None, "~", "null")


def test_a_null_required_field_is_reported_missing_at_its_line(tmp_path: Path):
    write_case(tmp_path, entries={"a.yaml": ENTRY_YAML.replace("Asked for tracking.", "null")})
    [problem] = load_case(tmp_path).problems
    assert problem.format().startswith(
        "entries/a.yaml:4:1: error: missing required field `summary`")


@pytest.mark.parametrize("field, value, message", [
    ("sender", "yes", "sender: 'yes' is not me, seller"),
    ("kind", "0123", "kind: '0123' is not one of message"),
    ("timestamp", "10:30", "timestamp: '10:30' is not a date and time"),
    ("timestamp", "1698330600", "timestamp: '1698330600' is not a date and time"),
])
def test_typed_fields_flag_what_they_cannot_read(tmp_path: Path, field: str, value: str,
                                                  message: str):
    entry = ENTRY_YAML
    if field == "sender":
        entry = entry.replace("sender: me", f"sender: {value}")
    elif field == "timestamp":
        entry = entry.replace("2023-10-26 14:30", value)
    else:
        entry += f"{field}: {value}\n"
    write_case(tmp_path, entries={"a.yaml": entry})
    text = "\n".join(p.format() for p in load_case(tmp_path).problems)
    assert f"error: {message}" in text, text

"""Importing a spreadsheet log (CSV / XLSX) into entry files."""

from __future__ import annotations

import csv
import io
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from itaoreport.build import BuildOptions, build
from itaoreport.case.validate import load_case
from itaoreport.case.values import BadValue
from itaoreport.cli import main
from itaoreport.importers import (
    import_log,
    parse_log_moment,
    parse_sender,
    split_action,
    split_summary,
)
from itaoreport.render.xlsx import log_xlsx

CASE_YAML = """\
title: No tracking for order IT-20231020-8841
claimant:
  name: Alex Example
seller:
  name: GadgetWorld
order:
  id: IT-20231020-8841
  date: 2023-10-20
timezone: Europe/Berlin
"""

HEADER = ("Timestamp (Date & Time),Communication Channel,Sender,Summary / Key Quote,"
          "Attachment/Link,Action/Promise Made")

# The three rows of the issue, quoted the way Google Sheets and Excel export them.
THREE_ROWS = (
    f"{HEADER}\r\n"
    '"2023-10-26, 14:30",ItaoBuy Messaging,Me (Buyer),'
    "Asked for shipping confirmation and a tracking number.,screenshots/chat-1026.png,--\r\n"
    '27/10/2023 09:15,ItaoBuy Messaging,"Seller ""GadgetWorld""",'
    '"""Tracking will update in 2 days. Please wait.""",screenshots/chat-1027.png,'
    "Promise: Tracking will update in 2 days\r\n"
    "2023-10-30T18:00,ItaoBuy Messaging,Me (Buyer),"
    '"Followed up: no tracking yet, asked for it within 24 hours.",,'
    "Asked seller to provide tracking within 24 hours\r\n"
)


@pytest.fixture
def case(tmp_path: Path) -> Path:
    root = tmp_path / "case"
    (root / "screenshots").mkdir(parents=True)
    (root / "case.yaml").write_text(CASE_YAML)
    for name in ("chat-1026.png", "chat-1027.png"):
        (root / "screenshots" / name).write_bytes(b"png")
    return root


def csv_text(*rows: str, newline: str = "\n") -> str:
    return newline.join(rows) + newline


def write_log(tmp_path: Path, text: str, name: str = "log.csv", bom: bool = True) -> Path:
    path = tmp_path / name
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    return path


def loaded(case: Path):
    result = load_case(case)
    assert not result.errors, [p.format() for p in result.problems]
    return result.case


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_three_example_rows_import_and_a_second_import_changes_nothing(tmp_path, case):
    log = write_log(tmp_path, THREE_ROWS)
    first = import_log(log, case, dayfirst=None)
    assert [p.format() for p in first.problems if p.is_error] == []
    assert first.written == [
        "entries/2023-10-26-1430-asked-for-shipping-confirmation-and-a.yaml",
        "entries/2023-10-27-0915-tracking-will-update-in-2-days.yaml",
        "entries/2023-10-30-1800-followed-up-no-tracking-yet-asked.yaml",
    ]
    asked, promised, followed = loaded(case).entries
    assert [e.timestamp.local.strftime("%Y-%m-%d %H:%M %Z") for e in (asked, promised, followed)] \
        == ["2023-10-26 14:30 CEST", "2023-10-27 09:15 CEST", "2023-10-30 18:00 CET"]
    assert [(e.sender, e.sender_name) for e in (asked, promised, followed)] == [
        ("me", None), ("seller", "GadgetWorld"), ("me", None)]
    assert promised.quote == "Tracking will update in 2 days. Please wait."
    assert promised.promise is not None and promised.promise.text == "Tracking will update in 2 days"
    assert promised.action is None
    assert followed.action == "Asked seller to provide tracking within 24 hours"
    assert followed.promise is None
    assert asked.action is None and asked.attachments[0].path == "screenshots/chat-1026.png"
    assert followed.summary == "Followed up: no tracking yet, asked for it within 24 hours."
    before = snapshot(case)

    second = import_log(log, case, dayfirst=None)
    assert second.written == []
    assert second.unchanged == first.written
    assert snapshot(case) == before


def test_written_files_start_with_the_schema_line_and_say_where_they_came_from(tmp_path, case):
    result = import_log(write_log(tmp_path, THREE_ROWS), case)
    text = (case / result.written[1]).read_text()
    assert text.splitlines()[:2] == [
        "# yaml-language-server: $schema=../.schema/entry.schema.json",
        "# Imported from log.csv, row 3.",
    ]
    assert "timestamp: 2023-10-27 09:15\n" in text
    assert (case / ".schema/entry.schema.json").is_file()


def test_an_edited_entry_is_kept_and_never_overwritten(tmp_path, case):
    log = write_log(tmp_path, THREE_ROWS)
    first = import_log(log, case)
    edited = case / first.written[1]
    assert "  due: 2 days\n" in edited.read_text()
    edited.write_text(edited.read_text().replace("  due: 2 days\n", "  due: 2023-10-29 09:15\n"))
    kept = edited.read_bytes()
    second = import_log(log, case)
    assert second.written == [] and edited.read_bytes() == kept


def test_a_different_row_with_the_same_name_gets_a_numbered_file(tmp_path, case):
    (case / "entries").mkdir()
    existing = case / "entries/2023-10-26-1430-asked-for-shipping-confirmation-and-a.yaml"
    existing.write_text("timestamp: 2023-10-26 14:30\nchannel: Email\nsender: me\n"
                        "summary: Asked for shipping confirmation and a refund.\n")
    result = import_log(write_log(tmp_path, THREE_ROWS), case)
    assert result.written[0].endswith("asked-for-shipping-confirmation-and-a-2.yaml")
    assert "refund" in existing.read_text()
    assert len(loaded(case).entries) == 4


def test_headers_are_matched_tolerantly_and_title_rows_skipped(tmp_path, case):
    text = ("My communication log,,,,,\n"
            ",,,,,\n"
            "  timestamp , CHANNEL,From, summary/key quote ,Attachments / Links,Action / Promise\n"
            "2023-10-26 14:30,Email,Buyer,Asked for tracking.,,\n")
    result = import_log(write_log(tmp_path, text, bom=False), case)
    assert result.problems == [] and len(result.written) == 1
    assert loaded(case).entries[0].channel == "Email"


def test_semicolon_separated_excel_export(tmp_path, case):
    text = ("Timestamp;Channel;Sender;Summary;Attachment/Link;Action/Promise Made\n"
            "26.10.2023 14:30;Phone;me;Called the seller, no answer.;;\n")
    result = import_log(write_log(tmp_path, text), case)
    assert result.problems == [] and len(result.written) == 1
    assert loaded(case).entries[0].summary == "Called the seller, no answer."


def test_ambiguous_dates_are_errors_naming_the_row_unless_the_order_is_given(tmp_path, case):
    text = csv_text(HEADER,
                    "26/10/2023 14:30,Email,me,Asked for tracking.,,",
                    "05/11/2023 10:00,Email,me,Asked again.,,")
    log = write_log(tmp_path, text)
    result = import_log(log, case)
    [problem] = [p for p in result.problems if p.is_error]
    assert problem.loc.path == "log.csv" and problem.loc.line == 3
    assert "row 3" in problem.message and "ambiguous" in problem.message
    assert "--dayfirst" in problem.hint
    assert len(result.written) == 1

    again = import_log(log, case, dayfirst=True)
    assert again.unchanged == result.written and len(again.written) == 1
    assert "2023-11-05-1000" in again.written[0]


def test_bad_rows_are_reported_by_row_number_and_the_rest_imports(tmp_path, case):
    text = csv_text(HEADER,
                    "2023-10-26 14:30,Email,me,Asked for tracking.,,",
                    "2023-02-30 10:00,Email,me,Impossible day.,,",
                    "2023-10-28 10:00,Email,me,--,,",
                    "2023-10-29 10:00,,seller,No channel.,,",
                    ",,,,,",
                    "2023-10-30 10:00,Email,Seller (GadgetWorld),Replied.,,")
    result = import_log(write_log(tmp_path, text), case)
    assert [(p.loc.line, p.message.split(":")[0]) for p in result.problems if p.is_error] == [
        (3, "row 3"), (4, "row 4"), (5, "row 5")]
    assert "February 2023 has 28 days" in result.problems[0].message
    assert len(result.written) == 2
    assert [e.summary for e in loaded(case).entries] == ["Asked for tracking.", "Replied."]


def test_empty_and_dash_cells_are_empty(tmp_path, case):
    text = csv_text(HEADER, "2023-10-26 14:30,Email,me,Asked.,--,—")
    import_log(write_log(tmp_path, text), case)
    entry = loaded(case).entries[0]
    assert entry.attachments == [] and entry.links == [] and entry.action is None
    assert "attachments" not in (case / entry.path).read_text()


def test_attachment_cells_become_attachments_or_links(tmp_path, case):
    text = csv_text(HEADER,
        '2023-10-26 14:30,Email,me,Asked.,"chat-1026.png\nhttps://example.invalid/order/8841",',
        "2023-10-27 14:30,Email,me,Asked again.,screenshots/missing.png,",
        "2023-10-28 14:30,Email,me,Asked a third time.,Screenshot of the chat,",
    )
    result = import_log(write_log(tmp_path, text), case)
    first = load_case(case)
    entry = first.case.entries[0] if first.case else None
    warnings = [p for p in result.problems if not p.is_error]
    assert [(w.loc.line, "missing.png" in w.message or "Screenshot" in w.message)
            for w in warnings] == [(3, True), (4, True)]
    text_1 = (case / result.written[0]).read_text()
    assert "- screenshots/chat-1026.png" in text_1 and "- https://example.invalid/order/8841" in text_1
    assert "# Attachment/Link in the log: Screenshot of the chat" in (
        case / result.written[2]).read_text()
    assert entry is None  # the missing screenshot is an error until it is copied in
    (case / "screenshots/missing.png").write_bytes(b"png")
    assert loaded(case).entries[0].links == ["https://example.invalid/order/8841"]


def test_text_is_kept_verbatim_whatever_yaml_would_make_of_it(tmp_path, case):
    odd = ["yes", "10:30", "0123", "#1 priority", "- dash", 'She said: "no"', "=HYPERLINK(1)",
           "line one\nline two", "快递单号明天更新，请耐心等待 🙏"]
    rows = [HEADER] + [
        f'2023-10-{10 + i} 10:00,Email,seller,"{text.replace(chr(34), chr(34) * 2)}",,'
        for i, text in enumerate(odd)]
    result = import_log(write_log(tmp_path, "\n".join(rows) + "\n"), case)
    assert not result.problems
    assert [e.summary for e in loaded(case).entries] == odd


def test_a_promise_with_a_due_date_and_an_action_in_one_cell(tmp_path, case):
    text = csv_text(HEADER,
        ('2023-10-27 09:15,Chat,seller,Promised tracking.,,'
         '"Seller to provide tracking\nPromise: Tracking will update (due 2023-10-29 09:15)"'),
    )
    result = import_log(write_log(tmp_path, text), case)
    assert not result.problems
    entry = loaded(case).entries[0]
    assert entry.action == "Seller to provide tracking"
    assert entry.promise.text == "Tracking will update"
    assert entry.promise.due.text == "2023-10-29 09:15"


def test_a_promise_without_due_date_is_imported_with_a_warning(tmp_path, case):
    rows = THREE_ROWS.replace("Promise: Tracking will update in 2 days",
                              "Promise: Tracking will update soon")
    result = import_log(write_log(tmp_path, rows), case)
    [warning] = [p for p in result.problems if not p.is_error]
    assert warning.loc.line == 3 and "no due date" in warning.message


def test_a_log_that_is_not_utf8_is_refused_and_nothing_is_written(tmp_path, case):
    log = tmp_path / "log.csv"
    log.write_bytes(THREE_ROWS.replace("Seller", "Verkäufer").encode("cp1252"))
    result = import_log(log, case)
    assert result.written == [] and "UTF-8" in result.problems[0].message
    assert not (case / "entries").exists()


def test_a_sheet_without_a_header_row_is_refused(tmp_path, case):
    result = import_log(write_log(tmp_path, "a,b,c\n1,2,3\n"), case)
    assert result.written == [] and "header" in result.problems[0].message


def test_xlsx_with_real_date_cells(tmp_path, case):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    sheet.append([datetime(2023, 10, 27, 9, 15), "ItaoBuy Messaging", 'Seller "GadgetWorld"',
                  '"Tracking will update in 2 days. Please wait."', None,
                  "Promise: Tracking will update, due 29/10/2023 09:15"])
    sheet.append([datetime(2023, 10, 30), "Email", "me", "Followed up.", None, None])
    book.save(tmp_path / "log.xlsx")
    result = import_log(tmp_path / "log.xlsx", case)
    assert [p.format() for p in result.problems] == []
    promised, followed = loaded(case).entries
    assert promised.timestamp.text == "2023-10-27 09:15"
    assert promised.promise.due.text == "2023-10-29 09:15"
    assert followed.timestamp.has_time is False


@pytest.mark.parametrize("log_name", ["log.csv", "log.xlsx"])
def test_an_exported_log_imports_back_to_the_same_entries(sample_build, tmp_path, log_name):
    """sample_build (conftest.py): the sample built once, read here and by other checks."""
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(sample_build / "case.yaml", other / "case.yaml")
    shutil.copytree(sample_build / "screenshots", other / "screenshots")
    result = import_log(sample_build / "build" / log_name, other)
    assert [p.format() for p in result.problems] == []
    assert [_facts(e) for e in loaded(other).entries] == [
        _facts(e) for e in loaded(sample_build).entries]
    assert import_log(sample_build / "build" / log_name, other).written == []


def test_log_xlsx_has_the_rows_of_log_csv_and_the_same_bytes_every_build(sample_build,
                                                                         warm_sample_copy):
    from openpyxl import load_workbook

    first = (sample_build / "build/log.xlsx").read_bytes()
    with open(sample_build / "build/log.csv", encoding="utf-8-sig", newline="") as fh:
        csv_rows = list(csv.reader(fh))
    sheet = load_workbook(sample_build / "build/log.xlsx", read_only=True).worksheets[0]
    assert [[v or "" for v in r] for r in sheet.iter_rows(values_only=True)] == csv_rows
    # another build, of another copy of the sample, xlsx alone
    build(warm_sample_copy, BuildOptions(formats=("xlsx",)))
    assert (warm_sample_copy / "build/log.xlsx").read_bytes() == first


def test_log_xlsx_header_is_frozen_and_cells_are_text():
    from openpyxl import load_workbook

    data = log_xlsx([{"A": "=1+1", "B": "2023-10-26"}], ["A", "B"])
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.b
    assert sheet["A2"].value == "=1+1" and sheet["A2"].data_type == "s"
    assert sheet.column_dimensions["A"].width >= 10


def _facts(entry) -> tuple:
    """What a log row carries: all but the id, kind, captions, tags and references."""
    return (entry.timestamp.instant, entry.timestamp.has_time, entry.channel, entry.sender,
            entry.sender_name, entry.summary, entry.quote, [a.path for a in entry.attachments],
            entry.links, entry.action, entry.promise and entry.promise.text,
            entry.promise and entry.promise.due and entry.promise.due.instant,
            entry.deadline and (entry.deadline.text, entry.deadline.due.instant))


def test_import_command_says_what_it_did(tmp_path, case):
    log = write_log(tmp_path, THREE_ROWS)
    first = CliRunner().invoke(main, ["import", str(log), str(case)])
    assert first.exit_code == 0, first.output
    assert "3 new entries" in first.output
    second = CliRunner().invoke(main, ["import", str(log), str(case)])
    assert second.exit_code == 0 and "nothing new: all 3 rows are already in" in second.output


def test_import_command_fails_on_unreadable_rows_and_takes_dayfirst(tmp_path, case):
    log = write_log(tmp_path, csv_text(HEADER, "05/11/2023 10:00,Email,me,Asked.,,"))
    result = CliRunner().invoke(main, ["import", str(log), str(case)])
    assert result.exit_code == 1 and "log.csv:2:1: error: row 2:" in result.output
    result = CliRunner().invoke(main, ["import", "--dayfirst", str(log), str(case)])
    assert result.exit_code == 0 and "2023-11-05-1000-asked.yaml" in result.output


# -- the cell readers, on the forms people actually type --------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("2023-10-26, 14:30", "2023-10-26 14:30"),
    ("26/10/2023 14:30", "2023-10-26 14:30"),
    ("2023-10-26T14:30:05+08:00", "2023-10-26 14:30:05+08:00"),
    ("10/26/2023 2:30 PM", "2023-10-26 14:30"),
    ("Oct 26, 2023 2:30 pm", "2023-10-26 14:30"),
    ("26 October 2023", "2023-10-26"),
    ("2023-10-26 14:30 UTC", "2023-10-26 14:30+00:00"),
    ("12/12/2023 08:00", "2023-12-12 08:00"),
])
def test_timestamps_people_write(text, expected):
    assert parse_log_moment(text) == expected


@pytest.mark.parametrize("text, dayfirst", [
    ("05/11/2023", None), ("26/10/2023", False), ("10/26/2023", True), ("2023-10-26 24:10", None),
    ("Octember 5, 2023", None), ("last Tuesday", None),
])
def test_timestamps_that_are_refused(text, dayfirst):
    with pytest.raises(BadValue):
        parse_log_moment(text, dayfirst)


@pytest.mark.parametrize("cell, expected", [
    ("Me (Buyer)", ("me", None)),
    ('Seller "GadgetWorld"', ("seller", "GadgetWorld")),
    ("Seller “GadgetWorld”", ("seller", "GadgetWorld")),
    ("GadgetWorld (seller)", ("seller", "GadgetWorld")),
    ("seller", ("seller", None)),
    ("ItaoBuy Customer Service", ("platform", "ItaoBuy Customer Service")),
    ("DHL", ("carrier", "DHL")),
    ("GadgetWorld", ("seller", "GadgetWorld")),
    ("Bob", (None, "Bob")),
])
def test_senders(cell, expected):
    assert parse_sender(cell, {"gadgetworld": "seller"}) == expected


def test_summary_and_quote_cells():
    assert split_summary("“Tracking will update.”") == ("Tracking will update.",) * 2
    assert split_summary('Seller promised tracking.\n"Tracking will update."') == (
        "Seller promised tracking.", "Tracking will update.")
    assert split_summary('Asked "where is it?" twice.') == ('Asked "where is it?" twice.', None)


def test_action_and_promise_cells():
    assert split_action("Promise: refund") == (None, "refund")
    assert split_action("Wait for tracking") == ("Wait for tracking", None)
    assert split_action("Open a claim. Promise: reply by Friday") == (
        "Open a claim.", "reply by Friday")


def test_import_into_a_new_folder_then_init_makes_a_valid_case(tmp_path):
    case = tmp_path / "new-case"
    runner = CliRunner()
    imported = runner.invoke(main, ["import", str(write_log(tmp_path, THREE_ROWS)), str(case)])
    assert "has no case.yaml yet" in imported.output
    assert runner.invoke(main, ["init", str(case)]).exit_code == 0
    for name in ("chat-1026.png", "chat-1027.png"):
        (case / "screenshots" / name).write_bytes(b"png")
    assert len(loaded(case).entries) == 3  # the three rows; no example entry beside real ones


def test_in_48_hours_and_within_2_days_in_a_promise_become_a_duration_due(tmp_path, case):
    rows = (f"{HEADER}\r\n"
            "2023-10-27 09:15,ItaoBuy Messaging,Seller,Tracking soon.,,"
            "Promise: Tracking update in 48 hours\r\n"
            "2023-10-28 10:00,ItaoBuy Messaging,Seller,Refund soon.,,"
            "Promise: Refund within 2 days\r\n"
            "2023-10-29 10:00,ItaoBuy Messaging,Seller,Parcel soon.,,"
            "Promise: Ship the parcel in 1 week\r\n")
    result = import_log(write_log(tmp_path, rows), case)
    assert [p for p in result.problems] == []
    texts = [(case / rel).read_text() for rel in result.written]
    assert ["  due: 48 hours\n" in texts[0], "  due: 2 days\n" in texts[1],
            "  due: 1 week\n" in texts[2]] == [True, True, True]
    tracking, refund, parcel = loaded(case).entries
    assert tracking.promise.text == "Tracking update in 48 hours"
    # 48 real hours after Oct 27 09:15 CEST: the clocks go back on Oct 29 (Berlin)
    assert tracking.promise.due.local.strftime("%Y-%m-%d %H:%M %Z") == "2023-10-29 08:15 CET"
    assert refund.promise.due.local.strftime("%Y-%m-%d %H:%M") == "2023-10-30 10:00"
    assert parcel.promise.due.local.strftime("%Y-%m-%d %H:%M") == "2023-11-05 10:00"
    assert tracking.promise.due.relative == "48 hours"


def test_a_duration_in_the_due_column_is_kept_as_a_duration(tmp_path, case):
    rows = (f"{HEADER},Due\r\n"
            "2023-10-27 09:15,ItaoBuy Messaging,Seller,Tracking soon.,,Promise: Tracking,3 Days\r\n")
    result = import_log(write_log(tmp_path, rows), case)
    assert not result.problems
    [entry] = loaded(case).entries
    assert entry.promise.due.relative == "3 days"
    assert entry.promise.due.local.strftime("%Y-%m-%d %H:%M") == "2023-10-30 09:15"


def test_a_deadline_set_for_me_imports_from_the_action_cell(tmp_path, case):
    rows = (f"{HEADER}\r\n"
            "2023-11-05 10:20,ItaoBuy Resolution Center,Platform,Asked for the chat.,,"
            "Deadline for me: Upload the chat (due 2023-11-08 10:20)\r\n"
            "2023-11-05 11:00,ItaoBuy Resolution Center,Platform,Asked for photos.,,"
            "Replied; deadline set for me: Upload photos within 2 days\r\n"
            "2023-11-05 11:30,Email,Me,Gave the seller a deadline.,,"
            "Deadline: refund by Nov 10\r\n"
            "2023-11-05 12:00,ItaoBuy Resolution Center,Platform,Asked for more.,,"
            "Deadline for me: Send more\r\n")
    result = import_log(write_log(tmp_path, rows), case)
    [warning] = result.problems
    assert warning.loc.line == 5 and "has no due date; kept as action text" in warning.message
    chat, photos, mine, more = loaded(case).entries
    assert mine.deadline is None and mine.action == "Deadline: refund by Nov 10"
    assert (chat.deadline.text, chat.deadline.due.local.strftime("%Y-%m-%d %H:%M")) == (
        "Upload the chat", "2023-11-08 10:20")
    assert chat.promise is None and chat.action is None
    assert (photos.action, photos.deadline.text, photos.deadline.due.relative) == (
        "Replied", "Upload photos within 2 days", "2 days")
    assert more.deadline is None and more.action == "Deadline for me: Send more"

"""Issue #17: the dispute, the delivery, deadlines set for the claimant, durations in `due`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from analysis_cases import case_yaml, entry, promise, run_case
from conftest import CASE_YAML, png_bytes, write_case

from itaoreport.case.validate import load_case
from itaoreport.case.values import BadValue, parse_due, parse_moment, resolve_due, zone
from itaoreport.render.caseviews import deadline_views
from itaoreport.render.i18n import load_translator
from itaoreport.render.themes import builtin_themes_dir

BERLIN = zone("Europe/Berlin")
EN = load_translator([builtin_themes_dir() / "default"], "en", "Europe/Berlin")[0]
ZH = load_translator([builtin_themes_dir() / "default"], "zh-Hans", "Europe/Berlin")[0]

DISPUTE_AND_DELIVERY = """\
seller_email_placeholder: x
dispute:
  id: ITB-D-440921
  opened: 2023-11-02
  reason: Item damaged on arrival
  respond_by: 2023-11-16
delivery:
  carrier: Correos
  tracking: LP551204771CN
  shipped: 2023-10-24
  delivered: 2023-10-30
  condition: Lid cracked on arrival
"""


def damaged_case(claim: str = "damaged", extra: str = DISPUTE_AND_DELIVERY) -> str:
    text = case_yaml(claim=claim).replace("  name: ShopCo\n",
                                          "  name: ShopCo\n  email: help@shopco.example\n")
    return text + extra.replace("seller_email_placeholder: x\n", "")


def messages(root: Path) -> list[str]:
    return [p.format() for p in load_case(root).problems]


# -- the model -------------------------------------------------------------------------------------

def test_dispute_delivery_seller_email_and_declaration_load_and_reach_report_json(tmp_path):
    report = run_case(tmp_path, {"a.yaml": entry("2023-10-30 18:00")}, damaged_case())
    case = report["case"]
    assert case["seller"]["email"] == "help@shopco.example"
    assert case["dispute"] == {"id": "ITB-D-440921", "opened": "2023-11-02",
                               "reason": "Item damaged on arrival", "respond_by": "2023-11-16"}
    assert case["delivery"] == {"carrier": "Correos", "tracking": "LP551204771CN",
                                "shipped": "2023-10-24", "delivered": "2023-10-30",
                                "condition": "Lid cracked on arrival"}
    assert case["declaration"] is True


def test_declaration_is_a_yes_or_no(tmp_path):
    write_case(tmp_path, CASE_YAML + "declaration: false\n")
    assert load_case(tmp_path).case.declaration is False
    write_case(tmp_path, CASE_YAML + "declaration: perhaps\n")
    [problem] = messages(tmp_path)
    assert problem.startswith("case.yaml:15:14: error: declaration: 'perhaps' is not true or false")


def test_a_dispute_needs_its_id(tmp_path):
    write_case(tmp_path, CASE_YAML + "dispute:\n  opened: 2023-11-02\n")
    assert any("missing required field `dispute.id`" in m for m in messages(tmp_path))


def test_the_report_shows_the_dispute_line_on_page_one(tmp_path):
    report = run_case(tmp_path, {"a.yaml": entry("2023-10-30 18:00")}, damaged_case(),
                      formats=("json", "html"))
    html = report["_html"]
    page_one = html[html.index('class="claim"'):html.index('id="summary"')]
    assert "ITB-D-440921" in page_one and "respond by Nov 16, 2023" in page_one
    assert "Lid cracked on arrival" in page_one and "LP551204771CN" in page_one
    assert "days overdue" not in page_one.lower()


# -- delivery facts in the summary -----------------------------------------------------------------

PHOTOS = {
    "2023-10-30-1800-photos.yaml": entry("2023-10-30 18:00", "me", "Photos of the cracked lid.",
                                         kind="note",
                                         attachments="[shots/lid.png, shots/box.png]"),
    "2023-10-31-0900-asked.yaml": entry("2023-10-31 09:00", "me", "Asked for a replacement.",
                                        attachments="[shots/chat.png]"),
}
SHOTS = {"shots/lid.png": png_bytes(text="lid"), "shots/box.png": png_bytes(text="box"),
         "shots/chat.png": png_bytes(text="chat")}


def run_with_photos(root: Path, claim: str, extra: str = DISPUTE_AND_DELIVERY,
                    language: str = "") -> dict:
    write_case(root, damaged_case(claim, extra) + language, PHOTOS, SHOTS)
    from itaoreport.build import BuildOptions, build

    return build(root, BuildOptions(formats=("json",))).report


def test_delivered_means_no_days_overdue_and_no_missed_delivery_mark(tmp_path):
    report = run_case(tmp_path, {"a.yaml": entry("2023-10-30 18:00")},
                      damaged_case("item_not_received"))
    assert report["facts"]["days_overdue"] is None
    assert not [m for m in report["facts"]["deadlines_passed"]
                if m["kind"] == "expected_delivery"]
    assert "overdue" not in report["summary"]
    assert ("The tracking for LP551204771CN shows the parcel delivered by Correos on Oct 30, "
            "but I have not received it.") in report["summary"]
    without = run_case(tmp_path / "b", {"a.yaml": entry("2023-10-30 18:00")},
                       case_yaml("2023-11-05"))
    assert without["facts"]["days_overdue"] == 4


def test_damaged_summary_says_when_in_what_condition_and_cites_the_photos(tmp_path):
    report = run_with_photos(tmp_path, "damaged")
    labels = {a["path"]: a["exhibit"] for a in report["attachments"]}
    assert (f"The item was delivered by Correos on Oct 30 and arrived damaged: Lid cracked on "
            f"arrival (photos: {labels['shots/lid.png']}, {labels['shots/box.png']}).") \
        in report["summary"]
    assert labels["shots/chat.png"] not in report["summary"].split("photos:")[1].split(")")[0]


def test_not_as_described_summary_uses_the_delivery_facts_too(tmp_path):
    report = run_with_photos(tmp_path, "not_as_described")
    assert "The item was delivered by Correos on Oct 30 and is not as described: Lid cracked" \
        in report["summary"]


def test_photos_default_to_every_exhibit_of_mine_since_delivery_when_none_is_marked(tmp_path):
    entries = {"a.yaml": entry("2023-10-31 09:00", "me", "Sent photos to the seller.",
                               attachments="[shots/lid.png]")}
    write_case(tmp_path, damaged_case(), entries, SHOTS)
    from itaoreport.build import BuildOptions, build

    report = build(tmp_path, BuildOptions(formats=("json",))).report
    assert "(photos: E1)" in report["summary"]


def test_damaged_summary_in_chinese(tmp_path):
    report = run_with_photos(tmp_path, "damaged", language="language: zh-Hans\n")
    assert "商品由Correos于2023年10月30日送达，到货时已损坏：Lid cracked on arrival（照片：" \
        in report["summary"]


def test_condition_without_delivery_day_still_says_the_condition(tmp_path):
    extra = "delivery:\n  condition: Screen scratched\n"
    report = run_case(tmp_path, {"a.yaml": entry("2023-10-30 18:00")},
                      damaged_case("damaged", extra))
    assert "The item arrived damaged: Screen scratched." in report["summary"]


# -- deadlines set for me --------------------------------------------------------------------------

def deadline(text: str, due: str) -> str:
    return f"\n  text: {text}\n  due: {due}"


DEADLINE_ENTRIES = {
    "2023-10-26-1000-upload.yaml": entry("2023-10-26 10:00", "platform",
                                         "The platform asked me for photos.",
                                         deadline=deadline("Upload photos", "2023-10-28")),
    "2023-10-27-1000-uploaded.yaml": entry("2023-10-27 10:00", "me", "I uploaded the photos.",
                                           kind="note", fulfils="2023-10-26-1000-upload"),
    "2023-10-29-1000-receipt.yaml": entry("2023-10-29 10:00", "platform",
                                          "The platform asked for the receipt.",
                                          deadline=deadline("Send the receipt", "48 hours")),
    "2023-11-01-1000-statement.yaml": entry("2023-11-01 10:00", "seller",
                                            "The seller asked for a statement.",
                                            deadline=deadline("Write a statement", "1 week")),
}


def test_deadlines_set_for_me_are_met_missed_or_open_and_never_promises(tmp_path):
    report = run_case(tmp_path, DEADLINE_ENTRIES, formats=("json", "html", "txt"))
    assert report["promises"] == []
    by_entry = {d["entry"]: d for d in report["deadlines"]}
    upload = by_entry["2023-10-26-1000-upload"]
    assert (upload["status"], upload["met_by"], upload["met_late"]) == (
        "met", "2023-10-27-1000-uploaded", False)
    receipt = by_entry["2023-10-29-1000-receipt"]
    # 48 real hours after Oct 29 10:00 CET (the clocks went back at 03:00 that night)
    assert (receipt["status"], receipt["due"], receipt["due_relative"]) == (
        "missed", "2023-10-31T10:00:00+01:00", "48 hours")
    statement = by_entry["2023-11-01-1000-statement"]
    assert (statement["status"], statement["due"]) == ("open", "2023-11-08T10:00:00+01:00")
    assert statement["set_by"] == "seller"
    html = report["_html"]
    assert "Deadlines set for me" in html and "Write a statement" in html
    timeline = html[html.index('id="entry-2023-10-29-1000-receipt"'):]
    assert "Deadline set for me: Missed" in timeline[:2000]
    promises = html[html.index('id="promises"'):html.index('id="deadlines"')]
    assert "Write a statement" not in promises and "Send the receipt" not in promises, \
        "deadlines are not the other side's promises"
    assert "promised" not in report["_summary_txt"]
    entries = {e["id"]: e for e in report["entries"]}
    assert entries["2023-10-29-1000-receipt"]["deadline"] == {
        "text": "Send the receipt", "due": "2023-10-31T10:00:00+01:00", "due_relative": "48 hours"}


def test_a_deadline_met_late_is_missed_and_only_my_entries_meet_it(tmp_path):
    entries = {
        "a.yaml": entry("2023-10-26 10:00", "platform", "Asked for photos.",
                        deadline=deadline("Upload photos", "2023-10-27 10:00")),
        "b.yaml": entry("2023-10-28 10:00", "me", "Uploaded them.", fulfils="a"),
        "c.yaml": entry("2023-10-26 11:00", "seller", "Seller uploaded something.",
                        fulfils="a"),
    }
    report = run_case(tmp_path, entries)
    [d] = report["deadlines"]
    assert (d["status"], d["met_by"], d["met_late"]) == ("missed", "b", True)
    problems = messages(tmp_path)
    assert any(m.startswith("entries/c.yaml:5:1: warning: fulfils: entry 'a' sets a deadline for "
                            "you, and only your own entries (`sender: me`) meet it") for m in problems)


def test_the_deadline_partial_gets_plain_data(tmp_path):
    write_case(tmp_path, case_yaml(), DEADLINE_ENTRIES)
    from itaoreport.analysis.promises import deadline_statuses

    case = load_case(tmp_path).case
    views = deadline_views(deadline_statuses(case, date(2023, 11, 5)), EN)
    assert [v["status_label"] for v in views] == ["Met", "Missed", "Open"]
    assert views[1]["due"] == "Oct 31, 2023, 10:00"
    for view in views:
        assert all(v is None or isinstance(v, (str, bool)) for v in view.values())


def test_an_entry_with_both_a_promise_and_a_deadline_is_warned(tmp_path):
    write_case(tmp_path, case_yaml(), {"a.yaml": entry(
        "2023-10-26 10:00", "platform", "Both.", promise=promise("Refund", "2023-10-30"),
        deadline=deadline("Upload", "2023-10-30"))})
    assert any("holds both a `promise` and a `deadline`" in m for m in messages(tmp_path))


# -- durations -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("48 hours", "2023-10-27 10:00"), ("1 hour", "2023-10-25 11:00"),
    ("2 days", "2023-10-27 10:00"), ("1 day", "2023-10-26 10:00"),
    ("1 week", "2023-11-01 10:00"), ("2 weeks", "2023-11-08 10:00"),
    ("3 Days", "2023-10-28 10:00"), ("12HOURS", "2023-10-25 22:00"),
])
def test_a_duration_counts_from_the_entry_timestamp(text, expected):
    start = parse_moment("2023-10-25 10:00", BERLIN)
    due = resolve_due(parse_due(text, BERLIN), start, BERLIN)
    assert due.local.strftime("%Y-%m-%d %H:%M") == expected
    assert due.relative == " ".join(text.split()) and due.has_time


def test_hours_are_real_time_and_days_keep_the_clock_across_daylight_saving():
    start = parse_moment("2023-10-28 09:00", BERLIN)  # clocks go back on Oct 29
    assert resolve_due(parse_due("24 hours", BERLIN), start, BERLIN).local.hour == 8
    assert resolve_due(parse_due("1 day", BERLIN), start, BERLIN).local.hour == 9


def test_a_duration_after_a_bare_date():
    start = parse_moment("2023-10-25", BERLIN)
    due = resolve_due(parse_due("2 days", BERLIN), start, BERLIN)
    assert not due.has_time and due.day() == date(2023, 10, 27)
    with pytest.raises(BadValue, match="has no time of day"):
        resolve_due(parse_due("48 hours", BERLIN), start, BERLIN)


def test_a_bad_due_says_all_three_forms(tmp_path):
    write_case(tmp_path, case_yaml(), {"a.yaml": entry(
        "2023-10-26 10:00", "seller", "Promised.", promise=promise("Refund", "soon"))})
    [problem] = messages(tmp_path)
    assert "promise.due: 'soon' is not a date and time" in problem
    assert "48 hours, 2 days, 1 week" in problem


def test_the_report_shows_the_resolved_moment_of_a_duration(tmp_path):
    entries = {"a.yaml": entry("2023-10-27 09:15", "seller", "Promised tracking.",
                               promise=promise("Tracking", "48 hours"))}
    report = run_case(tmp_path, entries, formats=("json", "html", "txt"))
    [p] = report["promises"]
    assert (p["due"], p["due_relative"]) == ("2023-10-29T08:15:00+01:00", "48 hours")
    assert "Oct 29, 2023, 08:15" in report["_html"]
    assert "by Oct 29" in report["_summary_txt"]


def test_schema_accepts_durations_and_lists_the_new_fields():
    import jsonschema

    from itaoreport.case.schema import json_schema

    entry_schema, case_schema = json_schema("entry"), json_schema("case")
    assert set(case_schema["properties"]) >= {"dispute", "delivery", "declaration"}
    assert "email" in case_schema["properties"]["seller"]["properties"]
    assert "deadline" in entry_schema["properties"]
    good = {"timestamp": "2023-10-27 09:15", "channel": "x", "sender": "me", "summary": "s",
            "promise": {"text": "t", "due": "48 hours"},
            "deadline": {"text": "t", "due": "1 Week"}}
    jsonschema.validate(good, entry_schema)
    bad = {**good, "promise": {"text": "t", "due": "soon"}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, entry_schema)
    jsonschema.validate({"title": "t", "claimant": {"name": "n"}, "seller": {"name": "s"},
                         "order": {"id": "1", "date": "2023-10-20"}, "declaration": False,
                         "dispute": {"id": "D-1", "opened": "2023-11-02"}}, case_schema)


def test_sample_case_uses_dispute_seller_email_and_a_duration():
    """The sample stays a tracking case (and within the report's 5 pages, #15): the dispute
    it opened, the seller's address, the promise "in 2 days" as written."""
    from conftest import SAMPLE_CASE

    case = load_case(SAMPLE_CASE).case
    assert case.dispute is not None and case.dispute.id and case.seller.email
    [promise] = [e.promise for e in case.entries if e.promise]
    assert promise.due.relative == "2 days"
    assert load_case(SAMPLE_CASE).problems == []


def test_report_json_doc_names_the_new_keys():
    doc = (Path(__file__).parent.parent / "docs" / "report-json.md").read_text(encoding="utf-8")
    for key in ("`deadlines`", "`dispute", "`delivery", "`declaration`", "`due_relative`"):
        assert key in doc, key


@pytest.mark.parametrize("due, message", [
    ("0 days", "'0 days' is no time at all"),
    ("-2 days", "'-2 days' is not a date and time"),
    ("2 fortnights", "'2 fortnights' is not a date and time"),
    ("9999 weeks", "`9999 weeks` after 2023-10-27 is out of range"),
    ("5 hours", "`5 hours` counts from the entry's time, but its timestamp '2023-10-27' has no "
                "time of day"),
])
def test_a_duration_that_cannot_be_counted_is_a_located_error(tmp_path, due, message):
    write_case(tmp_path, case_yaml(), {"a.yaml": entry(
        "2023-10-27", "seller", "Promised.", promise=promise("Refund", due))})
    [problem] = messages(tmp_path)
    assert problem.startswith("entries/a.yaml:7:") and f"error: promise.due: {message}" in problem

"""Derived facts: as-of day, overdue days, contact days, seller replies and the longest wait."""

from __future__ import annotations

from pathlib import Path

from analysis_cases import case_yaml, entry, run_case

from itaoreport.analysis.narrative import format_duration
from itaoreport.case.values import parse_moment, zone
from itaoreport.render.i18n import data_translator, load_translator
from itaoreport.render.themes import builtin_themes_dir


def english(timezone: str = "UTC"):
    """The built-in English translator for the case timezone."""
    return load_translator([builtin_themes_dir() / "default"], "en", timezone)[0]


def test_days_overdue_counts_whole_days_from_expected_delivery_to_as_of(tmp_path: Path):
    facts = run_case(tmp_path / "a", {"a.yaml": entry("2023-10-26 14:30")})["facts"]
    assert facts["days_overdue"] == 4
    facts = run_case(tmp_path / "b", {"a.yaml": entry("2023-10-26 14:30")},
                     case_yaml(as_of="2023-11-01"))["facts"]
    assert facts["days_overdue"] is None
    facts = run_case(tmp_path / "c", {"a.yaml": entry("2023-10-26 14:30")},
                     case_yaml(expected=None))["facts"]
    assert facts["days_overdue"] is None


def test_as_of_defaults_to_the_latest_entry_day_in_the_case_timezone(tmp_path: Path):
    # 23:30 UTC on Nov 3 is already Nov 4 in Berlin; the clock is never consulted.
    entries = {"a.yaml": entry("2023-10-26 14:30"), "b.yaml": entry("2023-11-03T23:30Z")}
    facts = run_case(tmp_path, entries, case_yaml(as_of=None))["facts"]
    assert (facts["as_of"], facts["as_of_source"]) == ("2023-11-04", "latest entry")
    assert facts["days_overdue"] == 3


def test_contact_days_are_distinct_case_timezone_days_of_buyer_messages(tmp_path: Path):
    entries = {
        "a.yaml": entry("2023-10-26 09:00"),
        "b.yaml": entry("2023-10-26 18:00"),
        # Written as Oct 31 in Shanghai; in Berlin it is still Oct 30.
        "c.yaml": entry("2023-10-31T06:30+08:00"),
        "d.yaml": entry("2023-11-02"),
        "e.yaml": entry("2023-11-03 10:00", "seller"),
        "f.yaml": entry("2023-11-04 10:00", kind="note", summary="Checked tracking myself."),
    }
    facts = run_case(tmp_path, entries)["facts"]
    assert facts["buyer_contact_days"] == ["2023-10-26", "2023-10-30", "2023-11-02"]


def test_seller_replies_unanswered_messages_and_longest_wait(tmp_path: Path):
    entries = {
        "1-ask.yaml": entry("2023-10-26 14:30"),
        "2-ask-again.yaml": entry("2023-10-26 16:00"),
        "3-reply.yaml": entry("2023-10-27 09:15", "seller"),
        "4-ask.yaml": entry("2023-10-30 18:00"),
        "5-note.yaml": entry("2023-10-31 18:00", "seller", kind="note"),
        "6-ask.yaml": entry("2023-11-02 11:05"),
    }
    facts = run_case(tmp_path, entries)["facts"]
    assert facts["seller_response_times"] == [
        {"message": "1-ask", "reply": "3-reply", "minutes": 18 * 60 + 45, "approximate": False},
        {"message": "2-ask-again", "reply": "3-reply", "minutes": 17 * 60 + 15,
         "approximate": False},
    ]
    assert facts["unanswered_buyer_messages"] == ["4-ask", "6-ask"]
    # An open wait counts from Oct 30 18:00 to the start of the as-of day (Nov 5 00:00).
    assert facts["longest_silence"] == {"after": "4-ask", "until": None,
                                        "minutes": (5 * 24 + 6) * 60, "days": 5}


def test_reply_time_across_the_clock_change_is_real_elapsed_time(tmp_path: Path):
    entries = {"a.yaml": entry("2023-10-28 12:00"), "b.yaml": entry("2023-10-29 12:00", "seller")}
    facts = run_case(tmp_path, entries)["facts"]
    assert facts["seller_response_times"][0]["minutes"] == 25 * 60
    assert facts["longest_silence"] == {"after": "a", "until": "b", "minutes": 25 * 60,
                                        "days": 1}


def test_key_facts_are_shown_in_the_report(tmp_path: Path):
    entries = {"a.yaml": entry("2023-10-26 14:30"), "b.yaml": entry("2023-10-27 09:15", "seller"),
               "c.yaml": entry("2023-10-30 18:00")}
    html = run_case(tmp_path, entries, formats=("html",))["_html"]
    assert "Key facts" in html
    assert "Oct 26, 2023; Oct 30, 2023" in html
    assert "reply after 18 h 45 min" in html
    assert "Unanswered messages" in html and 'href="#entry-c"' in html


def test_durations_read_in_minutes_hours_or_days():
    assert [format_duration(m, english()) for m in (45, 18 * 60 + 45, 11 * 1440 + 6 * 60)] == [
        "45 min", "18 h 45 min", "11 days 6 h"]


def test_times_show_the_offset_in_the_repeated_autumn_hour_only():
    berlin = zone("Europe/Berlin")
    first = parse_moment("2023-10-29 02:30", berlin)
    second = parse_moment("2023-10-29T02:30+01:00", berlin)
    tr = english("Europe/Berlin")
    assert tr.moment(first).endswith("2:30 (UTC+02:00)")
    assert tr.moment(second).endswith("2:30 (UTC+01:00)")
    assert "UTC" not in tr.moment(parse_moment("2023-10-29 09:15", berlin))
    # Data files (log.csv) keep plain times, as import reads them back.
    assert data_translator([builtin_themes_dir() / "default"], "Europe/Berlin").moment(first) \
        == "2023-10-29 02:30"


def test_requirements_and_approvals_are_not_contact_attempts(tmp_path: Path):
    entries = {
        "a.yaml": entry("2023-10-20 10:00", summary="Size M.", kind="requirement"),
        "b.yaml": entry("2023-10-22 10:00", summary="Approved.", kind="approval",
                        decision="approved", refers_to="a"),
        "c.yaml": entry("2023-10-26 14:30"),
    }
    facts = run_case(tmp_path, entries)["facts"]
    assert facts["buyer_contact_days"] == ["2023-10-26"]
    assert facts["unanswered_buyer_messages"] == ["c"]

"""Promise status by the case-format rule, compared by real instant, DST and offsets included."""

from __future__ import annotations

from pathlib import Path

from analysis_cases import case_yaml, entry, promise, promise_of, run_case

PROMISE_ID = "1-promise"


def promise_case(tmp_path: Path, due: str, *fulfilments: str, status: str | None = None,
                 as_of: str = "2023-11-05", made: str = "2023-10-27 09:15") -> dict:
    """A seller promise plus one fulfilling entry per timestamp given; returns report.json."""
    entries = {f"{PROMISE_ID}.yaml": entry(made, "seller", "Seller promised tracking.",
                                          promise=promise("Tracking will update", due, status))}
    for i, when in enumerate(fulfilments):
        entries[f"2-done-{i}.yaml"] = entry(when, "seller", "Tracking number sent.",
                                            fulfils=PROMISE_ID)
    return promise_of(run_case(tmp_path, entries, case_yaml(as_of=as_of)), PROMISE_ID)


def test_fulfilled_exactly_at_the_due_time_is_kept(tmp_path: Path):
    p = promise_case(tmp_path, "2023-10-29 09:15", "2023-10-29 09:15")
    assert (p["status"], p["kept_by"], p["kept_late"]) == ("kept", "2-done-0", False)
    assert p["stated_by_claimant"] is False


def test_fulfilled_one_minute_late_is_broken_and_kept_late(tmp_path: Path):
    p = promise_case(tmp_path, "2023-10-29 09:15", "2023-10-29 09:16")
    assert (p["status"], p["kept_by"], p["kept_late"]) == ("broken", "2-done-0", True)


def test_an_on_time_fulfilment_wins_over_an_earlier_listed_late_one(tmp_path: Path):
    p = promise_case(tmp_path, "2023-10-29 09:15", "2023-10-30 10:00", "2023-10-28 10:00")
    assert (p["status"], p["kept_by"], p["kept_late"]) == ("kept", "2-done-1", False)


def test_no_fulfilment_is_broken_once_due_is_before_as_of(tmp_path: Path):
    assert promise_case(tmp_path / "a", "2023-11-04 23:59")["status"] == "broken"
    # Due on the as-of day itself (or later): not yet broken.
    assert promise_case(tmp_path / "b", "2023-11-05 09:00")["status"] == "pending"
    assert promise_case(tmp_path / "c", "2023-11-20")["status"] == "pending"


def test_promise_without_due_is_pending_until_fulfilled(tmp_path: Path):
    assert promise_case(tmp_path / "a", None)["status"] == "pending"
    assert promise_case(tmp_path / "b", None, "2023-12-01 10:00")["status"] == "kept"


def test_explicit_status_wins_and_is_marked_as_stated(tmp_path: Path):
    p = promise_case(tmp_path / "a", "2023-10-29 09:15", status="kept")
    assert (p["status"], p["derived_status"], p["stated_by_claimant"]) == ("kept", "broken", True)
    p = promise_case(tmp_path / "b", "2023-10-29 09:15", "2023-10-28 10:00", status="broken")
    assert (p["status"], p["derived_status"], p["stated_by_claimant"]) == ("broken", "kept", True)


def test_explicit_status_is_shown_as_stated_in_the_report(tmp_path: Path):
    entries = {f"{PROMISE_ID}.yaml": entry("2023-10-27 09:15", "seller", "Promised.",
                                          promise=promise("Refund", "2023-10-29", "kept"))}
    html = run_case(tmp_path, entries, formats=("html",))["_html"]
    assert "status stated by the claimant; the evidence alone shows: broken" in html


def test_bare_due_date_lasts_to_the_end_of_that_day_in_the_case_timezone(tmp_path: Path):
    # 23:30 in Berlin on the due day is on time ...
    assert promise_case(tmp_path / "a", "2023-10-29", "2023-10-29 23:30")["status"] == "kept"
    # ... but 23:30 UTC on the due day is 00:30 the next day in Berlin: late.
    p = promise_case(tmp_path / "b", "2023-10-29", "2023-10-29T23:30Z")
    assert (p["status"], p["kept_late"]) == ("broken", True)
    assert p["deadline_utc"] == "2023-10-29T23:00:00+00:00"


def test_due_in_the_repeated_autumn_hour_is_compared_by_real_instant(tmp_path: Path):
    # Berlin, 2023-10-29: 02:00-03:00 happens twice. An unmarked 02:30 is the first one
    # (summer time, 00:30 UTC); 02:15 in winter time (+01:00) is 01:15 UTC, i.e. later.
    p = promise_case(tmp_path / "a", "2023-10-29 02:30", "2023-10-29T02:15+01:00")
    assert (p["status"], p["kept_late"]) == ("broken", True)
    assert p["deadline_utc"] == "2023-10-29T00:30:00+00:00"
    p = promise_case(tmp_path / "b", "2023-10-29 02:30", "2023-10-29T02:15+02:00")
    assert p["status"] == "kept"


def test_deadline_across_the_clock_change_counts_real_hours(tmp_path: Path):
    # Made 09:15 summer time, due 09:15 winter time: the fulfilment at 08:45 winter time
    # is on time though more than 48 real hours after the promise.
    p = promise_case(tmp_path, "2023-10-29 09:15", "2023-10-29 08:45",
                     made="2023-10-27 09:15")
    assert p["status"] == "kept"
    assert p["made"] == "2023-10-27T09:15:00+02:00" and p["due"] == "2023-10-29T09:15:00+01:00"


def test_fulfilment_written_in_another_timezone_is_placed_by_its_real_instant(tmp_path: Path):
    # 16:00 in Shanghai is 08:00 UTC, before the 09:15 Berlin (08:15 UTC) deadline.
    p = promise_case(tmp_path / "a", "2023-10-29 09:15", "2023-10-29T16:00+08:00")
    assert (p["status"], p["kept_late"]) == ("kept", False)
    # 09:10 in New York is 14:10 UTC: wall clock earlier than 09:15, real instant later.
    p = promise_case(tmp_path / "b", "2023-10-29 09:15", "2023-10-29T09:10-05:00")
    assert (p["status"], p["kept_late"]) == ("broken", True)


def test_passed_deadlines_are_marked_between_entries_by_instant(tmp_path: Path):
    entries = {
        "1-promise.yaml": entry("2023-10-27 09:15", "seller", "Promised.",
                                promise=promise("Tracking will update", "2023-10-29 09:15")),
        # 08:20 UTC: just after the 08:15 UTC deadline, though written with an earlier date.
        "2-asia.yaml": entry("2023-10-29T16:20+08:00", "me", "Asked again."),
        "3-early.yaml": entry("2023-10-29 09:15", "me", "Asked at the deadline."),
        "4-later.yaml": entry("2023-11-03 10:00", "me", "Asked once more."),
    }
    report = run_case(tmp_path, entries, formats=("json", "html"))
    marks = report["facts"]["deadlines_passed"]
    assert [(m["kind"], m["entry"], m["before_entry"]) for m in marks] == [
        ("promise", "1-promise", "2-asia"),
        ("expected_delivery", None, "4-later"),
    ]
    html = report["_html"]
    mark_at = html.index('class="deadline-mark"')
    assert html.index('id="entry-3-early"') < mark_at < html.index('id="entry-2-asia"')
    assert "Expected delivery date passed" in html


def test_kept_promises_leave_no_deadline_mark(tmp_path: Path):
    entries = {
        "1-promise.yaml": entry("2023-10-27 09:15", "seller", "Promised.",
                                promise=promise("Tracking will update", "2023-10-29 09:15")),
        "2-done.yaml": entry("2023-10-28 10:00", "seller", "Sent.", fulfils="1-promise"),
    }
    report = run_case(tmp_path, entries, case_yaml(expected=None))
    assert report["facts"]["deadlines_passed"] == []


def test_late_fulfilment_on_the_as_of_day_is_still_broken(tmp_path: Path):
    # The deadline has not passed as of the start of the as-of day, but it was met late.
    p = promise_case(tmp_path, "2023-11-05 09:00", "2023-11-05 10:00")
    assert (p["status"], p["kept_late"]) == ("broken", True)


def test_the_first_entry_after_a_deadline_is_found_as_a_scan_would_find_it():
    """_place bisects the entries' instants: for deadlines exactly at an entry, between
    entries, before the first and after the last, due times (an entry exactly at the time
    is on time) and due days alike, it names the entry a scan in time order names."""
    from datetime import datetime, timedelta, timezone
    from types import SimpleNamespace

    from itaoreport.analysis.promises import Deadline, DeadlineMark, _place

    start = datetime(2023, 10, 1, tzinfo=timezone.utc)
    offsets = [0, 5, 5, 5, 9, 30, 31, 31, 60]
    entries = [SimpleNamespace(id=f"e{n}", timestamp=SimpleNamespace(
        instant=start + timedelta(minutes=m))) for n, m in enumerate(offsets)]
    instants = [e.timestamp.instant for e in entries]
    for minute in range(-2, 63):
        for inclusive in (True, False):
            deadline = Deadline(start + timedelta(minutes=minute), inclusive)
            scan = next((e.id for e in entries if deadline.missed_by(e.timestamp.instant)), None)
            placed = _place(DeadlineMark(deadline, None), entries, instants)
            assert placed.before == scan, (minute, inclusive)

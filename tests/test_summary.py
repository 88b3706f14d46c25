"""The generated summary and summary.txt: the story a reviewer reads first, within the limit."""

from __future__ import annotations

import json
import re
from pathlib import Path

from analysis_cases import case_yaml, entry, promise, promise_of, run_case
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from itaoreport.analysis.narrative import Sentence, fit_text, short_date
from itaoreport.cli import main
from itaoreport.render.i18n import load_translator
from itaoreport.render.themes import builtin_themes_dir

EN = load_translator([builtin_themes_dir() / "default"], "en")[0]

# Written the way a buyer would, independent of the sample case.
DONE_WHEN_ENTRIES = {
    "2023-10-20-asked-when-it-ships.yaml": entry("2023-10-20 11:00", "me", "Asked when it ships."),
    "2023-10-21-promise-to-ship.yaml": entry(
        "2023-10-21 09:00", "seller", "Seller promised to ship within 3 days.",
        promise=promise("Ship within 3 days", "2023-10-24")),
    "2023-10-23-shipped.yaml": entry("2023-10-23 15:00", "seller", "Seller said it shipped.",
                                     fulfils="2023-10-21-promise-to-ship"),
    "2023-10-25-promise-tracking.yaml": entry(
        "2023-10-25 09:30", "seller", "Seller promised a tracking number.",
        promise=promise("Send a working tracking number", "2023-10-27 10:00")),
    # Written while travelling: Oct 28 03:00 in Shanghai is still Oct 27 in Berlin.
    "2023-10-28-asked-for-tracking.yaml": entry("2023-10-28T03:00+08:00", "me",
                                                "Asked for the tracking number again."),
    "2023-11-03-promise-refund.yaml": entry(
        "2023-11-03 10:00", "seller", "Seller promised a refund if it does not arrive.",
        promise=promise("Refund if not delivered", "2023-11-20")),
    "2023-11-06-asked-for-refund.yaml": entry("2023-11-06 08:00", "me", "Asked for the refund."),
}


def test_done_when_case_statuses_overdue_days_contact_days_and_summary(tmp_path: Path):
    case = case_yaml(as_of="2023-11-15", expected="2023-11-01", seller="Lumen Lighting Ltd")
    report = run_case(tmp_path, DONE_WHEN_ENTRIES, case)
    statuses = {p["entry"]: p["status"] for p in report["promises"]}
    assert statuses == {"2023-10-21-promise-to-ship": "kept",
                        "2023-10-25-promise-tracking": "broken",
                        "2023-11-03-promise-refund": "pending"}
    assert promise_of(report, "2023-10-21-promise-to-ship")["kept_by"] == "2023-10-23-shipped"
    assert report["facts"]["days_overdue"] == 14
    assert report["facts"]["buyer_contact_days"] == ["2023-10-20", "2023-10-27", "2023-11-06"]
    text = report["_summary_txt"]
    assert "Lumen Lighting Ltd" in text and "14 days" in text
    assert ("Lumen Lighting Ltd did not keep the promise made on Oct 25: "
            "\u201cSend a working tracking number\u201d by Oct 27.") in text
    assert "on three occasions (Oct 20, Oct 27, Nov 6) without success" in text
    assert "still outstanding" in text


def test_sample_case_summary_reads_like_the_claim_paragraph(sample_build: Path):
    report = json.loads((sample_build / "build" / "report.json").read_text(encoding="utf-8"))
    promise_entry = report["promises"][0]["entry"]
    label = next(x["label"] for x in report["exhibits"] if promise_entry in x["entries"])
    by_entry = {e["id"]: e["attachments"][0]["exhibit"] for e in report["entries"]
                if e["attachments"]}
    text = (sample_build / "build" / "summary.txt").read_text(encoding="utf-8")
    assert text == report["summary"] + "\n"
    sentences = re.split(r"(?<=\.) (?=[A-Z])", text.strip())
    assert sentences[0].startswith("I ordered \u201cWireless earbuds, black\u201d from GadgetWorld "
                                   "on Oct 20")
    assert sentences[1] == (f"GadgetWorld did not keep the promise made on Oct 27 ({label}): "
                            "\u201cTracking will update\u201d by Oct 29.")
    assert sentences[2] == "The item was due by Nov 1 and is now 10 days overdue."
    assert sentences[3] == ("I tried to resolve this directly with GadgetWorld on three occasions "
                            "(Oct 26, Oct 30, Nov 2) without success.")
    assert sentences[-2] == ("GadgetWorld has not replied to my messages of Oct 30 and Nov 2 "
                             f"({by_entry['2023-10-30-1800-follow-up-ultimatum']}, "
                             f"{by_entry['2023-11-02-1105-last-attempt']}).")
    assert sentences[-1] == "I request a full refund of $59.90."


def claim_summary(tmp_path: Path, claim: str) -> str:
    entries = {"a.yaml": entry("2023-10-26 14:30"), "b.yaml": entry("2023-10-27 09:00", "seller")}
    return run_case(tmp_path, entries, case_yaml(claim=claim))["summary"]


def test_summary_adapts_to_the_claim_type(tmp_path: Path):
    not_received = claim_summary(tmp_path / "a", "item_not_received")
    assert "The item was due by Nov 1 and is now 4 days overdue." in not_received
    described = claim_summary(tmp_path / "b", "not_as_described")
    assert "The item I received is not as described." in described
    assert "overdue" not in described
    damaged = claim_summary(tmp_path / "c", "damaged")
    assert "The item arrived damaged." in damaged and "overdue" not in damaged
    unauthorized = claim_summary(tmp_path / "d", "unauthorized")
    assert unauthorized.startswith("Order T-1 for \u201cDesk lamp\u201d from ShopCo on Oct 20 was "
                                   "placed without my authorisation.")
    assert "I ordered" not in unauthorized
    other = claim_summary(tmp_path / "e", "other")
    assert "Delivery was due by Nov 1 and is now 4 days overdue." in other


def test_not_received_without_expected_date_says_it_has_not_arrived(tmp_path: Path):
    report = run_case(tmp_path, {"a.yaml": entry("2023-10-26 14:30")}, case_yaml(expected=None))
    assert "The item has not arrived." in report["summary"]
    assert "on one occasion (Oct 26) without success" in report["summary"]


def test_late_fulfilment_is_told_as_kept_late(tmp_path: Path):
    entries = {
        "p.yaml": entry("2023-10-27 09:15", "seller", "Promised.",
                        promise=promise("Tracking will update", "2023-10-29 09:15")),
        "k.yaml": entry("2023-11-02 10:00", "seller", "Sent tracking.", fulfils="p"),
    }
    summary = run_case(tmp_path, entries)["summary"]
    assert ("ShopCo promised on Oct 27: \u201cTracking will update\u201d by Oct 29, but only did "
            "so on Nov 2.") in summary


def many_promises_case(tmp_path: Path, count: int = 12) -> dict[str, str]:
    entries = {f"{i:02d}-ask.yaml": entry(f"2023-10-{10 + i} 08:00") for i in range(count)}
    for i in range(count):
        entries[f"{i:02d}-promise.yaml"] = entry(
            f"2023-10-{10 + i} 12:00", "seller", "Promised again.",
            promise=promise(f"We will ship tomorrow without fail, this time for sure (#{i})",
                            f"2023-10-{11 + i} 12:00"))
    return entries


def test_summary_txt_fits_the_limit_by_dropping_detail_not_cutting(tmp_path: Path):
    report = run_case(tmp_path, many_promises_case(tmp_path), summary_chars=400)
    full, text = report["summary"], report["_summary_txt"].rstrip("\n")
    assert len(full) > 1500 and len(text) <= 400
    assert text.startswith("I ordered \u201cDesk lamp\u201d from ShopCo on Oct 20")
    assert "In total, 12 promises were not kept." in text
    assert text.endswith("I request a full refund of €30.00.")
    assert text.endswith(".") and "  " not in text


def test_summary_chars_option_reaches_summary_txt(tmp_path: Path):
    from conftest import write_case

    write_case(tmp_path / "case", case_yaml(), many_promises_case(tmp_path))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["build", str(tmp_path / "case"), "-o", str(out),
                                       "--format", "txt", "--summary-chars", "600"])
    assert result.exit_code == 0, result.output
    text = (out / "summary.txt").read_text(encoding="utf-8").rstrip("\n")
    assert 400 < len(text) <= 600


def test_fit_text_shortens_before_it_drops_and_keeps_opening_and_request():
    sentences = [Sentence("Opening sentence here.", 0, "Opening."),
                 Sentence("Detail one is long.", 1, "Detail one."),
                 Sentence("Detail two.", 3),
                 Sentence("Request.", 0)]
    full = " ".join(s.text for s in sentences)
    assert fit_text(sentences, len(full), EN) == full
    assert fit_text(sentences, len(full) - 1, EN) == \
        "Opening sentence here. Detail one is long. Request."
    assert fit_text(sentences, 45, EN) == "Opening sentence here. Detail one. Request."
    assert fit_text(sentences, 32, EN) == "Opening sentence here. Request."
    assert fit_text(sentences, 20, EN) == "Opening. Request."
    assert fit_text(sentences, 5, EN) == ""


@given(st.lists(st.tuples(st.integers(0, 4), st.integers(1, 60), st.booleans()), max_size=12),
       st.integers(0, 400))
def test_fit_text_only_ever_joins_whole_sentences_within_the_limit(specs, limit):
    sentences = [Sentence(f"S{i}" + "x" * n + ".", p, f"s{i}." if has_short else None)
                 for i, (p, n, has_short) in enumerate(specs)]
    text = fit_text(sentences, limit, EN)
    assert len(text) <= limit
    if not text:
        return
    indices = []
    for word in text.split(" "):
        i = int(re.match(r"[Ss](\d+)", word).group(1))
        assert word in (sentences[i].text, sentences[i].short)
        indices.append(i)
    assert indices == sorted(set(indices))


def test_dates_use_one_format_with_the_year_only_when_it_differs():
    from datetime import date

    assert short_date(EN, date(2023, 10, 20), date(2023, 11, 11)) == "Oct 20"
    assert short_date(EN, date(2022, 12, 30), date(2023, 1, 5)) == "Dec 30, 2022"

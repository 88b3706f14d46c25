"""Requirements and approvals: the baseline of what was ordered and the flags a reviewer needs."""

from __future__ import annotations

from pathlib import Path

from analysis_cases import case_yaml, entry, run_case


def approval(timestamp: str, decision: str, refers_to: str, sender: str = "me") -> str:
    return entry(timestamp, sender, f"Decided {decision}.", kind="approval",
                 decision=decision, refers_to=refers_to)


ENTRIES = {
    "1-size.yaml": entry("2023-10-20 10:00", summary="Size M, black.", kind="requirement"),
    "2-engraving.yaml": entry("2023-10-20 10:05", summary="Engraving reads ANNA.",
                              kind="requirement"),
    "3-box.yaml": entry("2023-10-20 10:10", summary="Gift box included.", kind="requirement"),
    "4-size-ok.yaml": approval("2023-10-22 09:00", "approved", "1-size"),
    "5-engraving-no.yaml": approval("2023-10-22 09:05", "changes_requested", "2-engraving"),
    "6-engraving-ok.yaml": approval("2023-10-24 09:05", "approved", "2-engraving", "seller"),
    "7-loose.yaml": entry("2023-10-25 12:00", summary="Proof approved.", kind="approval",
                          decision="approved"),
}


def test_requirements_with_their_decisions_and_flags(tmp_path: Path):
    report = run_case(tmp_path, ENTRIES, case_yaml(claim="not_as_described"))
    reqs = {r["entry"]: r for r in report["approvals"]["requirements"]}
    assert list(reqs) == ["1-size", "2-engraving", "3-box"]
    assert (reqs["1-size"]["never_approved"], reqs["1-size"]["approved_after_change_request"]) \
        == (False, None)
    assert [d["decision"] for d in reqs["2-engraving"]["decisions"]] == [
        "changes_requested", "approved"]
    assert reqs["2-engraving"]["approved_after_change_request"] == "6-engraving-ok"
    assert (reqs["3-box"]["never_approved"], reqs["3-box"]["latest"]) == (True, None)
    assert [d["entry"] for d in report["approvals"]["other_decisions"]] == ["7-loose"]


def test_flags_reach_the_summary_of_a_not_as_described_claim(tmp_path: Path):
    report = run_case(tmp_path, ENTRIES, case_yaml(claim="not_as_described"))
    summary = report["summary"]
    assert "The item I received is not as described." in summary
    assert "What was ordered is recorded in the requirements of Oct 20." in summary
    assert "The requirement \u201cGift box included\u201d of Oct 20 was never approved." in summary
    assert ("The requirement \u201cEngraving reads ANNA\u201d of Oct 20 was approved on Oct 24, "
            "after changes had been requested on Oct 22.") in summary
    assert "Size M" not in summary


def test_report_has_the_section_only_when_the_case_has_requirements(tmp_path: Path):
    html = run_case(tmp_path / "a", ENTRIES, formats=("html",))["_html"]
    assert "Requirements and approvals" in html
    assert html.count('<tr class="flagged">') == 2
    assert "Never approved" in html and "Approved after a change request" in html
    assert "Decisions not linked to a requirement" in html
    plain = run_case(tmp_path / "b", {"a.yaml": entry("2023-10-26 14:30")}, formats=("json", "html"))
    assert "Requirements and approvals" not in plain["_html"]
    assert plain["approvals"] == {"requirements": [], "other_decisions": []}

"""The benchmark's own parts: the synthetic-case generator, target arithmetic, watch rebuild.

Timings are judged by `python benchmarks/run.py`, never here.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from benchmarks.child import REBUILDS, middle_entry, run_rebuild
from benchmarks.synth import Spec, ensure_case, plan
from benchmarks.targets import GB, Target, check, check_all, ratio
from itaoreport.case.validate import load_case

TINY = Spec(entries=12, screenshots=3, copies=2)


def test_plan_uses_every_screenshot_first_and_copies_later():
    p = plan(Spec(entries=100, screenshots=30, copies=6))
    first_use = {}
    for index in sorted(p.attachments):
        for path in p.attachments[index]:
            first_use.setdefault(path, index)
    assert set(p.shots) <= set(first_use)
    for copy, original, _scaled in p.copies:
        assert first_use[copy] > first_use[original]
    assert len({c for c, _, _ in p.copies}) == 6


@pytest.mark.parametrize("bad", [{"entries": 0}, {"screenshots": 5, "entries": 3},
                                 {"copies": 4, "screenshots": 3}])
def test_spec_refuses_impossible_cases(bad):
    with pytest.raises(ValueError):
        Spec(**{"entries": 12, "screenshots": 3, "copies": 2, **bad})


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One generated tiny case shared by the tests below (drawing takes a moment)."""
    folder = tmp_path_factory.mktemp("bench-work")
    ensure_case(TINY, folder, say=lambda message: None)
    return folder


def test_generated_case_is_valid_and_screenshots_differ(work: Path):
    case = work / TINY.key
    loaded = load_case(case)
    assert loaded.case is not None and loaded.problems == []
    assert len(loaded.case.entries) == 12
    shots = sorted((case / "screenshots").glob("chat-*.png"))
    images = [Image.open(p).convert("RGB") for p in shots]
    assert [im.size for im in images] == [(1080, 2340)] * 3
    assert ImageChops.difference(images[0], images[1]).getbbox() is not None
    copies = sorted((case / "screenshots" / "emailed").glob("*.jpg"))
    assert len(copies) == 2
    assert {Image.open(c).width for c in copies} == {1080, 720}
    if shutil.which("git"):
        log = subprocess.run(["git", "log", "--format=%s"], cwd=case, capture_output=True,
                             text=True, check=True).stdout.split("\n")
        assert log[-2] == "Entries 1-2"  # oldest first batch: entries added over time


def test_generated_case_is_reused(work: Path):
    case = work / TINY.key
    marker = case / "screenshots" / "chat-0000.png"
    before = marker.stat().st_mtime_ns
    said = []
    assert ensure_case(TINY, work, say=said.append) == case
    assert said == [] and marker.stat().st_mtime_ns == before


def test_ratio_targets_compare_with_the_baseline_of_the_same_run():
    target = Target("cold vs baseline", "cold", 1.5, baseline="base")
    assert check(target, {"cold": 3.0, "base": 2.0}).value == pytest.approx(1.5)
    assert check(target, {"cold": 3.0, "base": 2.0}).held is True
    assert check(target, {"cold": 3.1, "base": 2.0}).held is False
    assert check(target, {"cold": 3.0}).held is None
    assert ratio(1.0, 0.0) == float("inf")


def test_absolute_targets_and_the_issue_list():
    figures = {"warm_html_s": 0.4, "cold_full_s": 10.0, "baseline_s": 8.0,
               "rebuild_html_s": 0.2, "peak_rss_bytes": 2 * GB, "help_s": 0.1,
               "validate_sample_s": 0.2}
    held = {c.target.name: c.held for c in check_all(figures)}
    assert held["warm HTML-only / cold full"] is True
    assert held["cold full / (WeasyPrint alone + Pillow decode)"] is True
    assert held["peak memory of any build"] is False
    assert all(c.describe() for c in check_all(figures))


def test_watch_rebuild_times_each_edit_in_a_watcher_and_restores_the_entry(work: Path):
    case = work / TINY.key
    entry = middle_entry(case)
    before = entry.read_bytes()
    measured = run_rebuild(case)
    assert entry.read_bytes() == before
    assert measured["edited"] == entry.relative_to(case).as_posix()
    assert len(measured["edits"]) == len(measured["restores"]) == REBUILDS
    rounds = measured["edits"] + measured["restores"]
    assert all(measured["edited"] in r["changed"] for r in rounds)
    in_order = [r["generation"] for pair in zip(measured["edits"], measured["restores"])
                for r in pair]
    assert in_order == sorted(set(in_order)) and in_order[0] > 1  # after the first build
    # Saving to publishing covers the debounce and the build: longer than the build alone.
    assert all(r["save_to_report"] > r["seconds"] for r in rounds)
    assert measured["seconds"] == min(r["seconds"] for r in measured["edits"])
    assert measured["timings"] and "watch mode" in measured["mode"]
    assert measured["watcher_lines"][0].startswith("first build")


def test_watch_rebuild_with_the_pdf_on_measures_rebuilds_while_it_renders(work: Path):
    case = work / TINY.key
    entry = middle_entry(case)
    before = entry.read_bytes()
    measured = run_rebuild(case, pdf=True)
    assert entry.read_bytes() == before
    assert len(measured["edits"]) == REBUILDS
    assert "report.pdf rendering meanwhile" in measured["mode"]


def test_quotes_are_sentences_their_screenshot_shows_or_honest_misquotes():
    """The benchmark's quotes take the realistic path: drawn in the screenshot (a few with
    one number or word changed, which the build warns about)."""
    from benchmarks.synth import (plan, screenshot_quote, shown_screenshot,
                                  visible_sentences)

    spec = Spec(entries=300, screenshots=90, copies=9)
    verbatim = misquoted = 0
    for i, attachments in plan(spec).attachments.items():
        shot = shown_screenshot(spec, attachments)
        if i % 3 or shot is None:
            continue
        quote, shown = screenshot_quote(spec, i, shot), visible_sentences(spec.seed, shot)
        if quote in shown:
            verbatim += 1
            continue
        misquoted += 1
        assert any(len(q) == len(quote) and sum(a != b for a, b in zip(q, quote)) == 1
                   or sum(a != b for a, b in zip(q.split(), quote.split())) == 1
                   for q in shown), quote
    assert verbatim > 5 * misquoted > 0


def test_drawn_set_is_made_and_scored_with_the_decode_floor(tmp_path: Path):
    """benchmarks/dedupe_realset.py: `make-drawn` draws small chats (360, 450, 540 px) and
    labels their copies and near-misses; `score --floor` finds no false merge, merges every
    copy it can verify (the 50 % copies of 360 and 450 px are narrower than
    MIN_VERIFY_WIDTH: counted apart), and prints the decode floor."""
    import json
    import sys

    from itaoreport.evidence.dedupe import MIN_VERIFY_WIDTH

    realset = tmp_path / "set"
    script = Path(__file__).parent.parent / "benchmarks" / "dedupe_realset.py"
    subprocess.run([sys.executable, str(script), "make-drawn", str(realset), "--originals", "3"],
                   check=True, capture_output=True, timeout=120)
    labels = json.loads((realset / "labels.json").read_text())
    originals = [row for row in labels if row["kind"] == "orig"]
    assert sorted(Image.open(realset / row["file"]).width for row in originals) == [360, 450, 540]
    assert {row["kind"] for row in labels} >= {"jpeg60", "palette256", "glyph", "read_tick"}
    done = subprocess.run([sys.executable, str(script), "score", str(realset), "--floor",
                           "--workers", "1"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "false merges: 0 []" in done.stdout
    assert (f"half_bicubic   1/1 in the original's group (100%); 2 narrower than "
            f"{MIN_VERIFY_WIDTH} px, never merged, not counted") in done.stdout
    assert "jpeg60         3/3 in the original's group (100%)" in done.stdout
    floor = [line for line in done.stdout.splitlines() if line.startswith("floor: ")]
    assert len(floor) == 1 and f"decoding the {len(labels)} files" in floor[0]
    assert "s wall on 1 core before any comparison" in floor[0]

"""The pipeline on real case folders: outputs, atomic writes, nothing lost on failure."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import pytest
from conftest import ENTRY_YAML, png_bytes, write_case

from itaoreport.build import BuildOptions, build
from itaoreport.errors import CaseInvalid

FAST = ("html", "json", "txt", "csv")


def digest_tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_sample_case_outputs(sample_copy: Path):
    result = build(sample_copy, BuildOptions(formats=FAST))
    out = sample_copy / "build"
    assert result.out_dir == out
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["format"] == 1
    assert report["case"]["seller"]["name"] == "GadgetWorld"
    assert [e["id"] for e in report["entries"]][0] == "2023-10-20-1012-order-placed"
    assert all(len(a["sha256"]) == 64 for a in report["attachments"])
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Tracking will update in 2 days. Please wait." in html
    assert '<html lang="en">' in html
    for exhibit in report["exhibits"]:
        if exhibit["rendition"]:
            assert (out / exhibit["rendition"]).is_file()
    rows = list(csv.reader(io.StringIO((out / "log.csv").read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["Timestamp", "Channel", "Sender", "Summary / Key Quote", "Attachment",
                       "Action / Promise"]
    assert len(rows) == 1 + len(report["entries"])
    summary = (out / "summary.txt").read_text(encoding="utf-8")
    assert "GadgetWorld" in summary and "10 days overdue" in summary


def test_failed_build_keeps_last_good_report_and_evidence(warm_sample_copy: Path):
    build(warm_sample_copy, BuildOptions(formats=FAST))
    out_before = digest_tree(warm_sample_copy / "build")
    evidence_before = digest_tree(warm_sample_copy / "screenshots")
    entry = next((warm_sample_copy / "entries").glob("*seller*"))
    entry.write_text(entry.read_text() + "timestamp: 2023-10-27 09:15\n")  # duplicate key
    with pytest.raises(CaseInvalid):
        build(warm_sample_copy, BuildOptions(formats=FAST))
    assert digest_tree(warm_sample_copy / "build") == out_before
    assert digest_tree(warm_sample_copy / "screenshots") == evidence_before
    assert not list((warm_sample_copy / "build").rglob("*.tmp"))


def test_corrupt_image_names_file_and_entry_line(tmp_path: Path):
    entry = ENTRY_YAML + "attachments:\n  - shots/ok.png\n  - shots/broken.png\n"
    write_case(tmp_path, entries={"a.yaml": entry},
               files={"shots/ok.png": png_bytes(), "shots/broken.png": png_bytes()[:60]})
    with pytest.raises(CaseInvalid) as info:
        build(tmp_path, BuildOptions(formats=("json",)))
    [problem] = info.value.problems
    assert problem.format().startswith("entries/a.yaml:7:5: error: attachment 'shots/broken.png'")


def test_identical_files_share_one_exhibit(tmp_path: Path):
    shot = png_bytes(text="hello")
    entries = {
        "a.yaml": ENTRY_YAML + "attachments: [s/one.png]\n",
        "b.yaml": ENTRY_YAML.replace("14:30", "15:00") + "attachments: [s/two.png, s/one.png]\n",
    }
    write_case(tmp_path, entries=entries, files={"s/one.png": shot, "s/two.png": shot})
    report = build(tmp_path, BuildOptions(formats=("json",))).report
    assert len(report["exhibits"]) == 1
    by_path = {a["path"]: a for a in report["attachments"]}
    assert by_path["s/one.png"]["exhibit"] == by_path["s/two.png"]["exhibit"] == "E1"
    assert by_path["s/two.png"]["duplicate_of"] == "s/one.png"
    assert by_path["s/two.png"]["stage"] == "exact"


def test_user_text_is_escaped_in_html(tmp_path: Path):
    entry = ENTRY_YAML.replace("Asked for tracking.", "<script>alert(1)</script> {{ 7*7 }}")
    entry += "links: ['javascript:alert(1)', 'https://example.invalid/x']\n"
    write_case(tmp_path, entries={"a.yaml": entry})
    build(tmp_path, BuildOptions(formats=("html",)))
    html = (tmp_path / "build" / "report.html").read_text(encoding="utf-8")
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{ 7*7 }}" in html
    assert 'href="javascript:' not in html
    assert 'href="https://example.invalid/x"' in html


def test_theme_edits_reach_the_next_build_in_the_same_process(tmp_path: Path):
    """Watch mode builds again in one process: new and changed theme files must be used."""
    write_case(tmp_path)
    build(tmp_path, BuildOptions(formats=("html",)))
    override = tmp_path / "theme" / "partials" / "claim.html.j2"
    override.parent.mkdir(parents=True)
    override.write_text("<p>first override</p>\n", encoding="utf-8")
    build(tmp_path, BuildOptions(formats=("html",)))
    assert "first override" in (tmp_path / "build" / "report.html").read_text(encoding="utf-8")
    override.write_text("<p>second override, longer</p>\n", encoding="utf-8")
    build(tmp_path, BuildOptions(formats=("html",)))
    assert "second override" in (tmp_path / "build" / "report.html").read_text(encoding="utf-8")

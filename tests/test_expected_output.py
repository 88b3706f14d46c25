"""Expected-output test: report.json of the sample case, byte for byte.

After an intended change, refresh the expected file with:
    ITAOREPORT_UPDATE_EXPECTED=1 python -m pytest tests/test_expected_output.py
and review the diff before committing it.

The expected file is made with Tesseract 5.3 (eng, chi_sim) installed, the version
Debian 12 and CI have; where it is missing or another version, the OCR-made fields
(quote_check, ocr_text) are left out of the comparison and the rest still compared.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from itaoreport.evidence.ocr import find_engine

EXPECTED = Path(__file__).parent / "expected" / "sample_report.json"


def test_sample_report_json_matches_expected(sample_build: Path):
    """sample_build (conftest.py): a cold build of the sample, shared with the other checks
    that only read it; its report.json is the one a json-only build writes."""
    actual = (sample_build / "build" / "report.json").read_text(encoding="utf-8")
    if os.environ.get("ITAOREPORT_UPDATE_EXPECTED") == "1":
        EXPECTED.write_text(actual, encoding="utf-8")
    expected = EXPECTED.read_text(encoding="utf-8")
    engine = find_engine()
    if engine is None or f"tesseract-{engine.version}-" not in expected:
        actual, expected = _without_ocr(actual), _without_ocr(expected)
    assert actual == expected, (
        "report.json changed; if intended, refresh with ITAOREPORT_UPDATE_EXPECTED=1 (see docstring)"
    )


def _without_ocr(text: str) -> dict:
    report = json.loads(text)
    for entry in report["entries"]:
        entry.pop("quote_check", None)
    for exhibit in report["exhibits"]:
        exhibit.pop("ocr_text", None)
    return report


def test_report_json_layout_is_one_member_per_line_down_to_one_entry_per_line():
    """report_json_text: the same JSON value as the report, the top level and the objects
    and lists in it one member per line, each entry (anything deeper) on one line."""
    from itaoreport.render.exports import report_json_text

    report = {"format": 1, "case": {"title": "Ein „Titel“\nzwei Zeilen", "parties": []},
              "entries": [{"id": "a", "quote": "“5 天”", "tags": ["x", "y"]},
                          {"id": "b", "attachments": [{"path": "s/a.png"}]}],
              "summary": "", "kept_separate": [], "facts": {}}
    text = report_json_text(report)
    assert json.loads(text) == report
    assert text.splitlines() == [
        "{",
        '  "format": 1,',
        '  "case": {',
        '    "title": "Ein „Titel“\\nzwei Zeilen",',
        '    "parties": []',
        "  },",
        '  "entries": [',
        '    {"id": "a", "quote": "“5 天”", "tags": ["x", "y"]},',
        '    {"id": "b", "attachments": [{"path": "s/a.png"}]}',
        "  ],",
        '  "summary": "",',
        '  "kept_separate": [],',
        '  "facts": {}',
        "}",
    ]
    assert text.endswith("}\n")

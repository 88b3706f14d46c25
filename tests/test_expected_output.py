"""Expected-output test: report.json of the sample case, byte for byte.

After an intended change, refresh the expected file with:
    ITAOREPORT_UPDATE_EXPECTED=1 python -m pytest tests/test_expected_output.py
and review the diff before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

from itaoreport.build import BuildOptions, build

EXPECTED = Path(__file__).parent / "expected" / "sample_report.json"


def test_sample_report_json_matches_expected(sample_copy: Path):
    build(sample_copy, BuildOptions(formats=("json",)))
    actual = (sample_copy / "build" / "report.json").read_text(encoding="utf-8")
    if os.environ.get("ITAOREPORT_UPDATE_EXPECTED") == "1":
        EXPECTED.write_text(actual, encoding="utf-8")
    assert actual == EXPECTED.read_text(encoding="utf-8"), (
        "report.json changed; if intended, refresh with ITAOREPORT_UPDATE_EXPECTED=1 (see docstring)"
    )

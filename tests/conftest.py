"""Shared fixtures: small case folders written in tmp_path, and where the sample lives."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_CASE = ROOT / "sample_case"
SHARED = ROOT.parent / "shared"

CASE_YAML = """\
title: Test case
claimant:
  name: Buyer
seller:
  name: ShopCo
order:
  id: T-1
  date: 2023-10-20
  expected_delivery: 2023-11-01
claim:
  type: item_not_received
  requested: full_refund
as_of: 2023-11-05
timezone: Europe/Berlin
"""

ENTRY_YAML = """\
timestamp: 2023-10-26 14:30
channel: Email
sender: me
summary: Asked for tracking.
"""


def write_case(root: Path, case_yaml: str = CASE_YAML, entries: dict[str, str] | None = None,
               files: dict[str, bytes] | None = None) -> Path:
    """Write a case folder; entries maps file name (under entries/) to YAML text."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "case.yaml").write_text(textwrap.dedent(case_yaml), encoding="utf-8")
    for name, text in (entries if entries is not None else {"a.yaml": ENTRY_YAML}).items():
        path = root / "entries" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    for name, data in (files or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def png_bytes(width: int = 40, height: int = 80, colour: str = "white", text: str = "") -> bytes:
    import io

    from PIL import Image, ImageDraw

    im = Image.new("RGB", (width, height), colour)
    if text:
        ImageDraw.Draw(im).text((2, 2), text, fill="black")
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    """A private copy of sample_case (without any build output)."""
    target = tmp_path / "sample"
    shutil.copytree(SAMPLE_CASE, target, ignore=shutil.ignore_patterns("build", ".itaoreport"))
    return target


def require_shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: ../shared is only beside the repository in CI and "
                    "on developer machines")
    return path

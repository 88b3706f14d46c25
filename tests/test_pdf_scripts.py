"""One real PDF in many scripts and the zh-Hans report language: its text, fonts and language."""

from __future__ import annotations

import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import MULTILINGUAL_TEXTS

pypdf = pytest.importorskip("pypdf", reason="pypdf is in the test extra: pip install -e '.[test]'")


# scripts_pdf (conftest.py): the one build, shared with test_pdf_standards.py


def text_by_font(pdf: Path) -> dict[str, str]:
    """Extracted text per font (BaseFont without the subset tag)."""
    found: dict[str, str] = defaultdict(str)

    def visit(text: str, cm: object, tm: object, font: dict | None, size: float) -> None:
        if font is not None and text:
            found[str(font.get("/BaseFont", "")).split("+", 1)[-1]] += text

    for page in pypdf.PdfReader(pdf).pages:
        page.extract_text(visitor_text=visit)
    return found


def test_every_script_extracts_back_to_the_same_characters(scripts_pdf: Path):
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(scripts_pdf).pages)
    missing = [t for t in MULTILINGUAL_TEXTS if t not in text]
    assert not missing, missing
    assert "\ufffd" not in text


def test_report_words_are_chinese_and_the_pdf_says_its_language(scripts_pdf: Path):
    reader = pypdf.PdfReader(scripts_pdf)
    assert reader.trailer["/Root"]["/Lang"] == "zh-Hans"
    text = "\n".join(page.extract_text() for page in reader.pages)
    for words in ("沟通记录", "时间线", "承诺与期限", "发送方", "第 1 页，共", "2023年10月27日"):
        assert words in text, words
    titles = [item.title for item in reader.outline if not isinstance(item, list)]
    assert "沟通记录" in titles


def test_cjk_and_emoji_fonts_are_embedded(scripts_pdf: Path):
    if shutil.which("pdffonts") is None:
        pytest.skip("pdffonts is absent (Debian package poppler-utils)")
    listing = subprocess.run(["pdffonts", str(scripts_pdf)], capture_output=True, text=True,
                             check=True).stdout
    assert "Noto-Sans-CJK-SC" in listing
    assert "Noto-Color-Emoji" in listing


def test_digits_are_drawn_with_text_fonts_not_the_emoji_font(scripts_pdf: Path):
    by_font = text_by_font(scripts_pdf)
    emoji = "".join(t for name, t in by_font.items() if "Emoji" in name)
    assert "🙏" in emoji and "📦" in emoji
    assert not any(c.isdigit() for c in emoji), emoji
    assert "2023" in by_font["DejaVu-Sans"]

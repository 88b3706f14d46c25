"""One real PDF build, checked the way WeasyPrint's own tests do: by its text and structure."""

from __future__ import annotations

from pathlib import Path

import pytest

pypdf = pytest.importorskip("pypdf", reason="pypdf is in the test extra: pip install -e '.[test]'")


@pytest.fixture
def sample_pdf(sample_build: Path) -> Path:
    """The sample's report.pdf (sample_build in conftest.py: one build shared by the checks)."""
    return sample_build / "build" / "report.pdf"


def test_pdf_text_has_case_log_and_quotes(sample_pdf: Path):
    reader = pypdf.PdfReader(sample_pdf)
    # Words, not line breaks: the print layout wraps quotes in narrow timeline cards.
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    for expected in ("GadgetWorld", "IT-20231020-8841", "Communication log", "Timeline",
                     "Tracking will update in 2 days. Please wait.", "Annex: integrity of the evidence",
                     "Exhibit index", "Declaration"):
        assert expected in text, expected
    pages = len(reader.pages)
    assert f"Page 1 of {pages}" in reader.pages[0].extract_text() or \
        f"Page 2 of {pages}" in reader.pages[1].extract_text()


def test_pdf_metadata_bookmarks_and_embedded_manifest(sample_pdf: Path):
    reader = pypdf.PdfReader(sample_pdf)
    meta = reader.metadata
    assert meta.title == "No tracking and no delivery for order IT-20231020-8841"
    assert meta.author == "Alex Example"
    titles = [item.title for item in reader.outline if not isinstance(item, list)]
    assert "Communication log" in titles and "Annex: integrity of the evidence" in titles
    assert "report.json" in reader.attachments
    assert b'"format": 1' in reader.attachments["report.json"][0]


def test_pdf_has_a4_pages(sample_pdf: Path):
    box = pypdf.PdfReader(sample_pdf).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)

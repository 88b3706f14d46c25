"""The standards report.pdf claims (#16): PDF/A-3b, tagged for screen readers, text that
copies out right. Three real builds, made once per session: the sample case (generic), the
sample case for the visa portal, and a case in Chinese and other scripts.

The PDF/A-3b rules checked are the machine-checkable ones of veraPDF's PDF/A-3B profile
(tests/pdf_standards.py, RULES_CHECKED); docs/pdf-profiles.md names the ones not checked.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from itaoreport.build import BuildOptions, build
from itaoreport.render.profiles import resolve_profile

pikepdf = pytest.importorskip("pikepdf", reason="pikepdf is in the test extra: "
                                                "pip install -e '.[test]'")
from pdf_standards import (  # noqa: E402 (after the skip)
    RULES_CHECKED,
    element_text,
    embedded_files,
    pdfa_problems,
    structure_elements,
)

SAMPLE_TITLE = "No tracking and no delivery for order IT-20231020-8841"
CJK_TITLE = "订单 CN-8841 未收到货"


# sample_build (conftest.py): the sample case built once, every format, shared by the checks.


@pytest.fixture(scope="session")
def visa_pdf(sample_build: Path) -> Path:
    out = sample_build / "visa"  # a folder of its own: sample_build/build is read by others
    build(sample_build, BuildOptions(out=out, formats=("pdf",),
                                     profile=resolve_profile("visa")))
    return out / "report.pdf"


@pytest.fixture
def cjk_pdf(scripts_pdf: Path) -> Path:
    """The case in Chinese and other scripts (scripts_pdf in conftest.py, shared with
    test_pdf_scripts.py)."""
    return scripts_pdf


@pytest.fixture(params=["sample", "visa", "cjk"])
def any_pdf(request: pytest.FixtureRequest) -> Path:
    if request.param == "sample":
        return request.getfixturevalue("sample_build") / "build" / "report.pdf"
    return request.getfixturevalue(f"{request.param}_pdf")


def test_pdfa_3b_machine_checkable_rules(any_pdf: Path):
    assert pdfa_problems(any_pdf) == []


def test_the_checks_find_what_they_look_for(sample_build: Path, tmp_path: Path):
    """A built PDF spoilt on purpose: each spoilt rule is reported."""
    spoilt = tmp_path / "spoilt.pdf"
    with pikepdf.open(sample_build / "build" / "report.pdf") as pdf:
        image = next(o for o in pdf.objects
                     if isinstance(o, pikepdf.Stream) and o.get("/Subtype") == "/Image")
        image.Interpolate = True
        first = embedded_files(pdf)[0]
        del first["/AFRelationship"]
        del first.EF.F["/Subtype"]
        pdf.Root.AF.append(pdf.Root.AF[0])
        pdf.Root.OpenAction = pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.Action, S=pikepdf.Name.JavaScript, JS=pikepdf.String("1")))
        with pdf.open_metadata(set_pikepdf_as_editor=False) as xmp:
            xmp["pdfaid:part"] = "2"
        pdf.save(spoilt, encryption=pikepdf.Encryption(owner="o", user=""))
    found = {problem.split(":")[0] for problem in pdfa_problems(spoilt)}
    assert {"6.2.8-3", "6.8-3", "6.8-1", "6.5.1-1", "6.6.4-2", "6.1.3-2"} <= found
    assert any(problem.startswith("/AF lists") for problem in pdfa_problems(spoilt))


def test_rules_named_in_docs_match_the_checks():
    docs = (Path(__file__).parent.parent / "docs" / "pdf-profiles.md").read_text("utf-8")
    section = docs.split("## Standards: what is checked", 1)[1].split("\n## ", 1)[0]
    for rule in RULES_CHECKED:
        assert f"{rule}" in section, rule


def test_pdf_is_tagged_with_language_headings_and_figures(sample_build: Path):
    pdf_path = sample_build / "build" / "report.pdf"
    with pikepdf.open(pdf_path) as pdf:
        assert pdf.Root.MarkInfo.Marked is True
        assert str(pdf.Root.Lang) == "en"
        kinds = [str(e.get("/S")) for e in structure_elements(pdf)]
        figures = [e for e in structure_elements(pdf) if e.get("/S") == "/Figure"]
        alts = [str(f.Alt) for f in figures if "/Alt" in f]
    assert kinds[:2] == ["None", "/Document"]  # the StructTreeRoot, then its document
    assert {"/H1", "/H2", "/H3", "/Table", "/TH", "/TD", "/P", "/Art"} <= set(kinds)
    assert element_text(pdf_path, "/H1") == [SAMPLE_TITLE]
    assert {"Claim summary", "Timeline", "Communication log"} <= set(
        element_text(pdf_path, "/H2"))
    # every picture a Figure whose alternative text is the exhibit's caption (or, without a
    # caption, the entry's summary), never a file path; the same text as the HTML's alt
    # (5 exhibits and the 4 enlarged details of quoted messages)
    assert len(figures) == len(alts) == 9
    assert {"Order details page with the estimated delivery date",  # E1's caption
            "I asked the seller to confirm shipment and send the tracking number."  # summary
            } <= set(alts)
    assert not [a for a in alts if "screenshots/" in a or a.endswith(".png")]
    assert alts == html_alts(sample_build / "build" / "report.html")


def test_cjk_pdf_is_tagged_in_its_language(cjk_pdf: Path):
    with pikepdf.open(cjk_pdf) as pdf:
        assert pdf.Root.MarkInfo.Marked is True and str(pdf.Root.Lang) == "zh-Hans"
    assert element_text(cjk_pdf, "/H1") == [CJK_TITLE]
    assert "沟通记录" in element_text(cjk_pdf, "/H2")


def test_side_by_side_columns_are_read_each_to_its_end(sample_build: Path):
    """A timeline card puts its screenshot (with caption) at the left and its text at the
    right. Pulled out by position (pdftotext), the two columns interleave: the summary at
    the top right comes before the caption under the tall screenshot. The tagged reading
    order reads the card's heading, the picture column to its end, then the text column,
    then the next card."""
    pdf_path = sample_build / "build" / "report.pdf"
    head, caption, summary = ("Oct 20, 2023, 10:12", "E1 Order details page with the",
                              "Order placed and paid")
    next_head = "Oct 26, 2023, 14:30"
    with pikepdf.open(pdf_path) as pdf:
        pages = {page.objgen: index for index, page in enumerate(pdf.pages)}
        page = next(pages[e.Pg.objgen] for e in structure_elements(pdf)
                    if e.get("/S") == "/Figure"
                    and str(e.get("/Alt")).startswith("Order details page"))
    by_position = _pdftotext(pdf_path, "-f", str(page + 1), "-l", str(page + 1))
    # the columns really are side by side (else the test proves nothing)
    assert 0 <= by_position.find(summary) < by_position.find(caption)
    # each timeline entry is an Art element; its text in the tagged reading order
    entries = element_text(pdf_path, "/Art")
    first = next(i for i, text in enumerate(entries) if head in text and summary in text)
    _in_order(entries[first], [head, caption, summary])
    # the next entry the same way: its picture caption, text, quote, enlarged detail
    _in_order(entries[first + 1], [next_head, "E2 Oct 26, 2023, 14:30",
                                   "I asked the seller to confirm",
                                   "Could you please confirm shipment",
                                   "E2 Detail of E2, enlarged"])


def _in_order(text: str, parts: list[str]) -> None:
    places = [text.find(part) for part in parts]
    assert -1 not in places and places == sorted(places), (dict(zip(parts, places)), text)


class _Alts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.alts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.alts.append(dict(attrs).get("alt") or "")


def html_alts(path: Path) -> list[str]:
    parser = _Alts()
    parser.feed(path.read_text("utf-8"))
    return parser.alts


def _pdftotext(pdf: Path, *args: str) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is absent (Debian package poppler-utils)")
    return subprocess.run(["pdftotext", *args, str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout


@pytest.mark.parametrize("which", ["sample", "cjk"])
def test_page_one_text_starts_with_the_title(which: str, request: pytest.FixtureRequest):
    if which == "sample":
        pdf, title = request.getfixturevalue("sample_build") / "build" / "report.pdf", SAMPLE_TITLE
    else:
        pdf, title = request.getfixturevalue("cjk_pdf"), CJK_TITLE
    text = _pdftotext(pdf, "-f", "1", "-l", "1")
    assert " ".join(text.split()).startswith(title), text[:200]


def test_every_sha256_copies_out_whole(sample_build: Path, visa_pdf: Path):
    report = json.loads((sample_build / "build" / "report.json").read_bytes())
    hashes = {a["sha256"] for a in report["attachments"]}
    fingerprint = __import__("hashlib").sha256(
        (sample_build / "build" / "report.json").read_bytes()).hexdigest()
    for pdf in (sample_build / "build" / "report.pdf", visa_pdf):
        lines = _pdftotext(pdf).splitlines()
        whole = {h for h in re.findall(r"\b[0-9a-f]{64}\b", "\n".join(lines))}
        assert hashes <= whole, hashes - whole
        assert fingerprint in whole
        # and no line holds a piece of a hash without the rest
        pieces = [w for line in lines for w in re.findall(r"\b[0-9a-f]{20,63}\b", line)]
        assert not [p for p in pieces if any(p in h for h in hashes)], pieces


def test_visa_build_of_the_sample_embeds_every_original(sample_build: Path, visa_pdf: Path):
    report = json.loads((sample_build / "build" / "report.json").read_bytes())
    with pikepdf.open(visa_pdf) as pdf:
        names = {str(spec.UF): str(spec.AFRelationship) for spec in embedded_files(pdf)}
        listed = len(pdf.Root.AF)
    assert names.pop("report.json") == "/Data"
    assert names == {a["path"]: "/Source" for a in report["attachments"]}
    assert listed == len(names) + 1

"""The report argues (issue #15): the claim on page 1, a right exhibit index, labelled
exhibits with their region framed and an enlarged detail, greys for amex, legible quotes.

The measurements are benchmarks/report_layout.py's; `python benchmarks/report_layout.py`
prints them all.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import ENTRY_YAML, SAMPLE_CASE, png_bytes, write_case
from hostile_support import assert_clean_failure, run_cli

from benchmarks import report_layout as layout
from casegen import W, bubble_boxes, chat_image, make_damaged_case
from itaoreport.build import BuildOptions, build


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is absent (Debian package poppler-utils)")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    work = tmp_path_factory.mktemp("sample")
    case = work / "case"
    shutil.copytree(SAMPLE_CASE, case, ignore=shutil.ignore_patterns("build", ".itaoreport"))
    pdf = layout.build_pdf(case, work / "out")
    return pdf, json.loads((work / "out" / "report.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def damaged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    work = tmp_path_factory.mktemp("damaged")
    case = make_damaged_case(work / "case")
    pdf = layout.build_pdf(case, work / "out")
    return pdf, json.loads((work / "out" / "report.json").read_text(encoding="utf-8"))


def test_sample_fits_five_pages_and_page_one_states_the_claim(sample: tuple[Path, dict]):
    _need("pdftotext")
    pdf, report = sample
    assert layout.page_count(pdf) <= 4  # 8 before issue #15, 5 before a compact annex
    page_one = layout.page_one_check(pdf, report)
    assert page_one["summary_first_sentence"] and page_one["promises"]
    assert all(page_one["promises"].values()), page_one
    text = layout.words(layout.pdftotext(pdf, 1, 1))
    for words in ("What went wrong", "Item not received", "What is asked",
                  "Full refund: $59.90", "Exhibit index"):
        assert words in text, words


def test_damaged_case_of_nine_pictures_fits_seven_pages(damaged: tuple[Path, dict]):
    _need("pdftotext")
    pdf, report = damaged
    assert layout.page_count(pdf) <= 7  # 11 before issue #15
    assert len(report["exhibits"]) == 9
    text = layout.words(layout.pdftotext(pdf, 1, 1))
    assert "days overdue" not in text.lower()  # delivery is not what went wrong
    assert all(layout.page_one_check(pdf, report)["promises"].values())


@pytest.mark.parametrize("case", ["sample", "damaged"])
def test_every_index_line_gives_the_page_its_exhibit_is_on(case: str,
                                                           request: pytest.FixtureRequest):
    _need("pdftotext")
    pdf, report = request.getfixturevalue(case)
    pages = layout.index_check(pdf)
    assert set(pages) == {x["label"] for x in report["exhibits"]}
    assert all(given == actual for given, actual in pages.values()), pages


def test_amex_prints_in_greys_only(tmp_path: Path):
    _need("pdftoppm")
    case = tmp_path / "case"
    shutil.copytree(SAMPLE_CASE, case, ignore=shutil.ignore_patterns("build", ".itaoreport"))
    pdf = layout.build_pdf(case, tmp_path / "out", "amex")
    assert layout.coloured_share(pdf, tmp_path / "out") == 0.0
    generic = layout.build_pdf(case, tmp_path / "generic")
    assert layout.coloured_share(generic, tmp_path / "generic") > 0.001  # the check can fail


@pytest.mark.parametrize("case, quotes", [("sample", 4), ("damaged", 7)])
def test_quoted_messages_are_readable_from_the_pictures_alone(case: str, quotes: int,
                                                              request: pytest.FixtureRequest,
                                                              tmp_path: Path):
    """The issue's measurement: every text object removed (gs -dFILTERTEXT, 100 dpi, no
    smoothing), tesseract --psm 11, each quote fuzzy-matched >= 0.85. The damaged case has a
    dark-mode chat and white text on a blue bubble."""
    why = layout.legibility_tools()
    if why:
        pytest.skip(why)
    pdf, report = request.getfixturevalue(case)
    wanted = [e["quote"] for e in report["entries"] if e.get("quote")]
    scores = layout.legibility(pdf, wanted, tmp_path)
    assert len(scores) == quotes and all(s >= layout.LEGIBLE for s in scores.values()), scores


def test_best_match_needs_the_words_in_order():
    assert layout.best_match("Tracking will update in 2 days.", "x Tracking will\nupdate in 2 days y") == 1.0
    assert layout.best_match("Tracking will update in 2 days.", "days 2 in update will Tracking") < 0.5


# -- highlight: validation, frame, detail ------------------------------------------------

MESSAGES = [("them", "Hello, where is my parcel?", "09:00"),
            ("me", "Your parcel left our warehouse today.", "09:05")]


def _chat_case(tmp_path: Path, highlight: str, quote: str = "left our warehouse") -> Path:
    files = {"s/chat.png": b""}
    case = write_case(tmp_path / "case", entries={"a.yaml": ENTRY_YAML + f"""\
quote: {quote}
attachments:
  - path: s/chat.png
{highlight}"""}, files=files)
    chat_image("09:05", "2023-10-26", MESSAGES).save(case / "s" / "chat.png")
    return case


@pytest.mark.parametrize("highlight, message", [
    ("    highlight: [[10, 20, 5000, 40]]",
     "entries/a.yaml:8:16: error: highlight: box [10, 20, 5000, 40] lies outside s/chat.png, "
     "which is 1080x2340 pixels"),
    ("    highlight: [[100, 20, 50, 40]]", "entries/a.yaml:8:16: error: attachments.highlight: "
     "line 8: box [100, 20, 50, 40] is empty or reversed"),
    ("    highlight: [[1, 2, 3]]", "four whole numbers"),
    ("    highlight: [[1, 2, 3, x]]", "'x' is not a whole number"),
    ("    highlight: here", "expected a list of [x0, y0, x1, y1] boxes"),
])
def test_highlight_boxes_are_validated_where_they_are_written(tmp_path: Path, highlight: str,
                                                              message: str):
    case = _chat_case(tmp_path, highlight)
    output = assert_clean_failure(run_cli("build", case, "--format", "html"), message)
    assert "highlight" in output
    assert not (case / "build").exists()


def test_a_highlight_is_framed_on_the_picture_and_shown_enlarged(tmp_path: Path):
    box = bubble_boxes(MESSAGES)[1]
    case = _chat_case(tmp_path, f"    highlight: [[{', '.join(map(str, box))}]]")
    build(case, BuildOptions(formats=("html",)))
    html = (case / "build" / "report.html").read_text(encoding="utf-8")
    frame = re.search(r'<span class="frame" style="margin-top: (-?[\d.]+)%; margin-left: '
                      r'([\d.]+)%; width: ([\d.]+)%; padding-bottom: ([\d.]+)%"', html)
    assert frame, html[-3000:]
    x0, y0, x1, y1 = box
    assert float(frame.group(2)) == pytest.approx(x0 / W * 100, abs=0.01)
    assert float(frame.group(3)) == pytest.approx((x1 - x0) / W * 100, abs=0.01)
    assert float(frame.group(4)) == pytest.approx((y1 - y0) / W * 100, abs=0.01)
    assert float(frame.group(1)) == pytest.approx((y0 - 2340) / W * 100, abs=0.01)
    detail = re.search(r'<figure class="detail" style="width: ([\d.]+)mm">.*?<img src="'
                       r'(assets/detail-[^"]+)"', html, re.S)
    assert detail and (case / "build" / detail.group(2)).is_file()
    # 10 pt body text: the app's text is 4 % of the screen width, 1080 px -> 88 mm wide
    assert 80 <= float(detail.group(1)) <= 100
    assert "Frame: the region the claimant points at" in html
    assert "Detail of the unaltered original: rows 0" in html  # the empty chat below is cut
    # the picture opens full size; the index and the labels are links
    assert re.search(r'<a class="pic" href="assets/[0-9a-f]+\.jpg"', html)
    assert '<td class="label"><a href="#exhibit-E1">E1</a></td>' in html


def test_a_later_entry_pointing_into_a_picture_shown_earlier_gets_its_own_detail(
        tmp_path: Path):
    """The second entry refers to E1 again with its own highlight: the picture is not shown
    twice, but that entry shows the enlarged detail of the message it points at."""
    them, me = bubble_boxes(MESSAGES)
    case = write_case(tmp_path / "case", entries={
        "a.yaml": ENTRY_YAML + "attachments:\n  - path: s/chat.png\n    highlight: [[" +
        ", ".join(map(str, them)) + "]]\n",
        "b.yaml": ENTRY_YAML.replace("14:30", "15:30").replace("Asked for tracking.",
                                                              "The seller's answer.")
        + "attachments:\n  - path: s/chat.png\n    highlight: [[" + ", ".join(map(str, me))
        + "]]\n"}, files={"s/chat.png": b""})
    chat_image("09:05", "2023-10-26", MESSAGES).save(case / "s" / "chat.png")
    build(case, BuildOptions(formats=("html",)))
    html = (case / "build" / "report.html").read_text(encoding="utf-8")
    assert html.count('<figure class="exhibit') == 1
    details = re.findall(r'<figure class="detail".*?<img src="(assets/detail-[^"]+)"', html,
                         re.S)
    assert len(details) == 2 and details[0] != details[1], details
    second = html[html.index('id="entry-b"'):]
    assert 'class="detail"' in second and "(shown above)" in second


def test_the_quote_checks_box_is_the_region_when_there_is_no_highlight(tmp_path: Path,
                                                                       monkeypatch):
    from itaoreport import build as build_module

    box = list(bubble_boxes(MESSAGES)[1])
    case = _chat_case(tmp_path, "")
    original = build_module.plan_figures

    def with_ocr(case_, evidence, quote_checks, grayscale, cache_root):  # noqa: ANN001, ANN202
        checks = {"a": {"status": "found", "exhibit": "E1", "path": "s/chat.png", "box": box,
                        "score": 0.97}}
        return original(case_, evidence, checks, grayscale, cache_root)

    monkeypatch.setattr(build_module, "plan_figures", with_ocr)
    build(case, BuildOptions(formats=("html",)))
    html = (case / "build" / "report.html").read_text(encoding="utf-8")
    assert 'class="detail"' in html
    # the frame is the OCR's, not the claimant's: the caption must not say the claimant chose it
    assert "Frame: the quoted message, found by text recognition" in html
    assert "the claimant points at" not in html


def test_the_declaration_is_on_by_default_and_off_when_asked(tmp_path: Path):
    case = write_case(tmp_path / "on")
    build(case, BuildOptions(formats=("html",)))
    html = (case / "build" / "report.html").read_text(encoding="utf-8")
    assert "I confirm the screenshots are unaltered" in html and "Buyer, Nov 5, 2023" in html
    from itaoreport.case import fields

    if not any(f.name == "declaration" for f in fields.CASE_FIELDS):
        pytest.skip("declaration: is not a case.yaml field yet (the model helper adds it)")
    case = write_case(tmp_path / "off", case_yaml=(tmp_path / "on" / "case.yaml").read_text(
        encoding="utf-8") + "declaration: false\n")
    build(case, BuildOptions(formats=("html",)))
    assert "I confirm the screenshots" not in (case / "build" / "report.html").read_text(
        encoding="utf-8")


def test_a_picture_without_region_gets_no_detail_and_a_photo_is_not_trimmed(tmp_path: Path):
    case = write_case(tmp_path / "case", entries={"a.yaml": ENTRY_YAML + """\
quote: hello
attachments: [s/photo.png]
"""}, files={"s/photo.png": png_bytes(400, 300, "white", text="a photo")})
    build(case, BuildOptions(formats=("html",)))
    html = (case / "build" / "report.html").read_text(encoding="utf-8")
    assert 'class="detail"' not in html and "rows 0" not in html


@pytest.mark.parametrize("reason, shown", [
    ("Item not received", False), ("item not received.", False), ("ITEM_NOT_RECEIVED", False),
    ("not received", False), ("Not delivered by the guaranteed date", True),
])
def test_page_one_states_the_dispute_reason_only_when_it_adds_something(tmp_path: Path,
                                                                        reason: str,
                                                                        shown: bool):
    from itaoreport.case import fields

    if not any(f.name == "dispute" for f in fields.CASE_FIELDS):
        pytest.skip("dispute: is not a case.yaml field yet (the model helper adds it)")
    base = write_case(tmp_path / "base")
    case = write_case(tmp_path / "case", case_yaml=(base / "case.yaml").read_text(
        encoding="utf-8") + f"dispute:\n  id: D-1\n  reason: {reason}\n")
    build(case, BuildOptions(formats=("html",)))
    html = (case / "build" / "report.html").read_text(encoding="utf-8")
    ask = re.search(r'<div class="ask">(.*?)</div>', html, re.S).group(1)
    assert ("<strong>Item not received</strong> · " + reason in ask) == shown, ask
    assert ask.count("Item not received") == 1, ask


def test_file_paths_wrap_after_their_separators_never_inside_a_word(tmp_path: Path):
    from itaoreport.render.context import breakable

    assert breakable("screenshots/2023-10-26_a<b>.png") == (
        "screenshots/<wbr>2023-<wbr>10-<wbr>26_<wbr>a&lt;b&gt;.png")
    case = write_case(tmp_path / "case", entries={"a.yaml": ENTRY_YAML + """\
quote: hello
attachments: [screenshots/2023-10-26-1430-asked.png]
"""}, files={"screenshots/2023-10-26-1430-asked.png": png_bytes(400, 300, "white")})
    build(case, BuildOptions(formats=("html",)))
    html = (case / "build" / "report.html").read_text(encoding="utf-8")
    wrapped = "screenshots/<wbr>2023-<wbr>10-<wbr>26-<wbr>1430-<wbr>asked.png"
    assert html.count(wrapped) >= 2, "the caption and the annex wrap at separators"
    css = re.search(r"\.path \{([^}]*)\}", html).group(1)
    assert "break-all" not in css and "anywhere" not in css


def test_the_annex_heading_stays_with_its_table_and_no_row_is_split(sample: tuple[Path, dict]):
    _need("pdftotext")
    pdf, report = sample
    pages = [layout.words(layout.pdftotext(pdf, n, n))
             for n in range(1, layout.page_count(pdf) + 1)]
    heading = next(n for n, text in enumerate(pages) if "Annex: integrity of the evidence" in text)
    assert "File · SHA-256" in pages[heading]
    for a in report["attachments"]:  # a row's path and hash are on one page
        assert any(a["path"] in text and a["sha256"] in text for text in pages), a["path"]


LONG = [("them", "Hello, where is my parcel? It was due a week ago and the tracking page "
                 "says nothing at all about it, not even a label.", "09:00"),
        ("me", "Your parcel left our warehouse today.", "09:05")]


@pytest.mark.parametrize("cut", [0.3, 0.5, 0.7])
def test_a_detail_never_starts_or_ends_on_half_a_line_of_text(tmp_path: Path, cut: float):
    import io

    import numpy as np
    from PIL import Image

    from itaoreport.evidence.regions import detail_rendition
    from itaoreport.evidence.renditions import Rendition

    image = chat_image("09:05", "2023-10-26", LONG)
    screen_im = image.resize((800, round(image.height * 800 / W)), Image.LANCZOS)
    buf = io.BytesIO()
    screen_im.save(buf, format="JPEG", quality=90)
    screen = Rendition("assets/s.jpg", buf.getvalue(), "image/jpeg", *screen_im.size)
    x0, y0, x1, _ = bubble_boxes(LONG)[0]
    # a region from the middle of line 2 to the middle of line 4 (lines are 62 px apart,
    # their text about 44 px tall, starting 26 px into the bubble)
    top, end = y0 + 26 + 62 + round(44 * cut), y0 + 26 + 62 * 3 + round(44 * cut)
    detail = detail_rendition(screen, "f" * 64, image.size, [(x0, top, x1, end)], False, None)
    assert detail.box[1] <= top and detail.box[3] >= end  # the region stays whole
    with Image.open(io.BytesIO(detail.rendition.data)) as im:
        grey = np.asarray(im.convert("L"))
    left, right = round(x0 * 800 / W) + 4, round(x1 * 800 / W) - 4  # inside the bubble
    for row in (0, -1):  # the text is dark grey on a light bubble: no ink on the edge rows
        assert grey[row, left:right].min() > 150, (row, grey[row, left:right].min())
    assert detail.height_mm <= 90


def test_report_html_fits_a_phone_width_without_sideways_scrolling(tmp_path: Path):
    import subprocess

    browser = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                    if shutil.which(n)), None)
    if browser is None:
        pytest.skip("chromium is absent (Debian package chromium; .ci/run installs it)")
    case = tmp_path / "case"
    shutil.copytree(SAMPLE_CASE, case, ignore=shutil.ignore_patterns("build", ".itaoreport"))
    build(case, BuildOptions(formats=("html",)))
    report = case / "build" / "report.html"
    # the report in a 390 px frame (headless chromium's own window is at least 500 px wide);
    # the page lists what reaches past the frame's right edge
    probe = tmp_path / "probe.html"
    probe.write_text(f"""<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" src="{report.as_uri()}" style="width:390px;height:2000px;border:0"></iframe>
<script>document.getElementById("f").onload = () => {{
  const d = document.getElementById("f").contentDocument, w = d.documentElement.clientWidth;
  const out = ["width " + d.documentElement.scrollWidth + " of " + w];
  for (const el of d.querySelectorAll("body *")) {{
    if (el.getBoundingClientRect().right > w + 1) out.push(el.tagName + "." + el.className);
  }}
  const pre = document.createElement("pre"); pre.id = "probe";
  pre.textContent = out.join("\\n"); document.body.appendChild(pre);
}};</script></body></html>""", encoding="utf-8")
    dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                          "--allow-file-access-from-files", "--window-size=600,2000",
                          "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    lines = found.group(1).splitlines()
    scroll, _, client = lines[0].removeprefix("width ").partition(" of ")
    assert 300 <= int(client) <= 390, lines[0]
    assert int(scroll) <= int(client), lines
    assert lines[1:] == [], lines

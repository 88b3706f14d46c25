"""Redaction: nothing redacted reaches any output (#19 part 3).

One build of a case whose screenshot shows a card number under a redact box and whose
texts hold strings listed in redact_text; every output is then searched for them:
report.html and its assets, report.json, summary.txt, log.csv, log.xlsx, the text of
report.pdf, the pictures in report.pdf (by OCR, where tesseract is installed) and the
files embedded in it.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image, ImageDraw

from itaoreport.build import BuildOptions, build
from itaoreport.case.validate import load_case
from itaoreport.cli import main
from itaoreport.errors import CaseInvalid
from itaoreport.evidence.redact import apply_redaction, redaction_key, scale_boxes
from casegen import font
from conftest import write_case

CARD = "4111 1111 1111 1111"
SECRET_NAME = "Wilhelmina Quackenbush"
SECRET_PHONE = "+49 30 9876543"
PICTURE_SECRET = "VERYSECRET"
"""A word drawn inside the redact box (OCR reads single words more reliably than digits)."""

CASE_YAML = f"""\
title: Refund for order T-1
claimant:
  name: Buyer
  address: |
    12 Example Street
    10115 Berlin
seller:
  name: ShopCo
order:
  id: T-1
  date: 2023-10-20
as_of: 2023-11-05
timezone: Europe/Berlin
redact_text: ["{SECRET_NAME}"]
"""

ENTRY = f"""\
timestamp: 2023-10-26 14:30
channel: Email
sender: seller
sender_name: {SECRET_NAME}
summary: The seller charged card {CARD} again and asked me to call {SECRET_PHONE}.
quote: "Your card {CARD.replace(' ', '')} was charged."
attachments:
  - path: shots/card.png
    caption: Payment page for {SECRET_NAME}
    highlight: [[20, 10, 780, 390]]   # the enlarged detail is cut from the redacted pixels too
    redact:
      - [20, 90, 780, 250]
redact_text: ["{CARD}", "{SECRET_PHONE}"]
"""

ENTRY_2 = """\
timestamp: 2023-10-27 09:00
channel: Email
sender: me
summary: Sent the photo again.
attachments:
  - shots/card-copy.png
"""


def card_picture() -> bytes:
    im = Image.new("RGB", (800, 400), "white")
    draw = ImageDraw.Draw(im)
    draw.text((30, 20), "Payment details", font=font(40), fill="black")
    draw.text((30, 110), PICTURE_SECRET, font=font(48), fill="black")
    draw.text((30, 180), CARD, font=font(48), fill="black")
    draw.text((30, 300), "Order T-1 refunded", font=font(40), fill="black")
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = write_case(tmp_path_factory.mktemp("redact") / "case", CASE_YAML,
                      {"a.yaml": ENTRY, "b.yaml": ENTRY_2},
                      {"shots/card.png": card_picture(), "shots/card-copy.png": card_picture()})
    build(root, BuildOptions())
    return root


def _needles() -> list[str]:
    return [CARD, CARD.replace(" ", ""), SECRET_NAME, SECRET_PHONE, SECRET_PHONE.replace(" ", ""),
            PICTURE_SECRET]


def _assert_clean(text: str, where: str) -> None:
    squeezed = re.sub(r"\s+", "", text)
    for needle in _needles():
        assert needle not in text and needle.replace(" ", "") not in squeezed, \
            f"{needle!r} is in {where}"


def test_text_outputs_hold_no_redacted_value(built):
    out = built / "build"
    for name in ("report.html", "report.json", "summary.txt", "log.csv"):
        _assert_clean((out / name).read_text(encoding="utf-8"), name)
    with zipfile.ZipFile(out / "log.xlsx") as book:
        for member in book.namelist():
            _assert_clean(book.read(member).decode("utf-8", "replace"), f"log.xlsx:{member}")
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "█████" in html
    assert "shown redacted" in html
    # the report never calls a redacted picture unaltered
    assert "except for the regions shown black" in html


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils (pdftotext) not installed")
def test_pdf_text_and_embedded_files_hold_no_redacted_value(built, tmp_path):
    pdf = built / "build" / "report.pdf"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True,
                          text=True).stdout
    _assert_clean(text, "report.pdf text")
    assert "shown redacted" in text
    listing = subprocess.run(["pdfdetach", "-list", str(pdf)], capture_output=True, check=True,
                             text=True).stdout
    assert "report.json" in listing
    assert "card.png" not in listing and "card-copy.png" not in listing  # originals left out
    subprocess.run(["pdfdetach", "-saveall", "-o", str(tmp_path), str(pdf)], check=True)
    for embedded in tmp_path.iterdir():
        _assert_clean(embedded.read_bytes().decode("utf-8", "replace"), f"embedded {embedded.name}")


def _ocr(path: Path) -> str:
    return subprocess.run(["tesseract", str(path), "-", "--psm", "6"], capture_output=True,
                          text=True, check=True).stdout


@pytest.mark.skipif(not (shutil.which("tesseract") and shutil.which("pdfimages")),
                    reason="tesseract or poppler-utils (pdfimages) not installed")
def test_pictures_in_every_output_are_redacted(built, tmp_path):
    # the original shows it (so OCR would see it if it were there) ...
    original = _ocr(built / "shots" / "card.png")
    assert PICTURE_SECRET in original and "Payment details" in original
    # ... no picture made for the report does
    assets = list((built / "build" / "assets").iterdir())
    assert assets
    subprocess.run(["pdfimages", "-png", str(built / "build" / "report.pdf"),
                    str(tmp_path / "img")], check=True)
    pictures = [*assets, *tmp_path.glob("img*.png")]
    assert len(pictures) >= 2
    for picture in pictures:
        with Image.open(picture) as im:
            if im.width < 100:
                continue  # icons, not the exhibit
            big = im.convert("RGB").resize((im.width * 2, im.height * 2))
        scaled = tmp_path / f"ocr-{picture.name}.png"
        big.save(scaled)
        read = _ocr(scaled)
        assert "Payment" in read, f"OCR cannot read {picture.name} at all: {read!r}"
        _assert_clean(read, f"picture {picture.name}")
        assert "1111" not in read


def test_the_exhibit_is_black_where_the_box_is(built):
    names = sorted(p.name for p in (built / "build" / "assets").iterdir())
    assert any(n.startswith("detail-") for n in names), names
    [asset] = [p for p in (built / "build" / "assets").iterdir() if not p.name.startswith("detail-")]
    with Image.open(asset) as im:
        gray = im.convert("L")
        scale = im.width / 800
        box = [round(v * scale) for v in (30, 100, 770, 240)]
        region = gray.crop(box)
        assert max(region.tobytes()) < 40  # solid black (JPEG noise allowed)


def test_report_json_names_the_original_and_says_redacted(built):
    import json

    report = json.loads((built / "build" / "report.json").read_text(encoding="utf-8"))
    [exhibit] = report["exhibits"]
    # the kept file is the copy without boxes: the boxes of the file that has them still apply
    assert exhibit["redacted"] is True
    assert (exhibit["path"], exhibit["copies"]) == ("shots/card-copy.png", ["shots/card.png"])
    import hashlib

    sha = hashlib.sha256((built / "shots" / "card.png").read_bytes()).hexdigest()
    assert {a["path"]: a["sha256"] for a in report["attachments"]}["shots/card.png"] == sha


def test_verify_still_checks_the_originals(built):
    run = CliRunner().invoke(main, ["verify", str(built / "build" / "report.pdf"), str(built)])
    assert run.exit_code == 0, run.output
    (built / "shots" / "card.png").write_bytes(card_picture() + b"x")
    try:
        run = CliRunner().invoke(main, ["verify", str(built / "build" / "report.pdf"),
                                        str(built)])
        assert run.exit_code == 1 and "card.png" in run.output
    finally:
        (built / "shots" / "card.png").write_bytes(card_picture())


def test_privacy_warnings_for_what_is_not_redacted(tmp_path):
    root = write_case(tmp_path / "c", CASE_YAML.replace(f'redact_text: ["{SECRET_NAME}"]\n', ""),
                      {"a.yaml": "timestamp: 2023-10-26 14:30\nchannel: Email\nsender: me\n"
                                 "summary: Paid with 5500 0000 0000 0004, ship to 12 Example "
                                 "Street.\n"})
    result = build(root, BuildOptions(formats=("json",)))
    messages = [p.format() for p in result.warnings]
    assert any(m.startswith("entries/a.yaml:4:1: warning: summary: a payment card number "
                            "(5500 … 0004)") for m in messages), messages
    assert any("a line of your address (12 Example Street)" in m for m in messages)
    assert not any("5500 0000 0000 0004" in m for m in messages)
    with pytest.raises(CaseInvalid):
        build(root, BuildOptions(formats=("json",), strict=True))
    run = CliRunner().invoke(main, ["build", "--strict", "--format", "json", str(root)])
    assert run.exit_code == 1 and "5500 … 0004" in run.output


@pytest.mark.parametrize("boxes,message", [
    ("[[10, 10, 900, 50]]", "reaches outside the picture (800×400 pixels)"),
    ("[[10, 10, 5, 50]]", "box [10, 10, 5, 50] is empty or reversed"),
    ("[[10, 10, 50]]", "a box is [x0, y0, x1, y1]: four whole numbers of pixels"),
    ("[[10, 10, 50, x]]", "'x' is not a whole number of pixels"),
    ("nope", "expected a list of [x0, y0, x1, y1] boxes"),
])
def test_bad_boxes_are_located_errors(tmp_path, boxes, message):
    entry = ("timestamp: 2023-10-26 14:30\nchannel: Email\nsender: me\nsummary: x\n"
             f"attachments:\n  - path: shots/card.png\n    redact: {boxes}\n")
    root = write_case(tmp_path / "c", CASE_YAML, {"a.yaml": entry},
                      {"shots/card.png": card_picture()})
    with pytest.raises(CaseInvalid) as caught:
        build(root, BuildOptions(formats=("json",)))
    text = "\n".join(p.format() for p in caught.value.problems)
    assert re.search(r"entries/a\.yaml:\d+:\d+: error: .*" + re.escape(message), text), text


def test_one_box_alone_is_a_list_of_one(tmp_path):
    entry = ("timestamp: 2023-10-26 14:30\nchannel: Email\nsender: me\nsummary: x\n"
             "attachments:\n  - path: shots/card.png\n    redact: [1, 2, 3, 4]\n")
    root = write_case(tmp_path / "c", CASE_YAML, {"a.yaml": entry},
                      {"shots/card.png": card_picture()})
    loaded = load_case(root)
    assert loaded.case.entries[0].attachments[0].redact == [(1, 2, 3, 4)]


def test_redact_on_a_file_that_is_not_a_picture(tmp_path):
    entry = ("timestamp: 2023-10-26 14:30\nchannel: Email\nsender: me\nsummary: x\n"
             "attachments:\n  - path: docs/a.pdf\n    redact: [[1, 2, 3, 4]]\n")
    root = write_case(tmp_path / "c", CASE_YAML, {"a.yaml": entry}, {"docs/a.pdf": b"%PDF-1.4"})
    with pytest.raises(CaseInvalid) as caught:
        build(root, BuildOptions(formats=("json",)))
    assert "works on pictures only" in caught.value.problems[0].message


def test_redaction_helpers():
    im = Image.new("RGBA", (10, 10), (255, 255, 255, 0))
    out = apply_redaction(im, [(2, 2, 4, 4)])
    assert out.getpixel((3, 3)) == (0, 0, 0, 255) and im.getpixel((3, 3))[3] == 0
    assert out.getpixel((6, 6)) == (255, 255, 255, 0)
    assert redaction_key("a" * 64, []) == "a" * 64
    assert redaction_key("a" * 64, [(1, 2, 3, 4)]) != redaction_key("a" * 64, [(1, 2, 3, 5)])
    assert len(redaction_key("a" * 64, [(1, 2, 3, 4)])) == 64
    assert scale_boxes([(10, 10, 21, 21)], (100, 100), (50, 50)) == [(5, 5, 11, 11)]


def test_renditions_are_cached_under_the_boxes(tmp_path):
    entry = ("timestamp: 2023-10-26 14:30\nchannel: Email\nsender: me\nsummary: x\n"
             "attachments:\n  - path: shots/card.png\n    redact: [[20, 90, 780, 250]]\n")
    root = write_case(tmp_path / "c", CASE_YAML, {"a.yaml": entry},
                      {"shots/card.png": card_picture()})
    build(root, BuildOptions(formats=("html",)))
    first = {p.name for p in (root / "build" / "assets").iterdir()}
    (root / "entries" / "a.yaml").write_text(entry.replace("    redact: [[20, 90, 780, 250]]\n",
                                                           ""))
    build(root, BuildOptions(formats=("html",)))
    html = (root / "build" / "report.html").read_text(encoding="utf-8")
    [shown] = set(re.findall(r"assets/([0-9a-f]+\.jpg)", html))
    assert shown not in first  # the unredacted picture is another rendition, never the cached one
    with Image.open(root / "build" / "assets" / shown) as im:
        assert max(im.convert("L").crop((100, 120, 500, 200)).tobytes()) > 200


needs_ocr = pytest.mark.skipif(not shutil.which("tesseract"), reason="tesseract not installed")


@needs_ocr
def test_ocr_text_in_report_json_leaves_out_the_redacted_region(built):
    import json

    report = json.loads((built / "build" / "report.json").read_text(encoding="utf-8"))
    [exhibit] = report["exhibits"]
    text = exhibit["ocr_text"]["text"]
    assert "Payment" in text and "refunded" in text
    assert PICTURE_SECRET not in text and "1111" not in text


@needs_ocr
def test_a_card_number_visible_in_a_picture_is_a_located_warning(tmp_path):
    entry = ("timestamp: 2023-10-26 14:30\nchannel: Email\nsender: me\nsummary: x\n"
             "attachments:\n  - shots/card.png\n")
    root = write_case(tmp_path / "c", CASE_YAML, {"a.yaml": entry},
                      {"shots/card.png": card_picture()})
    result = build(root, BuildOptions(formats=("json",)))
    messages = [p.format() for p in result.warnings if p.loc.path == "shots/card.png"]
    assert len(messages) == 1, messages
    match = re.match(r"shots/card\.png: warning: a payment card number \(4111 … 1111\) is "
                     r"visible at \[(\d+), (\d+), (\d+), (\d+)\]; add a redact box", messages[0])
    assert match, messages
    x0, y0, x1, y1 = map(int, match.groups())
    assert x0 < 60 and 170 < y0 < 200 and x1 > 500 and 220 < y1 < 260  # around the drawn number
    assert CARD not in messages[0]
    # the box it names, given as a redact box, silences it
    (root / "entries" / "a.yaml").write_text(
        entry.replace("  - shots/card.png\n", f"  - path: shots/card.png\n    redact: "
                                               f"[[{x0}, {y0}, {x1}, {y1}]]\n"))
    again = build(root, BuildOptions(formats=("json",)))
    assert not [p for p in again.warnings if p.loc.path == "shots/card.png"]


def test_hide_in_words_blanks_every_word_of_a_match():
    from itaoreport.privacy import REDACTED_MARK, hide_in_words, redact_patterns

    words = [{"text": t, "box": [i * 10, 0, i * 10 + 8, 10], "line": 0, "block": 0}
             for i, t in enumerate(["Card", "4111", "1111", "1111", "1111", "ok"])]
    out = hide_in_words(words, redact_patterns([CARD]))
    assert [w["text"] for w in out] == ["Card", *[REDACTED_MARK] * 4, "ok"]
    assert words[1]["text"] == "4111"  # the input is left alone


def test_a_trimmed_redacted_screenshot_is_not_called_the_unaltered_original(tmp_path):
    im = Image.new("RGB", (540, 1400), "white")
    ImageDraw.Draw(im).text((20, 40), "Card 4111 1111 1111 1111", font=font(30), fill="black")
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    entry = ("timestamp: 2023-10-26 14:30\nchannel: Email\nsender: me\nsummary: x\n"
             "attachments:\n  - path: shots/tall.png\n{redact}")
    root = write_case(tmp_path / "c", CASE_YAML, {"a.yaml": entry.format(redact="")},
                      {"shots/tall.png": buf.getvalue()})
    build(root, BuildOptions(formats=("html",)))
    plain = (root / "build" / "report.html").read_text(encoding="utf-8")
    assert "Detail of the unaltered original: rows" in plain  # trimmed: the caption is shown
    (root / "entries" / "a.yaml").write_text(entry.format(redact="    redact: [[90, 30, 520, 90]]\n"))
    build(root, BuildOptions(formats=("html",)))
    html = (root / "build" / "report.html").read_text(encoding="utf-8")
    assert "unaltered original" not in html
    assert "Detail of the original, private regions blacked out: rows" in html


@needs_ocr
def test_a_quote_inside_a_redacted_region_says_why_it_is_not_found(tmp_path):
    from casegen import bubble_boxes, chat_image

    messages = [("them", "Hello, where is my parcel?", "09:00"),
                ("me", "Your parcel left our warehouse today.", "09:05")]
    box = bubble_boxes(messages)[1]
    entry = ("timestamp: 2023-10-26 14:30\nchannel: Email\nsender: me\nsummary: x\n"
             'quote: "Your parcel left our warehouse today."\n'
             "attachments:\n  - path: shots/chat.png\n{redact}")
    root = write_case(tmp_path / "c", CASE_YAML, {"a.yaml": entry.format(redact="")},
                      {"shots/chat.png": b""})
    chat_image("09:05", "26 October", messages).save(root / "shots" / "chat.png")
    plain = build(root, BuildOptions(formats=("json",)))
    assert not [p for p in plain.warnings if "quote not found" in p.message]
    (root / "entries" / "a.yaml").write_text(
        entry.format(redact=f"    redact: [[{', '.join(map(str, box))}]]\n"))
    hidden = build(root, BuildOptions(formats=("json",)))
    [warning] = [p.format() for p in hidden.warnings if "quote not found" in p.message]
    assert warning.startswith("entries/a.yaml:5:")
    assert "E1 has regions hidden by redact:, and text under them is not read" in warning

"""`itaoreport add`: pictures into a case, one draft entry each (#19 part 1)."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image, PngImagePlugin

from itaoreport.add import (
    AddOptions,
    FoundTime,
    add_files,
    comment_text,
    draft_entry,
    safe_file_name,
    time_from_metadata,
    time_from_name,
)
from itaoreport.case.validate import load_case
from itaoreport.cli import main

CASE_YAML = """\
title: Broken lid
claimant: {name: Alex Example}
seller: {name: Brightline}
order: {id: IT-1, date: 2024-05-01}
timezone: Europe/Berlin
"""

NAMES = [
    # Android
    ("Screenshot_20240510-100312.png", "2024-05-10 10:03:12", "Android screenshot"),
    ("Screenshot_20240510-100312_WhatsApp.jpg", "2024-05-10 10:03:12", "Android screenshot"),
    ("Screenshot_2024-05-10-10-03-12-345_com.app.png", "2024-05-10 10:03:12",
     "Android screenshot"),
    ("IMG_20240510_100312.jpg", "2024-05-10 10:03:12", "Android camera"),
    ("PXL_20240510_100312123.jpg", "2024-05-10 10:03:12+00:00", "Google Pixel camera"),
    ("PXL_20240510_100312123.MP.jpg", "2024-05-10 10:03:12+00:00", "Google Pixel camera"),
    # macOS and its languages
    ("Screenshot 2024-05-10 at 10.03.12.png", "2024-05-10 10:03:12", "macOS screenshot"),
    ("Screen Shot 2024-05-10 at 10.03.12 AM.png", "2024-05-10 10:03:12", "macOS screenshot"),
    ("Screenshot 2024-05-10 at 10.03.12\u202fPM.png", "2024-05-10 22:03:12", "macOS screenshot"),
    ("Screenshot 2024-05-10 at 12.03.12 AM.png", "2024-05-10 00:03:12", "macOS screenshot"),
    ("Screenshot 2024-05-10 at 12.03.12 PM (2).png", "2024-05-10 12:03:12", "macOS screenshot"),
    ("Bildschirmfoto 2024-05-10 um 10.03.12.png", "2024-05-10 10:03:12", "macOS screenshot"),
    ("Capture d’écran 2024-05-10 à 10.03.12.png", "2024-05-10 10:03:12", "macOS screenshot"),
    ("Schermafbeelding 2024-05-10 om 10.03.12.png", "2024-05-10 10:03:12", "macOS screenshot"),
    ("Captura de pantalla 2024-05-10 a las 10.03.12.png", "2024-05-10 10:03:12",
     "macOS screenshot"),
    ("Istantanea schermo 2024-05-10 alle 10.03.12.png", "2024-05-10 10:03:12",
     "macOS screenshot"),
    ("截屏2024-05-10 下午3.03.12.png", "2024-05-10 15:03:12", "macOS screenshot"),
    ("スクリーンショット 2024-05-10 10.03.12.png", "2024-05-10 10:03:12", "macOS screenshot"),
    ("스크린샷 2024-05-10 오전 9.03.12.png", "2024-05-10 09:03:12", "macOS screenshot"),
    # decomposed accents, as macOS file systems hand them out
    ("Capture d\u2019e\u0301cran 2024-05-10 a\u0300 10.03.12.png", "2024-05-10 10:03:12",
     "macOS screenshot"),
    # Windows
    ("Screenshot 2024-05-10 100312.png", "2024-05-10 10:03:12", "Windows screenshot"),
    # apps
    ("signal-2024-05-10-100312.jpg", "2024-05-10 10:03:12", "Signal"),
    ("photo_2024-05-10_10-03-12.jpg", "2024-05-10 10:03:12", "Telegram"),
]


@pytest.mark.parametrize("name,expected,pattern", NAMES)
def test_file_names_give_the_timestamp(name, expected, pattern):
    found = time_from_name(name)
    assert found is not None, name
    assert (found.text, found.source) == (expected, f"the file name ({pattern})")
    assert not found.day_only


def test_whatsapp_names_give_the_day_only_and_say_so():
    found = time_from_name("IMG-20240510-WA0003.jpg")
    assert found is not None and found.text == "2024-05-10" and found.day_only
    assert "day only" in found.note


@pytest.mark.parametrize("name", [
    "IMG_1234.PNG",  # iOS: no time in the name
    "Screenshot (12).png",
    "Screenshot_20241345-100312.png",  # no month 13
    "Screenshot_20240230-100312.png",  # no 30 February
    "Screenshot 2024-05-10 at 25.03.12.png",
    "Screenshot 2024-05-10 at 13.03.12 PM.png",  # 13 PM
    "order-123456789012.png",
    "IMG-2024051-WA0003.jpg",
])
def test_names_without_a_real_time_give_none(name):
    assert time_from_name(name) is None


def _png(path: Path, texts: dict[str, str] | None = None, size=(40, 80)) -> Path:
    info = PngImagePlugin.PngInfo()
    for key, value in (texts or {}).items():
        info.add_text(key, value)
    shade = int(hashlib.sha256(path.name.encode()).hexdigest()[:2], 16)  # a picture per name
    Image.new("RGB", size, (200, 220, shade)).save(path, pnginfo=info)
    return path


def _jpeg(path: Path, original: str | None, offset: str | None = None,
          camera: bool = True) -> Path:
    image = Image.new("RGB", (60, 40), (120, 90, 60))
    exif = Image.Exif()
    if camera:
        exif[271], exif[272] = "Google", "Pixel 8"
    ifd = exif.get_ifd(0x8769)
    if original:
        ifd[36867] = original
    if offset:
        ifd[36881] = offset
    image.save(path, exif=exif.tobytes())
    return path


def test_exif_date_time_original_with_its_offset(tmp_path):
    path = _jpeg(tmp_path / "a.jpg", "2024:05:10 10:03:12", "+02:00")
    found = time_from_metadata(path)
    assert found is not None and found.text == "2024-05-10 10:03:12+02:00"
    assert "OffsetTimeOriginal" in found.source


def test_exif_without_an_offset_is_read_in_the_case_timezone_and_says_so(tmp_path):
    found = time_from_metadata(_jpeg(tmp_path / "a.jpg", "2024:05:10 10:03:12"))
    assert found is not None and found.text == "2024-05-10 10:03:12"
    assert "case timezone" in found.note


@pytest.mark.parametrize("texts,expected", [
    ({"Creation Time": "Fri, 10 May 2024 10:03:12 +0200"}, "2024-05-10 10:03:12+02:00"),
    ({"Creation Time": "2024:05:10 10:03:12"}, "2024-05-10 10:03:12"),
    ({"date:create": "2024-05-10T08:03:12+00:00"}, "2024-05-10 08:03:12+00:00"),
    ({"XML:com.adobe.xmp": '<x:xmpmeta><rdf:Description><photoshop:DateCreated>'
      '2024-05-10T10:03:12</photoshop:DateCreated></rdf:Description></x:xmpmeta>'},
     "2024-05-10 10:03:12"),
])
def test_png_text_chunks(tmp_path, texts, expected):
    found = time_from_metadata(_png(tmp_path / "a.png", texts))
    assert found is not None and found.text == expected


def test_broken_metadata_gives_none(tmp_path):
    assert time_from_metadata(_png(tmp_path / "a.png", {"Creation Time": "yesterday"})) is None
    assert time_from_metadata(_jpeg(tmp_path / "b.jpg", "2024:13:45 99:03:12")) is None
    (tmp_path / "c.png").write_bytes(b"\x89PNG\r\n\x1a\nnonsense")
    assert time_from_metadata(tmp_path / "c.png") is None


@pytest.fixture
def case(tmp_path: Path) -> Path:
    root = tmp_path / "case"
    root.mkdir()
    (root / "case.yaml").write_text(CASE_YAML)
    return root


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = tmp_path / "phone"
    folder.mkdir()
    return folder


def test_add_copies_writes_a_valid_draft_that_strict_refuses(case, shots):
    source = _png(shots / "Screenshot_20240510-100312.png")
    result = add_files(case, [source])
    assert not [p for p in result.problems if p.is_error]
    [item] = result.added
    assert item.attachment == "screenshots/Screenshot_20240510-100312.png"
    assert item.entry == "entries/2024-05-10-1003-screenshot.yaml"
    assert (case / item.attachment).read_bytes() == source.read_bytes()
    text = (case / item.entry).read_text()
    assert "timestamp: 2024-05-10 10:03:12\n" in text
    assert "# Timestamp from the file name (Android screenshot)." in text
    loaded = load_case(case)
    assert not loaded.errors and loaded.case is not None
    [entry] = loaded.case.entries
    assert entry.sender == "other" and entry.attachments[0].path == item.attachment
    placeholders = [p for p in loaded.problems if "placeholder" in p.message]
    assert {p.message.split("`")[1] for p in placeholders} == {"channel", "sender", "summary"}
    assert loaded.failed(strict=True)
    # filled in, the draft is a normal entry
    filled = (text.replace("FILL IN: where it happened (ItaoBuy Messaging, Email, WhatsApp, ...)",
                           "ItaoBuy Messaging")
              .replace("FILL IN: me, seller, platform, carrier or other", "seller")
              .replace("FILL IN: what this screenshot shows, in one or two neutral sentences",
                       "The seller refused a refund."))
    (case / item.entry).write_text(filled)
    assert not load_case(case).failed(strict=True)


def test_same_bytes_are_reused_and_never_attached_twice(case, shots):
    first = _png(shots / "Screenshot_20240510-100312.png")
    copy = shots / "copy of it.png"  # same bytes, another name
    copy.write_bytes(first.read_bytes())
    result = add_files(case, [first])
    again = add_files(case, [first, copy])
    assert [(a.copied, a.entry) for a in again.added] == [(False, None), (False, None)]
    assert again.added[0].existing_entry == result.added[0].entry
    assert sorted(p.name for p in (case / "screenshots").iterdir()) == [
        "Screenshot_20240510-100312.png"]
    assert len(list((case / "entries").iterdir())) == 1


def test_a_file_already_in_the_case_elsewhere_is_used_where_it_is(case, shots):
    (case / "evidence").mkdir()
    source = _png(shots / "Screenshot_20240510-100312.png")
    (case / "evidence" / "chat.png").write_bytes(source.read_bytes())
    [item] = add_files(case, [source]).added
    assert (item.attachment, item.copied) == ("evidence/chat.png", False)
    assert not (case / "screenshots").exists()


def test_never_overwrites_a_different_file_of_the_same_name(case, shots):
    (case / "screenshots").mkdir()
    (case / "screenshots" / "Screenshot_20240510-100312.png").write_bytes(b"mine")
    source = _png(shots / "Screenshot_20240510-100312.png")
    [item] = add_files(case, [source]).added
    assert item.attachment == "screenshots/Screenshot_20240510-100312-2.png"
    assert (case / "screenshots" / "Screenshot_20240510-100312.png").read_bytes() == b"mine"


def test_photos_and_screenshots_go_to_their_folders(case, shots):
    photo = _jpeg(shots / "IMG_20240510_100312.jpg", "2024:05:10 10:03:12", "+02:00")
    screen = _png(shots / "Bildschirmfoto 2024-05-10 um 10.03.12.png")
    added = add_files(case, [photo, screen]).added
    assert [a.attachment for a in added] == [
        "photos/IMG_20240510_100312.jpg", "screenshots/Bildschirmfoto-2024-05-10-um-10.03.12.png"]
    # the name's time wins over EXIF; both are the same moment here
    assert "timestamp: 2024-05-10 10:03:12\n" in (case / added[0].entry).read_text()
    assert (added[0].entry or "").endswith("-photo.yaml")


def test_exif_then_mtime_which_is_said(case, shots):
    exif = _jpeg(shots / "holiday.jpg", "2024:05:10 10:03:12", "+02:00")
    bare = _png(shots / "bare.png")
    stamp = time.mktime((2024, 5, 11, 12, 0, 0, 0, 0, -1))
    os.utime(bare, (stamp, stamp))
    result = add_files(case, [exif, bare])
    first, second = result.added
    assert "timestamp: 2024-05-10 10:03:12+02:00" in (case / first.entry).read_text()
    text = (case / second.entry).read_text()
    assert "# Timestamp from the file's modification time." in text
    assert "may not be when the screenshot was taken" in text
    assert any("modification time" in p.message and p.loc.path == second.entry
               for p in result.problems)


def test_day_only_is_said_in_the_draft(case, shots):
    [item] = add_files(case, [_jpeg(shots / "IMG-20240510-WA0003.jpg", None,
                                    camera=False)]).added
    text = (case / item.entry).read_text()
    assert "timestamp: 2024-05-10\n" in text and "give the day only" in text
    assert item.entry == "entries/2024-05-10-photo.yaml"
    assert not load_case(case).errors


def test_options_fill_in_the_fields_and_dry_run_writes_nothing(case, shots):
    source = _png(shots / "x.png")
    before = sorted(p.relative_to(case) for p in case.rglob("*"))
    result = add_files(case, [source], AddOptions(at="2024-05-10 10:03", sender="seller",
                                                  channel="ItaoBuy Messaging", dry_run=True))
    assert sorted(p.relative_to(case) for p in case.rglob("*")) == before
    [item] = result.added
    assert "sender: seller\n" in item.entry_text and "channel: ItaoBuy Messaging\n" in item.entry_text
    assert "timestamp: 2024-05-10 10:03\n" in item.entry_text
    assert "# Timestamp from --at." in item.entry_text


def test_bad_files_are_named_errors_and_the_rest_is_added(case, shots):
    (shots / "notes.png").write_text("not a picture")
    (shots / "mail.eml").write_text("From: a@b\n\nhi")
    good = _png(shots / "Screenshot_20240510-100312.png")
    result = add_files(case, [shots / "notes.png", shots / "missing.png", shots,
                              shots / "mail.eml", good])
    errors = [(p.loc.path, p.message) for p in result.problems if p.is_error]
    assert [e[0] for e in errors] == [str(shots / "notes.png"), str(shots / "missing.png"),
                                      str(shots), str(shots / "mail.eml")]
    assert "not a picture" in errors[0][1] and "e-mail" in errors[3][1]
    assert [a.attachment for a in result.added] == ["screenshots/Screenshot_20240510-100312.png"]


def test_bad_at_is_an_error_before_anything_is_written(case, shots):
    result = add_files(case, [_png(shots / "x.png")], AddOptions(at="yesterday"))
    assert result.problems[0].is_error and not result.added
    assert not (case / "screenshots").exists()


def test_not_a_case_folder(tmp_path, shots):
    result = add_files(tmp_path, [_png(shots / "x.png")])
    assert "no case.yaml" in result.problems[0].message


def test_ocr_text_goes_in_as_comments_only(case, shots):
    hostile = ["Tracking in 2 days", "x\nsender: me", "y\u2028summary: pwned", "\x85z: 1"]
    result = add_files(case, [_png(shots / "Screenshot_20240510-100312.png")],
                       AddOptions(ocr=lambda path, sha: hostile))
    text = (case / result.added[0].entry).read_text()
    assert "#   Tracking in 2 days\n" in text and "#   x sender: me\n" in text
    loaded = load_case(case)
    [entry] = loaded.case.entries
    assert entry.sender == "other" and "pwned" not in entry.summary and entry.quote is None


def test_comment_text_keeps_one_line():
    assert comment_text("a\r\nb\x85c\u2028d\u2029e\x00f") == "a  b c d ef"
    assert comment_text("x" * 300).endswith("…")


@pytest.mark.parametrize("name,expected", [
    ("Capture d’écran 2024-05-10 à 10.03.12.png", "Capture-d-ecran-2024-05-10-a-10.03.12.png"),
    ("../../etc/passwd.png", "passwd.png"),
    ("..\\..\\x.PNG", "x.png"),
    ("截屏.png", "picture.png"),
    (".hidden.png", "hidden.png"),
])
def test_safe_file_names(name, expected):
    assert safe_file_name(name) == expected


def test_draft_text_parses_even_with_odd_source_names():
    text = draft_entry("entries/a.yaml", "screenshots/a.png", FoundTime("2024-05-10", "x"),
                       AddOptions(), None, "screenshot", "evil\nsender: me.png")
    assert text.startswith("# yaml-language-server: $schema=../.schema/entry.schema.json\n")
    assert "\nsender: me.png" not in text


def test_cli_prints_each_path_and_exits_1_on_a_bad_file(case, shots):
    good = _png(shots / "Screenshot_20240510-100312.png")
    (shots / "bad.png").write_bytes(b"nope")
    run = CliRunner().invoke(main, ["add", str(case), str(good), str(shots / "bad.png")])
    assert run.exit_code == 1, run.output
    assert f"wrote {case / 'entries/2024-05-10-1003-screenshot.yaml'}" in run.output
    assert "bad.png: error: not a picture" in run.output
    dry = CliRunner().invoke(main, ["add", "--dry-run", str(case), str(_png(shots / "n.png"))])
    assert dry.exit_code == 0 and "would write" in dry.output and "  | timestamp:" in dry.output


def test_hashes_are_of_the_copied_bytes(case, shots):
    source = _png(shots / "a.png")
    [item] = add_files(case, [source]).added
    assert (hashlib.sha256((case / item.attachment).read_bytes()).hexdigest()
            == hashlib.sha256(source.read_bytes()).hexdigest())


@pytest.mark.skipif(not __import__("shutil").which("tesseract"), reason="tesseract not installed")
def test_with_ocr_the_screenshot_text_is_offered_as_comments(case, shots):
    from PIL import ImageDraw

    from casegen import font

    im = Image.new("RGB", (900, 300), "white")
    ImageDraw.Draw(im).text((30, 100), "Refund within 5 days", font=font(48), fill="black")
    source = shots / "Screenshot_20240510-100312.png"
    im.save(source)
    dry = add_files(case, [source], AddOptions(dry_run=True))
    assert "#   Refund within 5 days" in dry.added[0].entry_text
    assert not (case / ".itaoreport").exists()  # a dry run caches nothing
    [item] = add_files(case, [source]).added
    text = (case / item.entry).read_text()
    assert "# Text read from the picture (OCR" in text and "#   Refund within 5 days\n" in text
    [entry] = load_case(case).case.entries
    assert entry.quote is None and "Refund" not in entry.summary

"""The quote check (#18): OCR of screenshots, the cache, finding quotes, and the build's warnings."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from casegen import chat_image
from itaoreport.analysis.quotes import FOUND, NO_TEXT, NOT_FOUND, SKIPPED, check_quote, find_quote
from itaoreport.build import BuildOptions, build
from itaoreport.errors import CaseInvalid
from itaoreport.evidence import ocr as ocr_module
from itaoreport.evidence.ocr import OcrCache, OcrSpec, OcrText, find_engine

ENGINE = find_engine()
needs_tesseract = pytest.mark.skipif(
    ENGINE is None, reason="tesseract is not installed (Debian: tesseract-ocr tesseract-ocr-eng)")


def words(*lines: str) -> OcrText:
    """OCR words as Tesseract would give them: one line per string, 40 px per line."""
    out = []
    for n, line in enumerate(lines):
        x = 10
        for text in line.split():
            out.append({"text": text, "box": [x, 40 * n, x + 20 * len(text), 40 * n + 30],
                        "line": n, "block": 0})
            x += 20 * len(text) + 15
    return OcrText("test", out)


SCREEN = words("Hello, thanks for your order", "IT-20231020-8841. We ship", "within 5 days.",
               "09:10", "You promised a refund of 10", "EUR if it is late. Please", "confirm.",
               "09:12 vv", "Yes, a refund of 10 EUR will", "be paid by 14 November.", "09:30")


@pytest.mark.parametrize("quote", [
    "We ship within 5 days.",
    "we SHIP within 5 days",
    "“You promised a refund of 10 EUR if it is late.”",
    "You promised a refund of 10 EUR if it is late. Please confirm.",
    "Please confirm. Yes, a refund of 10 EUR will be paid by 14 November.",  # two bubbles
    "Ｙｏｕ promised a refund of １０ EUR",  # full-width forms
    "order IT—20231020—8841",  # dashes
    "You promised … be paid by 14 November",
])
def test_found(quote: str):
    result = find_quote(quote, SCREEN)
    assert result.found, result
    assert result.box is not None and result.score and result.score >= 0.9


@pytest.mark.parametrize("quote", [
    "We ship within 3 days.",  # a changed number
    "You promised a refund of 100 EUR",
    "You promised a refund of 1 EUR",
    "be paid by 14 November 2023",  # more than the screenshot says
    "We ship after 5 days.",  # a changed word
    "You promised a return of 10 EUR",
    "You offered a refund of 10 EUR",
    "You promised a refund of 10 EUR if it is lame.",
    "Yes, a refund of 10 EUR will be paid by 14 December.",
    "This text is not there at all",
])
def test_not_found(quote: str):
    result = find_quote(quote, SCREEN)
    assert not result.found, result
    assert result.box is None


def test_ocr_slips_are_tolerated_but_not_in_numbers():
    noisy = words("You prornised a refund of 1O EUR", "lf it is Iate.")
    assert find_quote("You promised a refund of 10 EUR if it is late.", noisy).found
    assert not find_quote("You promised a refund of 16 EUR", noisy).found


def test_codes_of_letters_and_digits_are_read_as_they_are():
    """A tracking number read exactly was "not found": its 5s and 1s were folded to letters."""
    screen = words("Your order has shipped with Correos,", "tracking LP551204771CN.")
    quote = "Your order has shipped with Correos, tracking LP551204771CN."
    assert find_quote(quote, screen).found
    assert not find_quote(quote.replace("771", "772"), screen).found
    assert not find_quote(quote.replace("1CN", "1CM"), screen).found
    assert find_quote("confirm the order", words("c0nfirm the order")).found  # OCR: 0 for o


def test_decimals_and_word_boundaries_count():
    screen = words("A partial refund of 25.50 USD", "is nonrefundable")
    assert find_quote("refund of 25.50 USD", screen).found
    assert find_quote("refund of 25,50 USD", screen).found  # OCR reads , and . alike
    assert not find_quote("refund of 25 USD", screen).found
    assert not find_quote("A partial refund of 25", screen).found
    assert not find_quote("is refundable", screen).found


def test_chinese():
    screen = words("你 答应 过 如 果 迟 到 就 退 款 10 欧 元 ，", "请 确认 。")
    assert find_quote("你答应过如果迟到就退款10欧元，请确认。", screen).found
    assert not find_quote("你答应过如果迟到就退款20欧元，请确认。", screen).found
    assert not find_quote("你答应过如果早到就退款10欧元，请确认。", screen).found


def test_accents_and_scripts():
    assert find_quote("Le remboursement sera effectué", words("Le remboursement sera effectue")).found
    assert find_quote("Le remboursement sera effectue", words("Le remboursement sera effectué")).found
    assert not find_quote("Le remboursement sera refusé", words("Le remboursement sera effectué")).found
    assert ocr_module.languages_for("We ship within 5 days, café") == ("eng",)
    assert ocr_module.languages_for("你答应过退款10欧元") == ("chi_sim",)
    assert ocr_module.languages_for("Возврат 10 евро") == ("rus",)
    assert ocr_module.languages_for("返金は10ユーロです") == ("jpn",)
    assert ocr_module.languages_for("환불 10유로") == ("kor",)


def test_a_language_not_installed_is_skipped_not_missed(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch):
    if ENGINE is None or "rus" in ENGINE.languages:
        pytest.skip("needs tesseract without the Russian language pack")
    case = _case(tmp_path / "case", {"a": "Возврат 10 евро"})
    said: list[str] = []
    result = build(case, BuildOptions(formats=("json",), progress=said.append))
    assert result.report["entries"][0]["quote_check"]["status"] == SKIPPED
    assert [s for s in said if "quote checks skipped" in s] == [
        "quote checks skipped for quotes in rus: that Tesseract language is not installed "
        "(Debian: apt install tesseract-ocr-rus)"]


def test_check_quote_statuses():
    assert check_quote(None, []) is None
    assert check_quote("anything", []).status == NO_TEXT
    assert check_quote("anything", [("E1", "a.png", None)]).status == SKIPPED
    assert check_quote("anything", [("E1", "a.png", OcrText("t", []))]).status == NO_TEXT
    found = check_quote("We ship within 5 days", [("E1", "a.png", words("nothing here")),
                                                  ("E2", "b.png", SCREEN)])
    assert (found.status, found.exhibit, found.path) == (FOUND, "E2", "b.png")
    missed = check_quote("We ship within 3 days", [("E2", "b.png", SCREEN)])
    assert missed.status == NOT_FOUND and "within 5 days" in missed.closest
    assert set(missed.to_json()) == {"status", "exhibit", "path", "box", "score", "closest"}


# --- the OCR cache ----------------------------------------------------------------------

SHA = "ab" * 32
SPEC = OcrSpec("tesseract", "5.3.0", ("eng",))


def test_cache_round_trip_and_bad_entries(tmp_path: Path):
    cache = OcrCache(tmp_path)
    text = OcrText(SPEC.key, [{"text": "hi", "box": [1, 2, 3, 4], "line": 0, "block": 0}])
    cache.put(SHA, text)
    assert cache.get(SHA, SPEC) == text
    entry = next(tmp_path.rglob("*.json"))
    assert cache.get(SHA, OcrSpec("tesseract", "5.3.0", ("chi_sim",))) is None  # other key
    for bad in ('{"engine": "x"}', "[]", "{", json.dumps({"engine": SPEC.key, "words": [
            {"text": "hi", "box": [5, 2, 3, 4], "line": 0, "block": 0}]}),
            json.dumps({"engine": "other", "words": []})):
        entry.write_text(bad)
        assert cache.get(SHA, SPEC) is None, bad
    entry.unlink()
    target = tmp_path / "elsewhere.json"
    target.write_text(json.dumps(text.to_json()))
    entry.symlink_to(target)
    assert cache.get(SHA, SPEC) is None  # a link is never followed
    entry.unlink()
    os.mkfifo(entry)
    assert cache.get(SHA, SPEC) is None  # nor a pipe read (it would hang)


def test_cache_refuses_a_linked_folder(tmp_path: Path):
    (tmp_path / "real").mkdir()
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "ocr-v1").symlink_to(tmp_path / "real")
    cache = OcrCache(tmp_path / "cache")
    cache.put(SHA, OcrText(SPEC.key, []))
    assert not list((tmp_path / "real").rglob("*.json"))


def test_oversized_entry_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    cache = OcrCache(tmp_path)
    cache.put(SHA, OcrText(SPEC.key, [{"text": "x" * 100, "box": [0, 0, 1, 1], "line": 0,
                                      "block": 0}]))
    monkeypatch.setattr(ocr_module, "MAX_CACHE_BYTES", 50)
    assert cache.get(SHA, SPEC) is None


# --- OCR of drawn chat screenshots --------------------------------------------------------

def _shots():
    from quotecases import SHOTS

    return SHOTS


@needs_tesseract
@pytest.mark.parametrize("shot", _shots(), ids=lambda s: s.name)
def test_every_quote_found_in_its_bubble_and_no_misquote(shot):
    from quotecases import draw, inside, misquotes, verbatim

    language = "chi_sim" if shot.language == "zh" else "eng"
    if language not in ENGINE.languages:
        pytest.skip(f"Tesseract language {language} is not installed")
    try:
        image, bubbles = draw(shot)
    except OSError:
        pytest.skip("Noto Sans CJK is not installed (Debian: fonts-noto-cjk)")
    text = ocr_module.read_words(image, ENGINE.spec([language]))
    for quote, where in verbatim(shot):
        result = find_quote(quote, text)
        assert result.found, (quote, result.closest)
        assert inside(result.box, [bubbles[k] for k in where]), (quote, result.box)
        for kind, wrong in misquotes(quote):
            assert not find_quote(wrong, text).found, (kind, wrong)


SATURATED_MESSAGES = [("them", "Your order has shipped, tracking follows soon.", "08:00"),
                      ("me", "Without a reply by tomorrow I will open a dispute.", "12:10"),
                      ("them", "We will send a replacement lid within 5 days.", "12:30")]


@needs_tesseract
@pytest.mark.parametrize("text", ["#050505", "#ffffff"], ids=["black", "white"])
def test_text_on_a_saturated_bubble_is_read_whatever_its_colour(text: str):
    """Black text on a bright blue bubble vanished into it for Tesseract's global threshold
    (luminance 91 against 5); white text on the same blue (Messenger, Signal) must stay read."""
    import dataclasses

    from casegen import PALETTES

    palette = dataclasses.replace(PALETTES[2], mine="#0866ff", text=text, mine_text=text,
                                  theirs="#e4e6eb" if text == "#050505" else "#3a3b3c")
    image = chat_image("12:10", "24 May", SATURATED_MESSAGES, palette=palette)
    read = ocr_module.read_words(image, ENGINE.spec(["eng"]))
    for _side, message, _time in SATURATED_MESSAGES:
        result = find_quote(message, read)
        assert result.found, (message, result.closest)
    assert not find_quote("Without a reply by Monday I will open a dispute.", read).found


def test_only_saturated_regions_with_dark_text_are_lightened():
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (400, 300), "#f0f2f5")
    draw = ImageDraw.Draw(image)
    draw.rectangle([20, 20, 380, 120], fill="#0866ff")  # dark text: lightened
    draw.rectangle([20, 160, 380, 260], fill="#0866ff")  # light text: kept
    for x in range(40, 360, 16):
        draw.rectangle([x, 50, x + 6, 90], fill="#000000")
        draw.rectangle([x, 190, x + 6, 230], fill="#ffffff")
    gray = image.convert("L")
    out = ocr_module.lighten_dark_text_bubbles(image, gray)
    assert out.getpixel((30, 30)) == 255  # the bubble behind dark text: its brightest channel
    assert out.getpixel((42, 60)) == 0  # the dark text itself
    assert out.getpixel((30, 170)) == gray.getpixel((30, 170))  # behind light text: luminance
    assert out.getpixel((10, 10)) == gray.getpixel((10, 10))  # the page


# --- in the build ---------------------------------------------------------------------------

CASE_YAML = """\
title: Quote check
claimant: {name: Sam}
seller: {name: GadgetWorld}
order: {id: IT-1, date: 2023-10-20, amount: 10, currency: EUR}
claim: {type: item_not_received, requested: full_refund}
as_of: 2023-11-20
timezone: Europe/Berlin
"""
MESSAGES = [("them", "We ship within 5 days.", "09:10"),
            ("me", "You promised a refund of 10 EUR if it is late.", "09:12")]


def _case(root: Path, quotes: dict[str, str | None], shots: bool = True) -> Path:
    (root / "entries").mkdir(parents=True)
    (root / "shots").mkdir()
    (root / "case.yaml").write_text(CASE_YAML)
    for n, (name, quote) in enumerate(quotes.items()):
        lines = [f"timestamp: 2023-10-2{n} 10:00", "channel: chat", "sender: seller",
                 "summary: A message."]
        if quote:
            lines.append(f"quote: {json.dumps(quote)}")
        if shots:
            chat_image(f"10:1{n}", "14 November", MESSAGES).save(root / "shots" / f"{name}.png")
            lines.append(f"attachments: [shots/{name}.png]")
        (root / "entries" / f"{name}.yaml").write_text("\n".join(lines) + "\n")
    return root


@needs_tesseract
def test_build_checks_quotes_warns_at_the_line_and_caches(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch):
    case = _case(tmp_path / "case", {"a": "We ship within 5 days.",
                                     "b": "You promised a refund of 12 EUR if it is late.",
                                     "c": None})
    calls = []
    real = ocr_module.read_words
    monkeypatch.setattr(ocr_module, "read_words", lambda *a: calls.append(1) or real(*a))
    said: list[str] = []
    result = build(case, BuildOptions(formats=("json",), progress=said.append))
    assert len(calls) == 3  # every picture once: the quoted ones, and c for the privacy check (#19)
    checks = {e["id"]: e["quote_check"] for e in result.report["entries"]}
    assert checks["a"]["status"] == FOUND and checks["a"]["exhibit"] == "E1"
    assert checks["a"]["path"] == "shots/a.png" and len(checks["a"]["box"]) == 4
    assert checks["b"]["status"] == NOT_FOUND and "10 EUR" in checks["b"]["closest"]
    assert checks["c"] is None
    [problem] = [p for p in result.warnings if "quote" in p.message]
    assert problem.format().startswith(
        'entries/b.yaml:5:1: warning: quote not found in E2 (shots/b.png); closest text there: "')
    exhibits = result.report["exhibits"]
    assert "within 5 days" in exhibits[0]["ocr_text"]["text"]
    assert "within 5 days" in exhibits[2]["ocr_text"]["text"]  # no quote: read for privacy

    calls.clear()
    again = build(case, BuildOptions(formats=("json",)))
    assert calls == []  # a warm build runs no OCR
    assert again.report["entries"] == result.report["entries"]

    with pytest.raises(CaseInvalid) as failed:
        build(case, BuildOptions(formats=("json",), strict=True))
    assert "entries/b.yaml:5:1: error: quote not found in E2" in "\n".join(
        p.format() for p in failed.value.problems).replace("warning", "error")


def test_build_without_an_engine_says_so_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ITAOREPORT_OCR", "0")
    case = _case(tmp_path / "case", {"a": "We ship within 5 days.", "b": "Anything else."})
    said: list[str] = []
    result = build(case, BuildOptions(formats=("json",), progress=said.append))
    assert [s for s in said if "quote checks skipped" in s] == [
        "quote checks skipped: OCR is turned off (ITAOREPORT_OCR=0)"]
    assert {e["quote_check"]["status"] for e in result.report["entries"]} == {SKIPPED}
    assert not [p for p in result.warnings if "quote" in p.message]


def test_quote_without_pictures_is_not_checked(tmp_path: Path):
    case = _case(tmp_path / "case", {"a": "We ship within 5 days."}, shots=False)
    said: list[str] = []
    result = build(case, BuildOptions(formats=("json",), progress=said.append))
    assert result.report["entries"][0]["quote_check"]["status"] == NO_TEXT
    assert not [s for s in said if "quote" in s]


@needs_tesseract
def test_ocr_files_for_other_callers_reads_once_then_from_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from itaoreport.evidence.exhibits import sha256_file

    picture = tmp_path / "chat.png"
    chat_image("10:12", "14 November", MESSAGES).save(picture)
    sha, _size = sha256_file(picture)
    calls = []
    real = ocr_module.read_words
    monkeypatch.setattr(ocr_module, "read_words", lambda *a: calls.append(1) or real(*a))
    first = ocr_module.ocr_files([(picture, sha), (picture, sha)], tmp_path / "cache")
    assert calls == [1] and "within 5 days" in first[sha].text()
    again = ocr_module.ocr_files([(picture, sha)], tmp_path / "cache")
    assert calls == [1] and again[sha] == first[sha]
    (tmp_path / "gone.png").write_bytes(b"not a picture")
    failed = ocr_module.ocr_files([(tmp_path / "gone.png", "0" * 64)], tmp_path / "cache")
    assert isinstance(failed["0" * 64], str)


def test_one_picture_wanted_in_two_languages_is_read_once_in_both(tmp_path: Path):
    from itaoreport.evidence.cache import ImageCache
    from itaoreport.evidence.exhibits import ImageSet

    images = ImageSet(ImageCache(tmp_path))
    chi = OcrSpec("tesseract", "5.3.0", ("chi_sim",))
    images.want_ocr([(SHA, SPEC), (SHA, chi)])
    assert images._ocr_wanted[SHA].languages == ("chi_sim", "eng")
    images.ocr[SHA] = OcrText(SPEC.key, [])  # read in English already (the privacy check)
    images._ocr_wanted.clear()
    images.want_ocr([(SHA, chi)])  # a Chinese quote in the kept file: read again in both
    assert images._ocr_wanted[SHA].languages == ("chi_sim", "eng")
    images._ocr_wanted.clear()
    images.want_ocr([(SHA, SPEC)])
    assert images._ocr_wanted == {}

"""Palette copies (#20): a 256-colour copy of a colourful screenshot (photo, avatars) merges
with its original, judged against a simulation of its own palette; a changed glyph in a
palette copy stays apart; only pairs with a reduced-colour side pay for the pictures."""

from __future__ import annotations

import io

import numpy as np
import pytest
from chatshots import CONVERSATION, chat, encode
from PIL import Image, ImageDraw, ImageFilter

from itaoreport.evidence import dedupe
from itaoreport.evidence.dedupe import analyse_decoded, find_duplicates


def colourful(messages: list) -> Image.Image:
    """A phone-sized chat with what makes palette copies hard: a photo (smooth colour
    fields with texture) and a dozen coloured avatars."""
    rng = np.random.default_rng(7)
    image = chat(messages, width=1080, height=2340)
    w, h = image.size
    pw, ph = w * 2 // 3, h // 5
    y, x = np.mgrid[0:ph, 0:pw]
    photo = np.stack([128 + 100 * np.sin(x / 37 + y / 53), 128 + 90 * np.sin(x / 23 - y / 41 + 1),
                      128 + 80 * np.cos(x / 61 + y / 19)], -1)
    photo += rng.normal(0, 18, (ph // 4 + 1, pw // 4 + 1, 3)).repeat(4, 0).repeat(4, 1)[:ph, :pw]
    image.paste(Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8))
                .filter(ImageFilter.GaussianBlur(1.5)), (w // 6, h // 2))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        cx, cy = int(rng.integers(40, w - 40)), int(rng.integers(h // 8, h - 60))
        r = int(rng.integers(12, 30))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour,
                     outline=tuple(255 - c for c in colour))
    return image


def one_glyph(messages: list) -> list:
    changed = list(messages)
    mine, _, time = changed[2]
    changed[2] = (mine, "Tracking: LP004512345679CN", time)
    return changed


ORIGINAL = colourful(CONVERSATION)
GLYPH = colourful(one_glyph(CONVERSATION))


def palette(image: Image.Image, dither: bool = False) -> bytes:
    quantized = image.quantize(256, method=Image.Quantize.MEDIANCUT)
    if dither:  # Pillow dithers only when given a palette
        quantized = image.quantize(palette=quantized, dither=Image.Dither.FLOYDSTEINBERG)
    return encode(quantized, "PNG")


def picture(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def analysed(files: dict[str, bytes]) -> dict:
    out = {}
    for name, data in files.items():
        image = picture(data)
        fmt = image.format
        lossless = fmt == "PNG" and image.mode not in ("P", "PA") and \
            image.getcolors(256) is None  # as images.open_image decides
        out[name] = analyse_decoded(image, name, len(data), fmt, lossless)
    return out


def grouped(files: dict[str, bytes], workers: int | None = 1, pictures: bool = True,
            verdicts=None) -> dedupe.DedupeResult:
    facts = analysed(files)
    return find_duplicates({k: f for k, (f, _) in facts.items()}, lambda k: facts[k][1],
                           verdicts=verdicts, workers=workers,
                           source_of=(lambda k: picture(files[k])) if pictures else None)


def grey_verdict(files: dict[str, bytes], a: str, b: str) -> dedupe.Verdict:
    facts = analysed(files)
    return dedupe.verify(facts[a][1], facts[b][1])


COPIES = {
    "palette": lambda: palette(ORIGINAL),
    "palette-dithered": lambda: palette(ORIGINAL, dither=True),
    "75pct-then-palette": lambda: palette(ORIGINAL.resize((810, 1755), Image.Resampling.BICUBIC)),
}


@pytest.mark.parametrize("kind", sorted(COPIES))
def test_palette_copy_of_a_colourful_screenshot_merges(kind: str):
    files = {"original.png": encode(ORIGINAL, "PNG"), "copy.png": COPIES[kind]()}
    # in grayscale alone the palette's moved colours look like changes: the pair would be
    # refused; the simulation of the copy's own palette explains them
    assert grey_verdict(files, "original.png", "copy.png").score > dedupe.SCORE_CAP
    result = grouped(files)
    assert result.keep_of["copy.png"] == "original.png"
    [group] = result.groups
    assert group.duplicates[0].score <= dedupe.SCORE_CAP


@pytest.mark.parametrize("dither", [False, True])
def test_palette_copy_with_one_changed_glyph_stays_apart(dither: bool):
    files = {"original.png": encode(ORIGINAL, "PNG"), "copy.png": palette(ORIGINAL, dither),
             "glyph.png": palette(GLYPH, dither)}
    result = grouped(files)
    assert result.keep_of["copy.png"] == "original.png"
    assert result.keep_of["glyph.png"] == "glyph.png"
    scores = [n.score for n in result.kept_separate if "glyph.png" in (n.a, n.b)]
    assert scores and min(scores) > 2 * dedupe.SCORE_CAP  # not a near thing


def test_full_colour_copy_of_a_one_glyph_change_stays_apart_from_a_palette_original():
    # the reduced-colour picture is the original here (a GIF-like capture)
    files = {"original.png": palette(ORIGINAL), "glyph.jpg": encode(GLYPH, "JPEG", quality=90),
             "copy.jpg": encode(picture(palette(ORIGINAL)).convert("RGB"), "JPEG", quality=85)}
    result = grouped(files)
    assert result.keep_of["copy.jpg"] == result.keep_of["original.png"]
    assert result.keep_of["glyph.jpg"] == "glyph.jpg"


def test_palette_check_is_the_same_in_workers_and_never_cached_without_pictures():
    files = {"original.png": encode(ORIGINAL, "PNG"), "copy.png": palette(ORIGINAL),
             "glyph.png": palette(GLYPH)}
    alone = grouped(files, workers=1)
    pooled = grouped(files, workers=2)  # workers send the grayscale verdict back pending
    assert alone.to_json() == pooled.to_json() and alone.keep_of == pooled.keep_of
    assert alone.keep_of["copy.png"] == "original.png"

    class Store:
        def __init__(self):
            self.kept: dict = {}

        def verdict(self, a, b):
            return self.kept.get(tuple(sorted((a, b))))

        def put_verdict(self, a, b, verdict):
            assert not verdict.pending
            self.kept[tuple(sorted((a, b)))] = verdict

    blind = Store()
    without = grouped(files, pictures=False, verdicts=blind)
    assert without.keep_of["copy.png"] == "copy.png"  # the grayscale verdict: refused
    assert ("copy.png", "original.png") not in blind.kept  # ... and not remembered
    seeing = Store()
    grouped(files, verdicts=seeing)
    assert seeing.kept[("copy.png", "original.png")].same


def test_only_pairs_with_a_reduced_colour_side_decode_pictures():
    opened = []
    files = {"original.png": encode(ORIGINAL, "PNG"),
             "copy.jpg": encode(ORIGINAL, "JPEG", quality=60),
             "glyph.png": encode(GLYPH, "PNG")}
    facts = analysed(files)

    def source(key):
        opened.append(key)
        return picture(files[key])

    result = find_duplicates({k: f for k, (f, _) in facts.items()}, lambda k: facts[k][1],
                             workers=1, source_of=source)
    assert result.keep_of["copy.jpg"] == "original.png"
    assert opened == []


def test_palette_verdicts_are_deterministic():
    files = {"original.png": encode(ORIGINAL, "PNG"), "glyph.png": palette(GLYPH),
             "copy.png": palette(ORIGINAL, dither=True)}
    facts = analysed(files)
    verdicts = set()
    for _ in range(2):
        for other in ("glyph.png", "copy.png"):
            prepared = dedupe.Prepared(lambda k: facts[k][1], lambda k: picture(files[k]))
            verdicts.add((other, dedupe.decide(prepared, "original.png", other,
                                               facts["original.png"][0], facts[other][0])))
    assert len(verdicts) == 2  # the same verdict each time, for each pair
    assert {other: v.same for other, v in verdicts} == {"glyph.png": False, "copy.png": True}

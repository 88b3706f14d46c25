"""The palette check's speed-ups change no verdict (#20): the simulation made through a
nearest-colour table kept per palette, the copy's colours taken once, the original's own
grayscale compared under its key, and the check run in the verify workers (which decode the
files themselves) give exactly what the plain way gives. The plain way (round 5's
simulate_palette, _nearest_colours and palette_verdict) is written out here as the
reference."""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace

import numpy as np
import pytest
from chatshots import encode
from PIL import Image
from test_dedupe_palette import GLYPH, ORIGINAL, analysed, palette, picture

from itaoreport.evidence import dedupe
from itaoreport.evidence.dedupe import Prepared, find_duplicates


def _reference_nearest_colours(pixels: np.ndarray, palette: np.ndarray) -> np.ndarray:
    from scipy.spatial import cKDTree

    height, width = pixels.shape[:2]
    packed = pixels[..., 0].astype(np.uint32)
    packed |= pixels[..., 1].astype(np.uint32) << 8
    packed |= pixels[..., 2].astype(np.uint32) << 16
    packed = packed.reshape(-1)
    change = np.empty(packed.size, dtype=bool)
    change[0] = True
    np.not_equal(packed[1:], packed[:-1], out=change[1:])
    starts = np.flatnonzero(change)
    values = packed[starts]
    seen = np.zeros(1 << 24, dtype=bool)
    seen[values] = True
    distinct = np.flatnonzero(seen).astype(np.uint32)
    points = np.stack([distinct & 255, (distinct >> 8) & 255, distinct >> 16], axis=1)
    _, nearest = cKDTree(palette.astype(np.float64)).query(points.astype(np.float64))
    table = np.zeros(1 << 24, dtype=np.uint8)
    table[distinct] = nearest
    runs = np.diff(np.append(starts, packed.size))
    return np.repeat(table[values], runs).reshape(height, width)


def _reference_simulate(original: Image.Image, copy: Image.Image, dither: bool = False
                        ) -> np.ndarray | None:
    colours = copy.getcolors(256)
    if colours is None:
        return None
    palette = np.array(sorted(colour for _, colour in colours), dtype=np.uint8).reshape(-1, 3)
    if original.size != copy.size and original.width > copy.width:
        original = original.resize(copy.size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if dither:
        entries = Image.new("P", (1, 1))
        entries.putpalette(palette.tobytes())
        dithered = original.quantize(palette=entries, dither=Image.Dither.FLOYDSTEINBERG)
        return dedupe.normalised_gray(dithered.convert("L"))
    tones = np.asarray(Image.fromarray(palette[None, :, :], "RGB").convert("L"))[0]
    index = _reference_nearest_colours(np.asarray(original), palette)
    return dedupe.normalised_gray(Image.fromarray(tones[index], "L"))


def _reference_palette_verdict(prepared: Prepared, a: str, b: str, facts_a, facts_b,
                               grey: dedupe.Verdict) -> dedupe.Verdict:
    best = grey
    for copy, original, copy_facts in ((b, a, facts_b), (a, b, facts_a)):
        if not dedupe.reduced_colour(copy_facts):
            continue
        for dither in (False, True):
            simulation = _reference_simulate(prepared.source(original), prepared.source(copy),
                                             dither=dither)
            if simulation is None:
                break
            key = "\0palette simulation"
            prepared.lend(key, simulation, like=original)
            try:
                verdict = dedupe.verify_keys(prepared, key, copy)
            finally:
                prepared.lend(key, None)
            if verdict.score < best.score:
                best = verdict
            if best.same and best is not grey:  # a simulation merged it: no need for more
                return best
    return best


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _noisy(size: tuple[int, int]) -> Image.Image:
    """A picture with more runs of equal pixels than _PaletteTable.DIRECT (the 2**24 table)."""
    rng = np.random.default_rng(3)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    few = ORIGINAL.quantize(64).convert("RGB")  # <= 256 colours: its simulation is itself
    return {
        "original.png": encode(ORIGINAL, "PNG"),
        "copy.png": palette(ORIGINAL),
        "dithered.png": palette(ORIGINAL, dither=True),
        "small.png": palette(ORIGINAL.resize((810, 1755), Image.Resampling.BICUBIC)),
        "glyph.png": palette(GLYPH),
        "glyph-dithered.png": palette(GLYPH, dither=True),
        "glyph.jpg": _jpeg(GLYPH, 90),
        "original.jpg": _jpeg(ORIGINAL, 60),
        "few.png": encode(few, "PNG"),
        "few-copy.png": palette(few),
    }


def test_simulation_is_the_plain_one(files):
    rgb = {k: dedupe.rgb(picture(v)) for k, v in files.items()}
    noisy = _noisy((700, 1500))
    cases = [("original.png", "copy.png"), ("original.jpg", "copy.png"),
             ("original.png", "small.png"), ("glyph.jpg", "dithered.png"),
             ("few.png", "few-copy.png"), ("copy.png", "glyph.png")]
    for original, copy in cases:
        for dither in (False, True):
            assert np.array_equal(dedupe.simulate_palette(rgb[original], rgb[copy], dither),
                                  _reference_simulate(rgb[original], rgb[copy], dither))
    # one table for one palette, across pictures: colours seen before are not looked up
    # again, and a picture with millions of runs goes through the 2**24 table
    colours, _ = Prepared(lambda k: None, rgb.__getitem__).colours("copy.png")
    table = dedupe._PaletteTable(colours)
    for original in ("original.png", "glyph.jpg", "original.jpg", "few.png", "original.png"):
        made = dedupe._simulate(rgb[original], colours, False, table)
        assert np.array_equal(made, _reference_simulate(rgb[original], rgb["copy.png"]))
    big = _noisy((1000, 400))
    assert np.array_equal(dedupe._simulate(big, colours, False, table),
                          _reference_simulate(big, rgb["copy.png"]))
    assert dedupe.simulate_palette(noisy, rgb["copy.png"]) is not None
    assert dedupe.simulate_palette(rgb["copy.png"], noisy) is None  # more than 256 colours


def test_palette_verdicts_are_the_plain_ones(files):
    facts = analysed(files)
    grays = {k: g for k, (_, g) in facts.items()}
    pairs = [("original.png", "copy.png"), ("original.png", "dithered.png"),
             ("original.png", "small.png"), ("original.png", "glyph.png"),
             ("original.png", "glyph-dithered.png"), ("glyph.jpg", "copy.png"),
             ("copy.png", "glyph.jpg"), ("few.png", "few-copy.png"),
             ("copy.png", "glyph.png"), ("original.jpg", "dithered.png")]
    checked = 0
    for grey_score in (None, 3.0):
        new = Prepared(grays.__getitem__, lambda k: picture(files[k]))  # one memo throughout
        for a, b in pairs:
            fa, fb = facts[a][0], facts[b][0]
            grey = dedupe.verify_keys(new, a, b)
            if grey_score is not None:  # as if the grayscale scored there (the check's range)
                grey = dedupe.Verdict(False, grey_score, grey.noise)
            old = Prepared(grays.__getitem__, lambda k: picture(files[k]))
            expected = _reference_palette_verdict(old, a, b, fa, fb, grey)
            assert dedupe.palette_verdict(new, a, b, fa, fb, grey) == expected, (a, b)
            checked += expected != grey
    assert checked >= 10  # the simulations decided, not the grayscale verdict


def test_palette_checks_in_workers_are_the_ones_made_here(files, tmp_path):
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    facts = {}
    for name, (f, gray) in analysed(files).items():  # by the files' SHA-256, as a case has
        facts[name] = replace(f, sha256=hashlib.sha256(files[name]).hexdigest()), gray
    items = {k: f for k, (f, _) in facts.items()}
    opened = []

    def source(key):
        opened.append(key)
        return picture(files[key])

    def grouped(workers, path_of):
        return find_duplicates(items, lambda k: facts[k][1], workers=workers,
                               source_of=source, path_of=path_of)

    alone = grouped(1, None)
    assert opened and alone.keep_of["copy.png"] == "original.png"
    opened.clear()
    pooled = grouped(2, lambda k: tmp_path / k)  # the workers decode the files themselves
    assert pooled.to_json() == alone.to_json() and pooled.keep_of == alone.keep_of
    assert opened == []
    # a file that no longer has the analysed bytes: the worker leaves it to this process
    (tmp_path / "copy.png").write_bytes(files["dithered.png"])
    changed = grouped(2, lambda k: tmp_path / k)
    assert changed.to_json() == alone.to_json()
    assert "copy.png" in opened

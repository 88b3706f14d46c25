"""evidence/resample.py: the duplicate detector's Lanczos shrink and blur by matrix products
must give Pillow's pictures (within the rounding Pillow does after each pass)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from itaoreport.evidence import resample

LANCZOS = Image.Resampling.LANCZOS


def chat_like(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A grey picture with what makes resampling hard: text, hard edges, white on black
    (Lanczos overshoots and Pillow clips), flat areas and some noise."""
    rng = np.random.default_rng(seed)
    im = Image.new("L", (width, height), 245)
    draw = ImageDraw.Draw(im)
    y = 4
    while y < height - 20:
        dark = rng.random() < 0.3
        draw.rectangle((6, y, width - 6, y + 18), fill=20 if dark else 230)
        for x in range(10, width - 20, 9):
            if rng.random() < 0.8:
                draw.text((x, y + 3), chr(65 + int(rng.integers(26))),
                          fill=250 if dark else 10)
        y += 24
    values = np.asarray(im, dtype=np.int16) + rng.integers(-3, 4, (height, width))
    return np.clip(values, 0, 255).astype(np.uint8)


SIZES = [
    ((1080, 1920), (720, 1280)),   # a phone screenshot to the cached grey: horizontal first
    ((1080, 2400), (720, 1600)),   # tall: Pillow 13 does the vertical pass first
    ((720, 1280), (480, 853)),     # the cached grey to the comparison size
    ((720, 1600), (560, 1244)),
    ((720, 1280), (120, 213)),     # the coarse comparison
    ((540, 960), (540, 960)),      # no resize: only the blur
    ((720, 1280), (720, 900)),     # height only
    ((720, 1280), (500, 1280)),    # width only
    ((64, 48), (21, 16)),
    ((9, 9), (3, 3)),
    ((300, 40), (1, 1)),
]


@pytest.mark.parametrize("before, after", SIZES)
def test_shrink_is_pillows_lanczos(before, after):
    gray = chat_like(*before)
    expected = np.asarray(Image.fromarray(gray).resize(after, LANCZOS), dtype=np.float32)
    got = resample.shrink(gray, after)
    assert got.shape == expected.shape and got.dtype == np.float32
    differ = got != expected
    # float32 sums instead of Pillow's 22-bit fixed point: only an output on a rounding
    # boundary can land one level away
    assert np.abs(got - expected).max(initial=0) <= 1
    assert differ.mean() < 1e-3


@pytest.mark.parametrize("before, after", SIZES)
def test_shrink_and_blur_is_pillows_resize_then_gaussian_blur(before, after):
    gray = chat_like(*before, seed=1)
    im = Image.fromarray(gray)
    if im.size != after:
        im = im.resize(after, LANCZOS)
    expected = np.asarray(im.filter(ImageFilter.GaussianBlur(0.8)), dtype=np.float32)
    got = resample.shrink(gray, after, 0.8)
    # the blur's three passes per axis are one product here, rounded once (Pillow rounds
    # after each of its 6 passes: on this noisy picture a third of the outputs move a level)
    assert np.abs(got - expected).max(initial=0) <= 2
    assert np.abs(got - expected).mean() < 0.5
    assert got.min() >= 0 and got.max() <= 255 and np.array_equal(got, np.rint(got))


def test_overshoot_is_clipped_before_the_blur():
    """Lanczos rings past white and black at a hard edge; Pillow clips after each pass, and
    so must the shrink (unclipped, a half-size copy's score rose from 0.93 to 1.39)."""
    gray = np.zeros((200, 300), dtype=np.uint8)
    gray[:, 150:] = 255
    gray[60:140, 40:60] = 255
    got = resample.shrink(gray, (200, 133), 0.8)
    im = Image.fromarray(gray).resize((200, 133), LANCZOS).filter(ImageFilter.GaussianBlur(0.8))
    assert np.abs(got - np.asarray(im, dtype=np.float32)).max() <= 2


def test_gaussian_radius_is_pillows():
    # BoxBlur.c's _gaussian_blur_radius(0.8, 3), by hand: sigma2 = 0.2133, L = 1.887, l = 0
    assert resample.gaussian_radius(0.8) == pytest.approx(0.13559, abs=1e-5)


def test_weights_are_pillows_fixed_point():
    """Every output's weights sum to about 2**22 and cover Pillow's support."""
    plain = resample.axis(1080, 720)
    sums = plain.weights.sum(axis=1)
    assert np.all(np.abs(sums - (1 << resample.PRECISION_BITS)) <= plain.counts)
    assert plain.counts.max() <= 2 * int(np.ceil(3 * 1.5)) + 1


def test_one_blas_thread():
    """After a shrink, numpy's BLAS runs one thread in that process (checked in a fresh
    process: libraries loaded later, such as SciPy's own BLAS, are not numpy's and are not
    used here)."""
    import subprocess
    import sys

    pytest.importorskip("threadpoolctl")
    code = (
        "import numpy as np\n"
        "from threadpoolctl import threadpool_info\n"
        "from itaoreport.evidence import resample\n"
        "resample.shrink(np.zeros((64, 64), np.uint8), (32, 32))\n"
        "blas = [lib['num_threads'] for lib in threadpool_info() if lib['user_api'] == 'blas']\n"
        "print(resample.one_blas_thread(), blas)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout.strip()
    assert out.startswith("True [") and set(out[len("True ["):-1].split(", ")) == {"1"}, out


@pytest.mark.parametrize("size", [1, 2, 5, 12, 13, 14, 27, 853])
def test_blur_band_is_the_three_box_passes(size):
    """The blur's band, laid from a short axis, is the product of the three box passes."""
    box = resample._box_pass(size, resample.gaussian_radius(0.8))
    expected = box @ box @ box
    got = np.zeros((size, size))
    for o0, o1, i0, i1, dense in resample.blur_axis(size, 0.8):
        got[o0:o1, i0:i1] = dense.T
    assert np.abs(got - expected).max() < 1e-7  # float32 blocks


def test_a_large_picture_is_made_float_in_bands_with_the_same_result(monkeypatch):
    """Past CHUNK_BYTES the columns pass takes the picture a band of rows at a time (never a
    float32 copy of a 60-megapixel picture whole); the picture it makes is the same."""
    gray = chat_like(900, 700, seed=3)
    whole = resample.shrink(gray, (300, 233), 0.8)
    monkeypatch.setattr(resample, "CHUNK_BYTES", 900 * 4 * 50)  # bands of 50 rows
    made = []
    real = resample._floats
    monkeypatch.setattr(resample, "_floats", lambda v: made.append(v.shape) or real(v))
    banded = resample.shrink(gray, (300, 233), 0.8)
    assert (50, 900) in made and all(shape[0] <= 700 for shape in made)
    assert np.array_equal(banded, whole)

"""The duplicate detector's speed-ups change no result (#20): each cheaper way of computing
something gives exactly what the plain way gives (the same bits), on pictures like the ones
it meets. The plain ways are written out here as the reference."""

from __future__ import annotations

import io

import numpy as np
import pytest
from chatshots import CONVERSATION, chat
from PIL import Image

from itaoreport.evidence import dedupe


def _reference_flat_noise(left: np.ndarray, signal: np.ndarray) -> float:
    flat = left[signal < dedupe.FLAT_VARIANCE]
    if flat.size < 100:
        return 0.0
    k = min(flat.size - 1, int(flat.size * dedupe.FLAT_PERCENTILE / 100))
    return float(np.partition(flat, k)[k])


def _plain_window_sums(values: np.ndarray, block: int) -> np.ndarray:
    """Sums (float64) over every RESIDUAL_BLOCKS x RESIDUAL_BLOCKS square of block x block
    blocks, by reshape and sum."""
    values = values.astype(np.float64)
    h, w = values.shape[0] // block, values.shape[1] // block
    blocks = values[:h * block, :w * block].reshape(h, block, w, block).sum(axis=(1, 3))
    k = dedupe.RESIDUAL_BLOCKS
    return sum(blocks[i:h - k + 1 + i, j:w - k + 1 + j] for i in range(k) for j in range(k))


def _reference_residuals(prepared: dedupe.Prepared, a: str, b: str, size: tuple[int, int]
                         ) -> tuple[np.ndarray, np.ndarray]:
    """dedupe._residuals as it was written, on float32 prepared arrays and float64 sums,
    one new array per operation."""
    block = dedupe._block_size(size[0])
    xa = prepared.at(a, size).astype(np.float32)
    xb = prepared.at(b, size).astype(np.float32)
    sum_a, sq_a = _plain_window_sums(xa, block), _plain_window_sums(xa.astype(np.float64) ** 2,
                                                                     block)
    sum_b, sq_b = _plain_window_sums(xb, block), _plain_window_sums(xb.astype(np.float64) ** 2,
                                                                     block)
    n = float((dedupe.RESIDUAL_BLOCKS * block) ** 2)
    cross = _plain_window_sums(xa * xb, block)
    mean_a, mean_b = sum_a / n, sum_b / n
    var_a = np.maximum(sq_a / n - mean_a * mean_a, 0.0)
    var_b = np.maximum(sq_b / n - mean_b * mean_b, 0.0)
    cov = cross / n - mean_a * mean_b
    cov2 = cov * cov
    left_b = var_b - cov2 / (var_a + dedupe.TONE_EPS)
    left_a = var_a - cov2 / (var_b + dedupe.TONE_EPS)
    return np.maximum(np.maximum(left_a, left_b), 0.0), np.maximum(var_a, var_b)


def _reference_window_means(values: np.ndarray, window: int) -> np.ndarray:
    """dedupe._window_means as it was written (prefix sums in the values' type)."""
    s = np.zeros((values.shape[0] + 1, values.shape[1] + 1), dtype=np.float64)
    s[1:, 1:] = values.cumsum(0).cumsum(1)
    return (s[window:, window:] - s[:-window, window:] - s[window:, :-window]
            + s[:-window, :-window]) / (window * window)


def _reference_windows(xa: np.ndarray, xb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """dedupe._windows as it was written: on float32 prepared arrays."""
    diff = np.abs(xa.astype(np.float32) - xb.astype(np.float32))
    return _reference_window_means(diff, max(3, round(size[0] / dedupe.WINDOW_DIVISOR)))


def _reference_score(left: np.ndarray, signal: np.ndarray, grain: float) -> float:
    """verify_keys' score as it was written."""
    allowance = dedupe.NOISE_BASE + dedupe.FLAT_NOISE_WEIGHT * grain + dedupe.EDGE_NOISE * signal
    return float(np.sqrt((left / allowance).max()))


class _Arrays:
    """Prepared arrays given as they are (the `at` that _windows reads)."""

    def __init__(self, arrays: dict[str, np.ndarray]):
        self.arrays = arrays

    def at(self, key: str, size: tuple[int, int]) -> np.ndarray:
        assert self.arrays[key].shape == (size[1], size[0])
        return self.arrays[key]


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


@pytest.fixture(scope="module")
def grays() -> dict[str, np.ndarray]:
    original = chat(CONVERSATION[:5], clock="14:32")
    pictures = {
        "orig": original,
        "q60": _jpeg(original, 60),
        "small": original.resize((405, 878), Image.Resampling.BICUBIC),
        "minute": chat(CONVERSATION[:5], clock="14:37"),
        "other": chat(CONVERSATION[1:6], clock="09:05"),
    }
    return {k: dedupe.analyse_decoded(v, k, 0, "PNG", True)[1] for k, v in pictures.items()}


def test_residuals_and_flat_noise_are_the_plain_arithmetic_to_the_bit(grays):
    """_residuals sums whole numbers in integers and makes each image's means and variances
    once, _flat_noise sorts the few non-zero flat residuals instead of selecting among all,
    verify_keys divides in place: the same bits as the plain way on real pairs (at the
    comparison size and the coarse one, both directions), and the same percentile on
    arrays of ties."""
    prepared = dedupe.Prepared(grays.__getitem__)
    keys = sorted(grays)
    checked = 0
    for a in keys:
        for b in keys:
            if a == b:
                continue
            (ha, wa), (hb, wb) = grays[a].shape, grays[b].shape
            full = dedupe.compare_size((wa, ha), (wb, hb))
            coarse = (dedupe.COARSE_WIDTH, round(dedupe.COARSE_WIDTH * full[1] / full[0]))
            for size in (full, coarse):
                left, signal = dedupe._residuals(prepared, a, b, size)
                ref_left, ref_signal = _reference_residuals(prepared, a, b, size)
                assert left.dtype == ref_left.dtype and left.tobytes() == ref_left.tobytes()
                assert signal.dtype == ref_signal.dtype
                assert signal.tobytes() == ref_signal.tobytes()
                # the memo's arrays are read, never written
                assert dedupe._residuals(prepared, a, b, size)[0].tobytes() == left.tobytes()
                grain = dedupe._flat_noise(left, signal)
                assert grain == _reference_flat_noise(left, signal)
                expected = _reference_score(left, signal, grain)
                allowance = np.multiply(signal, dedupe.EDGE_NOISE, out=signal)
                allowance += dedupe.NOISE_BASE + dedupe.FLAT_NOISE_WEIGHT * grain
                assert float(np.sqrt(np.divide(left, allowance, out=left).max())) == expected
                checked += 1
    assert checked == 40
    rng = np.random.default_rng(20)
    for zeros in (0.0, 0.5, 0.95, 0.999, 0.9995, 1.0):
        left = rng.gamma(0.5, 3.0, 5000)
        left[rng.random(5000) < zeros] = 0.0
        left[:50] = 7.25  # ties away from 0 as well
        signal = rng.uniform(0, 40, 5000)
        assert dedupe._flat_noise(left, signal) == _reference_flat_noise(left, signal)
        square = (left[:4900].reshape(70, 70), signal[:4900].reshape(70, 70))
        assert dedupe._flat_noise(*square) == _reference_flat_noise(*square)
    assert dedupe._flat_noise(np.ones(50), np.zeros(50)) == 0.0
    assert dedupe._flat_noise(np.zeros(500), np.zeros(500)) == 0.0


def test_windowed_differences_in_integers_are_the_plain_float_ones(grays):
    """_windows (the coarse check and the lossless one) sums the difference in integers:
    the same largest window mean as the plain float32 prefix sums, whenever those are exact
    (every difference summed below 2**24) and, beyond, the plain value itself; the lossless
    check's shortcuts decide as the plain comparison does."""
    prepared = dedupe.Prepared(grays.__getitem__)
    keys = sorted(grays)
    for a in keys:
        for b in keys:
            (ha, wa), (hb, wb) = grays[a].shape, grays[b].shape
            full = dedupe.compare_size((wa, ha), (wb, hb))
            coarse = (dedupe.COARSE_WIDTH, round(dedupe.COARSE_WIDTH * full[1] / full[0]))
            for size in (full, coarse):
                xa, xb = prepared.at(a, size), prepared.at(b, size)
                assert xa.dtype == np.uint8
                expected = _reference_windows(xa, xb, size).max()
                found = dedupe._windows(prepared, a, b, size)
                assert type(found) is type(expected) and found == expected
                for peak in (dedupe.LOSSLESS_PEAK, float(expected), 0.0, 2.5):
                    assert dedupe._windows(prepared, a, b, size, peak=peak) \
                        == bool(expected <= peak)
    rng = np.random.default_rng(24)
    cases = []
    for height, width, spread in ((213, 120, 3), (213, 120, 256), (2600, 120, 256),
                                  (853, 480, 2), (853, 480, 256), (40, 30, 256)):
        xa = rng.integers(0, 256, (height, width), dtype=np.uint8)
        xb = np.clip(xa.astype(np.int16) + rng.integers(-spread + 1, spread, xa.shape),
                     0, 255).astype(np.uint8)
        cases.append((xa, xb))
    lone = np.zeros((853, 480), np.uint8)
    spot = lone.copy()
    spot[400, 200] = 12  # one pixel beyond the peak of any window
    cases += [(lone, spot), (lone, lone)]
    tall = 2600 * 120 * 255 > 2 ** 24  # the 2600-row pair sums past float32's exact range
    assert tall
    for xa, xb in cases:
        size = (xa.shape[1], xa.shape[0])
        arrays = _Arrays({"a": xa, "b": xb})
        expected = _reference_windows(xa, xb, size).max()
        assert dedupe._windows(arrays, "a", "b", size) == expected
        for peak in (dedupe.LOSSLESS_PEAK, float(expected), 0.5):
            assert dedupe._windows(arrays, "a", "b", size, peak=peak) == bool(expected <= peak)


def test_block_and_window_sums_in_integers_are_the_plain_sums(grays):
    """Window sums of prepared arrays, their squares and products in integer types: the
    numbers the plain float64 sums give (exact whole numbers), for every block size."""
    rng = np.random.default_rng(6)
    x = rng.integers(0, 256, (101, 67), dtype=np.uint8)
    y = rng.integers(0, 256, (101, 67), dtype=np.uint8)
    for block in (2, 3, 5):
        plain = _plain_window_sums(x, block)
        assert np.array_equal(dedupe._window_sums(dedupe._block_sums(x, block, np.uint32)),
                              plain)
        product = np.multiply(x, y, dtype=np.uint16)
        assert np.array_equal(dedupe._window_sums(dedupe._block_sums(product, block, np.uint32)),
                              _plain_window_sums(x.astype(np.float64) * y, block))
    prepared = dedupe.Prepared(grays.__getitem__)
    size = (480, 1040)
    block = dedupe._block_size(size[0])
    mean, var, var_eps = prepared.moments("orig", size, block)
    x = prepared.at("orig", size)
    n = float((dedupe.RESIDUAL_BLOCKS * block) ** 2)
    sums, squares = _plain_window_sums(x, block), _plain_window_sums(x.astype(np.float64) ** 2,
                                                                     block)
    assert mean.tobytes() == (sums / n).tobytes()
    assert var.tobytes() == np.maximum(squares / n - (sums / n) * (sums / n), 0.0).tobytes()
    assert var_eps.tobytes() == (var + dedupe.TONE_EPS).tobytes()


def _reference_text_height(gray: np.ndarray) -> float | None:
    """dedupe.text_height as it was written (ink by int16 differences)."""
    from PIL import ImageFilter
    from scipy import ndimage

    width = gray.shape[1]
    mean = np.asarray(Image.fromarray(gray).filter(ImageFilter.BoxBlur(4)), dtype=np.int16)
    ink = np.abs(gray.astype(np.int16) - mean) > dedupe.TEXT_INK
    labels, count = ndimage.label(ink)
    if count < dedupe.TEXT_MIN_BLOBS:
        return None
    boxes = np.array([(s[0].stop - s[0].start, s[1].stop - s[1].start)
                      for s in ndimage.find_objects(labels)])
    heights, widths = boxes[:, 0], boxes[:, 1]
    glyphs = heights[(heights >= 4) & (heights <= 0.06 * width) & (widths <= 2.5 * heights)]
    if glyphs.size < dedupe.TEXT_MIN_BLOBS:
        return None
    return float(np.median(glyphs)) / width


def test_text_height_is_the_plain_measure(grays):
    """text_height finds ink by uint8 differences: the same measure as int16 ones, on light
    and dark pictures, small and large text, and a blank one."""
    pictures = dict(grays)
    pictures["dark"] = 255 - grays["orig"]
    pictures["framed"] = np.pad(grays["orig"][::2, ::2], ((300, 300), (180, 180)),
                                constant_values=30)
    pictures["blank"] = np.full((900, 400), 200, np.uint8)
    for key, gray in pictures.items():
        assert dedupe.text_height(gray) == _reference_text_height(gray), key
    assert dedupe.text_height(pictures["blank"]) is None
    assert dedupe.text_height(grays["orig"]) is not None


def test_a_grayscale_stored_with_or_without_isal_reads_back_the_same(grays, monkeypatch):
    """Cached grayscales are deflated by ISA-L where it is installed, by zlib where not: the
    same format (zlib reads both back), the same samples."""
    import sys
    import zlib

    from itaoreport.evidence import cache

    cache._deflate.cache_clear()
    stored = {k: cache.encode_gray(v) for k, v in grays.items()}
    monkeypatch.setitem(sys.modules, "isal", None)  # as if it were not installed
    cache._deflate.cache_clear()  # looked up once per process: look again
    try:
        plain = {k: cache.encode_gray(v) for k, v in grays.items()}
    finally:
        cache._deflate.cache_clear()
    head = len(cache.GRAY_MAGIC) + 8
    for key, gray in grays.items():
        for data in (stored[key], plain[key]):
            assert data[:head] == plain[key][:head]
            back = cache.decode_gray(data)
            assert back.dtype == np.uint8 and np.array_equal(back, gray)
            assert zlib.decompress(data[head:]) == gray.tobytes()


def _reference_digest(im: Image.Image) -> str:
    """images._digest_pixels as it was written with tobytes (8-bit modes)."""
    import hashlib

    digest = hashlib.sha256(f"{im.width}x{im.height}:".encode())
    if im.mode in ("RGB", "L") and "transparency" not in im.info:
        digest.update(b"RGB:" + (im if im.mode == "RGB" else im.convert("RGB")).tobytes())
    elif im.mode in ("RGBA", "LA") and im.getchannel("A").getextrema()[0] == 255:
        digest.update(b"RGB:" + im.convert("RGB").tobytes())
    elif im.mode in ("P", "PA", "1", "RGBA", "LA"):
        rgba = im.convert("RGBA")
        if rgba.getchannel("A").getextrema()[0] == 255:
            digest.update(b"RGB:" + rgba.convert("RGB").tobytes())
        else:
            digest.update(b"RGBA:" + rgba.tobytes())
    else:
        digest.update(f"{im.mode}:".encode() + im.tobytes())
    return digest.hexdigest()


@pytest.mark.parametrize("chunk", [1, 1 << 20])
def test_pixel_digests_hashed_chunk_by_chunk_are_the_ones_of_the_whole_samples(
        monkeypatch, chunk):
    """The pixel digest hashes the packed samples as Pillow's raw encoder makes them, a chunk
    at a time (one line at a time with chunk=1): the digest of tobytes(), in every mode."""
    import hashlib

    from itaoreport.evidence import images

    monkeypatch.setattr(images, "SAMPLES_CHUNK", chunk)
    base = chat(CONVERSATION[:3]).resize((137, 301))
    transparent = base.convert("RGBA")
    transparent.putpixel((3, 4), (10, 20, 30, 0))
    palette = base.quantize(64)
    palette_alpha = palette.copy()
    palette_alpha.info["transparency"] = 5
    pictures = [base, base.convert("L"), base.convert("RGBA"), transparent, palette,
                palette_alpha, base.convert("1"), base.convert("LA"), base.convert("CMYK"),
                base.convert("YCbCr"), Image.new("RGB", (0, 0))]
    for im in pictures:
        digest = hashlib.sha256()
        images._digest_pixels(im, digest)
        assert digest.hexdigest() == _reference_digest(im), im.mode


def _saved(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def test_a_picture_decoded_without_its_digest_is_the_same_picture(tmp_path):
    """The palette check decodes pictures again without the pixel digest (open_image(...,
    digest=False)): the same picture, mode and facts, only no digest."""
    import hashlib

    from itaoreport.evidence.images import open_image

    base = chat(CONVERSATION[:4]).resize((180, 390))
    rotated = Image.new("RGB", (390, 180))
    rotated.paste(base.rotate(90, expand=True))
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned a quarter
    light = Image.new("RGBA", base.size, (0, 0, 0, 0))
    light.paste(base.convert("L").point(lambda v: 255 - v).convert("RGBA"),
                mask=base.convert("L").point(lambda v: 255 - v))
    frames = [base.quantize(32), base.rotate(2).quantize(32)]
    files = {
        "plain.png": _saved(base, "PNG"),
        "palette.png": _saved(base.quantize(200), "PNG"),
        "opaque-rgba.png": _saved(base.convert("RGBA"), "PNG"),
        "light-on-clear.png": _saved(light, "PNG"),
        "turned.jpg": _saved(rotated, "JPEG", quality=80, exif=exif),
        "deep.png": _saved(Image.fromarray((np.asarray(base.convert("L")).astype(np.uint16)
                                            * 257)), "PNG"),
        "animated.gif": _saved(frames[0], "GIF", save_all=True, append_images=frames[1:]),
        "lossy.webp": _saved(base, "WEBP", quality=70),
    }
    for name, data in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        sha = hashlib.sha256(data).hexdigest()
        full, looked_at = open_image(path, sha), open_image(path, sha, digest=False)
        assert full.pixel_digest and looked_at.pixel_digest == "", name
        assert (looked_at.image.mode, looked_at.image.size) == (full.image.mode, full.image.size)
        assert looked_at.image.tobytes() == full.image.tobytes(), name
        assert (looked_at.format, looked_at.lossless, looked_at.frames, looked_at.background) \
            == (full.format, full.lossless, full.frames, full.background), name

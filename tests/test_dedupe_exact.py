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


def _reference_residuals(prepared: dedupe.Prepared, a: str, b: str, size: tuple[int, int]
                         ) -> tuple[np.ndarray, np.ndarray]:
    """dedupe._residuals as it was written, one new array per operation."""
    block = dedupe._block_size(size[0])
    sum_a, sq_a = prepared.moments(a, size, block)
    sum_b, sq_b = prepared.moments(b, size, block)
    xa, xb = prepared.at(a, size), prepared.at(b, size)
    n = float((dedupe.RESIDUAL_BLOCKS * block) ** 2)
    cross = dedupe._window_sums(dedupe._block_sums(xa * xb, block))
    mean_a, mean_b = sum_a / n, sum_b / n
    var_a = np.maximum(sq_a / n - mean_a * mean_a, 0.0)
    var_b = np.maximum(sq_b / n - mean_b * mean_b, 0.0)
    cov = cross / n - mean_a * mean_b
    cov2 = cov * cov
    left_b = var_b - cov2 / (var_a + dedupe.TONE_EPS)
    left_a = var_a - cov2 / (var_b + dedupe.TONE_EPS)
    return np.maximum(np.maximum(left_a, left_b), 0.0), np.maximum(var_a, var_b)


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
    """_residuals writes its arithmetic into a few arrays, _flat_noise sorts instead of
    selecting (most flat windows leave exactly 0, where selection is slow): the same bits as
    the plain way on real pairs, and the same percentile on arrays of ties."""
    prepared = dedupe.Prepared(grays.__getitem__)
    keys = sorted(grays)
    checked = 0
    for a in keys:
        for b in keys:
            if a >= b:
                continue
            (ha, wa), (hb, wb) = grays[a].shape, grays[b].shape
            size = dedupe.compare_size((wa, ha), (wb, hb))
            left, signal = dedupe._residuals(prepared, a, b, size)
            ref_left, ref_signal = _reference_residuals(prepared, a, b, size)
            assert left.dtype == ref_left.dtype and left.tobytes() == ref_left.tobytes()
            assert signal.dtype == ref_signal.dtype and signal.tobytes() == ref_signal.tobytes()
            # the memo's arrays are read, never written
            assert dedupe._residuals(prepared, a, b, size)[0].tobytes() == left.tobytes()
            assert dedupe._flat_noise(left, signal) == _reference_flat_noise(left, signal)
            checked += 1
    assert checked == 10
    rng = np.random.default_rng(20)
    for zeros in (0.0, 0.5, 0.95, 0.999, 1.0):
        left = rng.gamma(0.5, 3.0, 5000)
        left[rng.random(5000) < zeros] = 0.0
        left[:50] = 7.25  # ties away from 0 as well
        signal = rng.uniform(0, 40, 5000)
        assert dedupe._flat_noise(left, signal) == _reference_flat_noise(left, signal)
    assert dedupe._flat_noise(np.ones(50), np.zeros(50)) == 0.0


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

"""The image analysis' speed-ups change no result (#20): the cheaper decode path gives the
same shown picture, background, facts, grayscale and error as the plain one, and the pixel
digest of the same samples (equal exactly when the plain one is equal). The plain ways,
as images.py and dedupe.py had them before, are written out here as the reference."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from chatshots import CONVERSATION, chat
from PIL import Image, ImageOps

from itaoreport.evidence import cache, dedupe, images
from itaoreport.evidence.images import ImageError, open_image

# --- the reference: images.py / dedupe.py as they were (main 260dfed) -------------------


def _ref_digest_pixels(im: Image.Image, digest) -> None:  # noqa: ANN001
    digest.update(f"{im.width}x{im.height}:".encode())
    if im.mode in images.WIDE_MODES:
        values = np.asarray(im)
        kind = "f8" if values.dtype.kind == "f" else "i8"
        bits = 16 if im.mode.startswith("I;16") else 32
        digest.update(f"{kind}{bits}:".encode())
        digest.update(np.ascontiguousarray(values, dtype=f"<{kind}").tobytes())
    elif im.mode in ("RGB", "L") and "transparency" not in im.info:
        digest.update(b"RGB:" + (im if im.mode == "RGB" else im.convert("RGB")).tobytes())
    elif im.mode in ("RGBA", "LA") and im.getchannel("A").getextrema()[0] == 255:
        digest.update(b"RGB:" + im.convert("RGB").tobytes())
    elif im.mode in images.EIGHT_BIT_MODES:
        rgba = im.convert("RGBA")
        if rgba.getchannel("A").getextrema()[0] == 255:
            digest.update(b"RGB:" + rgba.convert("RGB").tobytes())
        else:
            digest.update(b"RGBA:" + rgba.tobytes())
    else:
        digest.update(f"{im.mode}:".encode() + im.tobytes())


def _ref_light_on_transparent(rgba: Image.Image) -> bool:
    small = rgba
    if rgba.width > 1200:
        small = rgba.resize((1200, max(1, round(rgba.height * 1200 / rgba.width))),
                            Image.Resampling.BOX)
    values = np.asarray(small, dtype=np.float32)
    alpha = values[..., 3] / 255.0
    luma = values[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    over_white = luma * alpha + 255.0 * (1 - alpha)
    dark = float(np.dot(images.DARK_BACKGROUND, (0.299, 0.587, 0.114)))
    over_dark = luma * alpha + dark * (1 - alpha)
    return float(over_dark.std()) > images.DARK_WINS * float(over_white.std())


def _ref_shown_image(im: Image.Image) -> tuple[Image.Image, str]:
    if im.mode in images.WIDE_MODES:
        return images._eight_bit(im), "white"
    if im.mode == "CMYK":
        return images._cmyk_to_rgb(im), "white"
    if im.mode == "1":
        return im.convert("L"), "white"
    has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
    if not has_alpha:
        return (im if im.mode in ("RGB", "L") else im.convert("RGB")), "white"
    if im.mode in ("RGBA", "LA") and im.getchannel("A").getextrema()[0] == 255:
        return im, "white"
    rgba = im.convert("RGBA")
    if rgba.getchannel("A").getextrema()[0] == 255:
        return rgba, "white"
    if _ref_light_on_transparent(rgba):
        background = Image.new("RGBA", rgba.size, images.DARK_BACKGROUND + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB"), "dark"
    return (im if im.mode in ("RGBA", "LA") else rgba), "white"


def _ref_sampled_range(shown: Image.Image) -> int:
    if shown.mode not in ("RGB", "L"):
        return 0
    sample = shown.resize((max(1, shown.width // 8), max(1, shown.height // 8)),
                          Image.Resampling.NEAREST)
    extrema = sample.getextrema()
    if shown.mode == "L":
        extrema = (extrema,)
    return max(high - low for low, high in extrema)


def _ref_check_shown(original: Image.Image, shown: Image.Image) -> None:
    if original.width * original.height == 0:
        return
    flat = images.FLAT_LEVELS
    if _ref_sampled_range(shown) > flat or images._shown_range(shown) > flat:
        return
    if original.mode in images.EIGHT_BIT_MODES:
        content = images._levels(np.asarray(original.convert("RGBA")), 255.0)
    else:
        content = images._levels(np.asarray(original), 255.0)
    if content >= images.CONTENT_LEVELS:
        raise ImageError("flat")


def _ref_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA") and image.getchannel("A").getextrema()[0] == 255:
        return image.convert("RGB")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB") if image.mode != "RGB" else image


def _reference(data: bytes) -> tuple:
    """What open_image + analyse gave for a single-frame 8-bit file: the shown picture's
    mode and samples, background, the digest (of the same hash kind as now) and the
    grayscale; or "flat" when check_shown refused it."""
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        ImageOps.exif_transpose(im, in_place=True)
        full = im
        if im.mode in ("RGBA", "LA") and im.getchannel("A").getextrema()[0] == 255:
            full = im.convert(im.mode[:-1])
        digest = images.pixel_hash(b"frames 1:")
        _ref_digest_pixels(full, digest)
        shown, background = _ref_shown_image(full)
        try:
            _ref_check_shown(full, shown)
        except ImageError:
            return ("flat",)
        gray = dedupe.normalised_gray(_ref_rgb(shown).convert("L"))
        return (shown.mode, shown.tobytes(), background, digest.hexdigest(),
                hashlib.sha256(gray.tobytes()).hexdigest())


def _now(tmp_path, name: str, data: bytes) -> tuple:
    path = tmp_path / name
    path.write_bytes(data)
    try:
        decoded = open_image(path, hashlib.sha256(data).hexdigest())
    except ImageError as exc:
        assert "flat colour" in str(exc)
        return ("flat",)
    _facts, gray = dedupe.analyse(decoded, "x", len(data))
    assert _facts.pixel_digest == decoded.pixel_digest
    return (decoded.image.mode, decoded.image.tobytes(), decoded.background,
            decoded.pixel_digest, hashlib.sha256(gray.tobytes()).hexdigest())


# --- pictures like the ones met: screenshots with and without transparency, palettes ---


def _png(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **options)
    return buffer.getvalue()


def _corners(image: Image.Image, radius: int, alpha: int) -> Image.Image:
    """Rounded transparent corners (alpha `alpha` outside them), as phone frames export."""
    mask = Image.new("L", image.size, alpha)
    from PIL import ImageDraw

    ImageDraw.Draw(mask).rounded_rectangle([0, 0, image.width - 1, image.height - 1],
                                           radius, fill=255)
    out = image.convert("RGBA")
    out.putalpha(mask)
    return out


def _light(image: Image.Image) -> Image.Image:
    """The picture's dark ink as light text on a fully transparent background."""
    ink = image.convert("L").point(lambda v: 255 if v < 100 else 0)
    light = Image.new("RGBA", image.size, (0, 0, 0, 0))
    light.paste((250, 250, 240, 255), mask=ink)
    return light


def _pictures() -> dict[str, bytes]:
    base = chat(CONVERSATION[:4]).resize((270, 585))
    wide = chat(CONVERSATION[:4], width=1260, height=2730)  # wider than 1200: resized
    light = _light(base)
    dots = Image.new("RGBA", (64, 64), (255, 255, 255, 0))  # visible only off the 8-px grid
    for x, y in ((3, 5), (11, 13), (50, 2)):
        dots.putpixel((x, y), (0, 0, 0, 255))
    clear = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    for x in range(40):
        clear.putpixel((x, 7), (x * 6, 0, 200, 0))  # colours only where nothing shows
    short = Image.new("P", (30, 20))
    short.putpalette([0, 0, 0, 250, 10, 10, 10, 250, 10])  # 3 entries
    short.putdata([(i * 7) % 3 for i in range(600)])
    palette_rgba = base.quantize(40)
    palette_rgba.putpalette(palette_rgba.getpalette("RGB") + [0, 0, 0] * 216)
    trns = bytes([255] * 39 + [0])
    return {
        "rgb.png": _png(base),
        "rgb.jpg": (lambda b: (base.save(b, "JPEG", quality=80), b.getvalue())[1])(io.BytesIO()),
        "opaque-rgba.png": _png(base.convert("RGBA")),
        "corners.png": _png(_corners(base, 24, 0)),
        "half-corners.png": _png(_corners(base, 24, 127)),
        "wide-corners.png": _png(_corners(wide, 60, 0)),
        "light-on-clear.png": _png(light),
        "dots.png": _png(dots),
        "clear.png": _png(clear),
        "palette.png": _png(base.quantize(200)),
        "palette-16.png": _png(base.quantize(16)),
        "palette-short.png": _png(short),
        "palette-trns.png": _png(palette_rgba, transparency=trns),
        "palette-key.png": _png(base.quantize(64), transparency=3),
        "grey.png": _png(base.convert("L")),
        "grey-alpha.png": _png(_corners(base, 24, 0).convert("LA")),
        "rgb-key.png": _png(base, transparency=(236, 229, 221)),
        "bilevel.png": _png(base.convert("1")),
    }


@pytest.mark.parametrize("name", sorted(_pictures()))
def test_open_image_and_analyse_give_what_the_plain_way_gave(tmp_path, name):
    data = _pictures()[name]
    assert _now(tmp_path, name, data) == _reference(data), name


def test_the_picture_set_reaches_every_shortcut(tmp_path):
    """The set above reaches each new path: a palette picture digested from its shown RGB,
    one that is not (transparency, a short palette), transparent RGBA read without a copy,
    a flat-looking picture refused, and a light-on-transparent one."""
    pictures = _pictures()
    outcomes = {name: _reference(data) for name, data in pictures.items()}
    assert outcomes["clear.png"] == ("flat",)
    assert outcomes["dots.png"] != ("flat",)
    assert outcomes["light-on-clear.png"][2] == "dark"
    assert outcomes["corners.png"][0] == "RGBA"
    decoded = {}
    for name in ("palette.png", "palette-trns.png", "palette-key.png"):
        with Image.open(io.BytesIO(pictures[name])) as im:
            im.load()
            decoded[name] = images._opaque_palette(im, images.shown_image(im)[0])
    assert decoded == {"palette.png": True, "palette-trns.png": False,
                       "palette-key.png": False}


def _palette_pictures() -> list[Image.Image]:
    base = chat(CONVERSATION[:3]).resize((97, 211))
    short = Image.new("P", (16, 16))
    short.putpalette([9, 8, 7, 6, 5, 4])
    short.putdata([i % 2 for i in range(256)])
    beyond = short.copy()
    beyond.putdata([i % 5 for i in range(256)])  # indices past the 2-entry palette
    rgba_palette = base.quantize(8)
    rgba_palette.putpalette(rgba_palette.getpalette("RGB") + [0] * 24, "RGB")
    with_alpha = Image.new("P", (16, 16))
    with_alpha.putpalette(bytes(range(64)), "RGBA")  # 16 entries, alphas 3, 7, ...
    with_alpha.putdata([i % 16 for i in range(256)])
    opaque_alpha = Image.new("P", (16, 16))
    opaque_alpha.putpalette(bytes([1, 2, 3, 255] * 16), "RGBA")
    opaque_alpha.putdata([i % 16 for i in range(256)])
    keyed = base.quantize(32)
    keyed.info["transparency"] = 4
    return [base.quantize(256), base.quantize(2), short, beyond, rgba_palette, with_alpha,
            opaque_alpha, keyed]


@pytest.mark.parametrize("index", range(8))
def test_a_palette_digest_from_its_shown_rgb_is_the_plain_one(index):
    """A palette picture is digested from its shown RGB only where that is exactly the
    plain way's samples; everywhere _digest_pixels gives the plain digest."""
    im = _palette_pictures()[index]
    shown, _background = images.shown_image(im)
    reference = images.pixel_hash()
    _ref_digest_pixels(im, reference)
    hint = shown if images._opaque_palette(im, shown) else None
    if hint is not None:
        assert shown.tobytes() == im.convert("RGBA").convert("RGB").tobytes()
        assert im.convert("RGBA").getchannel("A").getextrema()[0] == 255
    now = images.pixel_hash()
    images._digest_pixels(im, now, rgb=hint)
    assert now.hexdigest() == reference.hexdigest()


def test_sampled_range_never_exceeds_the_whole_range():
    """check_shown's cheap look (now for RGBA and LA too) is a lower bound of the whole
    picture's range, so it can only skip the full look where that says "varied" too."""
    rng = np.random.default_rng(20)
    for _ in range(40):
        h, w = rng.integers(1, 60, size=2)
        values = rng.integers(0, 256, size=(h, w, 4), dtype=np.uint8)
        values[..., 3] = rng.choice([0, 1, 128, 254, 255], size=(h, w))
        for mode in ("RGBA", "LA", "RGB", "L"):
            im = Image.fromarray(values, "RGBA").convert(mode)
            assert images._sampled_range(im) <= images._shown_range(im), mode
            if mode in ("RGB", "L"):
                assert images._sampled_range(im) == _ref_sampled_range(im)


def test_rgb_of_a_transparent_picture_is_the_plain_one():
    image = _corners(chat(CONVERSATION[:3]).resize((120, 260)), 20, 60)
    for im in (image, image.convert("LA"), image.quantize(30)):
        assert dedupe.rgb(im).tobytes() == _ref_rgb(im).tobytes()


def test_light_on_transparent_decides_as_the_plain_way():
    base = chat(CONVERSATION[:4], width=1300, height=2000)
    light = _light(base)
    for im in (light, _corners(base, 80, 0), _corners(base.resize((300, 460)), 20, 0)):
        assert images._light_on_transparent(im) == _ref_light_on_transparent(im)
    assert images._light_on_transparent(light)


def test_pixel_digests_are_blake3_where_installed_and_the_cache_keeps_one_kind(monkeypatch):
    """Digests of the two kinds have different lengths, so they never compare equal, and
    cached facts with a digest of the other kind are a miss (analysed again)."""
    blake3 = pytest.importorskip("blake3")
    digest = images.pixel_hash(b"abc")
    assert digest.hexdigest() == blake3.blake3(b"abc").hexdigest(length=40)
    assert images.pixel_digest_length() == 80
    facts = {"sha256": "ab" * 32, "size": 5, "width": 2, "height": 3, "format": "PNG",
             "lossless": True, "phash": "0f", "frames": 1}
    assert cache._plausible_facts("ab" * 32, {**facts, "pixel_digest": "c" * 80})
    assert not cache._plausible_facts("ab" * 32, {**facts, "pixel_digest": "c" * 64})
    monkeypatch.setattr(images, "_blake3", lambda: None)  # as if blake3 were not installed
    assert images.pixel_hash(b"abc").hexdigest() == hashlib.sha256(b"abc").hexdigest()
    assert images.pixel_digest_length() == 64
    assert cache._plausible_facts("ab" * 32, {**facts, "pixel_digest": "c" * 64})
    assert not cache._plausible_facts("ab" * 32, {**facts, "pixel_digest": "c" * 80})


def test_reduced_colour_is_the_plain_colour_count():
    """The sampled look first: the same answer as counting the whole picture's colours,
    also where only pixels off the 8-px grid hold the 257th colour."""
    base = chat(CONVERSATION[:3]).resize((160, 340))
    few = base.quantize(200).convert("RGB")
    grid_only = few.copy()
    for i in range(300):  # many new colours, none on the sampled grid
        grid_only.putpixel((1 + (i * 8) % 152, 1 + 8 * (i // 19)), (i % 256, 7, i // 256))
    for im in (base, few, grid_only, few.convert("RGBA"), base.convert("RGBA"),
               base.convert("L"), Image.new("RGB", (5, 3), (1, 2, 3))):
        plain = im.mode in ("RGB", "RGBA") and im.getcolors(256) is not None
        assert images._reduced_colour(im) == plain, im.mode
    assert images._reduced_colour(few) and not images._reduced_colour(grid_only)


def test_light_on_transparent_is_decided_for_certain_only_where_the_floats_agree():
    """The histogram answers only outside a band around the edge, and then as the float32
    computation does; inside it (a uniform picture: both deviations 0) it leaves the answer
    to the floats."""
    rng = np.random.default_rng(6)
    base = chat(CONVERSATION[:4]).resize((180, 390))
    pictures = [_light(base), _corners(base, 30, 0), _corners(base, 30, 200),
                Image.new("RGBA", (50, 50), (200, 10, 10, 0))]
    for _ in range(30):
        values = rng.integers(0, 256, size=(rng.integers(2, 40), rng.integers(2, 40), 4),
                              dtype=np.uint8)
        values[..., :3] //= np.uint8(rng.integers(1, 60))  # dark to light
        values[..., 3] = np.where(rng.random(values.shape[:2]) < rng.random(), 0, values[..., 3])
        pictures.append(Image.fromarray(values, "RGBA"))
    answered = set()
    for im in pictures:
        certain = images._light_for_certain(im)
        assert certain in (None, _ref_light_on_transparent(im))
        assert images._light_on_transparent(im) == _ref_light_on_transparent(im)
        answered.add(certain)
    assert images._light_for_certain(pictures[-31]) is None  # the uniform one
    assert answered == {None, True, False}

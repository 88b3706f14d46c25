"""Pictures are shown as they are (#14 part 5).

16- and 32-bit samples are scaled to 8 bits (never clipped to white); identical pixels
are judged at full depth and over every frame; multi-frame files warn that only the
first frame is shown; light content on transparency is shown over a dark background;
a picture that would show as one flat colour while the file is not flat is an error.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from chatshots import _font
from conftest import ENTRY_YAML, require_shared, write_case
from hostile_support import assert_clean_failure, run_cli
from PIL import Image, ImageDraw

from itaoreport.evidence import images
from itaoreport.evidence.dedupe_files import dedupe_paths
from itaoreport.evidence.images import ImageError, open_image

SIZE = (240, 120)


def text_mask(text: str = "Order 4711 paid", size: tuple[int, int] = SIZE) -> np.ndarray:
    """1.0 where the text is drawn, 0.0 elsewhere (anti-aliased in between)."""
    im = Image.new("L", size, 0)
    ImageDraw.Draw(im).text((8, 40), text, font=_font(24), fill=255)
    return np.asarray(im, dtype=np.float64) / 255.0


def save(im: Image.Image, fmt: str, **options: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **options)
    return buf.getvalue()


def wide(mask: np.ndarray, mode: str, background: float, ink: float) -> Image.Image:
    values = background + (ink - background) * mask
    if mode == "F":
        return Image.fromarray(values.astype(np.float32), "F")
    if mode == "I":
        return Image.fromarray(np.rint(values).astype(np.int32), "I")
    samples = np.rint(values).astype(np.uint16)
    if mode == "I;16B":  # (Pillow's convert to I;16B clips to 255)
        return Image.frombytes("I;16B", samples.shape[::-1], samples.astype(">u2").tobytes())
    return i16(samples)


def i16(values: np.ndarray) -> Image.Image:
    image = Image.fromarray(values.astype(np.uint16))
    assert image.mode == "I;16"
    return image


def png16(rgb16: np.ndarray, alpha: bool = False) -> bytes:
    """A 16-bit-per-channel colour PNG (Pillow cannot write one)."""
    height, width, channels = rgb16.shape
    raw = b"".join(b"\0" + rgb16[y].astype(">u2").tobytes() for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    colour_type = {3: 2, 4: 6}[channels]
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def decode(tmp_path: Path, data: bytes, name: str = "x.png") -> images.Decoded:
    path = tmp_path / name
    path.write_bytes(data)
    return open_image(path)


def readable(shown: Image.Image, mask: np.ndarray) -> float:
    """Grey-level difference between the text and the background of a shown picture."""
    grey = np.asarray(shown.convert("L"), dtype=np.float64)
    return abs(grey[mask > 0.9].mean() - grey[mask < 0.1].mean())


# 16- and 32-bit greyscale: the examples of the issue and more of the same class
WIDE_CASES = {
    "I;16 png": (lambda m: save(wide(m, "I;16", 60000, 4000), "PNG"), "x.png", 60000 / 257),
    "I;16 tiff": (lambda m: save(wide(m, "I;16", 60000, 4000), "TIFF"), "x.tif", 60000 / 257),
    "I;16B tiff": (lambda m: save(wide(m, "I;16B", 60000, 4000), "TIFF"), "x.tif", 60000 / 257),
    "I 32-bit tiff, 16-bit data": (lambda m: save(wide(m, "I", 50000, 1000), "TIFF"), "x.tif",
                                   50000 / 257),
    "I 32-bit tiff, wide data": (lambda m: save(wide(m, "I", 2_000_000_000, 0), "TIFF"),
                                 "x.tif", 255),
    "F tiff, 0-1": (lambda m: save(wide(m, "F", 0.9, 0.1), "TIFF"), "x.tif", 0.9 * 255),
    "F tiff, negative": (lambda m: save(wide(m, "F", 5.0, -5.0), "TIFF"), "x.tif", 255),
}


@pytest.mark.parametrize("kind", sorted(WIDE_CASES))
def test_wide_samples_are_scaled_to_what_a_viewer_shows(tmp_path: Path, kind: str):
    make, name, background = WIDE_CASES[kind]
    mask = text_mask()
    decoded = decode(tmp_path, make(mask), name)
    grey = np.asarray(decoded.image.convert("L"), dtype=np.float64)
    assert abs(grey[mask < 0.1].mean() - background) < 1.5, kind
    assert readable(decoded.image, mask) > 100, kind


def test_sixteen_bit_colour_png_shows_its_colours(tmp_path: Path):
    mask = text_mask()[..., None]
    rgb = np.rint(np.array([60000, 50000, 40000]) * (1 - mask) + np.array([3000, 3000, 9000])
                  * mask).astype(np.uint16)
    decoded = decode(tmp_path, png16(rgb))
    shown = np.asarray(decoded.image.convert("RGB"), dtype=np.float64)
    assert np.abs(shown[0, 0] - np.array([60000, 50000, 40000]) / 257).max() < 1.5
    assert readable(decoded.image, mask[..., 0]) > 100
    with_alpha = np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 65535, np.uint16)], axis=2)
    assert readable(decode(tmp_path, png16(with_alpha)).image, mask[..., 0]) > 100


def test_two_different_sixteen_bit_screenshots_stay_two_exhibits(tmp_path: Path):
    """The example: two different 16-bit images merged as 'identical pixels', one blank."""
    for i, text in enumerate(["Order 4711 paid", "Order 4712 paid"]):
        (tmp_path / f"{i}.png").write_bytes(save(wide(text_mask(text), "I;16", 60000, 4000),
                                                 "PNG"))
    outcome = dedupe_paths([str(tmp_path)])
    assert outcome.unreadable == []
    assert outcome.result.groups == []


def test_identical_pixels_are_judged_at_full_depth(tmp_path: Path):
    """Files that differ only below 8 bits are not pixel-identical (their 8-bit pictures
    are), in greyscale and in 16-bit colour; the same full-depth pixels are."""
    mask = text_mask()
    base = np.rint(233 * (1 - mask) + 16 * mask).astype(np.uint16) * 257
    low = base + 3  # the same 8-bit picture
    grey = [decode(tmp_path, save(i16(a), "PNG"), f"g{i}.png")
            for i, a in enumerate([base, low])]
    again = decode(tmp_path, save(i16(base), "TIFF"), "g.tif")
    assert np.array_equal(np.asarray(grey[0].image), np.asarray(grey[1].image))
    assert grey[0].pixel_digest != grey[1].pixel_digest
    assert grey[0].pixel_digest == again.pixel_digest  # PNG and TIFF of the same samples
    rgb = np.stack([base, base, base], axis=2)
    colour = [decode(tmp_path, png16(a), f"c{i}.png") for i, a in enumerate([rgb, rgb + 3])]
    assert colour[0].pixel_digest != colour[1].pixel_digest
    assert decode(tmp_path, png16(rgb), "c2.png").pixel_digest == colour[0].pixel_digest
    # and the dedupe command never says "pixels" for the two greyscale files
    for i, a in enumerate([base, low]):
        (tmp_path / "d").mkdir(exist_ok=True)
        (tmp_path / "d" / f"{i}.png").write_bytes(save(i16(a), "PNG"))
    groups = dedupe_paths([str(tmp_path / "d")]).result.groups
    assert all(m.stage != "pixels" for g in groups for m in g.duplicates)


def frames_of(texts: list[str], mode: str = "RGB") -> list[Image.Image]:
    return [Image.fromarray(np.rint(255 - 235 * text_mask(t)).astype(np.uint8)).convert(mode)
            for t in texts]


def multi_frame(fmt: str, texts: list[str]) -> bytes:
    first, *rest = frames_of(texts, "P" if fmt == "GIF" else "RGB")
    options: dict = {"save_all": True, "append_images": rest}
    if fmt in ("GIF", "PNG", "WEBP"):
        options["duration"] = 500
    if fmt == "WEBP":
        options["lossless"] = True
    return save(first, fmt, **options)


MULTI = {"animated GIF": ("GIF", "a.gif"), "APNG": ("PNG", "a.png"),
         "TIFF pages": ("TIFF", "a.tif"), "animated WEBP": ("WEBP", "a.webp")}


@pytest.mark.parametrize("kind", sorted(MULTI))
def test_multi_frame_files_warn_at_the_attachment(tmp_path: Path, kind: str):
    fmt, name = MULTI[kind]
    data = multi_frame(fmt, ["Order 4711 paid", "Refund refused", "Refund sent"])
    assert decode(tmp_path, data, name).frames == 3
    case = write_case(tmp_path / "case", entries={
        "e.yaml": ENTRY_YAML + f"attachments:\n  - evidence/{name}\n"},
        files={f"evidence/{name}": data})
    result = run_cli("build", case, "--format", "html,json")
    assert result.exit_code == 0, result.output
    assert (f"entries/e.yaml:6:5: warning: attachment 'evidence/{name}': 3 frames; "
            "only the first is shown") in result.output
    strict = run_cli("build", case, "--format", "json", "--strict")
    assert_clean_failure(strict, "3 frames; only the first is shown")
    again = run_cli("build", case, "--format", "json")  # from the cache: still said
    assert "3 frames; only the first is shown" in again.output


def test_multi_frame_files_with_the_same_first_frame_are_not_merged(tmp_path: Path):
    first = multi_frame("GIF", ["Order 4711 paid", "Refund refused"])
    second = multi_frame("GIF", ["Order 4711 paid", "Refund sent"])
    (tmp_path / "a.gif").write_bytes(first)
    (tmp_path / "b.gif").write_bytes(second)
    (tmp_path / "c.gif").write_bytes(first + b"")  # same bytes: still one exhibit
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "c.gif").write_bytes(first)
    outcome = dedupe_paths([str(tmp_path / "a.gif"), str(tmp_path / "b.gif"),
                            str(tmp_path / "d" / "c.gif")])
    keep_of = outcome.result.keep_of
    assert keep_of[str(tmp_path / "b.gif")] == str(tmp_path / "b.gif")
    assert keep_of[str(tmp_path / "d" / "c.gif")] == str(tmp_path / "a.gif")
    assert [p for p, _ in outcome.warnings] == [str(tmp_path / "a.gif"), str(tmp_path / "b.gif"),
                                                str(tmp_path / "d" / "c.gif")]
    cli = run_cli("dedupe", tmp_path / "a.gif")
    assert f"{tmp_path / 'a.gif'}: warning: 2 frames; only the first is shown" in cli.output


def light_on_transparent(mode: str, ink: int = 250) -> Image.Image:
    mask = text_mask()
    alpha = np.rint(255 * mask).astype(np.uint8)
    if mode == "LA":
        return Image.fromarray(np.stack([np.full_like(alpha, ink), alpha], axis=2), "LA")
    rgba = Image.fromarray(np.stack([np.full_like(alpha, ink)] * 3 + [alpha], axis=2), "RGBA")
    if mode == "P":  # a palette with one fully transparent entry
        p = Image.fromarray(np.where(mask > 0.5, 1, 0).astype(np.uint8), "P")
        p.putpalette([0, 0, 0, ink, ink, ink])
        p.info["transparency"] = 0
        return p
    return rgba


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_light_content_on_transparency_is_shown_over_a_dark_background(tmp_path: Path,
                                                                      mode: str):
    data = save(light_on_transparent(mode), "PNG")
    decoded = decode(tmp_path, data)
    assert decoded.background == "dark"
    assert readable(decoded.image, text_mask()) > 100
    # and the report shows it so: the screen rendition is not a white page
    case = write_case(tmp_path / "case", entries={
        "e.yaml": ENTRY_YAML + "attachments:\n  - evidence/dark.png\n"},
        files={"evidence/dark.png": data})
    assert run_cli("build", case, "--format", "html").exit_code == 0
    (asset,) = (case / "build" / "assets").iterdir()
    with Image.open(asset) as shown:
        flat = shown.convert("RGBA")
        white = Image.alpha_composite(Image.new("RGBA", flat.size, "white"), flat)
        assert readable(white, np.asarray(text_mask(size=flat.size))) > 100


def test_dark_content_on_transparency_stays_on_white(tmp_path: Path):
    decoded = decode(tmp_path, save(light_on_transparent("RGBA", ink=20), "PNG"))
    assert decoded.background == "white"
    assert decoded.image.mode == "RGBA"


def test_two_dark_mode_exports_with_different_text_are_not_merged(tmp_path: Path):
    for i, text in enumerate(["Order 4711 paid", "Order 4711 open"]):
        mask = text_mask(text)
        alpha = np.rint(255 * mask).astype(np.uint8)
        rgba = np.stack([np.full_like(alpha, 255)] * 3 + [alpha], axis=2)
        (tmp_path / f"{i}.png").write_bytes(save(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert dedupe_paths([str(tmp_path)]).result.groups == []


def test_cmyk_and_one_bit_pictures_show_their_content(tmp_path: Path):
    mask = text_mask()
    cmyk = Image.fromarray(np.rint(255 * mask).astype(np.uint8), "L").convert("CMYK")
    cmyk_shown = decode(tmp_path, save(cmyk, "JPEG", quality=95), "c.jpg").image
    assert readable(cmyk_shown, mask) > 100
    one_bit = Image.fromarray(mask < 0.5).convert("1")
    assert readable(decode(tmp_path, save(one_bit, "PNG"), "b.png").image, mask) > 100
    assert readable(decode(tmp_path, save(one_bit, "TIFF", compression="group4"),
                           "b.tif").image, mask) > 100


def test_a_picture_that_would_show_flat_is_an_error(tmp_path: Path, monkeypatch):
    """The cheap check that would have caught every case above: with the old conversion
    (16-bit clipped to white) the build stops at the attachment instead of showing white."""
    data = save(wide(text_mask(), "I;16", 60000, 4000), "PNG")
    monkeypatch.setattr(images, "_eight_bit", lambda im: im.convert("L"))
    with pytest.raises(ImageError, match="one flat colour"):
        decode(tmp_path, data)
    monkeypatch.setattr(images, "DARK_WINS", 1e9)  # never composite over dark
    monkeypatch.setattr(images, "shown_image", lambda im: (
        Image.alpha_composite(Image.new("RGBA", im.size, "white"), im.convert("RGBA")), "white"))
    with pytest.raises(ImageError, match="one flat colour"):
        decode(tmp_path, save(light_on_transparent("RGBA", ink=255), "PNG"))
    case = write_case(tmp_path / "case", entries={
        "e.yaml": ENTRY_YAML + "attachments:\n  - evidence/w.png\n"},
        files={"evidence/w.png": save(light_on_transparent("RGBA", ink=255), "PNG")})
    assert_clean_failure(run_cli("build", case, "--format", "json"),
                         "entries/e.yaml:6:5: error: attachment 'evidence/w.png': the picture "
                         "would show as one flat colour")


def test_flat_pictures_are_fine(tmp_path: Path):
    """A blank page is shown as a blank page; 16-bit noise below one 8-bit level too."""
    assert decode(tmp_path, save(Image.new("RGB", SIZE, "white"), "PNG")).image.size == SIZE
    noise = np.random.default_rng(1).integers(30000, 30300, SIZE[::-1]).astype(np.uint16)
    assert decode(tmp_path, save(i16(noise), "PNG")).image.mode == "L"


def test_odd_images_of_the_corpus_are_shown_with_their_content(tmp_path: Path):
    folder = require_shared("corpora", "odd-images")
    for source in sorted(folder.iterdir()):
        if source.name.startswith("LICENSE"):
            continue
        try:
            decoded = open_image(source)
        except ImageError as exc:
            assert "unsupported" in str(exc), (source.name, exc)
            continue
        # open_image's own check: never flat where the file is not (these apng are flat)
        if source.name.startswith("apng_"):
            assert decoded.frames == 3, source.name
        if source.name == "16bit.cropped.tif":  # 291-694 of 65535: dark, as viewers show it
            grey = np.asarray(decoded.image)
            assert grey.max() <= 3 and grey.max() > grey.min(), source.name

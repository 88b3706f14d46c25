"""PNGs decoded by libspng (images._png_decoded, #20) are exactly what Pillow decodes: the
same picture, digest, facts and info, and the same error for a damaged file; whatever
libspng is not sure to read as Pillow does goes to Pillow. Compressed rows that stop before
the last row are an error either way (Pillow alone would show the rest black)."""

from __future__ import annotations

import hashlib
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from itaoreport.evidence import images
from itaoreport.evidence.images import ImageError, open_image

from conftest import require_shared

pytest.importorskip("pyspng", reason="pyspng (a dependency) is not installed: nothing to compare")


def outcome(path: Path, spng: bool, monkeypatch: pytest.MonkeyPatch) -> tuple:
    """What open_image gives for a file, with or without libspng, and whether it was used."""
    used = []
    real = images._png_decoded

    def watched(*args):  # noqa: ANN002, ANN202
        got = real(*args)
        used.append(got is not None)
        return got

    with monkeypatch.context() as m:
        if not spng:
            m.setattr(images, "_pyspng", lambda: None)
        m.setattr(images, "_png_decoded", watched)
        try:
            d = open_image(path, hashlib.sha256(path.read_bytes()).hexdigest())
        except ImageError as exc:
            return ("error", str(exc)), any(used)
    picture = d.image
    return (d.format, d.width, d.height, d.lossless, d.pixel_digest, d.frames, d.background,
            picture.mode, picture.tobytes(), sorted(picture.info.items(), key=str)), any(used)


def same_either_way(path: Path, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Asserts both decoders agree; returns whether libspng decoded the file."""
    pillow, _ = outcome(path, False, monkeypatch)
    spng, used = outcome(path, True, monkeypatch)
    assert spng == pillow, path.name
    return used


def adam7_png(path: Path, im: Image.Image) -> Path:
    """An interlaced 8-bit grey PNG, made by hand (Pillow writes no Adam7)."""
    raw = np.asarray(im)
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4),
              (1, 0, 2, 2), (0, 1, 1, 2)]  # (x0, y0, dx, dy)
    rows = b"".join(b"\0" + raw[y0::dy, x0::dx][r].tobytes()
                    for x0, y0, dx, dy in passes if raw[y0::dy, x0::dx].size
                    for r in range(raw[y0::dy, x0::dx].shape[0]))
    ihdr = struct.pack(">IIBBBBB", im.width, im.height, 8, 0, 0, 0, 1)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(rows)) + images.PNG_END)
    return path


def picture(mode: str, size: tuple[int, int] = (90, 160)) -> Image.Image:
    rng = np.random.default_rng(len(mode))
    channels = len(mode)
    shape = (size[1], size[0]) + ((channels,) if channels > 1 else ())
    values = rng.integers(0, 256, shape, dtype=np.uint8)
    values[: size[1] // 2] //= 4  # flat-ish and busy halves: every PNG filter gets used
    if "A" in mode:
        values[..., -1] = np.where(np.arange(size[0]) % 7 == 0, 0, 255)[None, :]
    return Image.fromarray(values)


def save(im: Image.Image, path: Path, **options: object) -> Path:
    im.save(path, "PNG", **options)
    return path


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def before_end(data: bytes, extra: bytes) -> bytes:
    """`extra` chunks inserted between the picture's data and IEND."""
    assert data.endswith(images.PNG_END)
    return data[: -len(images.PNG_END)] + extra + images.PNG_END


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L"])
def test_plain_pngs_are_decoded_by_libspng_exactly(tmp_path, monkeypatch, mode):
    path = save(picture(mode), tmp_path / f"{mode}.png")
    assert same_either_way(path, monkeypatch)


def test_opaque_rgba_and_text_before_the_picture(tmp_path, monkeypatch):
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "Screenshot editor 2.1")
    rgba = picture("RGB").convert("RGBA")
    assert same_either_way(save(rgba, tmp_path / "opaque.png", pnginfo=info), monkeypatch)


@pytest.mark.parametrize("how", ["grey + alpha", "interlaced", "16-bit", "palette", "1-bit", "exif",
                                 "text after the picture", "animated"])
def test_other_pngs_go_to_pillow(tmp_path, monkeypatch, how):
    path = tmp_path / "other.png"
    if how == "grey + alpha":  # libspng has no such output
        save(picture("LA"), path)
    elif how == "interlaced":
        adam7_png(path, picture("L", (21, 19)))
    elif how == "16-bit":
        Image.fromarray(np.arange(256 * 64, dtype=np.uint16).reshape(64, 256) * 3,
                        ).save(path, "PNG")
    elif how == "palette":
        save(picture("RGB").quantize(64), path)
    elif how == "1-bit":
        save(picture("L").convert("1"), path)
    elif how == "exif":
        exif = Image.Exif()
        exif[0x0112] = 6  # turned: only Pillow's loading applies an eXIf after the data
        body = exif.tobytes()
        body = body[6:] if body.startswith(b"Exif\x00\x00") else body
        save(picture("RGB"), tmp_path / "x.png")
        path.write_bytes(before_end((tmp_path / "x.png").read_bytes(), chunk(b"eXIf", body)))
    elif how == "text after the picture":
        save(picture("RGB"), tmp_path / "x.png")
        path.write_bytes(before_end((tmp_path / "x.png").read_bytes(),
                                    chunk(b"tEXt", b"date:modify\x002026-12-02")))
    else:
        frames = [picture("RGB"), picture("RGB").rotate(180)]
        frames[0].save(path, "PNG", save_all=True, append_images=frames[1:])
    assert not same_either_way(path, monkeypatch)


@pytest.mark.parametrize("damage", ["IEND cut", "bytes after IEND", "picture data cut",
                                    "picture data corrupt", "chunk length past the end"])
def test_damaged_pngs_end_as_pillow_ends_them(tmp_path, monkeypatch, damage):
    data = (save(picture("RGB", (200, 300)), tmp_path / "x.png")).read_bytes()
    if damage == "IEND cut":
        data = data[:-3]
    elif damage == "bytes after IEND":
        data += b"trailing junk"
    elif damage == "picture data cut":
        data = data[: len(data) // 2] + images.PNG_END
    elif damage == "picture data corrupt":
        middle = len(data) // 2
        data = data[:middle] + bytes(b ^ 0x5A for b in data[middle:middle + 64]) + data[middle + 64:]
    else:
        first_idat = data.index(b"IDAT") - 4
        data = data[:first_idat] + struct.pack(">I", len(data)) + data[first_idat + 4:]
    path = tmp_path / "damaged.png"
    path.write_bytes(data)
    same_either_way(path, monkeypatch)


def test_the_corpora_end_the_same_either_way(monkeypatch):
    """Every broken or unusual picture of Pillow's own test suite (../shared/corpora): the
    same picture or the same error with libspng as without it."""
    folder = require_shared("corpora")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() == ".png")
    assert files
    for path in files:
        same_either_way(path, monkeypatch)


def test_a_file_changed_on_disk_is_refused_before_any_decoder(tmp_path, monkeypatch):
    path = save(picture("RGB"), tmp_path / "x.png")
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    save(picture("RGBA"), path)
    with pytest.raises(ImageError, match="changed"):
        open_image(path, sha)


def test_without_a_hash_the_file_is_read_from_its_path(tmp_path, monkeypatch):
    path = save(picture("RGBA"), tmp_path / "x.png")
    spng = open_image(path)
    monkeypatch.setattr(images, "_pyspng", lambda: None)
    pillow = open_image(path)
    assert (spng.pixel_digest, spng.image.tobytes()) == (pillow.pixel_digest, pillow.image.tobytes())


def short_png(tmp_path: Path, colour: int, rows: np.ndarray, palette: bytes = b"") -> Path:
    """A whole PNG (IHDR, PLTE, IDAT, IEND) whose compressed rows cover half the picture."""
    height, width = rows.shape[:2]
    raw = b"".join(b"\0" + rows[r].tobytes() for r in range(height // 2))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    path = tmp_path / f"short-{colour}.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + (chunk(b"PLTE", palette) if palette else b"")
                     + chunk(b"IDAT", zlib.compress(raw)) + images.PNG_END)
    return path


@pytest.mark.parametrize("kind", ["RGB (libspng)", "palette (Pillow)"])
def test_rows_that_stop_early_are_an_error_not_a_black_band(tmp_path, monkeypatch, kind):
    """A whole file whose compressed rows cover half the picture: Pillow alone fills the other
    half black and says nothing (ZipDecode.c); it is a located error, either way."""
    if kind.startswith("RGB"):
        path = short_png(tmp_path, 2, np.asarray(picture("RGB", (120, 200))))
    else:
        indices = np.arange(200 * 120, dtype=np.uint32).reshape(200, 120) % 64
        path = short_png(tmp_path, 3, indices.astype(np.uint8), bytes(range(192)))
    for spng in (True, False):
        result, _ = outcome(path, spng, monkeypatch)
        assert result == ("error", images.CUT_SHORT), (kind, spng)


def test_whole_rows_of_every_layout_pass_the_row_count(tmp_path):
    """The count of rows Pillow's decode is checked against (images._check_png_rows) is the
    PNG's own, for every bit depth and colour type Pillow writes, and for Adam7 (made by
    hand, odd sizes); the same rows under an Adam7 header fall short."""
    made = [picture("RGB"), picture("RGBA"), picture("L"), picture("LA"),
            picture("RGB").quantize(64), picture("L").convert("1"),
            Image.fromarray(np.arange(64 * 256, dtype=np.uint16).reshape(64, 256) * 3)]
    for k, im in enumerate(made):
        path = tmp_path / f"{k}.png"
        im.save(path, "PNG")
        data = path.read_bytes()
        images._check_png_rows(data)
        open_image(path)
        with pytest.raises(ImageError, match="stops before its last row"):
            images._check_png_rows(data.replace(data[8:33], _interlaced_ihdr(data[8:33])))
    for size in [(21, 19), (1, 1), (3, 9), (8, 8), (90, 160)]:
        grey = picture("L", size)
        decoded = open_image(adam7_png(tmp_path / "adam7.png", grey))
        assert np.array_equal(np.asarray(decoded.image.convert("L")), np.asarray(grey))


def _interlaced_ihdr(ihdr_chunk: bytes) -> bytes:
    """The IHDR chunk with Adam7 set (its CRC made again): the same rows then fall short
    of an interlaced picture's, which has more (each pass's rows are filtered apart)."""
    body = bytearray(ihdr_chunk[8:21])
    body[12] = 1
    return chunk(b"IHDR", bytes(body))

"""Safe image reading: size checks from the header, full decode, EXIF orientation, and the
picture a viewer shows.

`open_image` gives two things from one decode:

- `image`: the 8-bit picture a viewer would show (RGB, RGBA, L or LA), from which every
  rendition is made. 16- and 32-bit samples are scaled to 8 bits (never clipped to white),
  CMYK with an ICC profile goes through the profile, and light content on a transparent
  background (a dark-mode export) is composited over a dark background so it stays visible.
- `pixel_digest`: a digest of the decoded pixels at their full depth (every frame of a
  multi-frame file), so "identical pixels" is never claimed for two files that differ
  below 8 bits or in a later frame. Where Pillow cannot give the full depth (16-bit colour
  PNG/TIFF) or a file has too many frames to decode, the digest is the file's own bytes':
  only byte-identical files are then pixel-identical. The hash is BLAKE3 (80 hex digits),
  or SHA-256 (64) where the blake3 package is missing: cryptographic either way, so no
  file can be made to claim another picture's pixels (`pixel_hash`).

Cost per phone screenshot besides decoding (#20, one process, 260 of the real set): the
digest ~3 ms (BLAKE3 over the packed samples; SHA-256 took ~10), the flat-picture check
~0.5 ms, the reduced-colour count ~0.8 ms; a picture with transparent corners also pays
the light-on-transparent decision (~35 ms at 1080x1920 from a histogram, _light_for_certain;
~150 ms at 2160x3840, most of it the 1200-px resize of the premultiplied picture, kept as it
was so the decision stays the same).

A picture that would show as one flat colour while the file's pixels are not flat is an
ImageError (the cheap check that catches every way of losing the content above).
"""

from __future__ import annotations

import hashlib
import io
import struct
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

MAX_PIXELS = 60_000_000
"""Refuse images with more pixels than this, from the header, before decoding."""
MAX_FRAMES = 10_000
"""Frames counted in a multi-frame file; more are not looked at."""

SCREENSHOT_FORMATS = {"PNG", "JPEG", "GIF", "WEBP", "BMP", "AVIF", "TIFF", "MPO"}
DARK_BACKGROUND = (24, 24, 24)
"""Where light content on transparency is shown: a dark-mode background."""
DARK_WINS = 2.0
"""Light-on-transparent: the dark background is used when the picture's contrast over it
(standard deviation of luminance) is more than this many times its contrast over white."""
FLAT_LEVELS = 1
"""A shown picture whose channels vary by at most this many 8-bit levels is flat..."""
CONTENT_LEVELS = 3.0
"""...and that is an error when the file's own pixels vary by at least this much (in 8-bit
levels of their own full scale, alpha included)."""
EIGHT_BIT_MODES = {"1", "L", "P", "RGB", "RGBA", "LA", "PA", "RGBX", "RGBa", "La"}
WIDE_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I", "F"}


class ImageError(Exception):
    """The file cannot be used as an image; the message says why, in plain words."""


@dataclass(frozen=True)
class Decoded:
    """A decoded, upright image and what the file said about itself."""

    image: Image.Image
    """The 8-bit picture a viewer shows (first frame): RGB, RGBA, L or LA."""
    format: str
    width: int
    height: int
    lossless: bool
    pixel_digest: str = ""
    """Digest (pixel_hash: BLAKE3, else SHA-256) of the full-depth decoded pixels of every
    frame (see the module docstring)."""
    frames: int = 1
    """Frames (pages) in the file; only the first is shown."""
    background: str = "white"
    """"dark" when light content on transparency was composited over DARK_BACKGROUND."""


def open_image(path: Path, sha256: str | None = None, *, digest: bool = True) -> Decoded:
    """Decode an image fully and apply its EXIF orientation; raise ImageError on any problem.

    With `sha256`, the file is read once and decoded only if its bytes still have that
    hash: what is decoded is then exactly the evidence the report names (a file saved
    over during a build would otherwise be cached under the old file's hash).

    `digest=False` skips the pixel digest (pixel_digest is then ""), for a picture decoded
    again only to be looked at (the duplicate detector's palette check): the same image,
    10-40 ms sooner for a phone screenshot.
    """
    from PIL import ImageFile

    source: Path | io.BytesIO = path
    if sha256 is not None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ImageError(f"cannot read the file ({exc.strerror or exc})") from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ImageError("the file changed while the report was being built; build again")
        source = io.BytesIO(data)

    # WeasyPrint sets Pillow's process-wide LOAD_TRUNCATED_IMAGES when imported, after
    # which truncated files decode silently with grey fill. Evidence must be whole.
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        return _decode(source, sha256, digest)
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def _decode(source: Path | io.BytesIO, sha256: str | None, with_digest: bool = True
            ) -> Decoded:
    from PIL import Image, ImageOps

    try:
        empty = (source.getbuffer().nbytes if isinstance(source, io.BytesIO)
                 else source.stat().st_size) == 0
        if empty:
            raise ImageError("the file is empty (0 bytes)")
        with warnings.catch_warnings():
            # Pillow warns about damaged metadata it skips; the image is still usable
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as im:
                fmt = (im.format or "").upper()
                if fmt not in SCREENSHOT_FORMATS:
                    raise ImageError(f"unsupported image format {fmt or 'unknown'}")
                w, h = im.size
                if w * h > MAX_PIXELS:
                    raise ImageError(
                        f"image is {w}x{h} pixels; the limit is {MAX_PIXELS:,} pixels "
                        "(a screenshot is far smaller; this may be a decompression bomb)"
                    )
                frames = _frame_count(im)
                narrowed = _narrowed_on_decode(im)
                digest = pixel_hash(f"frames {frames}:".encode())
                if with_digest and (frames > 1 or narrowed):
                    _digest_rest(im, frames, narrowed, digest, source, sha256)
                    im.seek(0)
                palette = im.mode in ("P", "1", "PA")
                png = _file_bytes(source) if fmt == "PNG" else None
                decoded = _png_decoded(im, png, frames) if png is not None else None
                if decoded is None:
                    im.load()
                    if png is not None:
                        _check_png_rows(png)
                else:
                    im = decoded
                if getattr(im, "map", None) is not None:
                    im = im.copy()  # memory-mapped from the file: make it our own
                # In place: a copy of a 1080x2340 screenshot costs as much as decoding it.
                ImageOps.exif_transpose(im, in_place=True)
                full = im
                if im.mode in ("RGBA", "LA") and im.getchannel("A").getextrema()[0] == 255:
                    full = im.convert(im.mode[:-1])  # opaque: the alpha channel says nothing
                shown, background = shown_image(full)
                if with_digest and not narrowed:
                    # a palette picture's shown RGB is what its digest hashes when nothing
                    # in it can be transparent: one conversion, not three (#20)
                    _digest_pixels(full, digest, rgb=shown if _opaque_palette(full, shown)
                                   else None)
                check_shown(full, shown)
        lossless = (fmt in {"PNG", "GIF", "BMP", "TIFF"} or (
            fmt == "WEBP" and bool(im.info.get("lossless", False)))) and not palette \
            and not _reduced_colour(full)
        return Decoded(shown, fmt, shown.width, shown.height, bool(lossless),
                       digest.hexdigest() if with_digest else "", frames, background)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"image is too large to decode safely ({exc})") from None
    except Image.UnidentifiedImageError:
        raise ImageError("not an image Pillow can read (corrupt or unsupported format)") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError,
            MemoryError, struct.error) as exc:
        raise ImageError(f"the image is corrupt or truncated ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - decoders of hostile bytes raise many kinds
        raise ImageError(f"the image could not be decoded ({type(exc).__name__}: {exc})") from None


def _file_bytes(source: Path | io.BytesIO) -> bytes:
    return source.getvalue() if isinstance(source, io.BytesIO) else source.read_bytes()


PNG_MODES = ("RGB", "RGBA", "L")
"""8-bit PNG layouts libspng decodes to exactly Pillow's samples (_png_decoded); it has no
grey + alpha output for a grey + alpha file."""
PNG_LOADED_CHUNKS = {b"acTL", b"fcTL", b"fdAT", b"eXIf"}
"""Chunks whose meaning Pillow takes in while loading (animation, orientation): a PNG with
any of them is decoded by Pillow."""
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
CUT_SHORT = "the picture's data stops before its last row: the file is damaged or was cut short"


def _png_decoded(im: Image.Image, data: bytes, frames: int) -> Image.Image | None:
    """An opened, not yet loaded PNG decoded by libspng (the pyspng package), or None for
    Pillow to decode it as always.

    libspng decodes a phone screenshot in ~60 % of Pillow's time (the 622 PNGs of the real
    set: 12.8 s where Pillow took 20.9, the same samples, #20). Only the plain case is
    taken, where the result is Pillow's to the byte: one frame, 8 bits per sample, colour
    type RGB, RGBA or grey, not interlaced (as Pillow's header says), and a
    file whose chunks are whole, none of them PNG_LOADED_CHUNKS, with nothing but IEND
    after the picture's data (Pillow reads what follows it, text, orientation or damage,
    only while loading). Pillow has read the header, checked the size and keeps its `info`;
    libspng reads the samples. Anything else, and anything libspng refuses, is decoded by
    Pillow, whose picture and error are the ones the user sees (and whose rows are then
    counted: _check_png_rows); where pyspng is not installed, every file is."""
    spng = _pyspng()
    if spng is None or im.format != "PNG" or frames != 1 or im.mode not in PNG_MODES:
        return None
    tiles = getattr(im, "tile", None) or []
    if len(tiles) != 1 or tiles[0][3] != im.mode or im.info.get("interlace"):
        return None  # low or high bit depths (rawmode "L;4", "RGB;16B"), Adam7
    if not _plain_png(data):
        return None
    try:
        samples = spng.load(data, im.mode)
    except (RuntimeError, ValueError, MemoryError):
        return None
    channels = len(im.mode)
    if samples.dtype.itemsize != 1 or samples.shape[:2] != (im.height, im.width) or (
            samples.shape[2:] != ((channels,) if channels > 1 else ())):
        return None
    from PIL import Image

    decoded = Image.fromarray(samples)  # RGBA and L share the array's memory; RGB copies
    decoded.info = dict(im.info)
    decoded.format = im.format
    return decoded


def _check_png_rows(data: bytes) -> None:
    """ImageError if a PNG that Pillow decoded has fewer rows in its compressed picture data
    than its header says: Pillow takes the end of that data for the end of the picture and
    leaves the rest black, without a word (ZipDecode.c). The data (IDAT) is inflated again
    and counted, not kept: ~2 ms for a phone screenshot's palette PNG. Files too damaged to
    walk were refused by Pillow already."""
    import zlib

    position, header, parts, view = 8, None, [], memoryview(data)
    while position + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, position)
        body = view[position + 8:position + 8 + length]
        if kind == b"IHDR" and len(body) >= 13:
            header = struct.unpack_from(">IIBBBBB", body)
        elif kind == b"IDAT":
            parts.append(body)
        elif kind == b"IEND":
            break
        position += 12 + length
    if header is None:
        return
    width, height, depth, colour, _, _, interlace = header
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(colour)
    if channels is None or depth not in (1, 2, 4, 8, 16):
        return
    passes = ([(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4),
               (1, 0, 2, 2), (0, 1, 1, 2)] if interlace else [(0, 0, 1, 1)])
    expected = 0
    for x0, y0, dx, dy in passes:
        columns, rows = -(-(width - x0) // dx), -(-(height - y0) // dy)
        if columns > 0 and rows > 0:
            expected += rows * (1 + -(-(columns * channels * depth) // 8))
    inflater, produced = zlib.decompressobj(), 0
    for part in parts:
        pending = part
        while pending and produced < expected and not inflater.eof:
            produced += len(inflater.decompress(pending, 1 << 20))
            pending = inflater.unconsumed_tail
        if produced >= expected or inflater.eof:
            break
    if produced < expected:
        raise ImageError(CUT_SHORT)


def _plain_png(data: bytes) -> bool:
    """Whether every chunk of a PNG is whole, none is in PNG_LOADED_CHUNKS, and the picture's
    data (IDAT) is followed by IEND alone, at the end of the file (a walk over the chunk
    headers: ~0.2 ms for a phone screenshot's few hundred)."""
    if not data.endswith(PNG_END):
        return False
    end, position, last = len(data) - len(PNG_END), 8, b""
    while position < end:
        if position + 8 > end:
            return False
        length, kind = struct.unpack_from(">I4s", data, position)
        if kind in PNG_LOADED_CHUNKS or kind == b"IEND":
            return False
        position += 12 + length
        last = kind
    return position == end and last == b"IDAT"


@lru_cache(maxsize=1)
def _pyspng():  # noqa: ANN202 - the pyspng module or None
    """Looked up once per process, as _blake3."""
    try:
        import pyspng
    except ImportError:
        return None
    return pyspng


PIXEL_DIGEST_BYTES = 40
"""Length of a BLAKE3 pixel digest (80 hex digits): never the length of the SHA-256 one made
where blake3 is not installed (64), so digests of the two kinds can never be taken as equal
and a cache can tell which kind it holds (cache.py)."""


def pixel_hash(prefix: bytes = b""):  # noqa: ANN201 - a blake3 or hashlib hash object
    """A new hash of pixels (update/hexdigest), `prefix` fed first: BLAKE3 (the blake3
    package; ~4x faster than SHA-256 here: a 1080x2340 screenshot's samples in ~2 ms, not
    ~6, #20) or, where blake3 is not installed, SHA-256. Both are cryptographic: no one can
    make two different pictures give the same digest."""
    blake3 = _blake3()
    if blake3 is None:
        return hashlib.sha256(prefix)
    return _Blake3Hex(blake3(prefix))


def pixel_digest_length() -> int:
    """Hex digits of the pixel digests this installation makes (80 BLAKE3, 64 SHA-256)."""
    return 64 if _blake3() is None else 2 * PIXEL_DIGEST_BYTES


class _Blake3Hex:
    """A blake3 hash whose hexdigest() is PIXEL_DIGEST_BYTES long."""

    __slots__ = ("_hash",)

    def __init__(self, inner) -> None:  # noqa: ANN001
        self._hash = inner

    def update(self, data) -> None:  # noqa: ANN001 - bytes or a buffer
        self._hash.update(data)

    def hexdigest(self) -> str:
        return self._hash.hexdigest(length=PIXEL_DIGEST_BYTES)


@lru_cache(maxsize=1)
def _blake3():  # noqa: ANN202 - blake3.blake3 or None
    """Looked up once per process (a failed import would search every path each time), as
    cache._deflate looks up isal."""
    try:
        from blake3 import blake3
    except ImportError:
        return None
    return blake3


def _reduced_colour(im: Image.Image) -> bool:
    """At most 256 colours in an 8-bit colour picture: perhaps a palette copy saved as RGB,
    so the duplicate detector verifies it as a lossy copy, never as pixel-exact."""
    from PIL import Image

    if im.mode not in ("RGB", "RGBA"):
        return False
    # every 8th pixel of every 8th row first: more than 256 colours there means more in
    # the whole picture (~0.1 ms, where the whole picture's count takes ~1 ms, #20)
    sample = im.resize((max(1, im.width // 8), max(1, im.height // 8)),
                       Image.Resampling.NEAREST)
    return sample.getcolors(256) is not None and im.getcolors(256) is not None


def _frame_count(im: Image.Image) -> int:
    """Frames (pages) in the file, at most MAX_FRAMES."""
    try:
        count = int(getattr(im, "n_frames", 1) or 1)
    except (OSError, ValueError, EOFError, struct.error) as exc:
        raise ImageError(f"the image's frames cannot be read ({exc})") from None
    return max(1, min(count, MAX_FRAMES))


def _narrowed_on_decode(im: Image.Image) -> bool:
    """True when Pillow will decode the samples to fewer bits than the file holds (16-bit
    colour PNG or TIFF become 8-bit RGB): its full-depth pixels are not available."""
    if im.mode not in EIGHT_BIT_MODES:
        return False
    for tile in getattr(im, "tile", None) or []:
        args = tile[3] if len(tile) > 3 else None
        rawmode = args if isinstance(args, str) else (
            args[0] if isinstance(args, tuple) and args and isinstance(args[0], str) else "")
        if any(part in rawmode for part in (";16", ";32", ";24", ";12", ";F")):
            return True
    return False


def _digest_rest(im: Image.Image, frames: int, narrowed: bool, digest: hashlib._Hash,
                 source: Path | io.BytesIO, sha256: str | None) -> None:
    """Add the frames after the first to the digest; or, when the full depth is not
    available or the frames are too many to decode, the file's own bytes."""
    w, h = im.size
    if narrowed or frames >= MAX_FRAMES or frames * w * h > MAX_PIXELS:
        digest.update(b"file:" + (sha256 or _file_sha256(source)).encode())
        return
    orientation = im.getexif().get(0x0112, 1) if hasattr(im, "getexif") else 1
    digest.update(f"orientation {orientation}:".encode())
    for index in range(1, frames):
        im.seek(index)
        im.load()
        _digest_pixels(im, digest)


def _file_sha256(source: Path | io.BytesIO) -> str:
    if isinstance(source, io.BytesIO):
        return hashlib.sha256(source.getbuffer()).hexdigest()
    return hashlib.sha256(source.read_bytes()).hexdigest()


def _digest_pixels(im: Image.Image, digest: hashlib._Hash, *, rgb: Image.Image | None = None
                   ) -> None:
    """Full-depth pixels of one frame, in a form that is the same for the same picture:
    8-bit modes as RGB (RGBA when anything is transparent), wider ones as their numbers.

    `rgb`: im.convert("RGB") when the caller knows im.convert("RGBA") is opaque (a palette
    picture, _opaque_palette), so those samples are hashed without converting again. An
    RGBA picture is read as it is (converting it to RGBA or RGB first would copy the same
    samples: ~40 ms for a 2160x3840 one)."""
    import numpy as np

    digest.update(f"{im.width}x{im.height}:".encode())
    if im.mode in WIDE_MODES:
        values = np.asarray(im)
        kind = "f8" if values.dtype.kind == "f" else "i8"
        bits = 16 if im.mode.startswith("I;16") else 32
        digest.update(f"{kind}{bits}:".encode())
        digest.update(np.ascontiguousarray(values, dtype=f"<{kind}").tobytes())
    elif im.mode in ("RGB", "L") and "transparency" not in im.info:
        digest.update(b"RGB:")
        _update_with_samples(digest, im if im.mode == "RGB" else im.convert("RGB"))
    elif rgb is not None and im.mode == "P":
        digest.update(b"RGB:")
        _update_with_samples(digest, rgb)
    elif im.mode == "RGBA":  # as im.convert("RGBA") would be: the same samples
        if im.getchannel("A").getextrema()[0] == 255:
            digest.update(b"RGB:")
            _update_with_samples(digest, im, "RGB")  # what .convert("RGB") keeps
        else:
            digest.update(b"RGBA:")
            _update_with_samples(digest, im)
    elif im.mode == "LA" and im.getchannel("A").getextrema()[0] == 255:  # opaque
        digest.update(b"RGB:")
        _update_with_samples(digest, im.convert("RGB"))
    elif im.mode in EIGHT_BIT_MODES:
        rgba = im.convert("RGBA")
        if rgba.getchannel("A").getextrema()[0] == 255:
            digest.update(b"RGB:")
            _update_with_samples(digest, rgba, "RGB")
        else:
            digest.update(b"RGBA:")
            _update_with_samples(digest, rgba)
    else:  # CMYK, YCbCr, LAB, HSV: their own samples
        digest.update(f"{im.mode}:".encode())
        _update_with_samples(digest, im)


def _opaque_palette(im: Image.Image, shown: Image.Image) -> bool:
    """Whether `shown` is im.convert("RGB") of a palette picture whose im.convert("RGBA")
    is opaque: no transparency, every palette entry used opaque (from the palette and the
    largest index used: no pass over the pixels but Pillow's extrema)."""
    if im.mode != "P" or "transparency" in im.info or shown.mode != "RGB" or shown is im:
        return False
    if shown.size != im.size:
        return False
    palette = im.im.getpalette("RGBA", "RGBA")
    entries = len(palette) // 4
    if entries == 0 or any(alpha != 255 for alpha in palette[3::4]):
        return False
    low, high = im.getextrema()
    return 0 <= low and high < entries


SAMPLES_CHUNK = 1 << 20
"""Bytes of packed samples hashed at a time (_update_with_samples)."""


def _update_with_samples(digest: hashlib._Hash, im: Image.Image, rawmode: str | None = None
                         ) -> None:
    """digest.update(im.tobytes()), without the copy: the samples are packed a chunk at a
    time by Pillow's raw encoder (what tobytes does) and hashed as they come, so no
    picture-sized bytes are joined, nor copied again behind a prefix (~5 ms less for a
    1080x1920 screenshot, #20). Where that encoder is not there, tobytes. `rawmode`: the
    samples packed as that raw mode ("RGB" of an RGBA picture: what .convert("RGB") keeps)."""
    from PIL import Image

    getencoder = getattr(Image, "_getencoder", None)
    im.load()
    rawmode = rawmode or im.mode
    if getencoder is None or im.width == 0 or im.height == 0:
        digest.update(im.tobytes("raw", rawmode))
        return
    encoder = getencoder(im.mode, "raw", rawmode)
    try:
        encoder.setimage(im.im, (0, 0, *im.size))
        while True:
            _, status, data = encoder.encode(max(SAMPLES_CHUNK, im.width * 4))
            digest.update(data)
            if status:
                break
        if status < 0:
            raise ImageError(f"the picture's samples could not be read (raw encoder {status})")
    finally:
        encoder.cleanup()


def shown_image(im: Image.Image) -> tuple[Image.Image, str]:
    """The 8-bit picture a viewer shows of one decoded frame, and its background.

    RGB, L and RGBA/LA with content that shows over white come back as RGB, L, RGBA or LA;
    light content on transparency comes back composited over DARK_BACKGROUND ("dark").
    """
    from PIL import Image

    if im.mode in WIDE_MODES:
        return _eight_bit(im), "white"
    if im.mode == "CMYK":
        return _cmyk_to_rgb(im), "white"
    if im.mode == "1":
        return im.convert("L"), "white"
    has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
    if not has_alpha:
        return (im if im.mode in ("RGB", "L") else im.convert("RGB")), "white"
    if im.mode in ("RGBA", "LA") and im.getchannel("A").getextrema()[0] == 255:  # nothing transparent
        return im, "white"
    if im.mode == "RGBA":  # transparent somewhere (just seen); .convert("RGBA") would copy it
        rgba = im
    else:
        rgba = im.convert("RGBA")
        if rgba.getchannel("A").getextrema()[0] == 255:
            return rgba, "white"
    if _light_on_transparent(rgba):
        background = Image.new("RGBA", rgba.size, DARK_BACKGROUND + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB"), "dark"
    return (im if im.mode in ("RGBA", "LA") else rgba), "white"


def _light_on_transparent(rgba: Image.Image) -> bool:
    """Whether the picture shows much better over a dark background than over white."""
    import numpy as np

    small = rgba
    if rgba.width > 1200:  # the decision needs no more detail than this
        from PIL import Image

        small = rgba.resize((1200, max(1, round(rgba.height * 1200 / rgba.width))),
                            Image.Resampling.BOX)
    certain = _light_for_certain(small)
    if certain is not None:
        return certain
    # the same float32 values as np.asarray(small, dtype=np.float32), in half the time
    values = np.asarray(small).astype(np.float32)
    alpha = values[..., 3] / 255.0
    luma = values[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    over_white = luma * alpha + 255.0 * (1 - alpha)
    dark = float(np.dot(DARK_BACKGROUND, (0.299, 0.587, 0.114)))
    over_dark = luma * alpha + dark * (1 - alpha)
    return float(over_dark.std()) > DARK_WINS * float(over_white.std())


LIGHT_SURE = 2.0
"""_light_for_certain answers only when each standard deviation could move this much (grey
levels) without changing the answer: Pillow's integer luma is within 1 level of the float
luma per pixel, so each deviation within ~1.03 of the float32 one (+ its rounding)."""


def _light_for_certain(small: Image.Image) -> bool | None:
    """_light_on_transparent's answer where a histogram of (integer luma, alpha) makes it
    certain, else None (then the float32 computation decides, as before): the standard
    deviations over white and over dark from 65,536 bins instead of per pixel (~15 ms
    where the per-pixel floats take ~60 ms for 1080x1920, #20)."""
    import math

    import numpy as np

    key = np.asarray(small.convert("L")).astype(np.uint16) << 8
    key |= np.asarray(small.getchannel("A"))
    counts = np.bincount(key.ravel(), minlength=65536).astype(np.float64)
    total = float(counts.sum())
    if total == 0:
        return None
    levels = np.arange(256, dtype=np.float64)
    lum, opacity = np.repeat(levels, 256), np.tile(levels, 256) / 255.0
    dark = float(np.dot(DARK_BACKGROUND, (0.299, 0.587, 0.114)))

    def spread(values: np.ndarray) -> float:
        mean = float(counts @ values) / total
        return math.sqrt(max(float(counts @ (values - mean) ** 2) / total, 0.0))

    over_white = spread(lum * opacity + 255.0 * (1 - opacity))
    over_dark = spread(lum * opacity + dark * (1 - opacity))
    if over_dark - LIGHT_SURE > DARK_WINS * (over_white + LIGHT_SURE):
        return True
    if over_dark + LIGHT_SURE < DARK_WINS * (over_white - LIGHT_SURE):
        return False
    return None


def _eight_bit(im: Image.Image) -> Image.Image:
    """16- and 32-bit greyscale as the 8-bit picture a viewer shows.

    I;16: the full 0-65535 range. I (32-bit integers): 0-255 data as it is, 0-65535 data
    as 16-bit, anything else (negative, larger) stretched from its minimum to maximum.
    F (floats): 0-1 data times 255, 0-255 data as it is, anything else stretched; values
    that are not numbers show as black.
    """
    import numpy as np
    from PIL import Image

    values = np.asarray(im)
    if im.mode.startswith("I;16"):
        scaled = values.astype(np.float32) / 257.0
    else:
        values = values.astype(np.float64)
        finite = values[np.isfinite(values)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
        if im.mode == "F" and low >= 0 and high <= 1:
            scaled = values * 255.0
        elif low >= 0 and high <= 255:
            scaled = values
        elif im.mode == "I" and low >= 0 and high <= 65535:
            scaled = values / 257.0
        else:
            scaled = (values - low) * (255.0 / (high - low)) if high > low else values * 0
        scaled = np.where(np.isfinite(scaled), scaled, 0)
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), "L")


def _cmyk_to_rgb(im: Image.Image) -> Image.Image:
    """CMYK through its ICC profile when it has a usable one, else Pillow's plain conversion."""
    profile = im.info.get("icc_profile")
    if profile:
        try:
            from PIL import ImageCms

            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            return ImageCms.profileToProfile(im, source, ImageCms.createProfile("sRGB"),
                                             outputMode="RGB")
        except Exception:  # noqa: BLE001 - a damaged profile: show it as Pillow converts it
            pass
    return im.convert("RGB")


def _levels(values: np.ndarray, full_scale: float) -> float:
    """The largest per-channel range of `values`, in 8-bit levels of `full_scale`."""
    import numpy as np

    if values.ndim == 2:
        values = values[..., None]
    flat = values.reshape(-1, values.shape[-1])
    if flat.dtype.kind == "f":
        flat = np.where(np.isfinite(flat), flat, np.nan)
        spread = np.nanmax(flat, axis=0) - np.nanmin(flat, axis=0)
        spread = np.nan_to_num(spread)
    else:
        spread = flat.max(axis=0).astype(np.float64) - flat.min(axis=0)
    return float(spread.max()) * 255.0 / full_scale if flat.size else 0.0


def _shown_range(shown: Image.Image) -> int:
    """The largest range of any colour channel of `shown` as the report's white page shows
    it (from Pillow's extrema: no copy of the pixels unless something is transparent)."""
    from PIL import Image

    extrema = shown.getextrema()
    if shown.mode in ("RGBA", "LA") and extrema[-1][0] < 255:
        rgba = shown.convert("RGBA")
        visible = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
        extrema = visible.convert("RGB").getextrema()
    elif shown.mode in ("RGBA", "LA"):
        extrema = extrema[:-1]
    if shown.mode == "L":
        extrema = (extrema,)
    return max(high - low for low, high in extrema)


def _sampled_range(shown: Image.Image) -> int:
    """The largest channel range among every 8th pixel of every 8th row of a picture as the
    report's white page shows it (RGB, L, RGBA or LA; 0 for other modes): never more than
    the whole picture's range (_shown_range), so a picture varied here is varied; this
    costs ~0.03 ms where _shown_range costs ~3 ms (~100 ms for a 2160x3840 picture with
    transparent corners, #20)."""
    from PIL import Image

    if shown.mode not in ("RGB", "L", "RGBA", "LA"):
        return 0
    sample = shown.resize((max(1, shown.width // 8), max(1, shown.height // 8)),
                          Image.Resampling.NEAREST)
    if sample.mode in ("RGBA", "LA"):  # each pixel over white, as _shown_range does
        rgba = sample.convert("RGBA")
        sample = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"),
                                       rgba).convert("RGB")
    extrema = sample.getextrema()
    if sample.mode == "L":
        extrema = (extrema,)
    return max(high - low for low, high in extrema)


def check_shown(original: Image.Image, shown: Image.Image) -> None:
    """ImageError when `shown` is one flat colour although `original`'s pixels are not."""
    import numpy as np

    if original.width * original.height == 0:
        return
    if _sampled_range(shown) > FLAT_LEVELS or _shown_range(shown) > FLAT_LEVELS:
        return
    if original.mode in WIDE_MODES:
        values = np.asarray(original)
        if original.mode.startswith("I;16"):
            scale = 65535.0
        else:
            finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
            peak = float(np.abs(finite).max()) if finite.size else 0.0
            scale = 1.0 if original.mode == "F" and peak <= 1 else (
                255.0 if peak <= 255 else 65535.0 if peak <= 65535 else max(peak, 1.0))
        content = _levels(values, scale)
    elif original.mode in EIGHT_BIT_MODES:
        content = _levels(np.asarray(original.convert("RGBA")), 255.0)
    else:
        content = _levels(np.asarray(original), 255.0)
    if content >= CONTENT_LEVELS:
        raise ImageError(
            f"the picture would show as one flat colour although the file's pixels are not "
            f"flat ({original.mode}, {content:.0f} levels of contrast); open it in an image "
            "editor and save it as an 8-bit PNG, or take the screenshot again")

"""Safe image reading: size checks from the header, full decode, EXIF orientation."""

from __future__ import annotations

import hashlib
import io
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

MAX_PIXELS = 60_000_000
"""Refuse images with more pixels than this, from the header, before decoding."""

SCREENSHOT_FORMATS = {"PNG", "JPEG", "GIF", "WEBP", "BMP", "AVIF", "TIFF", "MPO"}


class ImageError(Exception):
    """The file cannot be used as an image; the message says why, in plain words."""


@dataclass(frozen=True)
class Decoded:
    """A decoded, upright image and what the file said about itself."""

    image: Image.Image
    format: str
    width: int
    height: int
    lossless: bool


def open_image(path: Path, sha256: str | None = None) -> Decoded:
    """Decode an image fully and apply its EXIF orientation; raise ImageError on any problem.

    With `sha256`, the file is read once and decoded only if its bytes still have that
    hash: what is decoded is then exactly the evidence the report names (a file saved
    over during a build would otherwise be cached under the old file's hash).
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
        return _decode(source)
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def _decode(source: Path | io.BytesIO) -> Decoded:
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
                im.load()
                if getattr(im, "map", None) is not None:
                    im = im.copy()  # memory-mapped from the file: make it our own
                # In place: a copy of a 1080x2340 screenshot costs as much as decoding it.
                ImageOps.exif_transpose(im, in_place=True)
                upright = im
                if upright.mode not in ("RGB", "RGBA", "L", "LA"):
                    upright = upright.convert("RGBA" if "A" in upright.mode or "transparency"
                                              in upright.info else "RGB")
        lossless = fmt in {"PNG", "GIF", "BMP", "TIFF"} or (
            fmt == "WEBP" and im.info.get("lossless", False)
        )
        return Decoded(upright, fmt, upright.width, upright.height, bool(lossless))
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


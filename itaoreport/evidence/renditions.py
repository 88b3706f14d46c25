"""Images prepared for the report: upright, scaled to where they are drawn, re-encoded.

Two kinds:
- the screen rendition (at most SCREEN_WIDTH wide) that report.html shows, and
- print renditions for the PDF, scaled to the size the print layout draws them at
  and a print resolution, JPEG-encoded (grayscale where a portal wants black and
  white). The fitting step (render/fit.py) asks for lower resolutions and
  qualities until the PDF fits its budget, never below the legibility floor.

Every rendition is cached by the SHA-256 of the original plus its parameters
under `<case>/.itaoreport/renditions/`, so a rebuild does not decode again. The
cache is only a speed-up: an unwritable case folder just means no cache.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

from PIL import __version__ as PILLOW_VERSION

from itaoreport.evidence.cache import no_links_below, read_cache_file
from itaoreport.write import write_atomic

if TYPE_CHECKING:
    from PIL import Image

SCREEN_WIDTH = 800
"""Widest screen rendition in pixels (report.html)."""
SCREEN_QUALITY = 85
SCREEN_RESAMPLE = "BICUBIC"
"""A phone screenshot shrinks by about 1.35 for the screen: bicubic (Pillow's, antialiased)
looks the same there as Lanczos and costs a third less (24 ms instead of 38 ms for 1080 px).
Print renditions, which shrink more and are what a reviewer prints, stay Lanczos."""
SCREEN_KEY = f"w{SCREEN_WIDTH}q{SCREEN_QUALITY}-bicubic"
"""The screen rendition's parameters, part of its cache keys."""
CACHE_DIR = Path(".itaoreport") / "renditions"
MM_PER_INCH = 25.4

PHONE_CSS_WIDTH = 430
"""Widest phone screen in CSS pixels (iPhone Pro Max 430; most Androids 360-412)."""
DESKTOP_CSS_WIDTH = 1440
"""A common laptop screen width in CSS pixels."""
FLOOR_PX_PER_CSS_PX = 0.8
"""Legibility floor: rendition pixels per CSS pixel of the original screen.

Apps draw body text at 14-17 CSS px (a line is ~20 CSS px), labels and times at
~12 CSS px. At 0.8 pixels per CSS pixel body text keeps >= 11 pixels per em and
>= 16 pixels per line, and the smallest labels >= 9.5 pixels, which is where
anti-aliased glyphs such as 3/8 and 1/l stay distinguishable. Below that, digits
in order numbers and amounts start to blur, and those are what a reviewer reads.
"""


@dataclass(frozen=True)
class Rendition:
    """An image prepared for the report (upright, scaled, re-encoded)."""

    name: str
    """Relative URL inside the output folder, e.g. assets/ab12cd34ef56.jpg."""
    data: bytes
    media_type: str
    width: int
    height: int

    @property
    def shape(self) -> str:
        """'tall' (a phone screenshot: drawn in a column) or 'wide' (drawn full width)."""
        return "tall" if is_tall((self.width, self.height)) else "wide"


def is_tall(size: tuple[int, int]) -> bool:
    """Portrait images are phone screenshots; anything squarer is a desktop screenshot."""
    return size[1] > size[0] * 1.2


@dataclass(frozen=True)
class PrintSpec:
    """How to prepare one image for print."""

    box_mm: tuple[float, float]
    """The largest (width, height) the layout draws the image at, in millimetres."""
    ppi: int
    """Target pixels per inch at the drawn size (never upscaled, never below the floor)."""
    quality: int
    """JPEG quality, 1-95."""
    grayscale: bool = False


def screen_rendition(image: Image.Image, sha256: str, cache_root: Path | None = None
                     ) -> Rendition:
    """Upright, at most SCREEN_WIDTH wide, JPEG (or PNG where transparency matters)."""
    width, height = image.size
    if width > SCREEN_WIDTH:
        width, height = SCREEN_WIDTH, max(1, round(height * SCREEN_WIDTH / width))
    alpha = image.mode in ("RGBA", "LA")
    ext = "png" if alpha else "jpg"
    key = f"{sha256}-{SCREEN_KEY}.{ext}"

    def encode() -> bytes:
        return _encode(_resized(image, width, height, SCREEN_RESAMPLE), ext, SCREEN_QUALITY,
                       grayscale=False)

    data = cached(cache_root, key, encode)
    return Rendition(f"assets/{sha256[:16]}.{ext}", data, _media(ext), width, height)


def drawn_size_mm(size: tuple[int, int], box_mm: tuple[float, float]) -> tuple[float, float]:
    """The size an image of `size` pixels is drawn at inside box_mm, keeping its shape."""
    width, height = size
    scale = min(box_mm[0] / width, box_mm[1] / height)
    return width * scale, height * scale


def floor_width_px(size: tuple[int, int]) -> int:
    """The narrowest rendition that keeps the screenshot's text legible (see FLOOR_PX_PER_CSS_PX).

    The original's width in CSS pixels is estimated from its shape: a portrait
    image is a phone (at most PHONE_CSS_WIDTH wide), anything else a desktop.
    """
    css_width = PHONE_CSS_WIDTH if is_tall(size) else DESKTOP_CSS_WIDTH
    width = size[0]
    return min(width, round(FLOOR_PX_PER_CSS_PX * min(width, css_width)))


def print_pixels(size: tuple[int, int], spec: PrintSpec) -> tuple[int, int]:
    """Pixel size of a print rendition: spec.ppi at the drawn size, within [floor, original]."""
    width, height = size
    drawn_w, _ = drawn_size_mm(size, spec.box_mm)
    target = round(drawn_w / MM_PER_INCH * spec.ppi)
    new_w = min(width, max(target, floor_width_px(size)))
    return new_w, max(1, round(height * new_w / width))


def print_rendition(load_master: Callable[[], Image.Image] | None, size: tuple[int, int],
                    master_size: tuple[int, int], sha256: str, spec: PrintSpec,
                    cache_root: Path | None = None) -> Rendition | None:
    """A JPEG for the PDF, made from a master (the original already scaled to master_size).

    Every print rendition of a file comes from the same master, so its bytes do not
    depend on which renditions happened to be cached; `load_master` runs only on a miss.
    Without `load_master` this only looks in the cache (None when it is not there).
    """
    width, height = print_pixels(size, spec)
    width, height = min(width, master_size[0]), min(height, master_size[1])
    tone = "gray" if spec.grayscale else "rgb"
    key = (f"{sha256}-m{master_size[0]}x{master_size[1]}-print{width}x{height}"
           f"-q{spec.quality}-{tone}.jpg")

    def encode() -> bytes:
        assert load_master is not None
        return _encode(_resized(load_master(), width, height), "jpg", spec.quality,
                       spec.grayscale)

    data = cached(cache_root, key, encode if load_master else None)
    if data is None:
        return None
    name = f"print/{sha256[:16]}-{width}-q{spec.quality}-{tone}.jpg"
    return Rendition(name, data, "image/jpeg", width, height)


def master_image(image: Image.Image, master_size: tuple[int, int]) -> Image.Image:
    """The original scaled once to the largest print size any layout asks for."""
    return _resized(image, *master_size)


def _resized(image: Image.Image, width: int, height: int, resample: str = "LANCZOS"
             ) -> Image.Image:
    """`resample`: the name of a Pillow filter (Image.Resampling)."""
    from PIL import Image

    if image.size == (width, height):
        return image
    return image.resize((width, height), resample=Image.Resampling[resample], reducing_gap=3.0)


def _encode(image: Image.Image, ext: str, quality: int, grayscale: bool) -> bytes:
    buf = io.BytesIO()
    if ext == "png":
        image.save(buf, format="PNG", optimize=True)
        return buf.getvalue()
    if grayscale:
        image = image.convert("L")
    elif image.mode in ("RGBA", "LA"):
        image = _flatten(image)
    elif image.mode != "L":
        image = image.convert("RGB")
    # 4:2:0 chroma subsampling is Pillow's default; UI text is carried by luminance.
    image.save(buf, format="JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def _flatten(image: Image.Image) -> Image.Image:
    """Transparent areas become white, as on paper."""
    from PIL import Image

    rgba = image.convert("RGBA")
    white = Image.new("RGBA", rgba.size, "white")
    return Image.alpha_composite(white, rgba).convert("RGB")


def _media(ext: str) -> str:
    return "image/png" if ext == "png" else "image/jpeg"


def cache_root_for(case_root: Path) -> Path | None:
    """Where a case's renditions are cached for this user (`.itaoreport/renditions/<owner
    tag>`, evidence/owner.py); None where a folder on the way is a link (never written
    through, as a case folder from someone else could point it anywhere)."""
    from itaoreport.evidence.owner import owner_tag

    folder = case_root / CACHE_DIR
    mine = folder / owner_tag()
    if folder.parent.is_symlink() or folder.is_symlink() or mine.is_symlink():
        return None
    return mine


def cached(cache_root: Path | None, key: str, make: Callable[[], bytes] | None) -> bytes | None:
    """Bytes from the cache, or made, stored (atomically, best effort) and returned;
    with no `make`, None on a miss.

    The key includes the Pillow version, since another encoder may give other bytes.
    """
    if cache_root is None:
        return make() if make else None
    root = os.fspath(cache_root)
    path = f"{root}{os.sep}pillow-{PILLOW_VERSION}{os.sep}{key[:2]}{os.sep}{key}"
    if not no_links_below(root, path):  # never read or write through a link
        return make() if make else None
    try:
        return read_cache_file(path)
    except OSError:
        pass
    if make is None:
        return None
    data = make()
    try:
        write_atomic(Path(path), data)
    except OSError:
        pass  # a read-only case folder only costs speed
    return data

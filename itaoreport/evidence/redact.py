"""Redaction of pictures: `redact:` regions solid black in every picture made for output.

Applied to the decoded pixels right after decoding, before any rendition, crop or
other picture derived for output (DESIGN C). Hashes and duplicate detection keep
working on the unaltered original file; every rendition made from redacted pixels
is cached and named under `redaction_key`, so the boxes are part of its cache key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

Box = tuple[int, int, int, int]


def redaction_key(sha256: str, boxes: Sequence[Sequence[int]]) -> str:
    """The name renditions of this picture are cached and served under: the file's SHA-256
    without boxes, else a SHA-256 of the file's hash and the boxes."""
    if not boxes:
        return sha256
    text = ";".join(",".join(str(int(v)) for v in box) for box in sorted(map(tuple, boxes)))
    return hashlib.sha256(f"{sha256}:redact:{text}".encode()).hexdigest()


def apply_redaction(image: Image.Image, boxes: Sequence[Sequence[int]]) -> Image.Image:
    """A copy of `image` with every box filled solid black (opaque where there is alpha)."""
    if not boxes:
        return image
    from PIL import ImageDraw

    out = image.copy()
    draw = ImageDraw.Draw(out)
    black = {"RGBA": (0, 0, 0, 255), "LA": (0, 255), "L": 0, "RGB": (0, 0, 0)}.get(out.mode, 0)
    width, height = out.size
    for x0, y0, x1, y1 in boxes:
        # [x0, y0, x1, y1] covers x0..x1 and y0..y1; a pixel more rather than a pixel less
        box = (max(0, x0), max(0, y0), min(width - 1, x1), min(height - 1, y1))
        if box[0] <= box[2] and box[1] <= box[3]:
            draw.rectangle(box, fill=black)
    return out


def scale_boxes(boxes: Sequence[Sequence[int]], source: tuple[int, int],
                target: tuple[int, int]) -> list[Box]:
    """Boxes of a picture of size `source` on a copy of it of size `target` (rounded outwards)."""
    import math

    if source == target:
        return [tuple(b) for b in boxes]  # type: ignore[misc]
    sx, sy = target[0] / source[0], target[1] / source[1]
    return [(math.floor(x0 * sx), math.floor(y0 * sy), math.ceil(x1 * sx), math.ceil(y1 * sy))
            for x0, y0, x1, y1 in boxes]


def outside(box: Sequence[int], size: tuple[int, int]) -> bool:
    """True when a box reaches beyond a picture of `size` pixels."""
    return box[2] > size[0] or box[3] > size[1]

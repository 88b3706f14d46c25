"""Regions of a picture the report points at, the trimmed view and the enlarged detail.

- `highlight_problems`: each attachment's `highlight` boxes lie inside its picture
  (original pixels after EXIF orientation), located at the `highlight:` line.
- `region_of`: the region of an attachment: its `highlight`, else the box the OCR
  quote check found the entry's quote in (context key `quote_checks`).
- `trim_rows`: the rows of a chat screenshot worth printing: a long run of empty,
  uniform background (the empty chat below the last message) is cut, so the
  picture is shown as a labelled *detail* of the unaltered original.
- `detail_rendition`: a crop around the region, drawn large enough that the
  screenshot's body text prints at >= 9 pt; its top and bottom edges are moved to the
  nearest rows without text (`whole_lines`), so it never starts or ends on half a line.

Trim rows and details are made from the screen rendition, which is made from the
same decoded (and, where asked, redacted) pixels as every other rendition, and
cached by the original's SHA-256 plus their parameters, so a warm build decodes
nothing. The region frame is drawn by the report in HTML/CSS over the picture,
never into its pixels.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from itaoreport.errors import Problem, error
from itaoreport.evidence.redact import redaction_key
from itaoreport.evidence.renditions import Rendition, cached, is_tall

if TYPE_CHECKING:
    from itaoreport.case.model import Case
    from itaoreport.evidence.exhibits import Evidence

Box = tuple[int, int, int, int]

BODY_TEXT_PT = 10.0
"""Body text of an enlarged detail on paper, in points (issue #15: >= 9 pt at 100 %; 10 pt
leaves room for app fonts a little smaller than 4 % of the screen width)."""
PT_MM = 25.4 / 72
TEXT_SHARE_TALL = 0.04
"""A phone app's body text is about 4 % of the screen width (16 CSS px of 390-430)."""
TEXT_PX_WIDE = 15
"""A desktop page's body text in pixels (14-16 CSS px at a scale of 1)."""
DETAIL_MAX_MM = (100.0, 90.0)
"""Largest (width, height) a detail is drawn at; a larger region is shown smaller."""
DETAIL_PAD = 0.02
"""Room kept left and right of the region, as a share of the picture's width (above and
below: a fifth of a line of body text)."""
DARK_BOOST = 1.35
"""Light text on a dark or saturated bubble (white on blue) reads worse when small, on paper
as for OCR: such a region's detail is drawn this much larger (13.5 pt body text), up to
DARK_MAX_WIDTH_MM wide."""
DARK_MAX_WIDTH_MM = 125.0
"""Widest such a detail is drawn: the text column beside the picture is about 130 mm on A4
and Letter."""
DARK_MEDIAN = 150
"""A region whose median luminance (0-255) is below this has a dark background."""
TRIM_MIN_SHARE = 0.18
"""A run of uniform rows is cut only when it is at least this share of the picture."""
TRIM_VERSION = "trim1"
EDGE_VERSION = "edge1"
EDGE_REACH = 1.0
"""How far a detail's top or bottom edge may move to a row without text, in lines of body
text (text_px): enough to take in, or leave out, a line the crop would cut in half."""
EDGE_INK = 24
"""A step of more than this (0-255 grey) between neighbouring pixels of a row is an edge."""
EDGE_MAX = 2
"""A row with at most this many such steps is free of text: flat background and a bubble's
sharp edges; a line of text has dozens, and even the descenders of a line (g, y, p) more."""


def highlight_problems(case: Case, evidence: Evidence) -> list[Problem]:
    """Every highlight box that is not inside its picture (or is on a file that is none)."""
    problems = []
    for entry in case.entries:
        for att in entry.attachments:
            if not att.highlight:
                continue
            info = evidence.attachments.get(att.path)
            where = att.highlight_loc or att.loc
            if info is None:
                continue
            if not info.width or not info.height:
                problems.append(error(where, f"highlight: {att.path} is not a picture, so it "
                                             "has no pixels to point at"))
                continue
            for box in att.highlight:
                x0, y0, x1, y1 = box
                if x1 > info.width or y1 > info.height:
                    problems.append(error(
                        where, f"highlight: box [{x0}, {y0}, {x1}, {y1}] lies outside "
                               f"{att.path}, which is {info.width}x{info.height} pixels",
                        "boxes are in the original's pixels after EXIF orientation (as an "
                        "image viewer shows it): x from the left, y from the top"))
    return problems


def union(boxes: list[Box]) -> Box:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
            max(b[3] for b in boxes))


def region_of(highlight: list[Box], check: dict | None, path: str, label: str
              ) -> tuple[list[Box], str | None]:
    """(boxes, source): the attachment's highlight, else the quote check's box when it
    found the quote in this picture; source is "highlight", "ocr" or None."""
    if highlight:
        return list(highlight), "highlight"
    if check and check.get("status") == "found" and check.get("box") and (
            check.get("path") == path or check.get("exhibit") == label):
        box = check["box"]
        try:
            x0, y0, x1, y1 = (int(v) for v in box)
        except (TypeError, ValueError):
            return [], None
        if x0 < x1 and y0 < y1:
            return [(x0, y0, x1, y1)], "ocr"
    return [], None


def text_px(size: tuple[int, int]) -> float:
    """About how tall the picture's body text is, in its own pixels."""
    width, _ = size
    return width * TEXT_SHARE_TALL if is_tall(size) else TEXT_PX_WIDE


def mm_per_px(size: tuple[int, int]) -> float:
    """Scale at which the picture's body text prints at BODY_TEXT_PT."""
    return BODY_TEXT_PT * PT_MM / text_px(size)


@dataclass(frozen=True)
class Detail:
    """An enlarged crop around a region."""

    rendition: Rendition
    box: Box
    """The crop, in the original's pixels."""
    width_mm: float
    height_mm: float


def detail_box(size: tuple[int, int], boxes: list[Box]) -> tuple[Box, float]:
    """The crop around `boxes` (original pixels) and its scale in mm per original pixel."""
    width, height = size
    x0, y0, x1, y1 = union(boxes)
    pad = round(width * DETAIL_PAD)
    pad_y = round(text_px(size) * 0.2)  # less than the gap between lines: no half line above
    x0, y0, x1, y1 = (max(0, x0 - pad), max(0, y0 - pad_y), min(width, x1 + pad),
                      min(height, y1 + pad_y))
    scale = mm_per_px(size)
    max_w, max_h = DETAIL_MAX_MM
    if is_tall(size):  # a chat: keep whole lines, the message bubbles start near the edges
        x0, x1 = 0, width
    scale = min(scale, max_w / (x1 - x0), max_h / (y1 - y0))
    return (x0, y0, x1, y1), scale


def detail_rendition(screen: Rendition, sha256: str, size: tuple[int, int], boxes: list[Box],
                     grayscale: bool, cache_root: Path | None, quality: int = 88
                     ) -> Detail:
    """The crop around `boxes`, cut from the screen rendition (same decoded pixels)."""
    crop, scale = detail_box(size, boxes)
    factor = screen.width / size[0]
    if is_dark(screen, sha256, [tuple(round(v * factor) for v in union(boxes))], cache_root):
        scale = min(scale * DARK_BOOST, DARK_MAX_WIDTH_MM / (crop[2] - crop[0]),
                    DETAIL_MAX_MM[1] / (crop[3] - crop[1]))
    px = tuple(round(v * factor) for v in crop)
    px = (px[0], px[1], max(px[2], px[0] + 1), max(px[3], px[1] + 1))
    region = tuple(round(v * factor) for v in union(boxes))
    top, bottom = whole_lines(screen, sha256, px, (region[1], region[3]),
                              max(1, round(text_px(size) * EDGE_REACH * factor)), cache_root)
    if (top, bottom) != (px[1], px[3]):
        px = (px[0], top, px[2], bottom)
        crop = (crop[0], max(0, round(top / factor)), crop[2],
                min(size[1], max(round(bottom / factor), round(top / factor) + 1)))
        scale = min(scale, DETAIL_MAX_MM[1] / (crop[3] - crop[1]))
    tone = "gray" if grayscale else "rgb"
    key = f"{sha256}-detail-{screen.width}-{'-'.join(map(str, px))}-q{quality}-{tone}.jpg"

    def make() -> bytes:
        from PIL import Image

        with Image.open(io.BytesIO(screen.data)) as im:
            part = im.crop(px)
            part = part.convert("L") if grayscale else part.convert("RGB")
            buf = io.BytesIO()
            part.save(buf, format="JPEG", quality=quality, optimize=True)
            return buf.getvalue()

    data = cached(cache_root, key, make)
    assert data is not None
    name = f"assets/detail-{sha256[:16]}-{'-'.join(map(str, px))}-{tone}.jpg"
    rendition = Rendition(name, data, "image/jpeg", px[2] - px[0], px[3] - px[1])
    x0, y0, x1, y1 = crop
    return Detail(rendition, crop, round((x1 - x0) * scale, 1), round((y1 - y0) * scale, 1))


def whole_lines(screen: Rendition, sha256: str, px: Box, region: tuple[int, int], reach: int,
                cache_root: Path | None) -> tuple[int, int]:
    """(top, bottom) rows of a detail crop (screen rendition pixels), each moved to the nearest
    row without text within `reach`, so the crop cuts no line of text in half; never into
    the region's rows (`region`: its first and end row). An edge with no such row nearby
    stays where it is."""
    key = f"{sha256}-{EDGE_VERSION}-{screen.width}-{'-'.join(map(str, px))}-{reach}.txt"

    def make() -> bytes:
        import numpy as np
        from PIL import Image

        x0, y0, x1, y1 = px
        with Image.open(io.BytesIO(screen.data)) as im:
            lo, hi = max(0, y0 - reach), min(im.height, y1 + reach)
            grey = np.asarray(im.convert("L").crop((x0, lo, x1, hi)), dtype=np.int16)
        steps = (np.abs(np.diff(grey, axis=1)) > EDGE_INK).sum(axis=1)
        blank = [lo + i for i in np.flatnonzero(steps <= EDGE_MAX).tolist()]

        def nearest(edge: int, low: int, high: int) -> int:
            found = [r for r in blank if low <= r <= high]
            return min(found, key=lambda r: (abs(r - edge), -r)) if found else edge

        # the crop's first row and the row just past its end (exclusive) must be free of text
        top = nearest(y0, max(lo, y0 - reach), min(y0 + reach, region[0] - 1))
        end_row = nearest(y1 - 1, max(y1 - 1 - reach, region[1]), min(hi - 1, y1 - 1 + reach))
        return f"{top} {end_row + 1}".encode()

    data = cached(cache_root, key, make) or b""
    try:
        top, bottom = (int(v) for v in data.decode().split())
    except ValueError:  # a damaged cache entry: keep the crop as planned
        return px[1], px[3]
    return (top, bottom) if top < bottom else (px[1], px[3])


def is_dark(screen: Rendition, sha256: str, boxes: list[Box], cache_root: Path | None) -> bool:
    """Whether the region (screen rendition pixels) has a dark background: light text."""
    box = boxes[0]
    key = f"{sha256}-dark-{screen.width}-{'-'.join(map(str, box))}.txt"

    def make() -> bytes:
        from PIL import Image, ImageStat

        with Image.open(io.BytesIO(screen.data)) as im:
            region = im.convert("L").crop(box)
            return b"1" if ImageStat.Stat(region).median[0] < DARK_MEDIAN else b"0"

    return cached(cache_root, key, make) == b"1"


def trim_rows(screen: Rendition, sha256: str, size: tuple[int, int],
              cache_root: Path | None) -> tuple[int, int]:
    """(first, end) rows of the original worth showing; (0, height) when nothing is cut.

    Only tall pictures (phone screenshots) are trimmed: the longest run of uniform
    background rows, when it is at least TRIM_MIN_SHARE of the picture, is cut
    together with everything on its far side (the empty chat and the input bar
    below the last message, or empty space above the first).
    """
    width, height = size
    if not is_tall(size):
        return 0, height
    key = f"{sha256}-{TRIM_VERSION}-{screen.width}x{screen.height}.txt"

    def make() -> bytes:
        first, end = _trim(screen.data)
        return f"{first} {end}".encode()

    data = cached(cache_root, key, make) or b""
    try:
        first, end = (int(v) for v in data.decode().split())
    except ValueError:  # a damaged cache entry: compute again, without the cache
        first, end = _trim(screen.data)
    factor = height / screen.height
    return max(0, round(first * factor)), min(height, round(end * factor))


def _trim(data: bytes) -> tuple[int, int]:
    """(first, end) rows of an encoded picture, in its own pixels."""
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        grey = np.asarray(im.convert("L"), dtype=np.int16)
    height = grey.shape[0]
    uniform = (grey.max(axis=1) - grey.min(axis=1)) <= 10
    level = grey.mean(axis=1)
    first, end = 0, height
    best = (0, 0)
    start = None
    for row in range(first, end + 1):
        same = row < end and uniform[row] and (
            start is None or abs(level[row] - level[start]) <= 4)
        if same and start is None:
            start = row
        elif not same and start is not None:
            if row - start > best[1] - best[0]:
                best = (start, row)
            start = row if row < end and uniform[row] else None
    a, b = best
    pad = max(4, round(height * 0.015))
    if b - a >= TRIM_MIN_SHARE * height:
        if a - first >= end - b:  # more picture above the empty run: keep the top
            end = min(end, a + pad)
        else:
            first = max(first, b - pad)
    return first, max(end, first + 1)


@dataclass
class Figure:
    """How one attachment of one entry is drawn: the rows shown, the region, the detail."""

    rows: tuple[int, int]
    boxes: list[Box]
    source: str | None
    detail: Detail | None = None
    detail_print: Detail | None = None
    """The detail for the PDF (grey for a black-and-white portal); else the same."""


def plan_figures(case: Case, evidence: Evidence, quote_checks: dict, grayscale: bool,
                 cache_root: Path | None) -> dict[tuple[str, str], Figure]:
    """(entry id, attachment path) -> Figure, for each picture an entry shows first, and for
    each later use of a picture that points at a region of it (its own `highlight:` or the
    entry's quote found there): that entry gets the enlarged detail, the picture is not
    shown again."""
    shown: set[str] = set()
    plans: dict[tuple[str, str], Figure] = {}
    exhibits = {x.label: x for x in evidence.exhibits}
    rows_of: dict[str, tuple[int, int]] = {}
    for entry in case.entries:
        for att in entry.attachments:
            info = evidence.attachments.get(att.path)
            x = exhibits.get(info.exhibit or "") if info else None
            if x is None or x.rendition is None or not info.width:
                continue
            again = x.label in shown
            shown.add(x.label)
            size = (info.width, info.height)
            kept = evidence.attachments[x.path]
            # cached under the picture as shown: with redact boxes, never the unredacted one's
            view = redaction_key(kept.sha256, x.redact)
            if x.label not in rows_of:
                rows_of[x.label] = trim_rows(x.rendition, view, size, cache_root)
            boxes, source = region_of(att.highlight, quote_checks.get(entry.id), att.path,
                                      x.label)
            boxes = [b for b in boxes if b[2] <= size[0] and b[3] <= size[1]]
            if again and not boxes:
                continue
            first, end = rows_of[x.label]
            if boxes:
                region = union(boxes)
                first, end = min(first, region[1]), max(end, region[3])
            figure = Figure((first, end), boxes, source if boxes else None)
            if boxes:
                figure.detail = detail_rendition(x.rendition, view, size, boxes, False,
                                                 cache_root)
                figure.detail_print = detail_rendition(
                    x.rendition, view, size, boxes, True, cache_root) if grayscale \
                    else figure.detail
            plans[(entry.id, att.path)] = figure
    return plans

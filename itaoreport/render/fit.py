"""Fitting the PDF into a portal's limits without losing evidence or legibility.

Two independent knobs, tried in order:
1. Layout (pages): LAYOUTS from roomy to dense. Only the layout changes the page
   count; the first that fits --max-pages is kept.
2. Image steps (bytes): QUALITY_STEPS lower the print resolution and JPEG quality.
   Pixel sizes never go below the legibility floor (evidence/renditions.py,
   FLOOR_PX_PER_CSS_PX) and quality never below the last step's.

Originals are embedded whenever the budget allows: by default every profile embeds
them all, and when the PDF is then over the byte limit at the best image step, the
largest are left out first until it fits (a note says which). Pictures keep priority:
when even the PDF without originals is too big, none are embedded and the image
steps make room. `--embed-originals` makes all of them required, `--no-embed-originals`
leaves them all out. If nothing fits, BuildFailed says by how much and what would
fit; no evidence is ever left out of the report itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING


from itaoreport.errors import BuildFailed
from itaoreport.evidence.renditions import (
    PrintSpec,
    Rendition,
    is_tall,
    master_image,
    print_pixels,
    print_rendition,
)
from itaoreport.render.pdf import Assets, PdfAttachment, render_document, write_document
from itaoreport.render.profiles import Profile, format_size

if TYPE_CHECKING:
    from PIL import Image


@dataclass(frozen=True)
class Layout:
    """How the evidence is laid out in print, and the boxes images are drawn into."""

    name: str
    tall_box_mm: tuple[float, float]
    """Largest (width, height) of a phone screenshot, drawn beside the entry's text. Widths
    stay >= 36 mm; the quoted message is shown again, enlarged to >= 9 pt body text, as a
    detail (evidence/regions.py)."""
    wide_box_mm: tuple[float, float]
    """Largest (width, height) of a landscape screenshot."""
    dense: bool = False
    """Also tighten the text and the tables."""

    def box_for(self, size: tuple[int, int]) -> tuple[float, float]:
        return self.tall_box_mm if is_tall(size) else self.wide_box_mm

    def css(self) -> str:
        """Print CSS for this layout; appended after the theme's print.css."""
        (tw, th), (ww, wh) = self.tall_box_mm, self.wide_box_mm
        css = f"""
/* layout {self.name} (itaoreport/render/fit.py): each entry is one row, its pictures at the
   left (a phone screenshot {tw} mm wide, cut to its rows with content), its text and the
   enlarged detail of the quoted message at the right. An entry is never split. */
.entry-body.side > .entry-pics {{ width: {tw}mm; padding-right: 3mm; }}
.entry.pics-2 .entry-body.side > .entry-pics {{ width: {2 * tw * 0.8 + 2:.1f}mm; }}
.entry.pics-2 .entry-body.side .exhibit {{ width: {tw * 0.8:.1f}mm; margin-right: 1mm; }}
.exhibit.shape-wide {{ width: {ww}mm; max-width: 100%; }}
.exhibit figcaption {{ font-size: 7pt; line-height: 1.25; }}
.detail {{ max-width: 100%; }}
"""
        if self.dense:
            css += """
body { font-size: 8.5pt; line-height: 1.3; }
.log-table { font-size: 7pt; }
.entry { padding: 1mm 1.5mm; margin-bottom: 1.5mm; }
.entry-head { font-size: 8.5pt; }
.exhibit figcaption { font-size: 6.5pt; }
.deadline-mark { font-size: 8pt; margin: 1mm 0; }
.appendix-table, .provenance-table { font-size: 6.5pt; }
"""
        return css


LAYOUTS = [
    Layout("standard", (40.0, 200.0), (150.0, 110.0)),
    Layout("dense", (36.0, 170.0), (120.0, 90.0), dense=True),
]


@dataclass(frozen=True)
class Step:
    """One image step: print resolution at the drawn size, and JPEG quality."""

    ppi: int
    quality: int


QUALITY_STEPS = [Step(200, 82), Step(170, 75), Step(150, 68), Step(130, 60), Step(110, 52),
                 Step(100, 45)]
"""Best first. Quality 45 is the lowest: below it JPEG ringing fills the counters of
small letters (e, a, 8) in screenshot text."""
MARGIN = 0.99
"""Aim 1 % under a size limit: the estimate of the next step's size is not exact."""


FIRST_TRY = (LAYOUTS[0], QUALITY_STEPS[0])
"""The layout and image step every PDF is rendered with first."""


def print_spec(layout: Layout, step: Step, size: tuple[int, int], grayscale: bool) -> PrintSpec:
    """How an image of `size` pixels is prepared for `layout` at image step `step`."""
    return PrintSpec(layout.box_for(size), step.ppi, step.quality, grayscale)


def master_size(size: tuple[int, int]) -> tuple[int, int]:
    """Largest print size any layout asks for: the best step in the widest box."""
    boxes = [layout.box_for(size) for layout in LAYOUTS]
    widest = max(boxes, key=lambda box: box[0] * box[1])
    return print_pixels(size, PrintSpec(widest, QUALITY_STEPS[0].ppi, 0))


@dataclass(frozen=True)
class PrintPrep:
    """The first attempt's print rendition of each screenshot, made by the evidence stage
    while the image is decoded anyway, so a build decodes each screenshot once.

    It is made from the same master as every other print rendition, so its bytes are
    the ones fitting would have made. Picklable: worker processes call `make`.
    """

    grayscale: bool
    cache_root: Path | None

    def spec(self, size: tuple[int, int]) -> PrintSpec:
        return print_spec(*FIRST_TRY, size, self.grayscale)

    def lookup(self, size: tuple[int, int], sha256: str) -> Rendition | None:
        """The rendition from the cache, or None."""
        return print_rendition(None, size, master_size(size), sha256, self.spec(size),
                               self.cache_root)

    def make(self, image: Image.Image, sha256: str) -> Rendition:
        """The rendition of a decoded, upright image (stored in the cache)."""
        size = image.size
        big = master_size(size)
        made = print_rendition(lambda: master_image(image, big), size, big, sha256,
                               self.spec(size), self.cache_root)
        assert made is not None
        return made


@dataclass
class PrintImage:
    """One exhibit picture to prepare for print."""

    label: str
    path: str
    size: tuple[int, int]
    sha256: str
    entry: str
    """The entry that shows it."""
    load: Callable[[], Image.Image]
    """Decodes the original (upright); called at most once per build, and only when a
    rendition other than `first` is needed."""
    first: Rendition | None = None
    """The rendition of the first attempt (FIRST_TRY), prepared by the evidence stage
    while it had the image decoded (see PrintPrep)."""
    _master: Image.Image | None = field(default=None, repr=False)

    def master_size(self) -> tuple[int, int]:
        return master_size(self.size)

    def master(self) -> Image.Image:
        if self._master is None:
            self._master = master_image(self.load(), self.master_size())
        return self._master


@dataclass
class FitJob:
    """Everything fitting needs; html_for makes the print HTML for a layout."""

    html_for: Callable[[Layout], str]
    images: list[PrintImage]
    assets: Assets
    """Other files the HTML uses (screen renditions, theme files)."""
    attachments: list[PdfAttachment]
    """Always embedded (report.json)."""
    originals: list[tuple[str, int, Callable[[], PdfAttachment]]]
    """(path, size, loader) of each original evidence file."""
    when: tuple[date, date]
    grayscale: bool = False
    cache_root: Path | None = None


@dataclass
class FitResult:
    pdf: bytes
    layout: Layout
    step: Step
    pages: int
    originals_embedded: int
    """How many of the original evidence files are embedded ..."""
    originals_total: int
    """... of how many."""
    notes: list[str] = field(default_factory=list)
    renders: int = 0


def image_url(label: str) -> str:
    """The URL the print HTML uses for an exhibit's picture."""
    return f"print/{label}.jpg"


class _Fitter:
    def __init__(self, job: FitJob, profile: Profile, say: Callable[[str], None]):
        self.job, self.profile, self.say = job, profile, say
        self.renders = 0
        self._renditions: dict[tuple[str, Step, str], Rendition] = {}

    def renditions(self, step: Step, layout: Layout) -> dict[str, Rendition]:
        result = {}
        for img in self.job.images:
            key = (img.label, step, layout.name)
            if key not in self._renditions and img.first and (layout, step) == FIRST_TRY:
                self._renditions[key] = img.first
            if key not in self._renditions:
                spec = print_spec(layout, step, img.size, self.job.grayscale)
                self._renditions[key] = print_rendition(img.master, img.size,
                                                        img.master_size(), img.sha256, spec,
                                                        self.job.cache_root)
            result[img.label] = self._renditions[key]
        return result

    def render(self, layout: Layout, step: Step):
        assets = dict(self.job.assets)
        for label, r in self.renditions(step, layout).items():
            assets[image_url(label)] = (r.data, r.media_type)
        self.renders += 1
        return render_document(self.job.html_for(layout), assets)

    def image_bytes(self, step: Step, layout: Layout) -> int:
        return sum(len(r.data) for r in self.renditions(step, layout).values())


def fit_pdf(job: FitJob, profile: Profile, embed_originals: bool | None = None,
            say: Callable[[str], None] = lambda message: None) -> FitResult:
    """The PDF that fits `profile`, at the best layout and image step that fit.

    Originals: `embed_originals` None (the default) embeds every original that fits the
    byte budget, leaving out the largest first when they do not all fit (said in the
    notes); True embeds all of them or fails; False embeds none.
    """
    fitter = _Fitter(job, profile, say)
    layout, document = _fit_pages(fitter)
    pages = len(document.pages)
    originals = ([load() for _, _, load in job.originals]
                 if embed_originals is not False else [])
    pdf = write_document(document, job.attachments + originals, job.when)
    step = QUALITY_STEPS[0]
    notes: list[str] = []
    budget = profile.max_bytes

    def done(pdf: bytes, step: Step) -> FitResult:
        return FitResult(pdf, layout, step, pages, len(originals), len(job.originals), notes,
                         fitter.renders)

    if budget is None or len(pdf) <= budget:
        return done(pdf, step)
    if embed_originals is None and originals:
        pdf, originals = _fewer_originals(job, document, originals, len(pdf), budget, notes)
        if len(pdf) <= budget:
            return done(pdf, step)
    overhead = len(pdf) - fitter.image_bytes(step, layout)
    for step in QUALITY_STEPS[1:]:
        estimate = overhead + fitter.image_bytes(step, layout)
        if estimate > budget * MARGIN:
            continue
        say(f"fitting {format_size(budget)}: images at {step.ppi} ppi, quality {step.quality}")
        pdf = write_document(fitter.render(layout, step), job.attachments + originals, job.when)
        if len(pdf) <= budget:
            return done(pdf, step)
        overhead = len(pdf) - fitter.image_bytes(step, layout)
    raise BuildFailed(_too_big_message(fitter, layout, overhead, budget, bool(originals)))


def _fewer_originals(job: FitJob, document, originals: list[PdfAttachment], full: int,
                     budget: int, notes: list[str]) -> tuple[bytes, list[PdfAttachment]]:
    """The PDF with as many originals as fit `budget` at the best image step, leaving out
    the largest first; with none when even the PDF without originals is over budget
    (the image steps then make room, and pictures keep priority over originals)."""
    bare = write_document(document, job.attachments, job.when)
    total = sum(len(a.data) for a in originals)
    pdf, kept = bare, []
    if len(bare) <= budget:
        extra = full - len(bare)
        by_size = sorted(originals, key=lambda a: (-len(a.data), a.name))
        for count in range(1, len(by_size)):
            left_in = by_size[count:]
            estimate = len(bare) + extra * sum(len(a.data) for a in left_in) / max(total, 1)
            if estimate > budget * MARGIN:
                continue
            keep = {id(a) for a in left_in}
            candidate_kept = [a for a in originals if id(a) in keep]
            candidate = write_document(document, job.attachments + candidate_kept, job.when)
            if len(candidate) <= budget:
                pdf, kept = candidate, candidate_kept
                break
    kept_ids = {id(a) for a in kept}
    dropped = sorted((a for a in originals if id(a) not in kept_ids),
                     key=lambda a: (-len(a.data), a.name))
    limit = format_size(budget)
    if kept:
        names = ", ".join(f"{a.name} ({format_size(len(a.data))})" for a in dropped[:5])
        more = f" and {len(dropped) - 5} more" if len(dropped) > 5 else ""
        notes.append(f"{len(dropped)} of the {len(originals)} original evidence files were not "
                     f"embedded (the largest, left out first, to stay under the {limit} "
                     f"limit): {names}{more}. report.json inside still holds the SHA-256 of "
                     "every file.")
    else:
        why = (f"with them the PDF would be {format_size(full)}" if len(bare) <= budget else
               f"even without them the PDF is {format_size(len(bare))}")
        notes.append(f"the {len(originals)} original evidence files ({format_size(total)}) "
                     f"were not embedded: {why}, over the {limit} limit (report.json inside "
                     "still holds the SHA-256 of every file)")
    return pdf, kept


def _originals_size(job: FitJob) -> int:
    return sum(size for _, size, _ in job.originals)


def _fit_pages(fitter: _Fitter):
    max_pages = fitter.profile.max_pages
    document = None
    for layout in LAYOUTS:
        document = fitter.render(layout, QUALITY_STEPS[0])
        if max_pages is None or len(document.pages) <= max_pages:
            return layout, document
        fitter.say(f"{len(document.pages)} pages in the {layout.name} layout; "
                   f"{fitter.profile.name} allows {max_pages}")
    raise BuildFailed(_too_many_pages_message(fitter, document, LAYOUTS[-1]))


def anchor_pages(document) -> dict[str, int]:
    """1-based page of every id in the document (its first page)."""
    pages: dict[str, int] = {}
    for number, page in enumerate(document.pages, start=1):
        for anchor in page.anchors:
            pages.setdefault(anchor, number)
    return pages


def _too_many_pages_message(fitter: _Fitter, document, layout: Layout) -> str:
    profile, images = fitter.profile, fitter.job.images
    total = len(document.pages)
    over = total - (profile.max_pages or 0)
    text = (f"report.pdf needs {total} pages even in the {layout.name} layout "
            f"(phone screenshots {layout.tall_box_mm[0]:g} mm wide); {profile.name} allows "
            f"{profile.max_pages} ({over} too many).")
    where = anchor_pages(document)
    shown = [where[f"exhibit-{img.label}"] for img in images if f"exhibit-{img.label}" in where]
    if shown:
        first, last = min(shown), max(shown)
        span = last - first + 1
        text += (f" The {len(shown)} screenshots of entries {images[0].entry} to "
                 f"{images[-1].entry} take {span} pages ({first}-{last}).")
        room = (profile.max_pages or 0) - (total - span)
        per_page = len(shown) / span
        if room > 0:
            text += (f" {profile.max_pages} pages hold about {math.floor(room * per_page)} of "
                     f"the {len(shown)} screenshots.")
        else:
            text += f" Even without screenshots the report takes {total - span} pages."
    return text + (" Nothing was written. Use a profile without a page limit "
                   "(visa, paypal, generic), or --max-pages if the portal accepts more.")


def _too_big_message(fitter: _Fitter, layout: Layout, overhead: int, budget: int,
                     with_originals: bool) -> str:
    floor = QUALITY_STEPS[-1]
    images = fitter.image_bytes(floor, layout)
    total = overhead + images
    over = total - budget
    text = (f"report.pdf would be {format_size(total)} even with every screenshot at the "
            f"legibility floor ({floor.ppi} pixels per inch or 0.8 pixels per screen pixel, "
            f"JPEG quality {floor.quality}); {fitter.profile.name} allows "
            f"{format_size(budget)} ({format_size(over)} or {over / budget:.0%} over).")
    count = len(fitter.job.images)
    if count:
        average = images / count
        text += (f" The {count} screenshots take {format_size(images)} of that; the text, "
                 f"fonts and report.json {format_size(overhead)}")
        text += " (with the embedded originals)." if with_originals else "."
        fits = max(0, math.floor((budget * MARGIN - overhead) / average))
        text += f" About {min(fits, count)} of the {count} screenshots would fit."
    hint = (" Leave out --embed-originals," if with_originals else "")
    return text + (f" Nothing was written.{hint} Use a profile with a larger limit, or "
                   "--max-size if the portal accepts more.")

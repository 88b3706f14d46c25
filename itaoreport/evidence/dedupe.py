"""Duplicate screenshots: merge true copies, never merge different evidence.

Two stages:

1. Candidates, cheaply: identical files (SHA-256) and identical decoded pixels
   merge outright. Perceptual hashes (imagehash pHash) of every image are
   compared in one vectorised pass (XOR + popcount over all pairs) and pairs
   within CANDIDATE_DISTANCE bits and of the same aspect ratio become
   candidates. A hash match alone never merges anything.
2. The verifier decides each candidate (verify_keys): both images are brought to a
   common size (the smaller one's, at most 480 px wide for a phone screenshot, wider up to
   560 px when the kept image's text is small: compare_size, text_height),
   lightly blurred, and in every glyph-sized window one is fitted to the other by a
   straight tone line. What the line leaves unexplained is judged against a noise model
   of what re-encoding does to *that* pair (its grain in flat windows, and a fraction of
   the window's own contrast for edges). A changed digit of the clock, one changed
   character or a read tick leaves far more than the model allows and rejects the pair.

No chaining: images are taken best first (most pixels, lossless, then path);
each joins a group only if it matches that group's kept image.

Scores (`score` in results, report.json's dedupe score) are the verifier's worst window
in multiples of its noise allowance: 0 for identical pixels, at most SCORE_CAP (1.6) for a
merged copy, larger where something differs. Pairs rejected by the verifier are reported
as "kept separate" with their score.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # imported where pixels are handled: a warm build needs neither
    from pathlib import Path

    import numpy as np
    from PIL import Image

    from itaoreport.evidence.images import Decoded

NORM_WIDTH = 720
"""Widest grayscale rendition kept for verification (cached); a phone screenshot's
small status-bar text is still ~8 px tall at this width."""
CANDIDATE_DISTANCE = 10
"""pHash bits (of 64) within which two images are compared at all."""
ASPECT_TOLERANCE = 0.015
"""Relative difference of width/height ratios still considered the same framing."""
BLUR_RADIUS = 0.8
"""Gaussian blur (pixels at the comparison size) that evens out resampling differences."""
WINDOW_DIVISOR = 110
"""Window side = comparison width / this: ~7 px at 720 wide, the size of one small glyph."""
COMPARE_WIDTH = 480
"""A portrait (phone) screenshot whose text is of ordinary size is compared at most this wide,
and never wider than the smaller of the two grayscales (never enlarged): text of ordinary size
(a glyph ~1.6 % of the width or more, TEXT_HEIGHT) is then still ~7.5 px tall, while the
noise that two resampling paths and JPEG leave at the finest scale is averaged away.
Landscape pictures (desktop, tablet: smaller text relative to the width) are compared at up to
NORM_WIDTH. Measured (#20, round 4): at 540 px for every pair the real set's closest near-miss
scored higher (1.9-2.0) but 60 % + JPEG q60 copies of the generator's 1080-1170 px scenes
(large text) rose to 1.37; at 720 px lossy same-size copies rose (WEBP up to 1.53). See
docs/dedupe.md."""
TEXT_HEIGHT = 7.5
"""Pixels a typical glyph of the kept image (text_height: the median height of glyph-like ink
blobs) should have at COMPARE_WIDTH. A screenshot with smaller text (a phone screen framed in
an app-store picture, a dense list) is compared at FINE_WIDTH instead, so that a changed glyph
is still drawn with enough pixels.
Measured (#20, round 5, 2026-12-02) on the 720 px grayscales: the generator's 91 chat scenes
1.81-2.78 % of the width (so 480 px, as before), the real set's 80 originals 0.83-4.31 %
(median 1.53 %; 48 of them at 560 px). Real set at e06137c (`benchmarks/dedupe_realset.py
score`): margin 1.41 -> 2.08 / 1.16 = 1.79, 0 false merges, every copy kind 80/80; generator
sets unchanged (1.60, 1.58). Cost: text_height ~17 ms per kept image (~300 on the real set),
and pairs at 560 px have 1.36x the pixels: the real set's group stage +13 % CPU at load 5-6,
~+8 % (two back-to-back runs, -1 % and +18 %) at load ~2 after main's exact cuts.
docs/dedupe.md."""
FINE_WIDTH = 560
"""The comparison width for small text (TEXT_HEIGHT). Measured (#20, round 5, real set, the
small-text pairs at this width; labelled pairs' grayscale and palette verdicts): 540 px margin
1.99 / 1.15 = 1.73, 560 px 2.08 / 1.17 = 1.78, 600 px 2.08 / 1.29 = 1.61 (a palette and the
75 % + JPEG q70 copies rise), 720 px (round 4, every pair) 1.36."""
NATIVE_RATIO = 0.85
"""...except that a smaller grayscale this close to the chosen width (481-564 px for 480 px)
is compared at its own width: Lanczos by a ratio near 1 blurs unevenly (half-size copies of
1080 px screenshots, 540 px: up to 1.27 at 480 px, up to 0.99 at their own width)."""
TEXT_INK = 40
"""text_height: a pixel is ink where it differs from the mean of its 9 x 9 neighbourhood by
more than this many grey levels."""
TEXT_MIN_BLOBS = 20
"""text_height: fewer glyph-like blobs than this and the picture has no text to size by."""
RESIDUAL_BLOCKS = 3
"""A residual window is this many blocks on a side (_residuals)."""
TONE_EPS = 1.0
"""Added to a window's variance before dividing by it: a flat window explains nothing."""
NOISE_BASE = 2.0
FLAT_NOISE_WEIGHT = 1.0
EDGE_NOISE = 0.02
"""The noise model (verify_keys): a copy's window may leave unexplained a variance of
NOISE_BASE + FLAT_NOISE_WEIGHT * (this pair's noise in flat windows) + EDGE_NOISE * (the
window's own variance): re-encoding and resampling err most on strong edges, by a small
fraction of their contrast (~14 % in RMS), and by this pair's grain elsewhere. (1.5 times
the grain was tried in round 4: real-set margin 1.51, but the shrunk near-misses' fell to
1.42.)"""
FLAT_VARIANCE = 25.0
FLAT_PERCENTILE = 99.9
"""The pair's noise in flat windows: this percentile of the residual variance over
windows whose variance is below FLAT_VARIANCE (grey levels squared: RMS under 5)."""
SCORE_CAP = 1.6
"""A pair merges when no window's residual exceeds this many times its allowance.

1.3 until round 7 (#20). Compared at their own width (360-540 px: no shrinking to soften
the ringing JPEG leaves at thin text), JPEG q60 copies of small drawn chats scored 1.2-1.62
(`dedupe_realset.py make-drawn`, seeds 1-3: 126 copies; at 1.3, 12 of the first 42 stayed
apart; at 1.6 one, scoring 1.62); on every set measured, pairs that differ (near-misses,
other screenshots) score at least 2.03 (bench_dedupe; real set and devset 2.11, drawn chats
2.63). 1.6 stays 1.27 times below the closest difference; nothing moved on the real or
generator sets (no pair of theirs scores between 1.3 and 1.6)."""
MIN_VERIFY_WIDTH = 240
"""Narrower than this (a phone screenshot's 14 px text under 9 px tall), a changed digit no
longer stands out from what shrinking does: such a copy is listed, never merged."""
LOSSLESS_PEAK = 1.0
"""Two lossless images of the same size may differ by no more than rounding."""
PALETTE_RECHECK = 6.0
"""A pair with a reduced-colour (palette) side that the grayscale comparison refuses with a
score up to this is checked again against a simulation of that palette (palette_verdict).
Real 256-colour palette copies score up to 4.4 in grayscale at 540 px (4.8 at 480 px:
colourful emoji, avatars, photos); a pair scoring more is refused without paying for the
simulation (most changed glyphs in a palette copy score 4-8 in grayscale)."""
PALETTE_SCORED = 1.0
"""A palette pair that grayscale merges with a score above this is still simulated, for its
score: real palette copies merged in grayscale at up to 1.28, 0.6-1.0 against the
simulation (the margin is measured on merged copies' scores)."""
COARSE_WIDTH = 120
COARSE_REJECT = 40.0
"""At one sixth of the resolution a windowed difference above this (grey levels) means a
different picture altogether, so the full comparison is skipped."""


@dataclass(frozen=True)
class ImageFacts:
    """What the detector needs to know about one image; cacheable by SHA-256."""

    sha256: str
    size: int
    """File size in bytes."""
    width: int
    height: int
    format: str
    lossless: bool
    pixel_digest: str
    """SHA-256 of the decoded, upright pixels at their full depth, every frame (images.py)."""
    phash: int
    """64-bit perceptual hash (imagehash.phash) as an unsigned integer."""
    frames: int = 1
    """Frames (pages) in the file; a multi-frame file merges only with identical pixels."""

    def to_json(self) -> dict:
        return {"sha256": self.sha256, "size": self.size, "width": self.width,
                "height": self.height, "format": self.format, "lossless": self.lossless,
                "pixel_digest": self.pixel_digest, "phash": f"{self.phash:016x}",
                "frames": self.frames}

    @classmethod
    def from_json(cls, data: dict) -> ImageFacts:
        return cls(data["sha256"], int(data["size"]), int(data["width"]), int(data["height"]),
                   str(data["format"]), bool(data["lossless"]), str(data["pixel_digest"]),
                   int(data["phash"], 16), int(data["frames"]))


@dataclass(frozen=True)
class Match:
    path: str
    stage: str
    """exact (same bytes), pixels (same decoded pixels) or verified (stage-2 check)."""
    score: float


@dataclass
class Group:
    keep: str
    duplicates: list[Match] = field(default_factory=list)


@dataclass(frozen=True)
class Near:
    a: str
    b: str
    score: float


@dataclass
class DedupeResult:
    groups: list[Group]
    """Only groups with at least one duplicate."""
    kept_separate: list[Near]
    keep_of: dict[str, str] = field(default_factory=dict)
    """Every image key -> the key of the image it is shown as (itself when kept)."""

    def to_json(self) -> dict:
        return {
            "groups": [{"keep": g.keep, "duplicates": [
                {"path": m.path, "stage": m.stage, "score": m.score} for m in g.duplicates]}
                for g in self.groups],
            "kept_separate": [{"a": n.a, "b": n.b, "score": n.score} for n in self.kept_separate],
        }


def rgb(image: Image.Image) -> Image.Image:
    """Upright image as RGB; transparency is composited over white as viewers show it."""
    from PIL import Image

    if image.mode in ("RGBA", "LA") and image.getchannel("A").getextrema()[0] == 255:  # opaque
        return image.convert("RGB")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")  # no copy (#20)
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB") if image.mode != "RGB" else image


def analyse(decoded: Decoded, sha256: str, size: int) -> tuple[ImageFacts, np.ndarray]:
    """Facts and the normalised grayscale of an image from evidence/images.open_image."""
    return analyse_decoded(decoded.image, sha256, size, decoded.format, decoded.lossless,
                           pixel_digest=decoded.pixel_digest, frames=decoded.frames)


def analyse_decoded(image: Image.Image, sha256: str, size: int, fmt: str,
                    lossless: bool, *, pixel_digest: str | None = None,
                    frames: int = 1) -> tuple[ImageFacts, np.ndarray]:
    """Facts and the normalised grayscale array of one decoded, upright 8-bit image.

    `pixel_digest`: the full-depth digest open_image made; without it (an image made in
    memory) the digest of the 8-bit RGB pixels.
    """
    import imagehash
    from PIL import Image

    from itaoreport.evidence.resample import shrink

    colour = rgb(image)
    if pixel_digest is None:
        from itaoreport.evidence.images import pixel_hash

        digest = pixel_hash(f"{colour.width}x{colour.height}:".encode())
        digest.update(colour.tobytes())
        pixel_digest = digest.hexdigest()
    normalised = normalised_gray(colour.convert("L"))
    # from the normalised grayscale, shrunk to pHash's 32 x 32 here (evidence/resample.py:
    # ~1 ms where imagehash's own Lanczos from 720 px took ~6 ms); its resize is then none
    phash = int(str(imagehash.phash(Image.fromarray(shrink(normalised, (32, 32)).astype("uint8")))), 16)
    facts = ImageFacts(sha256, size, colour.width, colour.height, fmt, lossless,
                       pixel_digest, phash, frames)
    return facts, normalised


def normalised_gray(image: Image.Image) -> np.ndarray:
    """Grayscale at most NORM_WIDTH wide, as uint8."""
    import numpy as np
    from PIL import Image

    from itaoreport.evidence.resample import shrink

    gray = image if image.mode == "L" else image.convert("L")
    if gray.width <= NORM_WIDTH:
        return np.asarray(gray, dtype=np.uint8)
    height = max(1, round(gray.height * NORM_WIDTH / gray.width))
    if gray.width >= 3 * NORM_WIDTH * 2:  # Pillow would first reduce by whole factors
        gray = gray.resize((NORM_WIDTH, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
        return np.asarray(gray, dtype=np.uint8)
    return shrink(np.asarray(gray, dtype=np.uint8), (NORM_WIDTH, height)).astype(np.uint8)


def keep_rank(facts: ImageFacts, key: str) -> tuple:
    """Best first: most pixels, lossless, larger file, then key for determinism."""
    return (-(facts.width * facts.height), not facts.lossless, key)


def popcount64(values: np.ndarray) -> np.ndarray:
    import numpy as np

    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(values)
    as_bytes = values.view(np.uint8).reshape(values.shape + (8,))
    table = np.array([i.bit_count() for i in range(256)], dtype=np.uint8)
    return table[as_bytes].sum(axis=-1)


PURE_PYTHON_PAIRS = 600
"""Up to this many hashes the pairs are compared in plain Python (600 hashes: ~40 ms),
which spares a warm build importing numpy (~50 ms); above, one vectorised pass."""


def candidate_pairs(hashes: list[int], aspects: list[float],
                    max_distance: int = CANDIDATE_DISTANCE) -> set[tuple[int, int]]:
    """Index pairs (i < j) whose hashes are close and whose framing matches."""
    if len(hashes) < 2:
        return set()
    if len(hashes) <= PURE_PYTHON_PAIRS:
        return _candidate_pairs_python(hashes, aspects, max_distance)
    import numpy as np

    h = np.array(hashes, dtype=np.uint64)
    ar = np.array(aspects, dtype=np.float64)
    pairs: set[tuple[int, int]] = set()
    block = 512
    for start in range(0, len(h), block):
        rows = h[start:start + block]
        distance = popcount64(rows[:, None] ^ h[None, :])
        close = distance <= max_distance
        aspect_ok = np.abs(ar[start:start + block, None] - ar[None, :]) <= \
            ASPECT_TOLERANCE * ar[None, :]
        ii, jj = np.nonzero(close & aspect_ok)
        for i, j in zip(ii + start, jj):
            if i < j:
                pairs.add((int(i), int(j)))
    return pairs


def _candidate_pairs_python(hashes: list[int], aspects: list[float],
                            max_distance: int) -> set[tuple[int, int]]:
    """candidate_pairs with the same arithmetic (float64 aspects, column-relative tolerance)."""
    pairs: set[tuple[int, int]] = set()
    for i, (hi, ai) in enumerate(zip(hashes, aspects)):
        # the hash test first, in one comprehension (a warm build of 330 pictures: ~6 ms,
        # a plain double loop ~50 ms); the few close ones are then checked for framing
        for j in [j for j, h in enumerate(hashes[i + 1:], i + 1)
                  if (hi ^ h).bit_count() <= max_distance]:
            aj = aspects[j]
            if abs(ai - aj) <= ASPECT_TOLERANCE * aj:
                pairs.add((i, j))
    return pairs


@dataclass(frozen=True)
class Verdict:
    """The verifier's decision on one pair."""

    same: bool
    score: float
    """The worst glyph-sized window's unexplained difference in multiples of what the
    noise model allows there (verify_keys): 0 for identical pictures, at most SCORE_CAP for
    a merged copy. A pair rejected at the coarse level (similar=False) has instead its
    coarse windowed difference in grey levels."""
    noise: float
    """The pair's grain: RMS residual (grey levels) of its flat windows (_flat_noise)."""
    similar: bool = True
    """False when the pictures differ at a glance (rejected at the coarse level)."""
    pending: bool = False
    """The grayscale verdict of a reduced-colour pair that still needs the palette check
    (palette_verdict), made where the pictures themselves could not be decoded (a worker
    process): never cached, never final (_Checker completes it)."""


class Prepared:
    """Memo of resized, blurred grayscale arrays, so each image is prepared once per size."""

    LIMIT_BYTES = 256 * 1024 * 1024
    """Memory for prepared arrays, least recently used dropped first. They are kept as
    whole grey levels (uint8, _compact): ~0.4 MB for a 480x853 comparison, 25 KB for a
    coarse one, so ~600 images stay prepared. With float32 copies and window sums in one
    128 MB memo, grouping the 1,039 real screenshots in one process prepared 4,583
    arrays where 1,899 are distinct (65 s of CPU, 38 s of it preparing)."""
    SUMS_LIMIT_BYTES = 48 * 1024 * 1024
    """Memory for window sums (sums: uint32, ~0.8 MB for a 480x853 comparison; cheaper to
    make again than a prepared array)."""
    HOT = 8
    """Means and variances of windows (moments: float64, ~2.4 MB for a 480x853 comparison)
    kept for the last few images used: both images of a pair and the pair's next partner."""

    SOURCES_KEPT = 3
    """Full-resolution pictures kept for palette checks (~7.5 MB each for 1080x2340): the
    originals being simulated. A reduced-colour copy is decoded once per process for its
    colours (colours), which are all a simulation needs of it; its grayscale is gray_of's."""
    PALETTES_KEPT = 4
    """Nearest-colour tables kept, one per copy's palette (_PaletteTable): a copy is
    simulated against its original and against the near-misses of it, which share most
    of their colours."""

    def __init__(self, gray_of: Callable[[str], np.ndarray],
                 source_of: Callable[[str], Image.Image] | None = None, *,
                 shared: SharedArrays | None = None,
                 shape_of: Callable[[str], tuple[int, int]] | None = None):
        self.gray_of = gray_of
        self.shape_of = shape_of
        """key -> (height, width) of its grayscale without reading it, where gray_of reads
        it from somewhere (a worker's arena): every verdict asks for both shapes, while the
        arrays it compares are mostly prepared already."""
        self.source_of = source_of
        """key -> the upright RGB picture at full resolution (dedupe.rgb of the decoded
        image), for palette checks only; None where the files cannot be read (workers)."""
        self.shared = shared
        """Where processes verifying the same images leave their prepared arrays for each
        other (evidence/verify_pool.py), so an image is prepared once, not once per process."""
        self.memo = _Lru(self.LIMIT_BYTES)
        self.window_sums = _Lru(self.SUMS_LIMIT_BYTES)
        self.hot = _Lru(None, self.HOT)
        self.made = 0
        """Arrays prepared (each a resize and blur of a grayscale), for tests and benchmarks."""
        self.sources: OrderedDict[str, Image.Image] = OrderedDict()
        self.colour_sets: dict[str, tuple[np.ndarray | None, tuple[int, int]]] = {}
        """A reduced-colour picture's colours (palette_colours) and (width, height), by key:
        <= 768 bytes each."""
        self.palettes: OrderedDict[bytes, _PaletteTable] = OrderedDict()
        self.resized: tuple[tuple[str, tuple[int, int]], Image.Image] | None = None
        """The last original shrunk to a copy's size (both simulations of a pair use it)."""
        self.lent: dict[str, np.ndarray] = {}
        self.lent_like: dict[str, str] = {}
        self.texts: dict[str, float | None] = {}
        """text_height by key (a float or None each: a few bytes per image)."""

    def source(self, key: str) -> Image.Image:
        """The full-resolution RGB picture of key (source_of), the last few kept."""
        assert self.source_of is not None
        found = self.sources.get(key)
        if found is None:
            found = self.sources[key] = rgb(self.source_of(key))
            if len(self.sources) > self.SOURCES_KEPT:
                self.sources.popitem(last=False)
        else:
            self.sources.move_to_end(key)
        return found

    def colours(self, key: str) -> tuple[np.ndarray | None, tuple[int, int]]:
        """palette_colours of key's picture and its (width, height), decoded once per
        process (and not kept: the colours are all a simulation needs of a copy)."""
        found = self.colour_sets.get(key)
        if found is None:
            picture = self.sources.get(key)
            if picture is None:
                assert self.source_of is not None
                picture = rgb(self.source_of(key))
            found = self.colour_sets[key] = palette_colours(picture), picture.size
        return found

    def original(self, key: str, size: tuple[int, int]) -> Image.Image:
        """key's picture as a simulation of a copy of `size` starts from: shrunk to that
        size when it is larger (_at_copy_size), the last one kept."""
        if self.resized is not None and self.resized[0] == (key, size):
            return self.resized[1]
        original = self.source(key)
        shrunk = _at_copy_size(original, size)
        if shrunk is not original:
            self.resized = (key, size), shrunk
        return shrunk

    def palette_table(self, colours: np.ndarray) -> _PaletteTable:
        """The nearest-colour table of a palette, the last few kept."""
        name = colours.tobytes()
        found = self.palettes.get(name)
        if found is None:
            found = self.palettes[name] = _PaletteTable(colours)
            if len(self.palettes) > self.PALETTES_KEPT:
                self.palettes.popitem(last=False)
        else:
            self.palettes.move_to_end(name)
        return found

    def gray(self, key: str) -> np.ndarray:
        """The grayscale of key: gray_of's, or a simulation lent for one comparison."""
        found = self.lent.get(key)
        return self.gray_of(key) if found is None else found

    def lend(self, key: str, gray: np.ndarray | None, like: str | None = None) -> None:
        """Compare a grayscale made here (a palette simulation) under `key`, with the
        prepared arrays of the other image shared; None takes it and its arrays back.
        `like`: the image it is a simulation of, whose text size it has (text)."""
        if gray is not None:
            self.lent[key] = gray
            if like is not None:
                self.lent_like[key] = like
            return
        self.lent.pop(key, None)
        self.lent_like.pop(key, None)
        for lru in (self.memo, self.window_sums, self.hot):
            lru.drop(lambda memo_key: memo_key[0] == key)

    def text(self, key: str) -> float | None:
        """text_height of key's grayscale, made once per image; a lent one has the text
        size of the image it simulates (or its own, measured every time)."""
        if key in self.lent_like:
            key = self.lent_like[key]
        elif key in self.lent:
            return text_height(self.lent[key])
        if key not in self.texts:
            self.texts[key] = text_height(self.gray_of(key))
        return self.texts[key]

    def shape(self, key: str) -> tuple[int, int]:
        if self.shape_of is not None and key not in self.lent:
            return self.shape_of(key)
        return self.gray(key).shape  # type: ignore[return-value]

    def at(self, key: str, size: tuple[int, int]) -> np.ndarray:
        """The prepared array of key at size: whole grey levels, uint8 (the verifier's
        arithmetic on them is in integers, exact)."""
        def make() -> np.ndarray:
            # a lent grayscale (a simulation) is never shared: its key names another picture
            shared = self.shared if key not in self.lent else None
            found = shared.get(key, size) if shared is not None else None
            if found is None:
                self.made += 1
                found = _compact(_prepare(self.gray(key), size))
                if found.dtype != "uint8":
                    raise ValueError(f"prepared array of {key!r} at {size} is not whole grey "
                                     "levels 0-255")
                if shared is not None:
                    shared.put(key, size, found)
            return found

        return self.memo.get((key, size), make)

    def sums(self, key: str, size: tuple[int, int], block: int
             ) -> tuple[np.ndarray, np.ndarray]:
        """Window sums of the prepared array and of its square (uint32: exact, see
        _residuals), made once per image and size while memory allows."""
        def make() -> tuple:
            import numpy as np

            x = self.at(key, size)
            return (_window_sums(_block_sums(x, block, np.uint32)),
                    _window_sums(_block_sums(np.multiply(x, x, dtype=np.uint16), block,
                                             np.uint32)))

        return self.window_sums.get((key, size, block), make)

    def moments(self, key: str, size: tuple[int, int], block: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per window (float64): mean = sum / n, variance = max(squares / n - mean * mean, 0)
        and variance + TONE_EPS, n the pixels of a window: what _residuals needs of one
        image, whatever the other (kept for the last few images used, HOT)."""
        def make() -> tuple:
            import numpy as np

            sums, squares = self.sums(key, size, block)
            n = float((RESIDUAL_BLOCKS * block) ** 2)
            mean = np.divide(sums, n, dtype=np.float64)
            var = np.divide(squares, n, dtype=np.float64)
            var -= mean * mean
            np.maximum(var, 0.0, out=var)
            return mean, var, var + TONE_EPS

        return self.hot.get((key, size, block), make)


class SharedArrays(Protocol):
    """Prepared arrays shared between processes (verify_pool.SharedFolder)."""

    def get(self, key: str, size: tuple[int, int]) -> np.ndarray | None: ...

    def put(self, key: str, size: tuple[int, int], values: np.ndarray) -> None: ...


class _Lru:
    """Values by key, the least recently used dropped first beyond a size in bytes (or a
    count of entries)."""

    def __init__(self, limit_bytes: int | None, limit_entries: int | None = None):
        self.limit_bytes, self.limit_entries = limit_bytes, limit_entries
        self.values: OrderedDict[tuple, object] = OrderedDict()
        self.bytes = 0

    def drop(self, which: Callable[[tuple], bool]) -> None:
        """Forget the values whose keys `which` picks."""
        for key in [k for k in self.values if which(k)]:
            self.bytes -= _nbytes(self.values.pop(key))

    def get(self, key: tuple, make: Callable[[], object]):  # noqa: ANN201
        found = self.values.get(key)
        if found is not None:
            self.values.move_to_end(key)
            return found
        found = self.values[key] = make()
        self.bytes += _nbytes(found)
        while len(self.values) > 2 and (
                (self.limit_bytes is not None and self.bytes > self.limit_bytes)
                or (self.limit_entries is not None and len(self.values) > self.limit_entries)):
            self.bytes -= _nbytes(self.values.popitem(last=False)[1])
        return found


def _compact(values: np.ndarray) -> np.ndarray:
    """`values` in the smallest type that holds every one of them exactly (uint8 for whole
    grey levels, float32 for sums below 2**24), else as they are: a prepared array made
    as float32 is held (and compared) as uint8; one made as uint8 is taken as it is."""
    import numpy as np

    for kind in (np.uint8, np.float32):
        if np.dtype(kind).itemsize >= values.dtype.itemsize:
            continue
        with np.errstate(invalid="ignore"):  # a NaN or infinity is simply not held exactly
            small = values.astype(kind)
        if np.array_equal(small, values):
            return small
    return values


def _nbytes(value: object) -> int:
    return sum(v.nbytes for v in value) if isinstance(value, tuple) else value.nbytes


def verify(a: np.ndarray, b: np.ndarray, *, lossless_same_size: bool = False,
           reduced_colour: bool = False) -> Verdict:
    """Decide whether two normalised grayscale images show the same thing (see verify_keys)."""
    arrays = {"a": a, "b": b}
    return verify_keys(Prepared(arrays.__getitem__), "a", "b",
                       lossless_same_size=lossless_same_size, reduced_colour=reduced_colour)


def verify_keys(prepared: Prepared, a: str, b: str, *, lossless_same_size: bool = False,
                reduced_colour: bool = False) -> Verdict:
    """Decide whether two normalised grayscale images show the same thing.

    Both are brought to a common comparison size (compare_size: the smaller one's, for a
    portrait pair at most COMPARE_WIDTH wide, or up to FINE_WIDTH when the kept image `a` has
    small text: text_height) and lightly blurred. In every glyph-sized window each image
    is fitted to the other by a straight tone line (b ~ gain * a + offset, least squares
    over the window); what the fit cannot explain is the window's residual (its variance,
    the larger of the two directions). Re-encoding, resizing and colour reduction change
    tones and soften edges but keep every edge where it was, so in a copy each window's
    residual stays within what the noise model allows there: NOISE_BASE, plus this pair's
    own grain (FLAT_NOISE_WEIGHT times the FLAT_PERCENTILE of the residual over flat
    windows: more for a JPEG q60 or a shrunk copy, nothing for a lossless one), plus
    EDGE_NOISE times the window's variance (resampling and JPEG err on strong edges in
    proportion to their contrast). A changed glyph, a missing message or an added tick
    puts edges where the other image has none: a residual of the order of the window's
    whole variance, many times the allowance.

    The score is the largest ratio residual / allowance over all windows, as an RMS ratio
    (square root): 0 for identical pictures, under SCORE_CAP for a copy; the pair merges
    if score <= SCORE_CAP and the comparison is at least MIN_VERIFY_WIDTH wide. Two
    lossless images of the same size that are not pixel-identical are never the same
    capture, whatever the score. `reduced_colour` (a palette copy) does not change the
    rule: it is noted for the caller, a palette's moved tones being what the tone line
    and the noise model absorb.
    """
    import numpy as np

    (ha, wa), (hb, wb) = prepared.shape(a), prepared.shape(b)
    height, width = min(ha, hb), min(wa, wb)
    if width < 8 or height < 8:
        same = (ha, wa) == (hb, wb) and np.array_equal(prepared.gray(a), prepared.gray(b))
        return Verdict(same, 0.0 if same else 255.0, 0.0)
    coarse_size = (COARSE_WIDTH, max(8, round(COARSE_WIDTH * height / width)))
    coarse = _windows(prepared, a, b, coarse_size)
    if coarse > COARSE_REJECT:
        return Verdict(False, round(float(coarse), 2), 0.0, similar=False)
    text = prepared.text(a) if needs_text_height((wa, ha), (wb, hb)) else None
    size = compare_size((wa, ha), (wb, hb), text)
    left, signal = _residuals(prepared, a, b, size)
    grain = _flat_noise(left, signal)
    # NOISE_BASE + FLAT_NOISE_WEIGHT * grain + EDGE_NOISE * signal, in place (the same sums)
    allowance = np.multiply(signal, EDGE_NOISE, out=signal)
    allowance += NOISE_BASE + FLAT_NOISE_WEIGHT * grain
    score = float(np.sqrt(np.divide(left, allowance, out=left).max()))
    if lossless_same_size:
        same = _windows(prepared, a, b, size, peak=LOSSLESS_PEAK)
    else:
        same = score <= SCORE_CAP and size[0] >= MIN_VERIFY_WIDTH
    return Verdict(same, round(score, 2), round(float(np.sqrt(grain)), 2))


def compare_size(a: tuple[int, int], b: tuple[int, int],
                 text: float | None = None) -> tuple[int, int]:
    """The comparison size (width, height) of two renditions; `text`: the kept image's typical
    glyph height as a fraction of its width (text_height), None for ordinary text.

    A portrait pair is compared at COMPARE_WIDTH, or at FINE_WIDTH when that glyph would be
    less than TEXT_HEIGHT px tall at COMPARE_WIDTH, never wider than the smaller rendition;
    one within NATIVE_RATIO of that width is compared at its own width. Landscape pairs at
    the smaller one's width (at most NORM_WIDTH). Two widths, not a width for every text
    size: a picture is then prepared (resized and blurred) at most twice, whatever the kept
    images it is compared with (a width per text size made the real set's group stage cost
    ~50 % more CPU)."""
    width, height = min(a[0], b[0]), min(a[1], b[1])
    if height < width:
        return width, height
    target = FINE_WIDTH if text and text * COMPARE_WIDTH < TEXT_HEIGHT else COMPARE_WIDTH
    if width > target and target / width < NATIVE_RATIO:
        return target, max(8, round(height * target / width))
    return width, height


def needs_text_height(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Whether the text size can change compare_size for renditions of these sizes."""
    width, height = min(a[0], b[0]), min(a[1], b[1])
    return height >= width and width > COMPARE_WIDTH


def text_height(gray: np.ndarray) -> float | None:
    """The typical glyph height of a grayscale as a fraction of its width, or None when it
    shows too little text to tell.

    Ink is where a pixel differs from its 9 x 9 neighbourhood's mean by more than TEXT_INK
    (dark text on light and light on dark alike); each connected blob of ink whose height is
    at least 4 px and at most 6 % of the width, and whose width is at most 2.5 times its
    height, is taken for a glyph (or a part of one); the median of their heights is the
    text's. Icons, photos and lines are fewer or fall outside those shapes; dots, accents and
    the specks of a photo's texture are shorter (with 3 px, a chat screenshot with a photo
    and a dozen avatars measured 1.39 % instead of 1.81 %, and its JPEG q60 copy compared at
    560 px scored 1.31: left apart)."""
    import numpy as np
    from PIL import Image, ImageFilter
    from scipy import ndimage

    width = gray.shape[1]
    mean = np.asarray(Image.fromarray(gray).filter(ImageFilter.BoxBlur(4)))
    if gray.dtype == np.uint8 and mean.dtype == np.uint8:  # |grey - mean| exact in uint8
        ink = np.maximum(gray, mean)
        ink -= np.minimum(gray, mean)
        ink = ink > TEXT_INK
    else:
        ink = np.abs(gray.astype(np.int16) - mean.astype(np.int16)) > TEXT_INK
    labels, count = ndimage.label(ink)
    if count < TEXT_MIN_BLOBS:
        return None
    boxes = np.array([(s[0].stop - s[0].start, s[1].stop - s[1].start)
                      for s in ndimage.find_objects(labels)])
    heights, widths = boxes[:, 0], boxes[:, 1]
    glyphs = heights[(heights >= 4) & (heights <= 0.06 * width) & (widths <= 2.5 * heights)]
    if glyphs.size < TEXT_MIN_BLOBS:
        return None
    return float(np.median(glyphs)) / width


def _flat_noise(left: np.ndarray, signal: np.ndarray) -> float:
    """The pair's grain: FLAT_PERCENTILE of the residual variance over flat windows."""
    import numpy as np

    flat = signal < FLAT_VARIANCE
    count = int(np.count_nonzero(flat))
    if count < 100:
        return 0.0
    k = min(count - 1, int(count * FLAT_PERCENTILE / 100))
    # the k-th smallest of left[flat], as np.partition(left[flat], k)[k] gives it. Residuals
    # are never negative (nor -0.0: _residuals takes max(..., 0.0) of differences that are
    # +0.0 when equal), and most flat windows of a pair leave exactly 0: below their count
    # the answer is 0.0, above it the (k - zeros)-th smallest of the few others (only the
    # ~10 % of flat windows that leave something are copied and sorted, not a 480 px
    # comparison's ~92,000; numpy's selection is also slow on ties)
    flat &= left != 0.0  # boolean passes and one pick: cheaper than an index of a float array
    some = left[flat]
    zeros = count - some.size
    if k < zeros:
        return 0.0
    return float(np.sort(some)[k - zeros])


def _windows(prepared: Prepared, a: str, b: str, size: tuple[int, int],
             peak: float | None = None) -> np.float64 | bool:
    """The largest mean absolute difference of the two prepared arrays over a window of
    ~width/WINDOW_DIVISOR pixels (at least 3) on a side, at every position; with `peak`,
    only whether that is at most `peak`.

    In integers: the difference of whole grey levels is exact in uint8, its window sums in
    uint32, and max(sum) / n is max(sum / n) to the bit (division by n rounds monotonically).
    The plain way (_window_means of the float32 difference: prefix sums in float32) is exact
    only while every prefix sum is below 2**24; a pair whose differences add up to more is
    measured the plain way, so that the result is its result in every case. Against a peak,
    no window sum exceeds the whole sum, and every pixel is in some window: when the whole
    sum is within the peak, or one pixel is beyond it, no window needs summing."""
    import numpy as np

    xa, xb = prepared.at(a, size), prepared.at(b, size)
    window = max(3, round(size[0] / WINDOW_DIVISOR))
    area = window * window
    diff = np.maximum(xa, xb)
    diff -= np.minimum(xa, xb)
    total = None
    if diff.size * 255 > 2 ** 24 or peak is not None:
        total = int(diff.sum(dtype=np.uint64))
    if total is not None and total > 2 ** 24:
        largest = _window_means(diff.astype(np.float32), window).max()
        return largest if peak is None else bool(largest <= peak)
    if peak is not None:
        if np.float64(total) / area <= peak:
            return True
        if np.float64(diff.max()) / area > peak:
            return False
        return bool(np.float64(_box_sums(diff, window).max()) / area <= peak)
    return np.float64(_box_sums(diff, window).max()) / area


def _box_sums(values: np.ndarray, window: int) -> np.ndarray:
    """Sums (uint32) over every window x window square (valid positions) of whole numbers
    whose sums fit uint32."""
    import numpy as np

    rows = np.add(values[:-window + 1], values[1:values.shape[0] - window + 2],
                  dtype=np.uint32)
    for i in range(2, window):
        rows += values[i:values.shape[0] - window + 1 + i]
    total = rows[:, :-window + 1] + rows[:, 1:rows.shape[1] - window + 2]
    for j in range(2, window):
        total += rows[:, j:rows.shape[1] - window + 1 + j]
    return total


def _residuals(prepared: Prepared, a: str, b: str, size: tuple[int, int]
               ) -> tuple[np.ndarray, np.ndarray]:
    """Per glyph-sized window: the variance a tone line fitted from one image to the other
    leaves unexplained (the larger of the two directions), and the window's variance (the
    larger of the two images').

    Windows are RESIDUAL_BLOCKS x RESIDUAL_BLOCKS blocks of `block` pixels, at every block
    position (a stride of one block): sums over blocks are cheap reshapes, so a pair costs
    one product of the two pictures and its block sums, in integers (exact), and the float64
    arithmetic below. Each image's means and variances are its own (Prepared.moments),
    made once while it is in use. Measured (#20, round 6, a 480x853 pair at load ~6): the
    product's window sums 2.8 -> 0.5 ms (float64 -> uint32), the arithmetic 3.2 -> 0.9 ms
    (+0.4 ms per image's moments); the real set's 9,621 verify_keys calls replayed in one
    process (prepared arrays made beforehand, text_height included) 41.6-43.0 -> 22.1-23.9 s
    CPU at load ~12; its group stage in one process (facts cached, no verdicts) 89.3 -> 72.7 s
    CPU back to back at load ~4, every verdict the same."""
    import numpy as np

    block = _block_size(size[0])
    mean_a, var_a, var_eps_a = prepared.moments(a, size, block)
    mean_b, var_b, var_eps_b = prepared.moments(b, size, block)
    xa, xb = prepared.at(a, size), prepared.at(b, size)
    n = float((RESIDUAL_BLOCKS * block) ** 2)
    cross = _window_sums(_block_sums(np.multiply(xa, xb, dtype=np.uint16), block, np.uint32))
    # What follows is, operation for operation and so to the bit (sums as float64):
    #   mean_a, mean_b = sum_a / n, sum_b / n
    #   var_a = max(sq_a / n - mean_a * mean_a, 0);  var_b likewise
    #   cov2 = (cross / n - mean_a * mean_b) ** 2 (as cov * cov)
    #   left_b = var_b - cov2 / (var_a + TONE_EPS);  left_a = var_a - cov2 / (var_b + TONE_EPS)
    #   return max(max(left_a, left_b), 0), max(var_a, var_b)
    # with the per-image terms made once (moments) and the rest written into a few arrays
    cov2 = np.divide(cross, n, dtype=np.float64)
    work = mean_a * mean_b
    cov2 -= work
    cov2 *= cov2
    left_b = np.divide(cov2, var_eps_a, out=work)
    np.subtract(var_b, left_b, out=left_b)
    left_a = np.divide(cov2, var_eps_b, out=cov2)
    np.subtract(var_a, left_a, out=left_a)
    np.maximum(left_a, left_b, out=left_a)
    np.maximum(left_a, 0.0, out=left_a)
    return left_a, np.maximum(var_a, var_b)


def _block_size(width: int) -> int:
    """Pixels per block side: a window (RESIDUAL_BLOCKS blocks) is ~width/110, one glyph."""
    return max(2, round(width / (WINDOW_DIVISOR * RESIDUAL_BLOCKS / 1.0)))


def _block_sums(values: np.ndarray, block: int, dtype: type) -> np.ndarray:
    """Sums over block x block squares, in `dtype` (an integer type that holds them: the
    verifier's values are whole numbers, 8-bit levels and their products, so the sums are
    exact), the picture cut to whole blocks. Strided additions, ~7x faster than a reshape
    and sum over two axes."""
    import numpy as np

    h, w = values.shape[0] // block, values.shape[1] // block
    cut = values[:h * block, :w * block]
    rows = np.add(cut[0::block], cut[1::block], dtype=dtype)
    for i in range(2, block):
        rows += cut[i::block]
    sums = rows[:, 0::block] + rows[:, 1::block]
    for j in range(2, block):
        sums += rows[:, j::block]
    return sums


def _window_sums(blocks: np.ndarray) -> np.ndarray:
    """Sums over every RESIDUAL_BLOCKS x RESIDUAL_BLOCKS square of blocks (in their type)."""
    k = RESIDUAL_BLOCKS
    rows = blocks[:blocks.shape[0] - k + 1] + blocks[1:blocks.shape[0] - k + 2]
    for i in range(2, k):
        rows += blocks[i:blocks.shape[0] - k + 1 + i]
    total = rows[:, :rows.shape[1] - k + 1] + rows[:, 1:rows.shape[1] - k + 2]
    for j in range(2, k):
        total += rows[:, j:rows.shape[1] - k + 1 + j]
    return total


def _prepare(gray: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The grayscale at the comparison size, Lanczos-resized and blurred (BLUR_RADIUS), as
    uint8 (evidence/resample.py: its float32 whole numbers 0-255, so exactly)."""
    import numpy as np

    from itaoreport.evidence.resample import shrink

    return shrink(gray, size, BLUR_RADIUS).astype(np.uint8)


def _window_means(values: np.ndarray, window: int) -> np.ndarray:
    """Mean over every window x window square (valid positions only), via an integral image."""
    import numpy as np

    s = np.zeros((values.shape[0] + 1, values.shape[1] + 1), dtype=np.float64)
    s[1:, 1:] = values.cumsum(0).cumsum(1)
    total = s[window:, window:] - s[:-window, window:]  # in place from here: same sums
    total -= s[window:, :-window]
    total += s[:-window, :-window]
    total /= window * window
    return total


def find_duplicates(items: dict[str, ImageFacts], gray_of: Callable[[str], np.ndarray],
                    verdicts: VerdictStore | None = None,
                    progress: Callable[[str], None] | None = None,
                    workers: int | None = None,
                    source_of: Callable[[str], Image.Image] | None = None,
                    path_of: Callable[[str], Path] | None = None) -> DedupeResult:
    """Group copies of the same evidence; gray_of(key) returns the normalised grayscale,
    source_of(key) (when given) the decoded, upright picture at full resolution, which
    only pairs with a palette or other reduced-colour side need (palette_verdict; without
    it such pairs get the grayscale verdict, which is not cached). path_of(key) (when
    given) the file whose bytes have the image's SHA-256, so that worker processes decode
    those pictures themselves (images.open_image, which checks the hash) and the palette
    check runs there, not here; a picture a worker cannot decode is left to source_of here.

    verdicts, when given, remembers the verifier's decisions by content hash;
    progress, when given, hears how verification goes on long runs; workers: how many
    processes verify candidate pairs (None: evidence/prepare.worker_count decides, and
    a few pairs are verified in this process). The result is the same whatever the
    number of workers and whatever order their verdicts arrive in: images are decided
    one by one, best first, and each decision waits for exactly the verdicts the
    sequential rule uses; only verdicts that rule will certainly ask for are computed
    ahead (see _Grouping).
    """
    keys = sorted(items, key=lambda k: keep_rank(items[k], k))
    pairs = candidate_pairs([items[k].phash for k in keys],
                            [items[k].width / items[k].height for k in keys])
    checker = _Checker(keys, items, gray_of, verdicts,
                       _Progress(progress, len(keys), len(pairs)), source_of, path_of)
    try:
        checker.start(pairs, workers)
        return _Grouping(keys, pairs, items, checker).run()
    finally:
        checker.close()


class _Grouping:
    """The grouping rule, applied to images best first (keep_rank):

    1. same bytes or same decoded pixels as a kept image: a copy of it (stage one);
    2. otherwise verified against every kept image among its candidates; the best
       verified match wins, else the image is kept, a group of its own (stage two);
    3. an image that verified against several kept images may join their groups
       (_join_groups), after every image is placed.

    Whether an image is kept depends on the verdicts of the images before it, so the
    rule runs in order; but once image i is kept, the verdict of i against each later
    candidate j that cannot be a stage-one copy is certain to be asked for, so it is
    requested at once and computed (in worker processes) while earlier images wait.
    """

    def __init__(self, keys: list[str], pairs: set[tuple[int, int]],
                 items: dict[str, ImageFacts], checker: _Checker):
        self.keys, self.items, self.checker = keys, items, checker
        self.index = {k: i for i, k in enumerate(keys)}
        self.lower: dict[int, list[int]] = {}
        self.higher: dict[int, list[int]] = {}
        for i, j in sorted(pairs):
            self.lower.setdefault(j, []).append(i)
            self.higher.setdefault(i, []).append(j)
        # an image with the same bytes or pixels as an earlier one may be a stage-one copy;
        # only once that earlier image is placed is its stage two certain
        seen_sha: set[str] = set()
        seen_pixels: set[str] = set()
        self.twin: set[int] = set()
        for i, k in enumerate(keys):
            facts = items[k]
            if facts.sha256 in seen_sha or facts.pixel_digest in seen_pixels:
                self.twin.add(i)
            seen_sha.add(facts.sha256)
            seen_pixels.add(facts.pixel_digest)
        self.keep_of: dict[str, str] = {}
        self.groups: dict[str, Group] = {}
        self.by_sha: dict[str, str] = {}
        self.by_pixels: dict[str, str] = {}
        self.near: list[Near] = []
        self.bridges: list[list[str]] = []

    def run(self) -> DedupeResult:
        keys, items, checker = self.keys, self.items, self.checker
        for position, key in enumerate(keys):
            facts = items[key]
            match = _stage_one(key, facts, self.by_sha, self.by_pixels)
            if match is None:
                kept_candidates = self._kept_candidates(position)
                for kept in kept_candidates:
                    checker.request(kept, key)
                while not all(checker.known(kept, key) for kept in kept_candidates):
                    checker.wait()
                match, rejected, verified = _stage_two(key, kept_candidates, checker)
                self.near.extend(rejected)
                if len(verified) > 1:
                    self.bridges.append(verified)
            if match is None:
                self.keep_of[key] = key
                self.groups[key] = Group(key)
                self.by_sha.setdefault(facts.sha256, key)
                self.by_pixels.setdefault(facts.pixel_digest, key)
                self._ahead(position)
                checker.progress.image_placed()
                continue
            kept, stage, score = match
            self.keep_of[key] = kept
            self.groups[kept].duplicates.append(Match(key, stage, score))
            checker.progress.image_placed()
        for verified in self.bridges:
            _join_groups(verified, self.index, self.groups, self.keep_of, checker)
        checker.progress.done()
        return self._result()

    def _kept_candidates(self, position: int) -> list[str]:
        """The kept images this one is verified against, best first (none for an image with
        more frames than the verifier sees: those merge on identical pixels only)."""
        keys, facts_of = self.keys, self.items.__getitem__
        if facts_of(keys[position]).frames > 1:
            return []
        return [keys[j] for j in self.lower.get(position, ())
                if self.keep_of.get(keys[j]) == keys[j] and facts_of(keys[j]).frames == 1]

    def _ahead(self, position: int) -> None:
        """Image `position` is kept: request its verdict against every later candidate that
        will certainly be verified against it."""
        keys, items = self.keys, self.items
        if items[keys[position]].frames > 1:
            return
        for j in self.higher.get(position, ()):
            if j not in self.twin and items[keys[j]].frames == 1:
                self.checker.request(keys[position], keys[j])

    def _result(self) -> DedupeResult:
        keep_of = self.keep_of
        result_groups = sorted((g for g in self.groups.values() if g.duplicates),
                               key=lambda g: g.keep)
        for g in result_groups:
            g.duplicates.sort(key=lambda m: m.path)
        merged = {(g.keep, m.path) for g in result_groups for m in g.duplicates}
        near = [n for n in self.near if keep_of[n.a] != keep_of[n.b]
                and (n.a, n.b) not in merged and (n.b, n.a) not in merged]
        return DedupeResult(result_groups, sorted(set(near), key=lambda n: (n.a, n.b)), keep_of)


class _Progress:
    """Says how verification goes when there are many candidate pairs: images placed (in
    their group or as kept) out of all, and pairs verified so far."""

    FROM = 2000
    """Candidate pairs from which progress is said (about a minute of verification)."""

    def __init__(self, say: Callable[[str], None] | None, images: int, pairs: int):
        self.say = say if pairs >= self.FROM else None
        self.images, self.placed, self.pairs = images, 0, 0
        self.step = max(1, images // 10)

    def verified(self) -> None:
        self.pairs += 1

    def image_placed(self) -> None:
        self.placed += 1
        if self.say and self.placed % self.step == 0 and self.placed < self.images:
            self.say(f"comparing look-alike screenshots: {self.placed} of {self.images} "
                     f"placed, {self.pairs} pairs verified")

    def done(self) -> None:
        if self.say:
            self.say(f"comparing look-alike screenshots: done ({self.pairs} pairs verified)")


class PictureUnavailable(Exception):
    """source_of cannot give this picture here (a worker that could not decode the file
    itself): decide leaves the palette check to the process that can."""


def decide(prepared: Prepared, a: str, b: str, facts_a: ImageFacts, facts_b: ImageFacts
           ) -> Verdict:
    """The verifier's verdict on images a (the kept one) and b: the one call that both this
    process and the worker processes (evidence/verify_pool.py) make.

    A pair with a reduced-colour side that the grayscale comparison refuses, but not by
    much (score up to PALETTE_RECHECK), is checked again against a simulation of the
    palette (palette_verdict). Where the pictures cannot be decoded (prepared.source_of is
    None, or raises PictureUnavailable: a worker without the files' paths, or whose decode
    failed) the grayscale verdict comes back `pending`, for the process that can
    (_Checker) to finish."""
    verdict = verify_keys(prepared, a, b,
                          lossless_same_size=_lossless_same_size(facts_a, facts_b),
                          reduced_colour=reduced_colour(facts_a) or reduced_colour(facts_b))
    if not needs_palette_check(prepared, a, b, facts_a, facts_b, verdict):
        return verdict
    if prepared.source_of is None:
        return replace(verdict, pending=True)
    try:
        return palette_verdict(prepared, a, b, facts_a, facts_b, verdict)
    except PictureUnavailable:
        return replace(verdict, pending=True)


def needs_palette_check(prepared: Prepared, a: str, b: str, facts_a: ImageFacts,
                        facts_b: ImageFacts, verdict: Verdict) -> bool:
    """Whether the grayscale verdict on a pair is to be checked against a palette simulation:
    a side is reduced-colour, the pair is similar, with a score above PALETTE_SCORED (a
    merged palette copy close to the cap gets the simulation's score, which is its model's)
    and no higher than PALETTE_RECHECK, and the comparison is wide enough for any pair to
    merge."""
    if not verdict.similar or not PALETTE_SCORED < verdict.score <= PALETTE_RECHECK:
        return False
    if not (reduced_colour(facts_a) or reduced_colour(facts_b)):
        return False
    (ha, wa), (hb, wb) = prepared.shape(a), prepared.shape(b)
    return compare_size((wa, ha), (wb, hb))[0] >= MIN_VERIFY_WIDTH


def palette_verdict(prepared: Prepared, a: str, b: str, facts_a: ImageFacts,
                    facts_b: ImageFacts, grey: Verdict) -> Verdict:
    """The verdict on a pair with a reduced-colour (palette) side, given its grayscale one.

    A 256-colour palette maps each *colour* to its nearest entry, and two colours of the
    same grey can move differently, so in windows with several colours (emoji, avatars,
    photos) no tone line of the grayscale explains a palette copy. The copy carries its own
    palette, though: every pixel of the other picture is mapped to the nearest of the
    reduced side's colours (at full resolution, after shrinking it to the reduced side's
    size if it is larger; simulate_palette), and the simulation's grayscale is verified
    against the reduced side's (verify_keys, the same score and cap). A palette copy of
    the same picture agrees with the simulation up to the quantiser's ties; a changed
    glyph, tick or message is in one and not in the other. When both sides are reduced,
    both directions are tried; the verdict is the lower-scoring of the grayscale verdict
    and the simulations (a dithered copy, whose local means follow the original, is the
    grayscale verdict's).

    Cost (#20, the 56 checks of the real set, one process, load 5-7): 16.9 s CPU (18.3 s
    as round 5 made them): 99 decodes, each picture once, 5.0 s (a copy is decoded once
    per process for its colours, Prepared.colours; an original once for both of its
    simulations, Prepared.source/original); the nearest-colour tones 2.5 s (each distinct
    colour looked up once in a k-d tree, through a table kept per palette: _PaletteTable;
    the lookups themselves are most of it, for originals with 10^5 colours); the 76
    normalised grayscales 2.3 s; the 76 comparisons of the simulations 3.6 s; the 20
    dithered simulations' quantize 1.1 s. A simulation with the original's very grayscale
    (every colour kept) is compared under the original's key, with its prepared arrays.
    With find_duplicates' path_of, all of it runs in the verify workers, which decode the
    files themselves (verify_pool), not in the process placing the images."""
    import numpy as np

    best = grey
    sides = ((b, a, facts_b), (a, b, facts_a))
    for copy, original, copy_facts in sides:
        if not reduced_colour(copy_facts):
            continue
        colours, size = prepared.colours(copy)
        if colours is None:
            continue
        for dither in (False, True):
            start = prepared.original(original, size)
            simulation = _simulate(start, colours, dither,
                                   None if dither else prepared.palette_table(colours))
            if not dither and simulation.shape == prepared.shape(original) and \
                    np.array_equal(simulation, prepared.gray(original)):
                # the original's own grayscale: the same comparison, its arrays prepared
                verdict = verify_keys(prepared, original, copy)
            else:
                key = "\0palette simulation"
                prepared.lend(key, simulation, like=original)
                try:
                    verdict = verify_keys(prepared, key, copy)
                finally:
                    prepared.lend(key, None)
            if verdict.score < best.score:
                best = verdict
            if best.same and best is not grey:  # a simulation merged it: no need for more
                return best
    return best


def palette_colours(copy: Image.Image) -> np.ndarray | None:
    """The colours of an RGB picture with at most 256 of them, sorted, as (n, 3) uint8; None
    if it has more."""
    import numpy as np

    colours = copy.getcolors(256)
    if colours is None:
        return None
    return np.array(sorted(colour for _, colour in colours), dtype=np.uint8).reshape(-1, 3)


def simulate_palette(original: Image.Image, copy: Image.Image, dither: bool = False
                     ) -> np.ndarray | None:
    """The normalised grayscale of `original` (RGB) with every pixel replaced by the nearest
    (Euclidean in RGB) of the colours of `copy` (RGB, at most 256 colours): what saving
    it with the copy's palette, without dithering, makes of it; with `dither`, what
    Pillow's Floyd-Steinberg dithering to that palette makes of it. Made at the copy's
    size when the original is larger (never enlarged). None if the copy has more colours."""
    colours = palette_colours(copy)
    if colours is None:
        return None
    return _simulate(_at_copy_size(original, copy.size), colours, dither)


def _at_copy_size(original: Image.Image, size: tuple[int, int]) -> Image.Image:
    """An original as a simulation of a copy of `size` starts from: shrunk to that size when
    it is larger (never enlarged), else itself."""
    from PIL import Image

    if original.size != size and original.width > size[0]:
        return original.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return original


def _simulate(original: Image.Image, palette: np.ndarray, dither: bool,
              table: _PaletteTable | None = None) -> np.ndarray:
    """simulate_palette of an original already at the copy's size, with its colours."""
    import numpy as np
    from PIL import Image

    if dither:
        entries = Image.new("P", (1, 1))
        entries.putpalette(palette.tobytes())
        dithered = original.quantize(palette=entries, dither=Image.Dither.FLOYDSTEINBERG)
        return normalised_gray(dithered.convert("L"))
    table = table or _PaletteTable(palette)
    packed = _packed(original)
    change = np.empty(packed.size, dtype=bool)
    change[0] = True
    np.not_equal(packed[1:], packed[:-1], out=change[1:])
    starts = np.flatnonzero(change)
    runs = np.diff(starts, append=packed.size)
    tones = table.tones(packed[starts])
    return normalised_gray(Image.fromarray(
        np.repeat(tones, runs).reshape(original.height, original.width), "L"))


def _packed(picture: Image.Image) -> np.ndarray:
    """An RGB picture's pixels as R | G << 8 | B << 16 (uint32, one a pixel, row by row)."""
    import numpy as np

    packed = np.bitwise_and(np.frombuffer(picture.tobytes("raw", "RGBX"), dtype="<u4"),
                            0xFFFFFF)
    return packed.astype(np.uint32, copy=False)


class _PaletteTable:
    """The tone (Pillow's L) of the nearest palette entry of every colour looked up so far,
    for one palette: each distinct colour is looked up once (a k-d tree over the palette,
    as round 5's _nearest_colours did), and a colour seen in an earlier picture is not looked up
    again."""

    DIRECT = 1 << 18
    """More runs of equal pixels than this are mapped through a 2**24 table (16 MB; a
    sort of millions of values costs more), fewer by a binary search."""

    def __init__(self, palette: np.ndarray):
        import numpy as np
        from PIL import Image
        from scipy.spatial import cKDTree

        self.palette = palette
        self.entry_tones = np.asarray(
            Image.fromarray(palette[None, :, :], "RGB").convert("L"))[0]
        self.tree = cKDTree(palette.astype(np.float64))
        self.known = np.zeros(0, dtype=np.uint32)
        """Colours looked up so far, sorted (packed as _packed does)."""
        self.known_tones = np.zeros(0, dtype=np.uint8)

    def tones(self, values: np.ndarray) -> np.ndarray:
        """The tone of the nearest entry of each packed colour in values (uint8)."""
        import numpy as np

        if values.size > self.DIRECT:
            seen = np.zeros(1 << 24, dtype=bool)
            seen[values] = True
            distinct = np.flatnonzero(seen).astype(np.uint32)
        else:
            distinct = np.unique(values)
        tones = self._lookup(distinct)
        if values.size > self.DIRECT:
            table = np.empty(1 << 24, dtype=np.uint8)
            table[distinct] = tones
            return table[values]
        return tones[np.searchsorted(distinct, values)]

    def _lookup(self, distinct: np.ndarray) -> np.ndarray:
        """Tones of sorted distinct colours, the new ones looked up in the k-d tree."""
        import numpy as np

        known = self.known
        where = np.minimum(np.searchsorted(known, distinct), max(known.size - 1, 0))
        hit = (known[where] == distinct) if known.size else np.zeros(distinct.size, bool)
        tones = np.empty(distinct.size, dtype=np.uint8)
        tones[hit] = self.known_tones[where[hit]]
        new = distinct[~hit]
        if new.size:
            points = np.stack([new & 255, (new >> 8) & 255, new >> 16], axis=1)
            _, nearest = self.tree.query(points.astype(np.float64))
            tones[~hit] = self.entry_tones[nearest]
            merged = np.concatenate([known, new])
            order = np.argsort(merged, kind="stable")
            self.known = merged[order]
            self.known_tones = np.concatenate([self.known_tones, self.entry_tones[nearest]])[order]
        return tones


class _Checker:
    """Verdicts on pairs (kept image, later image): from the verdict cache, or decided in
    this process or in worker processes (evidence/verify_pool.py), requested ahead and
    delivered in any order."""

    def __init__(self, keys: list[str], items: dict[str, ImageFacts],
                 gray_of: Callable[[str], np.ndarray], verdicts: VerdictStore | None,
                 progress: _Progress, source_of: Callable[[str], Image.Image] | None = None,
                 path_of: Callable[[str], Path] | None = None):
        self.keys, self.index = keys, {k: i for i, k in enumerate(keys)}
        self.items, self.gray_of, self.verdicts, self.progress = items, gray_of, verdicts, progress
        self.prepared = Prepared(gray_of, source_of)
        self.path_of = path_of
        self.decided: dict[tuple[str, str], Verdict] = {}
        self.waiting: list[tuple[int, int]] = []
        """Heap of (later image, kept image) indexes still to verify: the earliest first,
        since the images are placed in that order."""
        self.queued: set[tuple[str, str]] = set()
        self.pool = None
        self.started = False

    def start(self, pairs: set[tuple[int, int]], workers: int | None) -> None:
        """Verify in worker processes, once a verdict is missing, if there are enough
        candidate pairs no cache can answer (a warm run starts no worker)."""
        self.pairs, self.workers = pairs, workers
        self.started = workers == 1

    def _start_pool(self) -> None:
        from itaoreport.evidence import verify_pool

        self.started = True
        keys = self.keys
        uncached = sum(1 for i, j in self.pairs if self._cached(keys[i], keys[j]) is None)
        # the files only where there are some (a caller with pictures in memory has none)
        files = {} if self.path_of is None else {"path_of": self.path_of}
        self.pool = verify_pool.start(
            uncached, self.workers, self.items, self.gray_of,
            route=lambda workers: verify_pool.routes(keys, self.pairs, workers), **files)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
            self.pool = None

    def _cached(self, a: str, b: str) -> Verdict | None:
        if self.verdicts is None:
            return None
        return self.verdicts.verdict(self.items[a].sha256, self.items[b].sha256)

    def known(self, a: str, b: str) -> bool:
        return (a, b) in self.decided

    def verdict(self, a: str, b: str) -> Verdict:
        return self.decided[a, b]

    def request(self, a: str, b: str) -> None:
        """Ask for the verdict on (a, b); a cached one is there at once."""
        import heapq

        if (a, b) in self.decided or (a, b) in self.queued:
            return
        cached = self._cached(a, b)
        if cached is not None:
            self._have(a, b, cached, store=False)
            return
        self.queued.add((a, b))
        heapq.heappush(self.waiting, (self.index[b], self.index[a]))

    def check(self, a: str, b: str) -> Verdict:
        """The verdict on (a, b), waiting for it."""
        self.request(a, b)
        while (a, b) not in self.decided:
            self.wait()
        return self.decided[a, b]

    def wait(self) -> None:
        """Let at least one requested verdict arrive."""
        if not self.started and self.waiting:
            self._start_pool()
        if self.pool is not None:
            for a, b, verdict in self.pool.wait(self._next_batch):
                self._have(a, b, verdict, store=True)
            return
        for a, b in self._next_batch() or []:
            facts_a, facts_b = self.items[a], self.items[b]
            self._have(a, b, decide(self.prepared, a, b, facts_a, facts_b), store=True)

    def _next_batch(self) -> list[tuple[str, str]] | None:
        """The earliest image still waiting for verdicts, with every kept image it waits
        for: one task, which reads that image once."""
        import heapq

        if not self.waiting:
            return None
        keys = self.keys
        later, kept = heapq.heappop(self.waiting)
        batch = [(keys[kept], keys[later])]
        while self.waiting and self.waiting[0][0] == later:
            batch.append((keys[heapq.heappop(self.waiting)[1]], keys[later]))
        return batch

    def _have(self, a: str, b: str, verdict: Verdict, store: bool) -> None:
        if verdict.pending:  # from a worker: the palette check needs the pictures
            verdict = replace(verdict, pending=False)
            if self.prepared.source_of is None:
                store = False  # the grayscale verdict stands in; a run with pictures decides
            else:
                verdict = palette_verdict(self.prepared, a, b, self.items[a], self.items[b],
                                          verdict)
        self.queued.discard((a, b))
        self.decided[a, b] = verdict
        self.progress.verified()
        if store and self.verdicts is not None:
            self.verdicts.put_verdict(self.items[a].sha256, self.items[b].sha256, verdict)


def _stage_one(key: str, facts: ImageFacts, by_sha: dict[str, str],
               by_pixels: dict[str, str]) -> tuple[str, str, float] | None:
    if facts.sha256 in by_sha:
        return by_sha[facts.sha256], "exact", 0.0
    if facts.pixel_digest in by_pixels:
        return by_pixels[facts.pixel_digest], "pixels", 0.0
    return None


def _stage_two(key: str, kept_candidates: list[str], checker: _Checker
               ) -> tuple[tuple | None, list[Near], list[str]]:
    """The verdicts against the kept images among this image's candidates (best first,
    all decided); the best match wins.

    Also returns every kept image this one verified against (best first): when there are
    several, their groups may be one (see _join_groups)."""
    best: tuple[str, str, float] | None = None
    rejected = []
    verified = []
    for kept in kept_candidates:
        verdict = checker.verdict(kept, key)
        if verdict.same:
            verified.append(kept)
            if best is None or verdict.score < best[2]:
                best = (kept, "verified", verdict.score)
        elif verdict.similar:
            rejected.append(Near(*sorted((kept, key)), verdict.score))
    return best, rejected, verified


def _join_groups(verified: list[str], index: dict[str, int], groups: dict[str, Group],
                 keep_of: dict[str, str], checker: _Checker) -> None:
    """One image verified against several groups' kept images: the groups are one when the
    best kept image verifies against the other kept image and against every member of its
    group (no chaining: each member is verified against the image the group keeps)."""
    keeps = sorted({keep_of[k] for k in verified}, key=lambda k: index[k])
    first = keeps[0]
    for other in keeps[1:]:
        if keep_of[other] != other or other == first:
            continue
        verdict = checker.check(first, other)
        if not verdict.same:
            continue
        moved = [Match(other, "verified", verdict.score)]
        for m in groups[other].duplicates:
            if m.stage in ("exact", "pixels"):  # the same pixels as `other`
                moved.append(Match(m.path, "verified", verdict.score))
                continue
            check = checker.check(first, m.path)
            if not check.same:
                break
            moved.append(Match(m.path, "verified", check.score))
        else:
            for m in moved:
                keep_of[m.path] = first
            groups[first].duplicates.extend(moved)
            del groups[other]


class VerdictStore(Protocol):
    """Somewhere to remember verdicts by the two files' SHA-256 (see evidence/cache.py)."""

    def verdict(self, a: str, b: str) -> Verdict | None: ...

    def put_verdict(self, a: str, b: str, verdict: Verdict) -> None: ...


def reduced_colour(facts: ImageFacts) -> bool:
    """A palette or other reduced-colour picture (at most 256 colours) in a lossless format:
    a lossy copy whose tones may have moved (images.py decides `lossless`)."""
    return facts.format in ("PNG", "GIF", "BMP", "TIFF") and not facts.lossless


def _lossless_same_size(a: ImageFacts, b: ImageFacts) -> bool:
    return a.lossless and b.lossless and (a.width, a.height) == (b.width, b.height)



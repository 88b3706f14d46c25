"""The text of a screenshot, with word boxes: Tesseract 5 (the `tesseract` command), cached.

Why Tesseract through its command and how fast it is: docs/ocr.md. In short, one
`tesseract` run per picture on a grayscale copy reduced to 720 px wide (phone
screenshots; chat text stays 15-30 px high), dark mode inverted, `--psm 3`, one
thread, only the languages needed (`chi_sim` when the text looked for has CJK
characters, `eng` otherwise): about 0.4-0.6 s of CPU per 1080x2340 screenshot.

Results are cached by the file's SHA-256 and the engine key (engine, version,
languages, preparation) under the case's `.itaoreport/cache/ocr-v1/`, with the image
cache's safety rules: no link on the way, regular files only, bounded size; an entry of
the wrong shape is a miss. Words are in the original file's pixels after EXIF
orientation (evidence/images.open_image), like every box of the case format.

The engine is optional: `find_engine()` is None when the `tesseract` command is not
installed (or ITAOREPORT_OCR=0), and callers skip what needed it, saying so once.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from itaoreport.evidence.cache import _write, no_links_below, read_cache_file

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from PIL.Image import Image

    from itaoreport.evidence.derived import DerivedCache

OCR_ENV = "ITAOREPORT_OCR"
"""ITAOREPORT_OCR=0 turns OCR (and so the quote check) off."""
TESSERACT_ENV = "ITAOREPORT_TESSERACT"
"""The tesseract command to use instead of the one on PATH."""
PREP = "p3"
"""Version of the preparation below (scale, inversion, psm); part of the cache key."""
PSM = "3"
THRESHOLD: tuple[str, ...] = ()
"""Tesseract's default (Otsu) threshold. Sauvola's local one (`-c thresholding_method=2`)
also reads black text on a saturated blue bubble, but loses light text on dark app headers
(names, order numbers): docs/ocr.md."""
"""Tesseract's automatic page segmentation: blocks, lines and words of a whole screenshot."""
TARGET_WIDTH = 720
"""Phone screenshots wider than 1.2 times this are reduced to this width."""
TIMEOUT_SECONDS = 120
"""Longest OCR of one picture (a hang is an OCR error for that picture, not a stuck build)."""
MAX_CACHE_BYTES = 8 * 1024 * 1024
"""Largest OCR cache entry read (a full screenshot's words are ~30 kB)."""
MAX_WORDS = 20_000
CACHE_KIND = "ocr-v1"


class OcrError(Exception):
    """OCR of one picture failed; the message says why."""


@dataclass(frozen=True)
class OcrSpec:
    """Which engine reads a picture, in which languages; picklable, for worker processes."""

    command: str
    version: str
    languages: tuple[str, ...]

    @property
    def key(self) -> str:
        """Engine key: what the cache and report.json name the reading by."""
        return f"tesseract-{self.version}-{'+'.join(self.languages)}-{PREP}"


@dataclass(frozen=True)
class Engine:
    """An installed Tesseract: its command, version and languages."""

    command: str
    version: str
    languages: frozenset[str]

    def spec(self, languages: Iterable[str]) -> OcrSpec | None:
        """The spec for these languages, or None when one of them is not installed."""
        wanted = tuple(sorted(set(languages)))
        if not wanted or not set(wanted) <= self.languages:
            return None
        return OcrSpec(self.command, self.version, wanted)


@lru_cache(maxsize=1)
def _find(command: str | None) -> Engine | None:
    if command is None:
        return None
    env = engine_env()
    try:
        version = subprocess.run([command, "--version"], capture_output=True, timeout=30,
                                 env=env, check=False)
        langs = subprocess.run([command, "--list-langs"], capture_output=True, timeout=30,
                               env=env, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(rb"tesseract\s+v?(\d+\.\d+(?:\.\d+)?)", version.stdout + version.stderr)
    if version.returncode != 0 or found is None or int(found.group(1).split(b".")[0]) < 4:
        return None
    names = frozenset(line.strip() for line in langs.stdout.decode("utf-8", "replace")
                      .splitlines()[1:] if re.fullmatch(r"[A-Za-z0-9_]+", line.strip()))
    return Engine(command, found.group(1).decode(), names)


_FIND_LOCK = threading.Lock()


def find_engine() -> Engine | None:
    """The installed Tesseract (4 or later), or None; looked up once per process."""
    if os.environ.get(OCR_ENV, "").strip().lower() in ("0", "off", "no", "false"):
        return None
    command = os.environ.get(TESSERACT_ENV, "").strip() or shutil.which("tesseract")
    with _FIND_LOCK:  # a lookup under way in the background (start_engine_lookup) is waited for
        return _find(command)


def start_engine_lookup() -> None:
    """Look the engine up in a background thread: its two short tesseract runs then overlap
    with reading the case, and the build's find_engine() finds the answer ready."""
    threading.Thread(target=find_engine, name="itaoreport-ocr-engine", daemon=True).start()


def missing_engine_note() -> str:
    if os.environ.get(OCR_ENV, "").strip().lower() in ("0", "off", "no", "false"):
        return f"quote checks skipped: OCR is turned off ({OCR_ENV}=0)"
    return ("quote checks skipped: Tesseract OCR is not installed "
            "(Debian/Ubuntu: apt install tesseract-ocr tesseract-ocr-chi-sim; "
            "macOS: brew install tesseract tesseract-lang)")


def engine_env() -> dict[str, str]:
    """One thread per tesseract: the build already runs one per CPU in its worker pool,
    and OpenMP's spinning threads cost more CPU than they save on a screenshot."""
    return {**os.environ, "OMP_THREAD_LIMIT": "1"}


_CJK_RANGES = (("\u2e80", "\u9fff"), ("\uac00", "\ud7af"), ("\uf900", "\ufaff"),
               ("\uff00", "\uffef"))
"""CJK characters, full-width forms included. Compared, not matched with a regular
expression: compiling one over these ranges took ~7 ms at start-up."""


def has_cjk(text: str) -> bool:
    if not text or max(text) < "\u2e80":  # most texts: nothing that far up
        return False
    return any(lo <= c <= hi for c in text if c >= "\u2e80" for lo, hi in _CJK_RANGES)


SCRIPT_LANGUAGES = (
    ("HANGUL", "kor"), ("HIRAGANA", "jpn"), ("KATAKANA", "jpn"), ("CJK", "chi_sim"),
    ("CYRILLIC", "rus"), ("GREEK", "ell"), ("ARABIC", "ara"), ("HEBREW", "heb"),
    ("THAI", "tha"), ("DEVANAGARI", "hin"),
)
"""Letters of these Unicode scripts (by character name) need this Tesseract language."""


def languages_for(text: str | None) -> tuple[str, ...]:
    """The Tesseract languages to read a picture with, to find `text` in it.

    Latin text is read with `eng` (twice as fast as `chi_sim`); a quote with letters of
    another script needs that script's language: `chi_sim` for Chinese (it reads Latin
    letters and digits well too, so alone), `kor` for Hangul, `jpn` for kana, `rus`
    for Cyrillic... (Japanese with kanji and kana: `jpn`). A language that is not
    installed makes the check `skipped`, never a false "not found"."""
    import unicodedata

    wanted: set[str] = set()
    for c in set(text or ""):
        if ord(c) < 0x250 or not c.isalpha():
            continue
        name = unicodedata.name(c, "")
        for prefix, language in SCRIPT_LANGUAGES:
            if name.startswith(prefix):
                wanted.add(language)
                break
    if "jpn" in wanted:
        wanted.discard("chi_sim")
    return tuple(sorted(wanted)) or ("eng",)


class OcrText:
    """The words of one picture: `engine` is the OcrSpec key; each word is
    `{"text": str, "box": [x0, y0, x1, y1], "line": int, "block": int}`, box in the
    original file's pixels after EXIF orientation, lines numbered through the picture.

    `digest` names the words by content (the SHA-256 of their cache file, evidence/
    derived.py): results computed from the words are cached under it. The words may be
    given as a `load` function, called on first use: a warm build whose quote and privacy
    results are all cached never parses the words of its pictures (evidence/derived.py).
    """

    def __init__(self, engine: str, words: list[dict] | None = None, digest: str = "",
                 load: Callable[[], list[dict]] | None = None, text: str | None = None):
        self.engine = engine
        self._words = words if words is not None or load is None else None
        if self._words is None and load is None:
            self._words = []
        self._load = load
        self._digest = digest
        self._text = text

    @property
    def words(self) -> list[dict]:
        if self._words is None:
            assert self._load is not None
            self._words, self._load = self._load(), None
        return self._words

    @property
    def digest(self) -> str:
        """SHA-256 of the words' cache file (computed from the words when not given)."""
        if not self._digest:
            self._digest = hashlib.sha256(self.cache_bytes()).hexdigest()
        return self._digest

    def cache_bytes(self) -> bytes:
        """The words as the OCR cache stores them."""
        return json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":")
                          ).encode("utf-8")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OcrText):
            return NotImplemented
        return self.engine == other.engine and self.words == other.words

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it was

    def __repr__(self) -> str:
        return f"OcrText({self.engine!r}, {len(self.words)} words)"

    def __getstate__(self) -> dict:
        """Pickled (to and from worker processes) with its words, never a load function."""
        return {"engine": self.engine, "_words": self.words, "_load": None,
                "_digest": self._digest, "_text": self._text}

    def to_json(self) -> dict:
        return {"engine": self.engine, "words": self.words}

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages the engine key names (`tesseract-5.3.0-chi_sim+eng-p2`)."""
        parts = self.engine.split("-")
        return tuple(parts[2].split("+")) if len(parts) == 4 else ()

    @classmethod
    def from_json(cls, data: object) -> OcrText:
        """ValueError unless `data` has exactly the shape to_json gives."""
        if not isinstance(data, dict) or set(data) != {"engine", "words"}:
            raise ValueError("not an OCR result")
        engine, words = data["engine"], data["words"]
        if not isinstance(engine, str) or not isinstance(words, list) or len(words) > MAX_WORDS:
            raise ValueError("not an OCR result")
        for w in words:
            if (not isinstance(w, dict) or set(w) != {"text", "box", "line", "block"}
                    or not isinstance(w["text"], str) or not _is_box(w["box"])
                    or type(w["line"]) is not int or type(w["block"]) is not int):
                raise ValueError("not an OCR word")
        return cls(engine, words)

    def text(self) -> str:
        """The words as text, one line of the picture per line."""
        if self._text is None:
            self._text = self._lines()
        return self._text

    def _lines(self) -> str:
        lines: list[str] = []
        last = None
        for w in self.words:
            if w["line"] != last:
                lines.append(w["text"])
                last = w["line"]
            else:
                lines[-1] += " " + w["text"]
        return "\n".join(lines)

    def without(self, boxes: Iterable[list[int]]) -> OcrText:
        """The words outside these boxes (redacted regions): a word whose centre is in one
        is dropped."""
        boxes = list(boxes)

        def hidden(b: list[int]) -> bool:
            cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
            return any(r[0] <= cx <= r[2] and r[1] <= cy <= r[3] for r in boxes)

        return OcrText(self.engine, [w for w in self.words if not hidden(w["box"])])


def _is_box(box: object) -> bool:
    return (isinstance(box, list) and len(box) == 4 and all(type(v) is int for v in box)
            and 0 <= box[0] <= box[2] and 0 <= box[1] <= box[3])


def read_words(image: Image, spec: OcrSpec) -> OcrText:
    """OCR a decoded, upright picture; OcrError when tesseract fails or hangs."""
    prepared, factor = prepare(image)
    data = _pnm(prepared)
    try:
        done = subprocess.run([spec.command, "stdin", "stdout", "-l", "+".join(spec.languages),
                               "--psm", PSM, *THRESHOLD, "tsv"], input=data, capture_output=True,
                              timeout=TIMEOUT_SECONDS, env=engine_env(), check=False)
    except subprocess.TimeoutExpired:
        raise OcrError(f"OCR took longer than {TIMEOUT_SECONDS} s and was stopped") from None
    except OSError as exc:
        raise OcrError(f"tesseract could not be run ({exc.strerror or exc})") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise OcrError(f"tesseract failed ({message[-1] if message else done.returncode})")
    return OcrText(spec.key, parse_tsv(done.stdout.decode("utf-8", "replace"), factor,
                                       image.width, image.height))


def prepare(image: Image) -> tuple[Image, float]:
    """A grayscale copy, dark text on light, reduced by an integer factor: (copy, factor).

    Tall pictures (phone screenshots) are reduced to TARGET_WIDTH wide, where chat text is
    still 15-30 px high, which Tesseract reads as well as full size in about 2/3 of the
    time (halving loses the small text of store-style framed screenshots); other shapes
    (desktop screenshots, with smaller text) are read full size."""
    from PIL import Image as PILImage
    from PIL import ImageOps, ImageStat

    if image.mode in ("RGBA", "LA"):  # transparent: as composited over white
        back = PILImage.new("RGBA", image.size, "white")
        image = PILImage.alpha_composite(back, image.convert("RGBA")).convert("RGB")
    factor = 1.0
    if image.height >= 1.5 * image.width and image.width > 1.2 * TARGET_WIDTH:
        height = image.height
        image = image.resize((TARGET_WIDTH, round(height * TARGET_WIDTH / image.width)),
                             PILImage.Resampling.BOX)
        factor = height / image.height
    gray = image.convert("L") if image.mode != "L" else image
    if image.mode == "RGB":
        gray = lighten_dark_text_bubbles(image, gray)
    if ImageStat.Stat(gray).mean[0] < 110:  # dark mode
        gray = ImageOps.invert(gray)
    return gray, factor


SATURATED = 96
"""A pixel whose channels spread more than this (0-255) is a saturated colour (a bubble of
an app's brand colour, a header bar)."""
BUBBLE_MIN_SHARE = 0.002
"""A saturated region smaller than this share of the picture is an icon or noise."""
INSIDE_REACH = 12
"""A pixel is inside a saturated region when saturated pixels lie within this many pixels
(at the OCR size) both to its left and to its right: the strokes of a letter drawn on it,
not the page beside it."""


def lighten_dark_text_bubbles(rgb: Image, gray: Image) -> Image:
    """`gray` with every saturated region that carries dark text made light.

    Luminance turns a bright saturated colour (#0866ff, luminance 91) dark: black text on
    it vanishes into the bubble for Tesseract's global threshold, while white text on it
    (Messenger, iMessage, Signal) reads well as it is. So each large saturated region is
    judged by the text inside it: when more of its inside pixels are dark than light, its
    saturated pixels take their brightest channel (the blue bubble becomes light, the black
    letters stay black, their anti-aliased edges darker than the bubble; the saturated islands
    inside letters, like the hole of an o, go with their region); regions with light
    text, and everything unsaturated, keep their luminance."""
    import numpy as np
    from PIL import Image as PILImage
    from PIL import ImageChops
    from scipy import ndimage

    r, g, b = rgb.split()  # Pillow's per-pixel max/min: ~40x numpy's max over a last axis of 3
    brightest = ImageChops.lighter(ImageChops.lighter(r, g), b)
    darkest = ImageChops.darker(ImageChops.darker(r, g), b)
    sat = np.asarray(ImageChops.subtract(brightest, darkest)) > SATURATED
    if sat.sum() < BUBBLE_MIN_SHARE * sat.size:
        return gray
    labels, _count = ndimage.label(sat)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0  # the unsaturated background
    big = np.flatnonzero(sizes >= BUBBLE_MIN_SHARE * sat.size)
    if not big.size:
        return gray
    high, low = np.asarray(brightest), np.asarray(darkest)
    left = ndimage.maximum_filter1d(sat, INSIDE_REACH + 1, axis=1, origin=INSIDE_REACH // 2)
    right = ndimage.maximum_filter1d(sat, INSIDE_REACH + 1, axis=1,
                                     origin=-(INSIDE_REACH // 2))
    inside = left & right & ~sat
    dark, light = inside & (high < 80), inside & (low > 190)
    out = None
    objects = ndimage.find_objects(labels, max_label=int(big[-1]))
    for index in big:  # the large regions only: a noisy photo has thousands of small ones
        where = objects[index - 1]
        if int(dark[where].sum()) <= max(int(light[where].sum()), 50):
            continue
        if out is None:
            out = np.array(gray)
        region = sat[where]  # with the islands inside letters (the hole of an o)
        out[where][region] = high[where][region]
    return gray if out is None else PILImage.fromarray(out)


def _pnm(gray: Image) -> bytes:
    """An uncompressed PGM: nothing to compress or decompress on the way to tesseract."""
    return f"P5\n{gray.width} {gray.height}\n255\n".encode() + gray.tobytes()


def parse_tsv(tsv: str, factor: float, width: int, height: int) -> list[dict]:
    """Words of tesseract's TSV, boxes scaled back to the original picture's pixels."""
    words: list[dict] = []
    lines: dict[tuple[int, int, int], int] = {}
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        text = cols[11].strip()
        if not text:
            continue
        try:
            block, par, line = int(cols[2]), int(cols[3]), int(cols[4])
            left, top, w, h = (int(c) for c in cols[6:10])
        except ValueError:
            continue
        box = [min(width, max(0, int(left * factor))), min(height, max(0, int(top * factor))),
               min(width, max(0, round((left + w) * factor + 0.49))),
               min(height, max(0, round((top + h) * factor + 0.49)))]
        number = lines.setdefault((block, par, line), len(lines))
        words.append({"text": text, "box": box, "line": number, "block": block})
        if len(words) >= MAX_WORDS:
            break
    return words


class OcrCache:
    """OCR results by file SHA-256 and engine key, under the case's image cache folder."""

    def __init__(self, folder: Path | str | None):
        self.folder = None if folder is None else str(folder)
        self.stats = {"hits": 0, "misses": 0, "runs": 0}

    def _path(self, sha256: str, key: str) -> str | None:
        if self.folder is None or not re.fullmatch(r"[0-9a-f]{64}", sha256) \
                or not re.fullmatch(r"[A-Za-z0-9_.+-]+", key):
            return None
        path = f"{self.folder}/{CACHE_KIND}/{sha256[:2]}/{sha256}-{key}.json"
        return path if no_links_below(self.folder, path) else None

    def get(self, sha256: str, spec: OcrSpec, derived: DerivedCache | None = None
            ) -> OcrText | None:
        """The words read earlier, or None. With `derived`: a file whose content was read
        and found of the right shape before (same SHA-256) is parsed only when its words
        are used, if ever."""
        path = self._path(sha256, spec.key)
        if path is None:
            return None
        try:
            data = read_cache_file(path)
            if len(data) > MAX_CACHE_BYTES:
                raise ValueError("too large")
            digest = hashlib.sha256(data).hexdigest()
            checked = derived.get(derived_key(digest)) if derived is not None else None
            if checked == spec.key:
                self.stats["hits"] += 1
                return OcrText(spec.key, digest=digest, load=lambda: _words_of(data, spec.key))
            text = OcrText.from_json(json.loads(data))
        except (OSError, ValueError, RecursionError):
            self.stats["misses"] += 1
            return None
        if text.engine != spec.key:
            self.stats["misses"] += 1
            return None
        text._digest = digest
        if derived is not None:
            derived.put(derived_key(digest), spec.key)
        self.stats["hits"] += 1
        return text

    def put(self, sha256: str, text: OcrText) -> None:
        data = text.cache_bytes()
        text._digest = hashlib.sha256(data).hexdigest()
        path = self._path(sha256, text.engine)
        if path is not None:
            _write(path, data)


def derived_key(digest: str) -> str:
    """The derived-cache key recording that OCR cache content `digest` has the right shape."""
    from itaoreport.evidence.derived import key

    return key("ocr", digest)


def _words_of(data: bytes, engine: str) -> list[dict]:
    """The words of an OCR cache file known to be of the right shape (evidence/derived.py
    says a file of this SHA-256 was checked). Should it not be after all (a planted pair
    of files), no words: never an error, as for any other cache entry of the wrong shape."""
    try:
        text = OcrText.from_json(json.loads(data))
    except (ValueError, RecursionError):
        return []
    return text.words if text.engine == engine else []


def ocr_files(items: list[tuple[Path, str]], cache_folder: Path | None,
              languages: Iterable[str] = ("eng",),
              progress: Callable[[int, int], None] | None = None
              ) -> dict[str, OcrText | str] | None:
    """The words of each (file, sha256), by SHA-256: from the cache, else read in the
    worker pool (evidence/prepare.run_jobs) and cached; a str where reading failed.

    None when no OCR engine (or language) is installed. For the privacy check and other
    callers outside the build, which wires OCR into its own decode of each picture."""
    from itaoreport.evidence.prepare import ImageJob, run_jobs

    engine = find_engine()
    spec = engine.spec(languages) if engine else None
    if spec is None:
        return None
    cache = OcrCache(cache_folder)
    found: dict[str, OcrText | str] = {}
    jobs = []
    for path, sha in items:
        if sha in found or any(j.sha256 == sha for j in jobs):
            continue
        hit = cache.get(sha, spec)
        if hit is not None:
            found[sha] = hit
        else:
            jobs.append(ImageJob(path, sha, 0, False, False, None, cache_folder, ocr=spec))
    for work in run_jobs(jobs, progress):
        found[work.job.sha256] = work.ocr if work.ocr is not None else (
            work.ocr_error or work.error or "OCR failed")
    return found

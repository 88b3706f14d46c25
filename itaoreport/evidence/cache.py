"""Content-hash cache of image analysis, so an unchanged image is never decoded twice.

Layout under the cache folder (a case's `.itaoreport/cache/`, git-ignored):

    v3/index.json              every image's ImageFacts and every pair's verdict, by SHA-256
    v3/images/ab/abcdef....gray  an image's normalised grayscale (for the verifier): a header
                               and the zlib-compressed 8-bit samples
    v3/renditions/...          screen renditions (evidence/renditions.py)

A warm run reads one index (facts of 1,000 images and their verdicts: one small read)
and no grayscale. New facts and verdicts are kept in memory and merged into the index
by `flush()` (atomically; a run that stops before it just leaves them to be made again).
An unreadable or corrupt entry is treated as a miss and recomputed. The key includes
VERSION, so a change of algorithm never reuses stale results.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import struct
import tempfile
from functools import lru_cache
from pathlib import Path

from typing import TYPE_CHECKING

from itaoreport.evidence.dedupe import NORM_WIDTH, ImageFacts, Verdict

if TYPE_CHECKING:
    import numpy as np

VERSION = "8"
"""2: full-depth pixel digests, frame counts, the shown picture of 16-bit and light-on-
transparent images (#14), the wide-margin verifier (#20). 3: one index of facts and
verdicts, grayscales as zlib (#20). 4: verdict scores are the noise model's ratio (#20),
no longer grey levels. 5: pairs with a palette (reduced-colour) side are judged against a
simulation of that palette (#20). 6: a portrait pair whose kept image has small text is
compared wider than 480 px (dedupe.text_height, up to FINE_WIDTH; #20), so its score differs.
7: grayscales, comparison arrays and pHash input shrunk by evidence/resample.py (Pillow's Lanczos
weights as matrix products; the blur rounded once), so greys and scores differ slightly; pixel
digests BLAKE3 where the blake3 package is installed (#20, round 6). 8: a pair merges up to
score 1.6 (dedupe.SCORE_CAP, was 1.3), so a kept verdict's `same` may differ (#20, round 7)."""


class ImageCache:
    """Analysis results keyed by content hash; `stats` counts hits and misses."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        self.stats = {"hits": 0, "misses": 0, "decodes": 0}
        self._base = None if folder is None else os.path.join(folder, f"v{VERSION}")
        self._plain_folders: set[str] = set()
        self._index: dict | None = None
        """The index as read (facts and pairs, raw JSON values), read on first use."""
        self._new: dict[str, dict] = {"facts": {}, "pairs": {}}
        """Entries made in this run, not yet in the index file (flush)."""
        from itaoreport.evidence.digests import DigestStore

        self.digests = DigestStore(folder)
        """SHA-256 of attachments by file signature (evidence/digests.py)."""

    def _path(self, kind: str, name: str, suffix: str) -> str | None:
        """Where an entry lives, or None when there is no cache or a folder on the way
        is a link (a case from someone else could point it anywhere)."""
        # Plain strings: a warm build looks up a thousand pair verdicts, and pathlib's
        # joins cost more than the reads.
        if self._base is None:
            return None
        folder = f"{self._base}/{kind}/{name[:2]}"
        if folder not in self._plain_folders:
            if not no_links_below(str(self.folder), f"{folder}/{name}"):
                return None
            if os.path.isdir(folder):  # made by a first write otherwise, as a real folder
                self._plain_folders.add(folder)
        return f"{folder}/{name}{suffix}"

    def _index_path(self) -> str | None:
        if self._base is None or not no_links_below(str(self.folder), f"{self._base}/{INDEX}"):
            return None
        return f"{self._base}/{INDEX}"

    def _entries(self, kind: str) -> dict:
        """The index's entries of one kind ("facts" or "pairs"), raw; {} when it is missing,
        damaged or of another shape."""
        if self._index is None:
            path = self._index_path()
            data = _load_json(path) if path is not None else None
            if not isinstance(data, dict):
                data = {}
            self._index = {k: data[k] if isinstance(data.get(k), dict) else {}
                           for k in ("facts", "pairs")}
        return self._index[kind]

    def _entry(self, kind: str, key: str) -> object:
        new = self._new[kind].get(key)
        return new if new is not None else self._entries(kind).get(key)

    def facts(self, sha256: str) -> ImageFacts | None:
        """The facts of an image analysed earlier (from the index), or None."""
        data = self._entry("facts", sha256)
        if not _plausible_facts(sha256, data):
            self.stats["misses"] += 1
            return None
        self.stats["hits"] += 1
        return ImageFacts.from_json(data)  # type: ignore[arg-type]

    def gray(self, sha256: str) -> np.ndarray | None:
        """The normalised grayscale of an image analysed earlier, or None.

        Read only when the verifier needs it: a build whose pair verdicts are all
        cached reads none.
        """
        path = self._path("images", sha256, ".gray")
        if path is None:
            return None
        try:
            return decode_gray(read_cache_file(path))
        except (OSError, ValueError):  # a damaged (or planted) entry is a miss
            return None

    def put(self, facts: ImageFacts, gray: np.ndarray) -> None:
        path = self._path("images", facts.sha256, ".gray")
        if path is not None:
            _write(path, encode_gray(gray))
        self.remember(facts, gray)

    def remember(self, facts: ImageFacts, gray: np.ndarray) -> None:
        """Facts (and a grayscale already stored) of an image analysed in this run."""
        if self._base is not None:
            self._new["facts"][facts.sha256] = facts.to_json()

    def remember_rendition(self, sha256: str, key: str, rendition: tuple) -> None:
        """A rendition that a worker process made and already stored on disk."""

    def verdict(self, a: str, b: str) -> Verdict | None:
        data = self._entry("pairs", "-".join(sorted((a, b))))
        if not (isinstance(data, dict) and _is(data, "same", bool) and _is(data, "similar", bool)
                and _number(data.get("score")) and _number(data.get("noise"))):
            return None  # missing, damaged or of another shape: a miss, decided again
        return Verdict(data["same"], float(data["score"]), float(data["noise"]), data["similar"])

    def put_verdict(self, a: str, b: str, verdict: Verdict) -> None:
        if self._base is not None:
            self._new["pairs"]["-".join(sorted((a, b)))] = {
                "same": verdict.same, "score": verdict.score, "noise": verdict.noise,
                "similar": verdict.similar}

    def flush(self) -> None:
        """Merge this run's new facts and verdicts into the index file (atomically, with
        whatever another run wrote meanwhile), and the attachments' digests."""
        self.digests.save()
        if not any(self._new.values()):
            return
        path = self._index_path()
        if path is None:
            return
        data = _load_json(path)
        merged = {}
        for kind in ("facts", "pairs"):
            old = data.get(kind) if isinstance(data, dict) else None
            merged[kind] = {**(old if isinstance(old, dict) else {}), **self._new[kind]}
        _write(path, json.dumps(merged, separators=(",", ":"), sort_keys=True).encode("utf-8"))
        self._index = merged
        self._new = {"facts": {}, "pairs": {}}

    def rendition(self, sha256: str, key: str) -> tuple | None:
        """(name, data, media type, width, height) of a rendition made earlier, or None."""
        meta = self._path("renditions", f"{sha256}-{key}", ".json")
        blob = self._path("renditions", f"{sha256}-{key}", ".bin")
        if meta is None or blob is None:
            return None
        info = _load_json(meta)
        if not isinstance(info, dict) or not _plausible_rendition(sha256, info) \
                or not _is(info, "size", int):
            return None
        try:
            data = read_cache_file(blob)
        except OSError:
            return None
        if len(data) != info["size"]:
            return None
        return info["name"], data, info["media_type"], info["width"], info["height"]

    def put_rendition(self, sha256: str, key: str, rendition: tuple) -> None:
        name, data, media_type, width, height = rendition
        meta = self._path("renditions", f"{sha256}-{key}", ".json")
        blob = self._path("renditions", f"{sha256}-{key}", ".bin")
        if meta is None or blob is None:
            return
        _write(blob, data)
        _write(meta, json.dumps({"name": name, "media_type": media_type, "width": width,
                                 "height": height, "size": len(data)}).encode("utf-8"))


INDEX = "index.json"
GRAY_MAGIC = b"ITAOGRY1"


def encode_gray(gray: np.ndarray) -> bytes:
    """A grayscale as stored: magic, height and width (4 bytes each, little-endian) and the
    zlib-compressed samples (level 1: ~5 ms and ~130 KB for a 720x1560 screenshot, where a
    PNG took ~14 ms for the same size).

    Compressed with ISA-L (the isal package) where it is installed: the same zlib format,
    read back by zlib, ~7x faster (a 720x1280 screenshot's grayscale: 0.5 ms where zlib
    takes 3.4-3.9 ms, and ~10 % smaller), which is ~4 s of CPU in a cold run over the
    1,039 real screenshots (#20)."""
    import numpy as np

    height, width = gray.shape
    return GRAY_MAGIC + struct.pack("<II", height, width) + _deflate()(
        np.ascontiguousarray(gray, dtype=np.uint8).data, 1)


@lru_cache(maxsize=1)
def _deflate():  # noqa: ANN202 - zlib.compress or isal_zlib.compress (same format)
    """Looked up once: without isal a failed import would search every path on each call."""
    try:
        from isal import isal_zlib
    except ImportError:  # a platform without its wheels: the standard library's zlib
        import zlib

        return zlib.compress
    return isal_zlib.compress


def decode_gray(data: bytes) -> np.ndarray:
    """A stored grayscale; ValueError unless it is exactly what encode_gray writes, of a size
    this cache writes (a planted entry can neither flood memory nor pass as a picture)."""
    import zlib

    import numpy as np

    head = len(GRAY_MAGIC) + 8
    if len(data) < head or not data.startswith(GRAY_MAGIC):
        raise ValueError("not a cached grayscale")
    height, width = struct.unpack("<II", data[len(GRAY_MAGIC):head])
    if not (0 < width <= NORM_WIDTH and 0 < height <= MAX_GRAY_HEIGHT):
        raise ValueError("not a grayscale this cache wrote")
    inflate = zlib.decompressobj()
    try:
        samples = inflate.decompress(data[head:], height * width + 1)
    except zlib.error as exc:
        raise ValueError(str(exc)) from None
    if len(samples) != height * width or not inflate.eof or inflate.unconsumed_tail:
        raise ValueError("damaged cached grayscale")
    return np.frombuffer(samples, dtype=np.uint8).reshape(height, width)


_RENDITION_TYPES = {"image/jpeg": "jpg", "image/png": "png"}
MAX_GRAY_HEIGHT = 200_000
"""A cached grayscale is at most NORM_WIDTH wide; a taller one was not written here."""
MAX_SIDE = 1_000_000
_HEX = re.compile(r"^[0-9a-f]+$")


def _load_json(path: str) -> object:
    """A cache file's JSON, or None when it is missing, unreadable, damaged or too deep."""
    try:
        return json.loads(read_cache_file(path))
    except (OSError, ValueError, RecursionError):
        return None


def _is(data: dict, key: str, kind: type) -> bool:
    """data[key] is exactly of `kind` (an int is not a bool here, nor a bool an int)."""
    value = data.get(key)
    return isinstance(value, kind) and (kind is bool or not isinstance(value, bool))


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value) and value >= 0


def _plausible_facts(sha256: str, data: object) -> bool:
    """Cached ImageFacts of exactly the shape put() writes, for this file's hash.

    A planted or damaged entry of another shape (a list, a number where text
    belongs, an empty pixel digest that would make every image "identical") is a
    miss and the image is analysed again (#14). So is a pixel digest of the other kind
    (SHA-256 where blake3 is installed, or the reverse: images.pixel_hash), which could
    never equal one made now.
    """
    from itaoreport.evidence.images import pixel_digest_length

    if not isinstance(data, dict) or data.get("sha256") != sha256:
        return False
    if not all(_is(data, k, int) for k in ("size", "width", "height")):
        return False
    if data["size"] < 0 or not (0 < data["width"] <= MAX_SIDE and 0 < data["height"] <= MAX_SIDE):
        return False
    digest, phash, fmt = data.get("pixel_digest"), data.get("phash"), data.get("format")
    return (_is(data, "lossless", bool) and isinstance(fmt, str) and 0 < len(fmt) <= 16
            and isinstance(digest, str) and len(digest) == pixel_digest_length()
            and bool(_HEX.match(digest))
            and isinstance(phash, str) and 0 < len(phash) <= 16 and bool(_HEX.match(phash)))


def _plausible_rendition(sha256: str, info: dict) -> bool:
    """A cached rendition's name becomes an output file name: only ever the one
    screen_rendition gives, so a planted entry cannot name e.g. report.html."""
    media = info.get("media_type")
    ext = _RENDITION_TYPES.get(media) if isinstance(media, str) else None
    return (ext is not None and info.get("name") == f"assets/{sha256[:16]}.{ext}"
            and all(_is(info, k, int) and 0 < info[k] <= MAX_SIDE for k in ("width", "height")))


MAX_ENTRY_BYTES = 64 * 1024 * 1024
"""Largest cache file read (a rendition is well under 1 MB)."""


def read_cache_file(path: str) -> bytes:
    """A cache file's bytes; OSError unless it is a regular file (no link, pipe or device)
    of at most MAX_ENTRY_BYTES, so a planted entry can neither hang nor flood a build."""
    from itaoreport.case.safety import read_open_file

    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_ENTRY_BYTES:
            raise OSError(f"{path} is not a cache file")
        data = read_open_file(fd, MAX_ENTRY_BYTES, info.st_size)
    finally:
        os.close(fd)
    if len(data) > MAX_ENTRY_BYTES:  # grew while it was read
        raise OSError(f"{path} is not a cache file")
    return data


def no_links_below(root: str, path: str) -> bool:
    """True when no folder between `root` (itself checked by the caller) and `path` is a link."""
    folder = os.path.dirname(path)
    parts = []
    while len(folder) > len(root):
        parts.append(folder)
        folder = os.path.dirname(folder)
    for part in reversed(parts):
        try:
            if stat.S_ISLNK(os.lstat(part).st_mode):
                return False
        except FileNotFoundError:
            return True
        except OSError:
            return False
    return True


def _write(path: str, data: bytes) -> None:
    """Atomic write; a cache that cannot be written is simply not used."""
    try:
        folder = os.path.dirname(path)
        os.makedirs(folder, exist_ok=True)
        from itaoreport.write import TEMP_SUFFIX, temp_prefix

        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(os.path.basename(path)),
                                   suffix=TEMP_SUFFIX, dir=folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except OSError:
        pass

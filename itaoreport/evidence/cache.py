"""Content-hash cache of image analysis, so an unchanged image is never decoded twice.

Layout under the cache folder (a case's `.itaoreport/cache/`, git-ignored):

    images/ab/abcdef....json   ImageFacts of the file with that SHA-256
    images/ab/abcdef....png    its normalised grayscale (for the verifier)
    pairs/<sha>-<sha>.json     the verifier's verdict on a pair

Entries are written atomically; an unreadable or corrupt entry is treated as a
miss and recomputed. The key includes VERSION, so a change of algorithm never
reuses stale results.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path

from typing import TYPE_CHECKING

from itaoreport.evidence.dedupe import ImageFacts, Verdict

if TYPE_CHECKING:
    import numpy as np

VERSION = "1"


class ImageCache:
    """Analysis results keyed by content hash; `stats` counts hits and misses."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        self.stats = {"hits": 0, "misses": 0, "decodes": 0}
        self._base = None if folder is None else os.path.join(folder, f"v{VERSION}")

    def _path(self, kind: str, name: str, suffix: str) -> str | None:
        # Plain strings: a warm build looks up a thousand pair verdicts, and pathlib's
        # joins cost more than the reads.
        if self._base is None:
            return None
        return f"{self._base}/{kind}/{name[:2]}/{name}{suffix}"

    def facts(self, sha256: str) -> ImageFacts | None:
        """The facts of an image analysed earlier (a small JSON read), or None."""
        meta = self._path("images", sha256, ".json")
        if meta is None:
            return None
        try:
            facts = ImageFacts.from_json(json.loads(_read(meta)))
        except (OSError, ValueError, KeyError, TypeError):
            self.stats["misses"] += 1
            return None
        if facts.sha256 != sha256 or not os.path.isfile(self._path("images", sha256, ".png")):
            self.stats["misses"] += 1
            return None
        self.stats["hits"] += 1
        return facts

    def gray(self, sha256: str) -> np.ndarray | None:
        """The normalised grayscale of an image analysed earlier, or None.

        Read only when the verifier needs it: a build whose pair verdicts are all
        cached reads none.
        """
        png = self._path("images", sha256, ".png")
        if png is None:
            return None
        import numpy as np
        from PIL import Image

        try:
            with Image.open(png) as im:
                return np.asarray(im.convert("L"), dtype=np.uint8)
        except (OSError, ValueError, SyntaxError):
            return None

    def put(self, facts: ImageFacts, gray: np.ndarray) -> None:
        meta = self._path("images", facts.sha256, ".json")
        png = self._path("images", facts.sha256, ".png")
        if meta is None or png is None:
            return
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(gray).save(buf, format="PNG", compress_level=1)
        _write(png, buf.getvalue())
        _write(meta, json.dumps(facts.to_json(), sort_keys=True).encode("utf-8"))

    def remember(self, facts: ImageFacts, gray: np.ndarray) -> None:
        """Facts and grayscale that a worker process analysed and already stored on disk."""

    def remember_rendition(self, sha256: str, key: str, rendition: tuple) -> None:
        """A rendition that a worker process made and already stored on disk."""

    def verdict(self, a: str, b: str) -> Verdict | None:
        path = self._path("pairs", "-".join(sorted((a, b))), ".json")
        if path is None:
            return None
        try:
            data = json.loads(_read(path))
            return Verdict(bool(data["same"]), float(data["score"]), float(data["noise"]),
                           bool(data["similar"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put_verdict(self, a: str, b: str, verdict: Verdict) -> None:
        path = self._path("pairs", "-".join(sorted((a, b))), ".json")
        if path is not None:
            data = {"same": verdict.same, "score": verdict.score, "noise": verdict.noise,
                    "similar": verdict.similar}
            _write(path, json.dumps(data).encode("utf-8"))

    def rendition(self, sha256: str, key: str) -> tuple | None:
        """(name, data, media type, width, height) of a rendition made earlier, or None."""
        meta = self._path("renditions", f"{sha256}-{key}", ".json")
        blob = self._path("renditions", f"{sha256}-{key}", ".bin")
        if meta is None or blob is None:
            return None
        try:
            info = json.loads(_read(meta))
            data = _read(blob)
        except (OSError, ValueError):
            return None
        if len(data) != info.get("size"):
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


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def _write(path: str, data: bytes) -> None:
    """Atomic write; a cache that cannot be written is simply not used."""
    try:
        folder = os.path.dirname(path)
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=folder)
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

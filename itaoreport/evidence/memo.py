"""An image cache that also remembers in memory, for `watch`, which builds the same case often.

The on-disk content-hash cache (`cache.ImageCache`) saves decoding, but still
reads every image's facts, normalised grayscale and rendition from disk on each
build. `MemoCache` keeps what it read or made in memory for the life of one
watcher. Keys are content hashes, so a changed file can never get stale results.
"""

from __future__ import annotations

from itaoreport.evidence.cache import ImageCache


class MemoCache(ImageCache):
    """ImageCache plus an in-memory layer kept between builds."""

    def __init__(self, folder):
        super().__init__(folder)
        self._images: dict = {}
        self._verdicts: dict = {}
        self._renditions: dict = {}

    def get(self, sha256: str):
        if sha256 not in self._images:
            hit = super().get(sha256)
            if hit is None:
                return None
            self._images[sha256] = hit
        return self._images[sha256]

    def put(self, facts, gray) -> None:
        super().put(facts, gray)
        self._images[facts.sha256] = (facts, gray)

    def verdict(self, a: str, b: str):
        key = tuple(sorted((a, b)))
        if key not in self._verdicts:
            found = super().verdict(a, b)
            if found is None:
                return None
            self._verdicts[key] = found
        return self._verdicts[key]

    def put_verdict(self, a: str, b: str, verdict) -> None:
        super().put_verdict(a, b, verdict)
        self._verdicts[tuple(sorted((a, b)))] = verdict

    def rendition(self, sha256: str, key: str) -> tuple | None:
        if (sha256, key) not in self._renditions:
            found = super().rendition(sha256, key)
            if found is None:
                return None
            self._renditions[(sha256, key)] = found
        return self._renditions[(sha256, key)]

    def put_rendition(self, sha256: str, key: str, rendition: tuple) -> None:
        super().put_rendition(sha256, key, rendition)
        self._renditions[(sha256, key)] = rendition

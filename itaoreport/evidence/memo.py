"""An image cache that also remembers in memory, for `watch`, which builds the same case often.

The on-disk content-hash cache (`cache.ImageCache`) saves decoding, but still
reads every image's facts and rendition (and a grayscale where a pair must be
verified) from disk on each build. `MemoCache` keeps what it read or made in
memory for the life of one watcher. Keys are content hashes, so a changed file can never get stale results.
"""

from __future__ import annotations

from itaoreport.evidence.cache import ImageCache


class MemoCache(ImageCache):
    """ImageCache plus an in-memory layer kept between builds."""

    def __init__(self, folder):
        super().__init__(folder)
        self._facts: dict = {}
        self._grays: dict = {}
        self._verdicts: dict = {}
        self._renditions: dict = {}
        self.ocr_texts: dict = {}
        """(SHA-256, engine key) -> OcrText: the words of pictures read or loaded so far."""
        self.parsed: dict = {}
        """Case file name -> (bytes, YAML tree): unchanged files are not parsed again."""
        self.validated: dict = {}
        """Entry file name -> the entry read from its bytes (case/validate.py): an unchanged
        entry whose attachments are the same files is not checked again."""

    def facts(self, sha256: str):
        if sha256 not in self._facts:
            found = super().facts(sha256)
            if found is None:
                return None
            self._facts[sha256] = found
        else:
            self.stats["hits"] += 1
        return self._facts[sha256]

    def gray(self, sha256: str):
        # Grayscales (~1 MB each) are needed only to verify a new candidate pair, so they
        # stay on disk, and in memory only when there is no disk cache.
        return self._grays.get(sha256) if self.folder is None else super().gray(sha256)

    def put(self, facts, gray) -> None:
        super().put(facts, gray)  # which remembers them

    def remember(self, facts, gray) -> None:
        super().remember(facts, gray)
        self._facts[facts.sha256] = facts
        if self.folder is None:
            self._grays[facts.sha256] = gray

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
        self.remember_rendition(sha256, key, rendition)

    def remember_rendition(self, sha256: str, key: str, rendition: tuple) -> None:
        self._renditions[(sha256, key)] = rendition

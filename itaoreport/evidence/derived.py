"""Results computed from OCR words, cached by content hash, so that a warm build neither
parses the words of hundreds of screenshots nor checks them again.

What is kept, each under the SHA-256 of everything it depends on:

- `ocr`: that the OCR cache file with this SHA-256 was read and had the right shape, and
  for which engine key; such a file's words are then parsed only when something needs them
  (evidence/ocr.OcrCache.get);
- `text`: a picture's words as the report shows them (report.json's `ocr_text`);
- `picture`: what the privacy check found in a picture (privacy.check_pictures);
- `quote`: an entry's quote check (build.check_quotes).

Words are named by their digest (OcrText.digest: their cache file's SHA-256, or, after
redaction, a hash of that, the redact boxes and the redact_text pattern). One file per
case cache, `.itaoreport/cache/derived-v1/results.json`, which also names the code that
made the results: a hash of the source of the modules that compute them and of
itaoreport's version, so changed code never reuses a result. The image cache's safety
rules hold: no link followed, a regular file of bounded size, and a file or value of the
wrong shape is a miss (each caller checks the shape of what it gets). A build rewrites
the file (atomically) only when it added results or left some unused; it keeps only the
results that build used.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from itaoreport.evidence.cache import _write, no_links_below, read_cache_file

KIND = "derived-v1"
FILE = "results.json"
_SOURCES = ("analysis/quotes.py", "privacy.py", "evidence/ocr.py", "evidence/derived.py")
"""The modules whose results are cached: any change to them is a new code version."""


@lru_cache(maxsize=1)
def code_version() -> str:
    """A hash of itaoreport's version and the source of the modules in _SOURCES."""
    from itaoreport import __version__

    digest = hashlib.sha256(__version__.encode())
    package = Path(__file__).resolve().parent.parent
    for name in _SOURCES:
        try:
            digest.update((package / name).read_bytes())
        except OSError:  # no source beside the bytecode: the version alone
            digest.update(b"?" + name.encode())
    return digest.hexdigest()[:32]


def key(*parts: object) -> str:
    """The SHA-256 naming a result: of its kind and every input (JSON values)."""
    text = json.dumps(parts, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class DerivedCache:
    """The results of one case cache; `get` and `put` by key(), `save` at the end."""

    def __init__(self, folder: Path | str | None):
        self.path: str | None = None
        if folder is not None:
            path = f"{folder}/{KIND}/{FILE}"
            if no_links_below(str(folder), path):
                self.path = path
        self._old: dict | None = None
        self._used: dict[str, object] = {}
        self._added = False
        self.stats = {"hits": 0, "misses": 0}

    def _load(self) -> dict:
        if self._old is None:
            self._old = {}
            if self.path is not None:
                try:
                    data = json.loads(read_cache_file(self.path))
                except (OSError, ValueError, RecursionError):
                    data = None
                if (isinstance(data, dict) and data.get("code") == code_version()
                        and isinstance(data.get("results"), dict)):
                    self._old = data["results"]
        return self._old

    def get(self, name: str) -> object | None:
        """The result named `name` (a key()), or None."""
        if name in self._used:
            return self._used[name]
        found = self._load().get(name)
        if found is None:
            self.stats["misses"] += 1
            return None
        self.stats["hits"] += 1
        self._used[name] = found
        return found

    def put(self, name: str, value: object) -> None:
        self._used[name] = value
        self._added = True

    def forget(self, name: str) -> None:
        """A result the caller found of the wrong shape: not kept."""
        self._used.pop(name, None)

    def save(self) -> None:
        """Write the results this build used, when they differ from the file's."""
        if self.path is None or (not self._added and len(self._used) == len(self._load())):
            return
        data = {"code": code_version(), "results": self._used}
        _write(self.path, json.dumps(data, ensure_ascii=False, separators=(",", ":"),
                                     sort_keys=True).encode("utf-8", "surrogatepass"))


"""SHA-256 of attachments kept between builds by file signature, so an unchanged file is not
read and hashed again (a 1,000-entry case has ~50 MB of screenshots).

This is what git's index does. A file's signature is its device, inode, size, and its
modification and change times in nanoseconds. The change time (ctime) is set by the system
on every write, rename or `touch`, and no user program can set it back, so a file whose
signature is unchanged has unchanged bytes.

One case needs care: a filesystem whose clock ticks coarsely (FAT: 2 s) can give a file
written just after it was hashed the same times it had when hashed. As git does ("racy
git"), a digest is trusted only for a file whose modification and change times are at least
RACY_NS older than the moment it was hashed; a file changed more recently is hashed again.

The store is `digests.json` in the case's cache folder, which is this user's own
(`.itaoreport/cache/<owner>/`, evidence/owner.py): a store that came with a case from
someone else is never read. A damaged or odd-shaped store is ignored entry by entry.
`itaoreport verify` never uses it: it always hashes every file.
"""

from __future__ import annotations

import json
import os
import re
import stat
import time

from itaoreport.evidence.cache import _write, no_links_below, read_cache_file

NAME = "digests.json"
FORMAT = 1
RACY_NS = 3_000_000_000
"""How much older than the hashing a file's times must be for its digest to be reused
(above the coarsest common timestamp tick, FAT's 2 s)."""
MAX_FILES = 100_000
"""More entries than this and the store starts anew (files come and go over a long case)."""


def signature(st: os.stat_result) -> list[int]:
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


class DigestStore:
    """path -> (signature, SHA-256, size, when hashed), read on first use, saved by `save()`."""

    def __init__(self, folder: str | os.PathLike | None):
        self.folder = None if folder is None else os.fspath(folder)
        self._known: dict[str, list] | None = None if self.folder is not None else {}
        self._changed = False

    def _path(self) -> str | None:
        if self.folder is None:
            return None
        path = os.path.join(self.folder, NAME)
        return path if no_links_below(self.folder, path) else None

    def _entries(self) -> dict[str, list]:
        if self._known is None:
            self._known = {}
            path = self._path()
            try:
                data = json.loads(read_cache_file(path)) if path else None
            except (OSError, ValueError, RecursionError):
                data = None
            if isinstance(data, dict) and data.get("format") == FORMAT and isinstance(
                    data.get("files"), dict):
                self._known = {k: v for k, v in data["files"].items() if _plausible(v)}
        return self._known

    def get(self, path: str, st: os.stat_result) -> tuple[str, int] | None:
        """(SHA-256, size) of the file at `path` with status `st`, if hashed before and
        unchanged since; None otherwise."""
        known = self._entries().get(path)
        if known is None or not stat.S_ISREG(st.st_mode) or known[0] != signature(st):
            return None
        hashed_at = known[3]
        if st.st_mtime_ns > hashed_at - RACY_NS or st.st_ctime_ns > hashed_at - RACY_NS:
            return None  # changed too close to its hashing to be told apart: hash it again
        return known[1], known[2]

    def put(self, path: str, st: os.stat_result, sha256: str, size: int, hashed_at: int) -> None:
        """Remember a digest; `st` is the file's status before it was read, `hashed_at`
        (time.time_ns()) taken before it was read too."""
        if not stat.S_ISREG(st.st_mode) or size != st.st_size:
            return
        entries = self._entries()
        if len(entries) >= MAX_FILES and path not in entries:
            entries.clear()
        entry = [signature(st), sha256, size, hashed_at]
        if entries.get(path) != entry:
            entries[path] = entry
            self._changed = True

    def save(self) -> None:
        path = self._path()
        if not self._changed or path is None:
            return
        _write(path, json.dumps({"format": FORMAT, "files": self._known},
                                separators=(",", ":")).encode("utf-8"))
        self._changed = False


_SHA256 = re.compile(r"[0-9a-f]{64}")


def _plausible(value: object) -> bool:
    return (isinstance(value, list) and len(value) == 4
            and isinstance(value[0], list) and len(value[0]) == 5
            and all(type(n) is int for n in value[0])
            and isinstance(value[1], str) and _SHA256.fullmatch(value[1]) is not None
            and type(value[2]) is int and type(value[3]) is int)


def now_ns() -> int:
    return time.time_ns()

"""Reading case files without leaving the case folder, blocking, or reading without bound.

Case folders may come from someone else, so every file the loader reads must be
a regular file whose real path (after following links) is inside the case
folder, and no bigger than the YAML limit.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from itaoreport.case.yamlload import MAX_YAML_BYTES

SHOWN_CHARS = 80
"""Longest user-given path or value quoted back in a message."""


class CaseFileError(Exception):
    """A case file cannot be read; the message says why in plain words."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.hint = hint


def short_repr(text: str, limit: int = SHOWN_CHARS) -> str:
    """repr() of user text, cut to `limit` characters so a hostile value cannot flood a message."""
    if len(text) <= limit:
        return repr(text)
    return repr(text[:limit]) + f"... ({len(text):,} characters)"


def is_inside(root: Path, path: Path, root_real: Path | None = None) -> bool:
    """True if `path`, with every link followed, is `root` or inside it.

    root_real: `root` already resolved, when checking many paths in one pass.
    Raises OSError, RuntimeError (link loops on older Pythons) or ValueError (NUL
    in the path) when the path cannot be resolved at all.
    """
    real = path.resolve(strict=False)
    root_real = root_real or root.resolve()
    return real == root_real or real.is_relative_to(root_real)


def read_case_file(root: Path, rel: str, limit: int = MAX_YAML_BYTES, *,
                   root_real: Path | None = None) -> bytes:
    """The bytes of case file `rel`; CaseFileError unless it is a safe, small, regular file."""
    full = root / rel
    try:
        if not is_inside(root, full, root_real):
            raise CaseFileError(f"{rel} is a link that points outside the case folder",
                                "case files must live inside the case folder")
        # O_NONBLOCK: opening a named pipe must not wait for a writer
        fd = os.open(full, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except (OSError, RuntimeError, ValueError) as exc:
        raise CaseFileError(f"cannot read file: {getattr(exc, 'strerror', None) or exc}") from None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise CaseFileError("not a regular file (a device, pipe or socket)")
        if st.st_size > limit:
            raise CaseFileError(f"file is {st.st_size:,} bytes; the limit is {limit:,}",
                                "an entry is a few lines; is this really a case file?")
        return fh.read(limit + 1)

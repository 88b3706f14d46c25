"""Whose cache is it: a case's `.itaoreport/` caches are read only when this user made them.

A case folder may come from someone else with its `.itaoreport/` folder. A planted cache
entry names a file by its SHA-256 and could give that file another picture, other OCR
words, a quote check that passes or a duplicate verdict: the report would show something
other than the evidence. So every cache lives in a folder named by this user's *owner
tag*, `.itaoreport/cache/<tag>/` and `.itaoreport/renditions/<tag>/`, and a build reads
only its own tag's folder; the folders of other tags are never read (they cost disk space
only: delete `.itaoreport/` to reclaim it).

The tag is an HMAC of a fixed text under a random secret of 32 bytes kept in the user's
own cache folder (`$XDG_CACHE_HOME/itaoreport/cache-secret`, else
`~/.cache/itaoreport/cache-secret`, mode 0600, made on first use). Nobody without that
file can name this user's cache folder in advance. When the secret cannot be read or
made (no home folder, read-only), each run gets a fresh random tag: builds stay correct,
only never warm.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from functools import lru_cache
from pathlib import Path

SECRET_NAME = "cache-secret"
SECRET_BYTES = 32
TAG_CHARS = 20
"""Hex characters of the owner tag (80 bits: not guessable, short enough for paths)."""


def secret_path() -> Path | None:
    """Where this user's secret is kept (itaoreport/usercache.py), or None without a home."""
    from itaoreport.usercache import user_cache_folder

    folder = user_cache_folder()
    return None if folder is None else folder / SECRET_NAME


def _read_or_make(path: Path) -> bytes | None:
    """The secret in `path` (a regular file of SECRET_BYTES, not a link), made if missing."""
    for _ in range(2):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
        except FileNotFoundError:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            except FileExistsError:  # another run made it meanwhile: read theirs
                continue
            except OSError:
                return None
            value = secrets.token_bytes(SECRET_BYTES)
            try:
                os.write(fd, value)
            finally:
                os.close(fd)
            return value
        except OSError:
            return None
        try:
            data = os.read(fd, SECRET_BYTES + 1)
        except OSError:
            return None
        finally:
            os.close(fd)
        return data if len(data) == SECRET_BYTES else None
    return None


@lru_cache(maxsize=1)
def _secret() -> bytes:
    """This user's secret, or a fresh random one for this run when it cannot be kept."""
    path = secret_path()
    secret = _read_or_make(path) if path is not None else None
    return secret if secret is not None else secrets.token_bytes(SECRET_BYTES)


def owner_tag() -> str:
    """This user's cache folder name (the same in every run, and in worker processes)."""
    digest = hmac.new(_secret(), b"itaoreport case cache v1", hashlib.sha256).hexdigest()
    return "u" + digest[:TAG_CHARS]


def signing_key() -> bytes:
    """A key for signing cache files that are more than data (case/loadcache.py): derived
    from the same secret, so only this user can make a file that this user's runs accept."""
    return hmac.new(_secret(), b"itaoreport signed cache v1", hashlib.sha256).digest()

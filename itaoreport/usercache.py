"""The user's own cache folder: `$XDG_CACHE_HOME/itaoreport`, else `~/.cache/itaoreport`.

Compiled templates (render/themes.py) and the secret that names this user's case caches
(evidence/owner.py) live there: outside every case folder, so a case cannot bring them.
"""

from __future__ import annotations

import os
from pathlib import Path


def user_cache_folder() -> Path | None:
    """The folder, or None when there is no home folder at all."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:  # no home folder at all
            return None
    return Path(base) / "itaoreport"

"""Which files in a case folder are case files, and which are editor litter."""

from __future__ import annotations

import os
import re
from pathlib import Path

CASE_FILE = "case.yaml"
ENTRIES_DIR = "entries"
ENTRY_SUFFIXES = (".yaml", ".yml")
OUTPUT_DIR = "build"
CACHE_DIR = ".itaoreport"

# Temporary and backup files of common editors: vim (file~, 4913, .swp/.swx),
# gedit/GNOME (.goutputstream-XXXX), JetBrains (___jb_tmp___, ___jb_old___),
# emacs (.#lock, #autosave#), and generic .tmp/.bak/.orig/.part files.
_EDITOR_LITTER = re.compile(
    r"""(^\.|~$|^\#.*\#$|^4913$|\.sw[a-p]$|___jb_(tmp|old|bak)___$|^\.goutputstream-
        |\.(tmp|temp|bak|orig|part|crdownload)$)""",
    re.VERBOSE,
)


def is_editor_litter(name: str) -> bool:
    """True for names editors use for temporary, lock and backup files."""
    return bool(_EDITOR_LITTER.search(name))


def entry_files(root: Path) -> list[str]:
    """Entry files under entries/ (any depth), relative posix paths, sorted."""
    base = root / ENTRIES_DIR
    found: list[str] = []
    if not base.is_dir():
        return found
    for folder, dirs, files in os.walk(base):
        dirs[:] = sorted(d for d in dirs if not is_editor_litter(d))
        for name in files:
            if name.endswith(ENTRY_SUFFIXES) and not is_editor_litter(name):
                found.append((Path(folder) / name).relative_to(root).as_posix())
    return sorted(found)

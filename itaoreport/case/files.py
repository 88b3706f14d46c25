"""Which files in a case folder are case files, and which are editor litter."""

from __future__ import annotations

import os
import re
from pathlib import Path

from itaoreport.case.safety import CaseFileError, read_case_file
from itaoreport.case.values import BadValue, parse_timezone
from itaoreport.case.yamlload import YamlProblem, YMap, YScalar, load_yaml_bytes

CASE_FILE = "case.yaml"
ENTRIES_DIR = "entries"
ENTRY_SUFFIXES = (".yaml", ".yml")
OUTPUT_DIR = "build"
CACHE_DIR = ".itaoreport"

# Temporary and backup files of common editors: vim (file~, .swp/.swx; its write probes
# 4913, 5036, ... are checked below), gedit/GNOME (.goutputstream-XXXX), JetBrains
# (___jb_tmp___, ___jb_old___), emacs (.#lock, #autosave#), Office lock files (~$name),
# GNU `sed -i` (sedXXXXXX), and generic .tmp/.bak/.orig/.part files.
_EDITOR_LITTER = re.compile(
    r"""(^\.|~$|^~\$|^\#.*\#$|\.sw[a-p]$|___jb_(tmp|old|bak)___$|^\.goutputstream-
        |^sed[A-Za-z0-9]{6}$|\.(tmp|temp|bak|orig|part|crdownload)$)""",
    re.VERBOSE,
)
VIM_PROBE_FIRST, VIM_PROBE_STEP = 4913, 123
"""vim checks it may write a folder by creating 4913, or 5036, 5159, ... if that exists."""


def is_editor_litter(name: str) -> bool:
    """True for names editors use for temporary, lock and backup files."""
    if name.isdigit() and int(name) >= VIM_PROBE_FIRST:
        return (int(name) - VIM_PROBE_FIRST) % VIM_PROBE_STEP == 0
    return bool(_EDITOR_LITTER.search(name))


def entry_files(root: Path) -> list[str]:
    """Entry files under entries/ (any depth), relative posix paths, sorted."""
    base = root / ENTRIES_DIR
    found: list[str] = []
    if not base.is_dir():
        return found
    for folder, dirs, files in os.walk(base):
        dirs[:] = sorted(d for d in dirs if not is_editor_litter(d))
        rel = Path(folder).relative_to(root).as_posix()
        found.extend(f"{rel}/{name}" for name in files
                     if name.endswith(ENTRY_SUFFIXES) and not is_editor_litter(name))
    return sorted(found)


def read_case_mapping(root: Path) -> YMap | None:
    """case.yaml as located YAML, or None if missing or unreadable (validate says why).

    For commands that need one setting (timezone, party names) before or without
    a full validation.
    """
    try:
        node = load_yaml_bytes(read_case_file(Path(root), CASE_FILE), CASE_FILE)
    except (CaseFileError, YamlProblem):
        return None
    return node if isinstance(node, YMap) else None


def case_timezone(root: Path) -> str:
    """The case's `timezone` (an IANA name), UTC when absent or not valid."""
    node = read_case_mapping(root)
    value = node.items.get("timezone") if node is not None else None
    try:
        return parse_timezone(value.text) if isinstance(value, YScalar) else "UTC"
    except BadValue:
        return "UTC"

"""Which files in a case folder are case files, and which are editor litter."""

from __future__ import annotations

import os
import re
from pathlib import Path

from itaoreport.case.safety import CaseFileError, read_case_file
from itaoreport.case.values import BadValue, parse_timezone
from itaoreport.case.yamlload import YamlProblem, YMap, YScalar, load_yaml_bytes
from itaoreport.errors import Loc, Problem, error, warning

CASE_FILE = "case.yaml"
ENTRIES_DIR = "entries"
ENTRY_SUFFIXES = (".yaml", ".yml")
OUTPUT_DIR = "build"
CACHE_DIR = ".itaoreport"

# Temporary, lock and backup FILES of common editors (never folder names: a folder called
# `sediments` or `old.bak` is the user's; issue #14): hidden files (emacs locks `.#name`, vim swap
# `.name.swp`, gedit/GNOME `.goutputstream-XXXXXX`, ...), `name~` (vim, emacs backups),
# `#name#` (emacs autosave), `~$name` (Office locks), `name___jb_tmp___` / `___jb_old___`
# (JetBrains safe write), `sedXXXXXX` (GNU `sed -i`), and `.tmp/.temp/.bak/.orig/.part/
# .crdownload` endings; vim's write probes 4913, 5036, ... are checked below.
_EDITOR_LITTER = re.compile(
    r"""(^\.|.~$|^~\$.|^\#.+\#$|\.sw[a-p]$|.___jb_(tmp|old|bak)___$
        |^sed[A-Za-z0-9]{6}$|.\.(tmp|temp|bak|orig|part|crdownload)$)""",
    re.VERBOSE,
)
VIM_PROBE_FIRST, VIM_PROBE_STEP = 4913, 123
"""vim checks it may write a folder by creating 4913, or 5036, 5159, ... if that exists."""
SKIPPED_LITTER = "looks like an editor temp file"


def is_editor_litter(name: str) -> bool:
    """True for FILE names editors use for temporary, lock and backup files.

    Only ever applied to the last part of a path: folders are never litter.
    """
    if name.isdigit() and int(name) >= VIM_PROBE_FIRST:
        return (int(name) - VIM_PROBE_FIRST) % VIM_PROBE_STEP == 0
    return bool(_EDITOR_LITTER.search(name))


def is_hidden_folder(name: str) -> bool:
    """Folders not walked for entries nor watched: `.git`, `.itaoreport`, `.schema`, ..."""
    return name.startswith(".")


def is_utf8_name(name: str) -> bool:
    """False for a file name whose bytes are not UTF-8 (os.walk gives them as surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown_name(name: str) -> str:
    """A file name for a message; bytes that are not UTF-8 shown as \\xNN."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def entry_files(root: Path, problems: list[Problem] | None = None) -> list[str]:
    """Entry files under entries/ (any depth), relative posix paths, sorted.

    Every YAML file that is not taken is reported into `problems` when given: editor
    temp files and files in hidden folders as warnings (`skipped ... (looks like an
    editor temp file)`), file names that are not UTF-8 as errors (they cannot be
    shown in a report; rename them). Folder links inside entries/ are not walked.
    """
    base = root / ENTRIES_DIR
    found: list[str] = []
    if not base.is_dir():
        return found
    for folder, dirs, files in os.walk(base):
        rel = Path(folder).relative_to(root).as_posix()
        hidden = [d for d in dirs if is_hidden_folder(d)]
        dirs[:] = sorted(d for d in dirs if not is_hidden_folder(d))
        for name in sorted(files):
            if not name.endswith(ENTRY_SUFFIXES):
                continue
            path = f"{rel}/{name}"
            if not is_utf8_name(path):
                _report(problems, error(Loc(shown_name(path)), "the file name is not UTF-8 text",
                                        "rename the file; entry ids are shown in the report"))
            elif is_editor_litter(name):
                _report(problems, warning(Loc(path), f"skipped {path} ({SKIPPED_LITTER})",
                                          "rename it if it is an entry"))
            else:
                found.append(path)
        for name in sorted(hidden) if problems is not None else ():
            for sub, _dirs, names in os.walk(Path(folder) / name):
                for entry in sorted(n for n in names if n.endswith(ENTRY_SUFFIXES)):
                    path = shown_name((Path(sub) / entry).relative_to(root).as_posix())
                    _report(problems, warning(Loc(path), f"skipped {path} (in the hidden folder "
                                              f"{shown_name(rel)}/{shown_name(name)}/)",
                                              "move it out of the hidden folder if it is an entry"))
    return sorted(found)


def _report(problems: list[Problem] | None, problem: Problem) -> None:
    if problems is not None:
        problems.append(problem)


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


def entry_mappings(root: Path) -> list[tuple[str, YMap]]:
    """(file, located YAML) of every entry file that reads as a mapping; the others are
    left out (validate says why). For commands that look at entries before or without a
    full validation (`add`, `import`)."""
    found = []
    for rel in entry_files(root):
        try:
            node = load_yaml_bytes(read_case_file(Path(root), rel), rel)
        except (CaseFileError, YamlProblem):
            continue
        if isinstance(node, YMap):
            found.append((rel, node))
    return found


def case_timezone(root: Path) -> str:
    """The case's `timezone` (an IANA name), UTC when absent or not valid."""
    node = read_case_mapping(root)
    value = node.items.get("timezone") if node is not None else None
    try:
        return parse_timezone(value.text) if isinstance(value, YScalar) else "UTC"
    except BadValue:
        return "UTC"

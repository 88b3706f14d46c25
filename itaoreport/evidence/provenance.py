"""When each case file was first recorded in git, and whether it changed since.

Four git calls for the whole case, however many files it has: `config` (which
filter drivers to switch off, see `_SAFE_CONFIG`), `rev-parse`
(is this a repository, where is the case in it), one `git log` over the case
folder, one `git status` for uncommitted changes. Commit dates are whatever the
committer's machine said; the report words them that way.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

GIT_TIMEOUT = 60

# A case folder may come from someone else, with its own .git/config. Settings
# there can make read-only git commands run programs (core.fsmonitor on status,
# clean filters named in .gitattributes, gpg for log.showSignature, transports
# for lazy fetches). Options given with -c win over the repository's, and git
# passes them on to the git processes it starts itself.
_SAFE_CONFIG = (
    "core.fsmonitor=false",
    "core.hooksPath=/dev/null",
    "log.showSignature=false",
    "diff.external=",
    "protocol.allow=never",
    "safe.bareRepository=explicit",
    "submodule.recurse=false",
)
_FILTER_KEYS = ("clean", "smudge", "process")
MAX_FILTER_DRIVERS = 100
"""A repository naming more filter drivers than this gets no provenance at all."""
_COMMIT, _DATE = "\x01", "\x02"


@dataclass(frozen=True)
class Provenance:
    """What git says about one case file."""

    first_commit: str | None
    """The commit that first added the file at this path; None if never committed."""
    first_recorded: str | None
    """That commit's committer date (ISO 8601 with offset), as the committer's machine set it."""
    modified_after: bool
    """The committed content differs from the content first committed."""
    uncommitted: bool
    """The file is untracked, or differs from the last commit (working tree or index)."""

    def as_json(self) -> dict:
        return {
            "first_commit": self.first_commit,
            "first_recorded": self.first_recorded,
            "modified_after": self.modified_after,
            "uncommitted": self.uncommitted,
        }


def git_provenance(case_dir: Path, rel_paths: list[str]) -> dict[str, Provenance] | None:
    """Provenance of each path (relative to case_dir, posix) or None without a usable git.

    None when git is missing, case_dir is not inside a work tree, the clone is
    shallow (its oldest commit would look like the first record of every
    file), or git fails. Never raises.
    """
    try:
        return _provenance(Path(case_dir), rel_paths)
    except (OSError, subprocess.SubprocessError, ValueError, UnicodeDecodeError):
        return None


class GitState:
    """What git says about a case folder (its history and uncommitted files), asked for in
    the background (a thread waiting on git) while the build reads the case; `provenance`
    then gives each file's Provenance."""

    def __init__(self, case_dir: Path):
        import threading

        self._found: tuple[dict[str, _Record], set[str]] | None = None
        self._thread = threading.Thread(target=self._ask, args=(Path(case_dir),),
                                        name="itaoreport-git", daemon=True)
        self._thread.start()

    def _ask(self, case_dir: Path) -> None:
        try:
            self._found = _state(case_dir)
        except (OSError, subprocess.SubprocessError, ValueError, UnicodeDecodeError):
            self._found = None

    def provenance(self, rel_paths: list[str]) -> dict[str, Provenance] | None:
        """Provenance of each path, as git_provenance gives it."""
        self._thread.join()
        return None if self._found is None else _paths(*self._found, rel_paths)


def _provenance(case_dir: Path, rel_paths: list[str]) -> dict[str, Provenance] | None:
    found = _state(case_dir)
    return None if found is None else _paths(*found, rel_paths)


def _state(case_dir: Path) -> tuple[dict[str, _Record], set[str]] | None:
    """Every recorded path's history and the uncommitted paths, or None (see git_provenance)."""
    overrides = _filter_overrides(case_dir)
    if overrides is None:
        return None
    probe = _git(case_dir, "rev-parse", "--is-inside-work-tree", "--show-prefix",
                 "--is-shallow-repository", filters=overrides)
    if probe is None:
        return None
    lines = probe.rstrip("\n").split("\n")
    if len(lines) < 3 or lines[0] != "true" or lines[2] == "true":
        return None
    prefix = lines[1]
    history = _history(case_dir, overrides)
    if history is None:
        return None
    dirty = _dirty(case_dir, prefix, overrides)
    if dirty is None:
        return None
    return history, dirty


def _paths(history: dict[str, _Record], dirty: set[str], rel_paths: list[str]
           ) -> dict[str, Provenance]:
    result = {}
    for rel in rel_paths:
        record = history.get(rel)
        if record is None:
            result[rel] = Provenance(None, None, False, True)
        else:
            result[rel] = Provenance(record.commit, record.date, record.first_blob != record.blob,
                                     rel in dirty)
    return result


@dataclass
class _Record:
    commit: str
    date: str
    first_blob: str
    blob: str
    """The blob in the newest commit that touched the path ("" if it was deleted there)."""


def _history(case_dir: Path, filters: list[str]) -> dict[str, _Record] | None:
    """Every path under case_dir that git ever recorded, oldest commit first."""
    out = _git(case_dir, "log", "-z", "--reverse", f"--format={_COMMIT}%H{_DATE}%cI", "--raw",
               "--no-abbrev", "--no-renames", "--relative", "--no-show-signature", "--", ".",
               filters=filters, empty_history_ok=True)
    if out is None:
        return None
    records: dict[str, _Record] = {}
    for chunk in out.split(_COMMIT)[1:]:
        header, _, changes = chunk.partition("\0")
        commit, _, date = header.partition(_DATE)
        tokens = changes.lstrip("\n").split("\0")
        for meta, path in zip(tokens[0::2], tokens[1::2]):
            if not meta.startswith(":"):
                continue
            fields = meta[1:].split()
            new_blob, status = fields[3], fields[4]
            blob = "" if status == "D" else new_blob
            record = records.get(path)
            if record is not None:
                record.blob = blob
            elif status != "D":
                records[path] = _Record(commit, date, blob, blob)
    return {path: r for path, r in records.items() if r.blob}


def _dirty(case_dir: Path, prefix: str, filters: list[str]) -> set[str] | None:
    """Paths (relative to case_dir) that are untracked or differ from HEAD."""
    out = _git(case_dir, "status", "--porcelain=v1", "-z", "--no-renames",
               "--untracked-files=all", "--ignore-submodules=all", "--", ".", filters=filters)
    if out is None:
        return None
    dirty = set()
    for item in out.split("\0"):
        path = item[3:]
        if len(item) > 3 and path.startswith(prefix):
            dirty.add(path[len(prefix):])
    return dirty


def _filter_overrides(case_dir: Path) -> list[str] | None:
    """`-c filter.NAME.clean=` (etc.) for every filter driver the repository defines.

    An empty command disables a driver, so `git status` cannot run a program named
    in the case's own .git/config. None if the repository defines too many.
    """
    out = _git(case_dir, "config", "--null", "--get-regexp", r"^filter\.", filters=[])
    names = set()
    for item in (out or "").split("\0"):
        key = item.partition("\n")[0]
        name, _, setting = key[len("filter."):].rpartition(".")
        if key.startswith("filter.") and name and setting in _FILTER_KEYS + ("required",):
            names.add(name)
    if len(names) > MAX_FILTER_DRIVERS:
        return None
    return [f"filter.{n}.{k}=" for n in sorted(names) for k in _FILTER_KEYS]


def _git(cwd: Path, *args: str, filters: list[str], empty_history_ok: bool = False) -> str | None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(LC_ALL="C", GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0", GIT_NO_LAZY_FETCH="1")
    config = [arg for setting in (*_SAFE_CONFIG, *filters) for arg in ("-c", setting)]
    proc = subprocess.run(
        ["git", "-c", "core.quotepath=off", "-c", "color.ui=never", *config, "-C", str(cwd),
         *args],
        capture_output=True, env=env, timeout=GIT_TIMEOUT, check=False,
    )
    if proc.returncode != 0:
        if empty_history_ok and b"does not have any commits" in proc.stderr:
            return ""
        return None
    return proc.stdout.decode("utf-8", errors="surrogateescape")

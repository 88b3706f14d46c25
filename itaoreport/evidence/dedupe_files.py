"""`itaoreport dedupe PATH...`: the duplicate detector on loose files and folders."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from itaoreport.evidence.cache import ImageCache
from itaoreport.evidence.dedupe import DedupeResult, find_duplicates
from itaoreport.evidence.exhibits import (
    IMAGE_SUFFIXES,
    ImageSet,
    Unreadable,
    frames_note,
    sha256_file,
)


@dataclass
class FilesResult:
    result: DedupeResult
    images: int
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    """(path, reason) for files that could not be read as images."""
    warnings: list[tuple[str, str]] = field(default_factory=list)
    """(path, note) for files the detector sees only in part (frames after the first)."""


def collect_images(paths: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Image files named directly or found in folders (sorted), and paths that do not exist."""
    found: list[str] = []
    missing: list[tuple[str, str]] = []
    for given in paths:
        p = Path(given)
        if p.is_dir():
            for folder, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if Path(name).suffix.lower() in IMAGE_SUFFIXES and not name.startswith("."):
                        found.append(os.path.join(folder, name))
        elif p.is_file():
            found.append(given)
        elif os.path.lexists(p):  # a pipe, device, socket or broken link: never opened
            missing.append((given, "not a regular file (a device, pipe or socket)"))
        else:
            missing.append((given, "no such file or folder"))
    return list(dict.fromkeys(found)), missing


def dedupe_paths(paths: list[str], cache_dir: Path | None = None,
                 progress: Callable[[str], None] | None = None) -> FilesResult:
    """Analyse every image once (cached by content when cache_dir is given) and group copies."""
    files, unreadable = collect_images(paths)
    problem: dict[str, str] = {}
    items = []
    for path in files:
        try:
            sha, size = sha256_file(Path(path))
        except OSError as exc:
            problem[path] = exc.strerror or str(exc)
            continue
        items.append((path, Path(path), sha, size))
    cache = ImageCache(cache_dir)
    images = ImageSet(cache, say=progress, renditions=False)
    try:
        problem.update(images.analyse(items))
        while True:
            try:
                result = find_duplicates(images.facts, images.gray, verdicts=cache,
                                         progress=progress)
                break
            except Unreadable as exc:  # its cached grayscale was lost and no longer decodes
                problem[exc.key] = exc.reason
                del images.facts[exc.key]
    finally:
        cache.flush()
    unreadable += [(path, problem[path]) for path in files if path in problem]
    notes = [(path, frames_note(images.facts[path].frames)) for path in files
             if path in images.facts and images.facts[path].frames > 1]
    return FilesResult(result, len(images.facts), unreadable, notes)

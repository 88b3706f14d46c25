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
    seconds: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Stage ("hash", "analyse", "group") -> (wall, CPU) seconds, CPU of this process and
    of its finished workers (for benchmarks)."""
    widths: dict[str, int] = field(default_factory=dict)
    """Path -> width in pixels of every image analysed (upright)."""

    def too_small(self, a: str, b: str) -> int | None:
        """The narrower width of a pair kept separate when it is under MIN_VERIFY_WIDTH: too
        small for the verifier to tell a copy from a changed digit, so never merged, whatever
        its score; else None."""
        from itaoreport.evidence.dedupe import MIN_VERIFY_WIDTH

        width = min(self.widths.get(a, MIN_VERIFY_WIDTH), self.widths.get(b, MIN_VERIFY_WIDTH))
        return width if width < MIN_VERIFY_WIDTH else None


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
    clock = _Clock()
    files, unreadable = collect_images(paths)
    problem: dict[str, str] = {}
    items = []
    for path, digest in zip(files, _digests(files)):
        if isinstance(digest, OSError):
            problem[path] = digest.strerror or str(digest)
            continue
        sha, size = digest
        items.append((path, Path(path), sha, size))
    cache = ImageCache(cache_dir)
    images = ImageSet(cache, say=progress, renditions=False)
    clock.lap("hash")
    try:
        problem.update(images.analyse(items))
        clock.lap("analyse")
        while True:
            try:
                result = find_duplicates(images.facts, images.gray, verdicts=cache,
                                         progress=progress, source_of=images.source,
                                         path_of=images.path)
                break
            except Unreadable as exc:  # its cached grayscale was lost and no longer decodes
                problem[exc.key] = exc.reason
                del images.facts[exc.key]
    finally:
        cache.flush()
    clock.lap("group")
    unreadable += [(path, problem[path]) for path in files if path in problem]
    notes = [(path, frames_note(images.facts[path].frames)) for path in files
             if path in images.facts and images.facts[path].frames > 1]
    return FilesResult(result, len(images.facts), unreadable, notes, clock.seconds,
                       {path: facts.width for path, facts in images.facts.items()})


def _digests(files: list[str]) -> list[tuple[str, int] | OSError]:
    """sha256_file of every file (or its OSError), in a few threads: hashlib lets go of the
    interpreter while it hashes, so a warm run over 1,000 screenshots (~350 MB) hashes on
    every CPU."""
    from concurrent.futures import ThreadPoolExecutor

    def digest(path: str) -> tuple[str, int] | OSError:
        try:
            return sha256_file(Path(path))
        except OSError as exc:
            return exc

    if len(files) < 16:
        return [digest(path) for path in files]
    with ThreadPoolExecutor(min(4, os.cpu_count() or 1)) as threads:
        return list(threads.map(digest, files))


class _Clock:
    """Wall and CPU seconds (this process and its finished child processes) per stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, tuple[float, float]] = {}
        self.wall, self.cpu = self._now()

    @staticmethod
    def _now() -> tuple[float, float]:
        import time

        try:
            import resource
        except ImportError:  # pragma: no cover - Windows
            return time.perf_counter(), time.process_time()
        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.perf_counter(), (own.ru_utime + own.ru_stime + children.ru_utime
                                     + children.ru_stime)

    def lap(self, stage: str) -> None:
        wall, cpu = self._now()
        self.seconds[stage] = (wall - self.wall, cpu - self.cpu)
        self.wall, self.cpu = wall, cpu

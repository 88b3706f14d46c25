"""`itaoreport dedupe PATH...`: the duplicate detector on loose files and folders."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from itaoreport.evidence.cache import ImageCache
from itaoreport.evidence.dedupe import DedupeResult, ImageFacts, find_duplicates
from itaoreport.evidence.exhibits import IMAGE_SUFFIXES, sha256_file
from itaoreport.evidence.prepare import ImageJob, analyse_again, run_jobs

if TYPE_CHECKING:
    import numpy as np


@dataclass
class FilesResult:
    result: DedupeResult
    images: int
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    """(path, reason) for files that could not be read as images."""


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
        else:
            missing.append((given, "no such file or folder"))
    return list(dict.fromkeys(found)), missing


def dedupe_paths(paths: list[str], cache_dir: Path | None = None) -> FilesResult:
    """Analyse every image once (cached by content when cache_dir is given) and group copies."""
    files, missing = collect_images(paths)
    cache = ImageCache(cache_dir)
    problem: dict[str, str] = {}
    shas: dict[str, str] = {}
    by_sha: dict[str, ImageFacts] = {}
    jobs: dict[str, ImageJob] = {}
    for path in files:
        try:
            sha, size = sha256_file(Path(path))
        except OSError as exc:
            problem[path] = exc.strerror or str(exc)
            continue
        shas[path] = sha
        if sha in by_sha or sha in jobs:
            continue
        found = cache.facts(sha)
        if found is None:
            jobs[sha] = ImageJob(Path(path), sha, size, True, False, None, cache_dir)
        else:
            by_sha[sha] = found
    grays: dict[str, np.ndarray] = {}
    failed: dict[str, str] = {}
    for work in run_jobs(list(jobs.values())):
        if work.error is not None:
            failed[work.job.sha256] = work.error
        else:
            assert work.facts is not None and work.gray is not None
            by_sha[work.job.sha256], grays[work.job.sha256] = work.facts, work.gray
    facts: dict[str, ImageFacts] = {}
    for path, sha in shas.items():
        if sha in failed:
            problem[path] = failed[sha]
        else:
            facts[path] = by_sha[sha]

    def gray_of(path: str) -> np.ndarray:
        sha = facts[path].sha256
        if sha not in grays:
            gray = cache.gray(sha)
            grays[sha] = gray if gray is not None else analyse_again(Path(path), facts[path],
                                                                      cache)
        return grays[sha]

    unreadable = missing + [(path, problem[path]) for path in files if path in problem]
    return FilesResult(find_duplicates(facts, gray_of, verdicts=cache), len(facts), unreadable)

"""The evidence stage: hash every attachment, decode images once, number exhibits.

Each distinct piece of evidence becomes one exhibit (E1, E2, ...) numbered in
the order it is first used in the timeline. Copies of the same evidence map to
the kept file's exhibit and say how they were matched.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from itaoreport.case.files import CACHE_DIR
from itaoreport.case.model import Case
from itaoreport.errors import Problem, error
from itaoreport.evidence.cache import ImageCache
from itaoreport.evidence.dedupe import DedupeResult, ImageFacts, analyse_decoded, find_duplicates
from itaoreport.evidence.images import Decoded, ImageError, open_image
from itaoreport.evidence.renditions import (
    SCREEN_QUALITY,
    SCREEN_WIDTH,
    Rendition,
    screen_rendition,
)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".avif", ".tif", ".tiff"}
RENDITION_KEY = f"w{SCREEN_WIDTH}q{SCREEN_QUALITY}"


@dataclass
class AttachmentInfo:
    """One evidence file as the appendix and report.json describe it."""

    path: str
    sha256: str
    size: int
    is_image: bool
    width: int | None = None
    height: int | None = None
    format: str | None = None
    exhibit: str | None = None
    duplicate_of: str | None = None
    """Path of the kept file when this file is a copy of it."""
    stage: str | None = None
    """How the copy was matched: exact (same bytes), pixels, or the verifier's stage."""
    score: float | None = None
    used_by: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "size": self.size,
            "is_image": self.is_image,
            "width": self.width,
            "height": self.height,
            "format": self.format,
            "exhibit": self.exhibit,
            "duplicate_of": self.duplicate_of,
            "stage": self.stage,
            "score": self.score,
            "used_by": self.used_by,
        }


@dataclass
class Exhibit:
    label: str
    path: str
    """The kept file."""
    copies: list[str]
    """Other files merged into this exhibit."""
    entries: list[str]
    """Entries that use it, in timeline order; the first shows it."""
    rendition: Rendition | None = None

    def to_json(self) -> dict:
        return {"label": self.label, "path": self.path, "copies": self.copies,
                "entries": self.entries,
                "rendition": self.rendition.name if self.rendition else None}


@dataclass
class Evidence:
    attachments: dict[str, AttachmentInfo]
    exhibits: list[Exhibit]
    kept_separate: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def exhibit_for(self, path: str) -> Exhibit | None:
        label = self.attachments[path].exhibit if path in self.attachments else None
        return next((x for x in self.exhibits if x.label == label), None)

    def first_exhibit_by_entry(self) -> dict[str, str]:
        result: dict[str, str] = {}
        for x in self.exhibits:
            for entry_id in x.entries:
                result.setdefault(entry_id, x.label)
        return result


def sha256_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def gather_evidence(case: Case, cache: ImageCache | None = None) -> Evidence:
    """Hash every attachment, analyse each image once (or take it from the cache), group
    copies and number exhibits; problems name the file and the entry using it."""
    if cache is None:
        cache = ImageCache(cache_folder(case.root))
    infos: dict[str, AttachmentInfo] = {}
    images = _Images(case.root, cache)
    problems: list[Problem] = []
    for entry in case.entries:
        for att in entry.attachments:
            if att.path in infos:
                if entry.id not in infos[att.path].used_by:
                    infos[att.path].used_by.append(entry.id)
                continue
            full = case.root / att.path
            try:
                sha, size = sha256_file(full)
            except OSError as exc:
                problems.append(error(att.loc, f"cannot read attachment {att.path!r}: {exc.strerror}"))
                continue
            info = AttachmentInfo(att.path, sha, size, _looks_like_image(att.path), used_by=[entry.id])
            if info.is_image:
                try:
                    facts = images.analyse(att.path, sha, size)
                except ImageError as exc:
                    problems.append(error(att.loc, f"attachment {att.path!r}: {exc}"))
                    continue
                info.width, info.height, info.format = facts.width, facts.height, facts.format
            infos[att.path] = info
    if problems:
        return Evidence(infos, [], problems=problems)
    result = find_duplicates(images.facts, images.grays.__getitem__, verdicts=cache)
    exhibits = _number_exhibits(case, infos, result)
    for x in exhibits:
        if infos[x.path].is_image:
            x.rendition = images.rendition(x.path, infos[x.path].sha256)
    kept_separate = [{"a": n.a, "b": n.b, "score": n.score} for n in result.kept_separate]
    return Evidence(infos, exhibits, kept_separate=kept_separate)


def cache_folder(root: Path) -> Path | None:
    """The case's analysis cache, or None where .itaoreport is a link (never written through)."""
    folder = root / CACHE_DIR
    if folder.is_symlink() or (folder / "cache").is_symlink():
        return None
    return folder / "cache"


class _Images:
    """Each image decoded at most once per build, and not at all when the cache has it."""

    def __init__(self, root: Path, cache: ImageCache):
        self.root = root
        self.cache = cache
        self.facts: dict[str, ImageFacts] = {}
        self.grays: dict[str, np.ndarray] = {}
        self.decoded: dict[str, Decoded] = {}

    def analyse(self, path: str, sha: str, size: int) -> ImageFacts:
        hit = self.cache.get(sha)
        if hit is not None:
            facts, gray = hit
        else:
            image = self.decode(path)
            facts, gray = analyse_decoded(image.image, sha, size, image.format, image.lossless)
            self.cache.put(facts, gray)
        self.facts[path], self.grays[path] = facts, gray
        return facts

    def decode(self, path: str) -> Decoded:
        if path not in self.decoded:
            self.decoded[path] = open_image(self.root / path)
            self.cache.stats["decodes"] += 1
        return self.decoded[path]

    def rendition(self, path: str, sha: str) -> Rendition:
        cached = self.cache.rendition(sha, RENDITION_KEY)
        if cached is not None:
            return Rendition(*cached)
        made = screen_rendition(self.decode(path).image, sha)
        self.cache.put_rendition(sha, RENDITION_KEY, (made.name, made.data, made.media_type,
                                                      made.width, made.height))
        return made


def _looks_like_image(path: str) -> bool:
    return PurePosixPath(path).suffix.lower() in IMAGE_SUFFIXES


def _number_exhibits(case: Case, infos: dict[str, AttachmentInfo],
                     result: DedupeResult) -> list[Exhibit]:
    """Map every file to the file it is shown as; number exhibits in order of first use."""
    match_of = {m.path: m for g in result.groups for m in g.duplicates}
    kept_by_sha: dict[str, str] = {}
    for path in sorted(infos, key=lambda p: _keep_rank(infos[p])):
        if not infos[path].is_image:
            kept_by_sha.setdefault(infos[path].sha256, path)
    exhibits: dict[str, Exhibit] = {}
    for entry in case.entries:
        for att in entry.attachments:
            info = infos[att.path]
            if info.is_image:
                kept = result.keep_of.get(att.path, att.path)
                if kept != att.path:
                    match = match_of[att.path]
                    info.duplicate_of, info.stage, info.score = kept, match.stage, match.score
            else:
                kept = kept_by_sha[info.sha256]
                if kept != att.path:
                    info.duplicate_of, info.stage, info.score = kept, "exact", 0.0
            if kept not in exhibits:
                exhibits[kept] = Exhibit(f"E{len(exhibits) + 1}", kept, [], [])
            x = exhibits[kept]
            if att.path != kept and att.path not in x.copies:
                x.copies.append(att.path)
            if entry.id not in x.entries:
                x.entries.append(entry.id)
            info.exhibit = x.label
    return list(exhibits.values())


def _keep_rank(info: AttachmentInfo) -> tuple:
    """Best first: most pixels, lossless, then path."""
    area = (info.width or 0) * (info.height or 0)
    lossless = info.format in ("PNG", "GIF", "BMP", "TIFF")
    return (-area, not lossless, info.path)

"""The evidence stage: hash every attachment, decode images once, number exhibits.

Each distinct piece of evidence becomes one exhibit (E1, E2, ...) numbered in
the order it is first used in the timeline. Copies of the same evidence map to
the kept file's exhibit and say how they were matched.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from itaoreport.case.files import CACHE_DIR
from itaoreport.case.model import Case
from itaoreport.errors import Loc, Problem, error, sort_problems, warning
from itaoreport.evidence.cache import ImageCache
from itaoreport.evidence import dedupe_memo
from itaoreport.evidence.dedupe import DedupeResult, ImageFacts, find_duplicates
from itaoreport.evidence.digests import signature
from itaoreport.evidence.images import ImageError
from itaoreport.evidence.prepare import (
    SCREEN_KEY,
    ImageJob,
    ImageWork,
    PrintMaker,
    analyse_again,
    release_freed_memory,
    rendition_tuple,
    run_jobs,
)
from itaoreport.evidence.renditions import Rendition

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from itaoreport.evidence.derived import DerivedCache
    from itaoreport.evidence.ocr import OcrSpec, OcrText

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".avif", ".tif", ".tiff"}
PROGRESS_FROM = 20
"""Say how preparing screenshots goes when there are at least this many to decode."""


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
    redacted: bool = False
    """The exhibit this file is shown as has redact boxes: shown redacted, never embedded."""

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
    """What report.html shows."""
    printed: Rendition | None = None
    """The first print rendition (for report.pdf), when the build makes a PDF."""
    redact: tuple[tuple[int, int, int, int], ...] = ()
    """Regions shown solid black, in the kept file's pixels: its own boxes and its copies'."""

    def to_json(self) -> dict:
        return {"label": self.label, "path": self.path, "copies": self.copies,
                "entries": self.entries,
                "rendition": self.rendition.name if self.rendition else None,
                "redacted": bool(self.redact)}


@dataclass
class Evidence:
    attachments: dict[str, AttachmentInfo]
    exhibits: list[Exhibit]
    kept_separate: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    printed_grayscale: bool | None = None
    """Whether the exhibits' first print renditions are grayscale; None: none were made."""
    ocr: dict[str, OcrText] = field(default_factory=dict)
    """By SHA-256: the words of the pictures OCR was asked for (evidence/ocr.py)."""
    ocr_errors: dict[str, str] = field(default_factory=dict)
    """By SHA-256: why OCR of a picture failed."""
    warnings: list[Problem] = field(default_factory=list)
    """What the report cannot show of the evidence (frames after the first)."""

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
    """SHA-256 and size of a regular file; OSError for anything else.

    Opened without blocking and checked on the descriptor, so a named pipe (no
    writer) or a device such as /dev/zero (endless) is refused, never read (#14).
    """
    digest = hashlib.sha256()
    size = 0
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file (a device, pipe or socket)", str(path))
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _file_digest(cache: ImageCache, path: Path) -> tuple[str, int]:
    """sha256_file, or what it gave for this very file in an earlier build (evidence/digests.py:
    a regular file with the same device, inode, size, modification and change times, all
    older than that hashing)."""
    store = getattr(cache, "digests", None)
    if store is None:
        return sha256_file(path)
    try:
        st = os.stat(path)
    except OSError:
        return sha256_file(path)
    known = store.get(str(path), st)
    if known is not None:
        return known
    started = time.time_ns()
    sha, size = sha256_file(path)
    try:
        unchanged = signature(os.stat(path)) == signature(st)
    except OSError:
        unchanged = False
    if unchanged:  # not saved over while it was read: the digest is of these very bytes
        store.put(str(path), st, sha, size, started)
    return sha, size


def gather_evidence(case: Case, cache: ImageCache | None = None,
                    printer: PrintMaker | None = None,
                    say: Callable[[str], None] | None = None,
                    ocr: dict[str, OcrSpec] | None = None,
                    derived: DerivedCache | None = None) -> Evidence:
    """Hash every attachment, analyse each image once (or take it from the cache), group
    copies and number exhibits; problems name the file and the entry using it.

    With a `printer` (a PDF is wanted) each exhibit also gets its first print rendition,
    made while the image is decoded for everything else. `ocr` asks for the words of
    pictures (by attachment path; the exhibit shown for it is read too when that is
    another file), read in the same decode, or taken from the OCR cache (`derived`: which
    cached words are known good, so need no parsing until used; evidence/derived.py).
    """
    if cache is None:
        cache = ImageCache(cache_folder(case.root))
    try:
        return _gather_evidence(case, cache, printer, say, ocr, derived)
    finally:
        cache.flush()  # what this build analysed and verified, for the next one


def _gather_evidence(case: Case, cache: ImageCache, printer: PrintMaker | None,
                     say: Callable[[str], None] | None,
                     ocr: dict[str, OcrSpec] | None,
                     derived: DerivedCache | None = None) -> Evidence:
    infos: dict[str, AttachmentInfo] = {}
    where: dict[str, Loc] = {}
    problems: list[Problem] = []
    boxes = redact_boxes(case)
    for entry in case.entries:
        for att in entry.attachments:
            if att.path in infos:
                if entry.id not in infos[att.path].used_by:
                    infos[att.path].used_by.append(entry.id)
                continue
            full = case.root / att.path
            try:
                sha, size = _file_digest(cache, full)
            except OSError as exc:
                problems.append(error(att.loc, f"cannot read attachment {att.path!r}: {exc.strerror}"))
                continue
            infos[att.path] = AttachmentInfo(att.path, sha, size, _looks_like_image(att.path),
                                             used_by=[entry.id])
            where[att.path] = att.loc
    images = ImageSet(cache, printer, say)
    images.redact = boxes
    images.derived = derived
    shown = [info for info in infos.values() if info.is_image]
    images.want_ocr([(infos[p].sha256, spec) for p, spec in (ocr or {}).items()
                     if p in infos and infos[p].is_image])
    failed = images.analyse([(i.path, case.root / i.path, i.sha256, i.size) for i in shown])
    notes: list[Problem] = []
    for info in shown:
        if info.path in failed:
            problems.append(error(where[info.path], f"attachment {info.path!r}: "
                                                    f"{failed[info.path]}"))
        else:
            facts = images.facts[info.path]
            info.width, info.height, info.format = facts.width, facts.height, facts.format
            if facts.frames > 1:
                notes.append(warning(where[info.path], f"attachment {info.path!r}: "
                                                       f"{frames_note(facts.frames)}"))
    problems += check_boxes(case, infos)
    if problems:
        return Evidence(infos, [], problems=sort_problems(problems))
    result = dedupe_memo.get(cache.folder, images.facts)  # the same pictures as last time
    if result is None:
        try:
            result = find_duplicates(images.facts, images.gray, verdicts=cache, progress=say,
                                     source_of=images.source, path_of=images.path)
        except Unreadable as exc:
            return Evidence(infos, [], problems=[error(where[exc.key],
                                                       f"attachment {exc.key!r}: {exc.reason}")])
        dedupe_memo.put(cache.folder, images.facts, result)
    exhibits = _number_exhibits(case, infos, result)
    _redact_exhibits(exhibits, infos, boxes)
    kept = {x.label: x.path for x in exhibits}
    images.want_ocr([(infos[kept[infos[p].exhibit]].sha256, spec)  # type: ignore[index]
                     for p, spec in (ocr or {}).items()
                     if p in infos and infos[p].is_image and infos[p].exhibit])
    problems = images.add_renditions([x for x in exhibits if infos[x.path].is_image], infos,
                                     where)
    ocr, ocr_errors = images.ocr, images.ocr_errors
    if images.decoded:
        del images
        release_freed_memory()
    if problems:
        return Evidence(infos, [], problems=sort_problems(problems))
    kept_separate = [{"a": n.a, "b": n.b, "score": n.score} for n in result.kept_separate]
    return Evidence(infos, exhibits, kept_separate=kept_separate,
                    printed_grayscale=printer.grayscale if printer else None,
                    ocr=ocr, ocr_errors=ocr_errors, warnings=sort_problems(notes))


def frames_note(frames: int) -> str:
    """The warning for a multi-frame file (TIFF pages, animated GIF, APNG, WEBP)."""
    return f"{frames} frames; only the first is shown"


def redact_boxes(case: Case) -> dict[str, tuple[tuple[int, int, int, int], ...]]:
    """Attachment path -> its redact boxes (from every entry that attaches it)."""
    found: dict[str, set] = {}
    for entry in case.entries:
        for att in entry.attachments:
            if getattr(att, "redact", None):
                found.setdefault(att.path, set()).update(tuple(b) for b in att.redact)
    return {path: tuple(sorted(b)) for path, b in found.items()}


def check_boxes(case: Case, infos: dict[str, AttachmentInfo]) -> list[Problem]:
    """Every redact box inside its picture; boxes only on pictures (located at the attachment)."""
    from itaoreport.evidence.redact import outside

    problems = []
    for entry in case.entries:
        for att in entry.attachments:
            info = infos.get(att.path)
            if info is None or not getattr(att, "redact", None):
                continue
            if not info.is_image:
                problems.append(error(att.loc, f"attachment {att.path!r}: `redact` works on "
                                      "pictures only", "leave this file out, or attach a "
                                      "screenshot of it with the private part covered"))
                continue
            if info.width is None or info.height is None:
                continue
            for box in att.redact:
                if outside(box, (info.width, info.height)):
                    problems.append(error(att.loc, f"attachment {att.path!r}: redact box "
                                          f"[{', '.join(map(str, box))}] reaches outside the "
                                          f"picture ({info.width}×{info.height} pixels)",
                                          "boxes are in the picture's pixels, as an image "
                                          "viewer shows it upright"))
    return problems


def _redact_exhibits(exhibits: list[Exhibit], infos: dict[str, AttachmentInfo],
                     boxes: dict[str, tuple]) -> None:
    """Each exhibit hides every region any of its files asked to hide (copies' boxes scaled
    to the kept file), and all its files are marked as shown redacted."""
    from itaoreport.evidence.redact import scale_boxes

    for x in exhibits:
        kept = infos[x.path]
        found: set = set(boxes.get(x.path, ()))
        for copy in x.copies:
            info = infos[copy]
            if boxes.get(copy) and info.width and info.height and kept.width and kept.height:
                found.update(scale_boxes(boxes[copy], (info.width, info.height),
                                         (kept.width, kept.height)))
        if found:
            x.redact = tuple(sorted(found))
            for path in (x.path, *x.copies):
                infos[path].redacted = True


def cache_folder(root: Path) -> Path | None:
    """The case's analysis cache of this user (`.itaoreport/cache/<owner tag>`: a cache
    that came with the case from someone else is never read; evidence/owner.py), or None
    where a folder on the way is a link (never written through)."""
    from itaoreport.evidence.owner import owner_tag

    folder = root / CACHE_DIR / "cache"
    mine = folder / owner_tag()
    if folder.parent.is_symlink() or folder.is_symlink() or mine.is_symlink():
        return None
    return mine


class Unreadable(Exception):
    """An image that was fine when analysed could not be decoded again."""

    def __init__(self, key: str, reason: str):
        super().__init__(reason)
        self.key, self.reason = key, reason


class ImageSet:
    """The images of one build (or one `dedupe` run), each decoded at most once, and not
    at all when the cache has it.

    Facts come from the cache or from one decode (evidence/prepare.py), which also
    makes the image's renditions in case it becomes an exhibit (unless `renditions`
    is off); grayscales are read only for the pairs the verifier has to decide.
    Images are known by a key: the attachment path in a build, the file in `dedupe`.
    """

    def __init__(self, cache: ImageCache, printer: PrintMaker | None = None,
                 say: Callable[[str], None] | None = None, renditions: bool = True):
        self.cache, self.printer, self.say = cache, printer, say
        self.renditions = renditions
        self.facts: dict[str, ImageFacts] = {}
        """Key -> facts (what the duplicate detector groups)."""
        self._files: dict[str, tuple[Path, int]] = {}
        self._grays: dict[str, np.ndarray] = {}
        self._screens: dict[str, Rendition] = {}
        self._prints: dict[str, Rendition] = {}
        """By SHA-256 (with redact boxes: evidence/redact.redaction_key): what this build's
        decodes made."""
        self.decoded = 0
        self.redact: dict[str, tuple] = {}
        """Key -> redact boxes, for the renditions made while analysing."""
        self.ocr: dict[str, OcrText] = {}
        self.ocr_errors: dict[str, str] = {}
        self._ocr_wanted: dict[str, OcrSpec] = {}
        """By SHA-256: OCR still to do, in the next decode of the picture."""
        self.derived: DerivedCache | None = None
        """Which OCR cache files are known good (evidence/derived.py), if a build keeps that."""

    def want_ocr(self, specs: list[tuple[str, OcrSpec]]) -> None:
        """Read the words of these pictures (SHA-256, spec) in their next decode, unless the
        OCR cache has them; two specs for one picture are read as one, in both languages."""
        from dataclasses import replace

        from itaoreport.evidence.ocr import OcrCache

        ocr_cache = OcrCache(self.cache.folder)
        merged: dict[str, OcrSpec] = {}
        for sha, spec in specs:
            if sha in self.ocr:  # read already in this build, maybe in other languages
                spec = replace(spec, languages=tuple(sorted({*self.ocr[sha].languages,
                                                             *spec.languages})))
            if sha in merged:
                spec = replace(spec, languages=tuple(sorted({*merged[sha].languages,
                                                             *spec.languages})))
            merged[sha] = spec
        memo = getattr(self.cache, "ocr_texts", None)  # watch mode keeps them in memory
        for sha, spec in merged.items():
            if sha in self.ocr_errors or (sha in self.ocr and self.ocr[sha].engine == spec.key):
                continue
            hit = memo.get((sha, spec.key)) if memo is not None else None
            if hit is None:
                hit = ocr_cache.get(sha, spec, self.derived)
            if hit is not None:
                self.ocr[sha] = hit
                if memo is not None:
                    memo[(sha, spec.key)] = hit
            else:
                self._ocr_wanted[sha] = spec

    def analyse(self, items: list[tuple[str, Path, str, int]]) -> dict[str, str]:
        """Facts of every (key, file, sha256, size); returns why, by key, for unusable ones."""
        by_sha: dict[str, ImageFacts] = {}
        jobs: dict[str, ImageJob] = {}
        for key, path, sha, size in items:
            self._files[key] = (path, size)
            if sha in by_sha or sha in jobs:
                continue  # the same bytes under another name are analysed once
            facts = self.cache.facts(sha)
            if facts is None:
                jobs[sha] = self._job(key, sha, analyse=True, screen=self.renditions,
                                      printer=self.printer if self.renditions else None,
                                      redact=self.redact.get(key, ()))
            else:
                by_sha[sha] = facts
                if sha in self._ocr_wanted:  # only the words are missing
                    jobs[sha] = self._job(key, sha, analyse=False, screen=False, printer=None)
        failed: dict[str, str] = {}
        for work in run_jobs(list(jobs.values()), self._progress("analysing")):
            if work.error is not None:
                failed[work.job.sha256] = work.error
                continue
            self._took(work)
            if not work.job.analyse:
                continue
            assert work.facts is not None and work.gray is not None
            by_sha[work.job.sha256] = work.facts
            self._grays[work.job.sha256] = work.gray
            self.cache.remember(work.facts, work.gray)
        unusable = {}
        for key, _path, sha, _size in items:
            if sha in failed:
                unusable[key] = failed[sha]
            else:
                self.facts[key] = by_sha[sha]
        return unusable

    def gray(self, key: str) -> np.ndarray:
        """The normalised grayscale of an image, for the verifier; Unreadable if it is lost
        from the cache and the file cannot be decoded again."""
        sha = self.facts[key].sha256
        if sha not in self._grays:
            gray = self.cache.gray(sha)
            if gray is None:
                try:
                    gray = analyse_again(self._files[key][0], self.facts[key], self.cache)
                except ImageError as exc:
                    raise Unreadable(key, str(exc)) from None
            self._grays[sha] = gray
        return self._grays[sha]

    def path(self, key: str) -> Path:
        """The file of an image, whose bytes have its facts' SHA-256 (the verify workers
        decode it themselves for a palette check, checking that hash; see source)."""
        return self._files[key][0]

    def source(self, key: str) -> Image.Image:
        """The decoded, upright picture of an image at full resolution, for the verifier's
        palette check (only pairs with a reduced-colour side); Unreadable if it no longer
        decodes to the bytes analysed."""
        from itaoreport.evidence.images import open_image

        try:
            # no pixel digest: the facts have it; this decode is only looked at
            decoded = open_image(self._files[key][0], self.facts[key].sha256, digest=False)
        except ImageError as exc:
            raise Unreadable(key, str(exc)) from None
        self.cache.stats["decodes"] += 1
        return decoded.image

    def add_renditions(self, exhibits: list[Exhibit], infos: dict[str, AttachmentInfo],
                       where: dict[str, Loc]) -> list[Problem]:
        """Give each image exhibit its screen (and, for a PDF, first print) rendition."""
        from itaoreport.evidence.redact import redaction_key

        jobs = []
        for x in exhibits:
            info = infos[x.path]
            sha = info.sha256
            view = redaction_key(sha, x.redact)
            if view not in self._screens:
                hit = self.cache.rendition(view, SCREEN_KEY)
                if hit is not None:
                    self._screens[view] = Rendition(*hit)
            if self.printer is not None and view not in self._prints:
                found = self.printer.lookup((info.width or 0, info.height or 0), view)
                if found is not None:
                    self._prints[view] = found
            screen = view not in self._screens
            printer = self.printer if self.printer and view not in self._prints else None
            if screen or printer or sha in self._ocr_wanted:
                jobs.append((x.path, self._job(x.path, sha, analyse=False, screen=screen,
                                               printer=printer, redact=x.redact)))
        problems = []
        for (path, _), work in zip(jobs, run_jobs([j for _, j in jobs],
                                                  self._progress("preparing"))):
            if work.error is not None:
                problems.append(error(where[path], f"attachment {path!r}: {work.error}"))
                continue
            self._took(work)
        for x in exhibits:
            view = redaction_key(infos[x.path].sha256, x.redact)
            x.rendition, x.printed = self._screens.get(view), self._prints.get(view)
        return problems

    def _job(self, key: str, sha: str, analyse: bool, screen: bool,
             printer: PrintMaker | None, redact: tuple = ()) -> ImageJob:
        path, size = self._files[key]
        return ImageJob(path, sha, size, analyse, screen, printer, self.cache.folder,
                        ocr=self._ocr_wanted.get(sha), redact=tuple(redact))

    def _took(self, work: ImageWork) -> None:
        """Keep the renditions a decode made."""
        self.cache.stats["decodes"] += 1
        self.decoded += 1
        sha, view = work.job.sha256, work.job.view
        if work.job.ocr is not None:
            self._ocr_wanted.pop(sha, None)
            if work.ocr is not None:
                self.ocr[sha] = work.ocr
                memo = getattr(self.cache, "ocr_texts", None)
                if memo is not None:
                    memo[(sha, work.ocr.engine)] = work.ocr
                if self.derived is not None and work.ocr._digest:  # as its cache file holds it
                    from itaoreport.evidence.ocr import derived_key

                    self.derived.put(derived_key(work.ocr._digest), work.ocr.engine)
            else:
                self.ocr_errors[sha] = work.ocr_error or "OCR failed"
        if work.screen is not None:
            self._screens[view] = work.screen
            self.cache.remember_rendition(view, SCREEN_KEY, rendition_tuple(work.screen))
        if work.printed is not None:
            self._prints[view] = work.printed

    def _progress(self, doing: str) -> Callable[[int, int], None] | None:
        say = self.say
        if say is None:
            return None

        def report(done: int, total: int) -> None:
            step = max(1, total // 10)
            if total >= PROGRESS_FROM and (done % step == 0 or done == total):
                say(f"{doing} screenshots: {done} of {total}")

        return report


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

"""One decode per screenshot: its facts, grayscale and renditions, in worker processes where
that pays.

Decoding, scaling and re-encoding screenshots is most of a cold build. Each image
that the cache does not fully cover becomes an ImageJob; `prepare_image` decodes it
once and makes everything any later stage asks for (the duplicate detector's facts
and grayscale, the screen rendition of report.html, the first print rendition of
report.pdf), stores them in the cache, and lets the decoded pixels go, so a build
holds one decoded image per worker at a time, never all of them.

With several CPUs and enough images the jobs run in a pool of processes (spawned,
so a build inside watch mode's threads is safe), otherwise in this process; the
results, and so the report, are the same either way. ITAOREPORT_WORKERS=1 turns
the pool off.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from itaoreport.evidence.images import ImageError
from itaoreport.evidence.renditions import SCREEN_KEY, Rendition

if TYPE_CHECKING:
    import numpy as np
    from PIL.Image import Image

    from itaoreport.evidence.cache import ImageCache
    from itaoreport.evidence.dedupe import ImageFacts
    from itaoreport.evidence.ocr import OcrSpec, OcrText

MIN_POOL_JOBS = 8
"""Fewer images than this are prepared in-process: starting workers costs ~0.5 s."""
WORKERS_ENV = "ITAOREPORT_WORKERS"
MAX_WORKERS = 4
"""Unless ITAOREPORT_WORKERS says otherwise: each worker holds numpy, Pillow and one
decoded screenshot (~150 MB), and the CPU count a container reports may be the host's."""
QUEUED_PER_WORKER = 4
"""Jobs queued per worker. Results are taken in order, so a worker that finishes its jobs
while another decodes a large screenshot starts on the queued ones (2 per worker before,
#20; on a shared machine the effect on wall time could not be told apart from the load)."""


class PrintMaker(Protocol):
    """Makes the first print rendition of a decoded image (render/fit.py PrintPrep)."""

    grayscale: bool

    def lookup(self, size: tuple[int, int], sha256: str) -> Rendition | None: ...

    def make(self, image: Image, sha256: str) -> Rendition: ...


@dataclass(frozen=True)
class ImageJob:
    """What to make from one image file; picklable, for a worker process."""

    path: Path
    sha256: str
    size: int
    analyse: bool
    """Facts and grayscale are needed (not in the cache)."""
    screen: bool
    """The screen rendition is needed."""
    printer: PrintMaker | None
    """Makes the print rendition when it is needed."""
    cache_folder: Path | None
    """The image cache (evidence/cache.py) to store facts, grayscale and screen rendition in."""
    ocr: OcrSpec | None = None
    """Read the picture's words with this OCR engine (evidence/ocr.py) and cache them."""
    redact: tuple[tuple[int, int, int, int], ...] = ()
    """Regions shown solid black in the renditions (evidence/redact.py); not in facts/grayscale."""

    @property
    def view(self) -> str:
        """What the renditions are named and cached under: the SHA-256, or with the boxes."""
        from itaoreport.evidence.redact import redaction_key

        return redaction_key(self.sha256, self.redact)


@dataclass
class ImageWork:
    """What a job made, or why the image could not be used."""

    job: ImageJob
    facts: ImageFacts | None = None
    gray: np.ndarray | None = None
    screen: Rendition | None = None
    printed: Rendition | None = None
    ocr: OcrText | None = None
    ocr_error: str | None = None
    """Why OCR failed (the picture itself is fine)."""
    error: str | None = None


def prepare_image(job: ImageJob) -> ImageWork:
    """Decode once, make what the job asks for, store it in the cache.

    Never raises for the image's sake: a file that cannot be decoded, has changed
    since it was hashed, or that Pillow fails on later (a rendition too tall for
    JPEG, say) comes back as an error naming what went wrong.
    """
    from itaoreport.evidence.cache import ImageCache
    from itaoreport.evidence.dedupe import analyse
    from itaoreport.evidence.images import open_image
    from itaoreport.evidence.redact import apply_redaction
    from itaoreport.evidence.renditions import screen_rendition

    work = ImageWork(job)
    try:
        decoded = open_image(job.path, job.sha256)
        cache = ImageCache(job.cache_folder)
        if job.analyse:
            work.facts, work.gray = analyse(decoded, job.sha256, job.size)
            cache.put(work.facts, work.gray)
        # redaction right after decode: every picture made for output is made from these pixels
        shown = apply_redaction(decoded.image, job.redact)
        if job.screen:
            work.screen = screen_rendition(shown, job.view)
            cache.put_rendition(job.view, SCREEN_KEY, rendition_tuple(work.screen))
        if job.printer is not None:
            work.printed = job.printer.make(shown, job.view)
        if job.ocr is not None:
            _read_words(work, decoded.image)  # the original's words; redacted ones are dropped later
    except ImageError as exc:
        return ImageWork(job, error=str(exc))
    except (OSError, ValueError, MemoryError) as exc:  # after decoding: scaling, encoding
        return ImageWork(job, error=f"the image could not be prepared for the report "
                                    f"({type(exc).__name__}: {exc})")
    return work


def _read_words(work: ImageWork, image: Image) -> None:
    from itaoreport.evidence.ocr import OcrCache, OcrError, read_words

    assert work.job.ocr is not None
    try:
        work.ocr = read_words(image, work.job.ocr)
    except OcrError as exc:
        work.ocr_error = str(exc)
        return
    OcrCache(work.job.cache_folder).put(work.job.sha256, work.ocr)


def analyse_again(path: Path, facts: ImageFacts, cache: ImageCache) -> np.ndarray:
    """The grayscale of an image whose cached one is gone or damaged: decode and store it
    again. Raises ImageError when that fails."""
    from itaoreport.evidence.dedupe import analyse
    from itaoreport.evidence.images import open_image

    decoded = open_image(path, facts.sha256)
    cache.stats["decodes"] += 1
    again, gray = analyse(decoded, facts.sha256, facts.size)
    cache.put(again, gray)
    return gray


def run_jobs(jobs: list[ImageJob], progress: Callable[[int, int], None] | None = None
             ) -> Iterator[ImageWork]:
    """Each job's work, in the order given; in worker processes when that pays."""
    workers = worker_count(len(jobs))
    done = 0
    results = _in_pool(jobs, workers) if workers > 1 else map(prepare_image, jobs)
    for work in results:
        done += 1
        yield work
        if progress:
            progress(done, len(jobs))


def _in_pool(jobs: list[ImageJob], workers: int) -> Iterator[ImageWork]:
    """prepare_image over `jobs` in worker processes, results in order.

    At most QUEUED_PER_WORKER jobs per worker are queued at a time, so stopping (Ctrl-C,
    the end of watch mode) waits for a few screenshots, not for every one queued. When a worker
    dies (killed, out of memory, a decoder crash), the jobs it may have been running
    are each tried again alone in a fresh process: the one that kills its process is
    an error for that file, never retried in this process.
    """
    from collections import deque
    from concurrent.futures.process import BrokenProcessPool

    pool = _new_pool(workers, initializer=start_worker)
    if pool is None:  # no process pools here (no /dev/shm, a sandbox): in this process
        yield from map(prepare_image, jobs)
        return
    queued: deque = deque()
    submitted = 0
    broken = False
    try:
        while submitted < len(jobs) or queued:
            while submitted < len(jobs) and len(queued) < QUEUED_PER_WORKER * workers:
                queued.append(pool.submit(prepare_image, jobs[submitted]))
                submitted += 1
            yield queued[0].result()
            queued.popleft()
    except BrokenProcessPool:
        broken = True
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    if not broken:
        return
    first = submitted - len(queued)
    for offset, future in enumerate(queued):  # one of these killed its worker
        ok = future.done() and not future.cancelled() and future.exception() is None
        yield future.result() if ok else _alone(jobs[first + offset])
    yield from _in_pool(jobs[submitted:], workers)  # never started: a fresh pool


def _alone(job: ImageJob) -> ImageWork:
    """One job in a process of its own; an error if that process dies."""
    from concurrent.futures.process import BrokenProcessPool

    pool = _new_pool(1, initializer=start_worker)
    if pool is None:
        return prepare_image(job)
    try:
        return pool.submit(prepare_image, job).result()
    except BrokenProcessPool:
        return ImageWork(job, error="reading this image made the image decoder crash; "
                                    "is the file damaged? Open it and save it again, "
                                    "or take the screenshot again")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _new_pool(workers: int, initializer: Callable[[], None] | None = None
              ):  # noqa: ANN202 - a ProcessPoolExecutor or None
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    try:
        return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=initializer or leave_ctrl_c_to_the_parent)
    except (OSError, NotImplementedError, ImportError, ValueError):
        return None


def start_worker() -> None:
    """What a worker process that decodes or verifies screenshots sets up first."""
    leave_ctrl_c_to_the_parent()
    keep_freed_memory()


def leave_ctrl_c_to_the_parent() -> None:
    """Workers ignore Ctrl-C: the parent stops the pool (one message, no worker tracebacks)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def worker_count(jobs: int) -> int:
    """How many processes to prepare `jobs` images with (1: in this process)."""
    wanted = os.environ.get(WORKERS_ENV, "").strip()
    if wanted.isdigit() and int(wanted) >= 1:
        workers = min(int(wanted), 61)  # 61: the most Windows allows
    elif hasattr(os, "sched_getaffinity"):
        workers = min(len(os.sched_getaffinity(0)), MAX_WORKERS)
    else:  # pragma: no cover - macOS, Windows
        workers = min(os.cpu_count() or 1, MAX_WORKERS)
    if jobs < MIN_POOL_JOBS:
        return 1
    return max(1, min(workers, jobs))


def rendition_tuple(r: Rendition) -> tuple:
    return (r.name, r.data, r.media_type, r.width, r.height)


def keep_freed_memory() -> None:
    """In a worker that makes and frees many large buffers (decoded screenshots, their
    copies and pixel bytes: 2-30 MB each; the duplicate verifier's arrays: 1-5 MB, several
    per pair), keep freed memory for the next ones (glibc only).

    glibc hands buffers of this size out as fresh mappings and gives them back when freed,
    so every one is page-faulted in again: analysing 208 of the real screenshots in one
    process took 0.81 million page faults and 2.8 s of system time (20 s of user time);
    with this 0.07 million and 0.3 s, the same peak memory (a heap keeps at most what it
    once held). Grouping the 1,039 in one process: 2.7 million faults, 6 s of 57. Below
    32 MB (glibc's largest mmap threshold) buffers come from the heap, and the heap keeps
    up to 256 MB free; a worker's memory goes back to the system when the pool ends."""
    import sys

    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # musl, or no glibc
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 32 * 1024 * 1024)
    mallopt(m_trim_threshold, 256 * 1024 * 1024)


def release_freed_memory() -> None:
    """Give memory freed after analysis back to the system (glibc only; elsewhere nothing).

    After large arrays are freed glibc raises its mmap threshold, so the grayscales of
    a few hundred screenshots (~1 MB each) end up in the heap and stay resident after
    they are freed: ~0.3 GB that the PDF stage would then add its own memory to.
    """
    import sys

    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # musl, or no glibc
        return
    trim(0)

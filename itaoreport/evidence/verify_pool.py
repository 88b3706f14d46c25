"""Verifying candidate pairs of look-alike screenshots in worker processes (#20).

The duplicate detector (evidence/dedupe.py) asks for verdicts on pairs (kept image,
later image), earliest later image first; here they are decided in a pool of spawned
processes, one task per later image with every kept image it waits for. Pixels do not
travel through the pool's pipes: each grayscale is written once to an arena file (in a
private folder in /dev/shm where there is one, so it stays in memory) and a task names where
its images are; a worker reads each image it needs once and keeps its prepared arrays (the
verifier's Prepared memo) for the tasks that follow, and leaves them in the same folder for
the other workers (SharedFolder), so no picture is prepared twice.

Which pairs are verified and what each verdict is do not depend on the pool: the
worker calls the same dedupe.decide as the parent would. A pair with a reduced-colour side
also names the two files (when the caller gave path_of): the worker decodes them itself for
the palette check (images.open_image with the SHA-256 the facts name, so what it decodes is
the file that was analysed, and a hostile or changed file is an ImageError there, never a
crash), keeping what the next checks need (dedupe.Prepared.colours/source); a file it
cannot decode leaves the verdict pending, for the parent to finish as before.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from itaoreport.evidence.dedupe import ImageFacts, Prepared, Verdict

MIN_POOL_PAIRS = 32
"""Fewer pairs to verify than this are verified in this process (a spawned worker costs
~0.5 s to start; a pair 1-80 ms)."""
IN_FLIGHT_PER_WORKER = 3
GRAYS_KEPT = 32
"""Grayscales a worker keeps read (~1 MB each), the most recently used."""

Batch = list[tuple[str, str]]


def start(pairs: int, workers: int | None, items: dict[str, ImageFacts],
          gray_of: Callable[[str], np.ndarray],
          route: Callable[[int], dict[str, int] | None] | None = None,
          path_of: Callable[[str], Path] | None = None) -> PairPool | None:
    """A pool for `pairs` pairs to verify, or None to verify in this process: too few
    pairs, one CPU, ITAOREPORT_WORKERS=1, or no process pools here.

    route(workers), when given, says which worker verifies the pairs of each (later)
    image (see routes), or None for whichever worker is free. path_of(key), when given,
    the file of an image, which workers decode themselves for palette checks."""
    from itaoreport.evidence.prepare import _new_pool, start_worker, worker_count

    if workers is None:
        workers = worker_count(pairs) if pairs >= MIN_POOL_PAIRS else 1
    if workers <= 1 or pairs == 0:
        return None
    routes = route(workers) if route is not None else None
    pools = [_new_pool(1, initializer=start_worker) for _ in range(workers)]
    if any(pool is None for pool in pools):
        for pool in pools:
            if pool is not None:
                pool.shutdown()
        return None
    return PairPool(pools, workers, items, gray_of, routes, path_of)


def routes(keys: list[str], pairs: set[tuple[int, int]], workers: int) -> dict[str, int] | None:
    """A worker for every image, so that each worker prepares the images it needs and the
    others never do: images that are candidates of each other (directly or through others)
    go to the same worker, the largest such set to the worker with the fewest pairs so far.
    None when one set holds more than a worker's share of the pairs (one app's screenshots
    all alike, say): then any free worker takes the next task."""
    parent = list(range(len(keys)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in pairs:
        parent[root(i)] = root(j)
    size: dict[int, int] = {}
    for i, _ in pairs:
        size[root(i)] = size.get(root(i), 0) + 1
    if not size or max(size.values()) * workers > len(pairs):
        return None
    load = [0] * workers
    worker_of: dict[int, int] = {}
    for component in sorted(size, key=lambda c: (-size[c], c)):
        worker = min(range(workers), key=lambda w: (load[w], w))
        worker_of[component] = worker
        load[worker] += size[component]
    return {key: worker_of.get(root(i), 0) for i, key in enumerate(keys)}


class PairPool:
    """Worker processes deciding batches of pairs, and the arena their pixels are read from.

    One single-process pool per worker. Each image has a home worker, which prepares its
    arrays: from routes when they are given, else the worker its first task went to. A
    task goes to the worker that is home to most of its images, unless that worker has
    twice its share queued while another is nearly idle. A worker that dies (killed, out
    of memory) leaves its tasks, and every later one, to this process."""

    def __init__(self, pools: list, workers: int, items: dict[str, ImageFacts],
                 gray_of: Callable[[str], np.ndarray], routes: dict[str, int] | None,
                 path_of: Callable[[str], Path] | None = None):
        self.pools, self.workers, self.items, self.gray_of = pools, workers, items, gray_of
        self.path_of = path_of
        self.home: dict[str, int] = dict(routes or {})
        folder = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) \
            else None
        # a private folder (0700, made atomically): what the workers read there is what this
        # process and they wrote, never something another user planted under a guessed name
        self.folder = tempfile.mkdtemp(prefix="itaoreport-verify-", dir=folder)
        self.arena = os.path.join(self.folder, "grays")
        os.mkdir(SharedFolder.of(self.arena), 0o700)
        self.file = open(self.arena, "xb")
        self.size = 0
        self.places: dict[str, tuple[int, int, int]] = {}
        """SHA-256 -> (offset, height, width) of its grayscale in the arena."""
        self.running: dict = {}
        """Future -> (its pool's number, its batch)."""
        self.backlog: list[list[Batch]] = [[] for _ in pools]
        """Batches waiting for their own worker to be free (routes only)."""
        self.here: Prepared | None = None
        """Arrays for verifying in this process, once a worker has died."""

    def wait(self, next_batch: Callable[[], Batch | None]
             ) -> list[tuple[str, str, Verdict]]:
        """Start batches from next_batch until enough are running, then wait for at least
        one to finish; its verdicts, (a, b, verdict) in the batch's order."""
        from concurrent.futures import FIRST_COMPLETED
        from concurrent.futures import wait as wait_for

        if self.here is not None:  # a worker died: the rest in this process
            batch = next_batch()
            return [] if batch is None else self._here(batch)
        self._fill(next_batch)
        if not self.running:
            return []
        done, _ = wait_for(list(self.running), return_when=FIRST_COMPLETED)
        found = []
        for future in sorted(done, key=lambda f: self.running[f][1][0]):  # any order works
            _, batch = self.running.pop(future)
            try:
                verdicts = future.result()
            except Exception:  # noqa: BLE001 - BrokenProcessPool, or a worker's MemoryError
                return found + self._give_up(batch)
            found += [(a, b, v) for (a, b), v in zip(batch, verdicts)]
        return found

    def _fill(self, next_batch: Callable[[], Batch | None]) -> None:
        limit = IN_FLIGHT_PER_WORKER
        busy = [0] * len(self.pools)
        for number, _ in self.running.values():
            busy[number] += 1
        while True:
            for number, backlog in enumerate(self.backlog):
                while backlog and busy[number] < limit:
                    self._submit(number, backlog.pop(0))
                    busy[number] += 1
            if all(n >= limit for n in busy):
                return
            batch = next_batch()
            if batch is None:
                return
            self.backlog[self._worker_for(batch, busy)].append(batch)

    def _worker_for(self, batch: Batch, busy: list[int]) -> int:
        """The worker home to most of the batch's images (the least loaded one if none, or
        if the home has twice its share queued while another is nearly idle)."""
        queued = [busy[n] + len(self.backlog[n]) for n in range(len(self.pools))]
        idle = min(range(len(self.pools)), key=lambda n: (queued[n], n))
        votes = [0] * len(self.pools)
        images = {key for pair in batch for key in pair}
        for key in images:
            if key in self.home:
                votes[self.home[key]] += 1
        number = max(range(len(self.pools)), key=lambda n: (votes[n], -queued[n], -n))
        if votes[number] == 0 or (queued[number] >= 2 * IN_FLIGHT_PER_WORKER
                                  and queued[idle] < IN_FLIGHT_PER_WORKER):
            number = idle
        for key in images:
            self.home.setdefault(key, number)
        return number

    def _give_up(self, batch: Batch) -> list[tuple[str, str, Verdict]]:
        """A worker died: this batch, every running and waiting one, in this process."""
        from itaoreport.evidence.dedupe import Prepared

        self.here = Prepared(self.gray_of)
        rest = [batch] + [b for _, b in self.running.values()] + \
            [b for backlog in self.backlog for b in backlog]
        self.running, self.backlog = {}, [[] for _ in self.pools]
        for pool in self.pools:
            pool.shutdown(wait=False, cancel_futures=True)
        return [found for b in rest for found in self._here(b)]

    def _here(self, batch: Batch) -> list[tuple[str, str, Verdict]]:
        from itaoreport.evidence.dedupe import decide

        assert self.here is not None
        return [(a, b, decide(self.here, a, b, self.items[a], self.items[b])) for a, b in batch]

    def _submit(self, number: int, batch: Batch) -> None:
        items = self.items
        shas = []
        for a, b in batch:
            shas += [items[a].sha256, items[b].sha256]
            self._place(a)
            self._place(b)
        places = {sha: self.places[sha] for sha in shas}
        tasks = [(items[a].sha256, items[b].sha256, items[a], items[b]) for a, b in batch]
        files = self._files(batch)
        try:
            future = self.pools[number].submit(verify_batch, self.arena, places, tasks, files)
        except Exception as exc:  # noqa: BLE001 - its worker died already (BrokenProcessPool)
            from concurrent.futures import Future

            future = Future()
            future.set_exception(exc)
        self.running[future] = (number, batch)

    def _files(self, batch: Batch) -> dict[str, str]:
        """SHA-256 -> file of both images of each pair with a reduced-colour side: the ones
        a palette check may decode (none without path_of)."""
        from itaoreport.evidence.dedupe import reduced_colour

        files: dict[str, str] = {}
        if self.path_of is None:
            return files
        items = self.items
        for a, b in batch:
            if reduced_colour(items[a]) or reduced_colour(items[b]):
                for key in (a, b):
                    files[items[key].sha256] = os.fspath(self.path_of(key))
        return files

    def _place(self, key: str) -> None:
        """Write an image's grayscale to the arena once (Unreadable when it is lost)."""
        import numpy as np

        sha = self.items[key].sha256
        if sha in self.places:
            return
        gray = np.ascontiguousarray(self.gray_of(key), dtype=np.uint8)
        self.file.write(gray.data)
        self.file.flush()
        self.places[sha] = (self.size, gray.shape[0], gray.shape[1])
        self.size += gray.nbytes

    def close(self) -> None:
        import shutil

        for pool in self.pools:
            pool.shutdown(wait=True, cancel_futures=True)
        self.file.close()
        shutil.rmtree(self.folder, ignore_errors=True)


_PLAIN_NAME = re.compile(r"[0-9A-Za-z_-][0-9A-Za-z_.-]{0,199}")
"""A key that is safe as a file name (SHA-256s in the workers)."""


class SharedFolder:
    """Prepared arrays (whole grey levels, uint8) that the workers of one pool leave for
    each other beside the arena (prepared/SHA-256.WxH in the pool's private folder), so that
    an image verified in both workers is resized and blurred once: with a memo per worker,
    two workers prepared 2,814 arrays where one process prepares 1,962 (the 1,039 real
    screenshots, #20). The pool makes the folder; without it nothing is shared. Written
    atomically, read only when whole; a missing or odd file is made again."""

    def __init__(self, arena: str):
        folder = self.of(arena)
        self.folder = folder if os.path.isdir(folder) and not os.path.islink(folder) else None

    @staticmethod
    def of(arena: str) -> str:
        return os.path.join(os.path.dirname(arena), "prepared")

    def _path(self, key: str, size: tuple[int, int]) -> str | None:
        if self.folder is None or not _PLAIN_NAME.fullmatch(key):
            return None
        return os.path.join(self.folder, f"{key}.{size[0]}x{size[1]}")

    def get(self, key: str, size: tuple[int, int]) -> np.ndarray | None:
        import numpy as np

        path = self._path(key, size)
        if path is None:
            return None
        try:
            values = np.fromfile(path, dtype=np.uint8)
        except OSError:
            return None
        if values.size != size[0] * size[1]:
            return None
        return values.reshape(size[1], size[0])

    def put(self, key: str, size: tuple[int, int], values: np.ndarray) -> None:
        import numpy as np

        path = self._path(key, size)
        if path is None or values.dtype != np.uint8 or values.shape != (size[1], size[0]):
            return
        try:
            fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".")
            with os.fdopen(fd, "wb") as fh:
                fh.write(np.ascontiguousarray(values).data)
            os.replace(temporary, path)
        except OSError:
            pass


_WORKER: dict[str, tuple[Prepared, dict, dict]] = {}
"""In a worker process: the arena being read -> (its Prepared memo, where its images are,
their files by SHA-256 where a palette check may need the pictures)."""


def verify_batch(arena: str, places: dict[str, tuple[int, int, int]],
                 tasks: list[tuple[str, str, ImageFacts, ImageFacts]],
                 files: dict[str, str] | None = None) -> list[Verdict]:
    """In a worker: the verdict on each (kept SHA-256, later SHA-256, their facts); `files`:
    SHA-256 -> the file to decode for a palette check (see the module docstring)."""
    from itaoreport.evidence.dedupe import Prepared, decide

    if arena not in _WORKER:
        _WORKER.clear()  # a new pool's arena: the last one's arrays are of no more use
        where: dict[str, tuple[int, int, int]] = {}
        read: OrderedDict[str, np.ndarray] = OrderedDict()

        def gray_of(sha: str) -> np.ndarray:
            if sha not in read:
                read[sha] = _read(arena, *where[sha])
                if len(read) > GRAYS_KEPT:
                    read.popitem(last=False)
            read.move_to_end(sha)
            return read[sha]

        def shape_of(sha: str) -> tuple[int, int]:  # known from where it is: nothing read
            return where[sha][1], where[sha][2]

        paths: dict[str, str] = {}
        _WORKER[arena] = (Prepared(gray_of, lambda sha: _picture(paths, sha),
                                   shared=SharedFolder(arena), shape_of=shape_of), where, paths)
    prepared, where, paths = _WORKER[arena]
    where.update(places)
    paths.update(files or {})
    return [decide(prepared, a, b, facts_a, facts_b) for a, b, facts_a, facts_b in tasks]


def _picture(paths: dict[str, str], sha: str) -> Image.Image:
    """In a worker: the decoded, upright picture of the file with this SHA-256, for a
    palette check; dedupe.PictureUnavailable when no file is named or it no longer decodes
    to those bytes (the parent then decides, and reports the file)."""
    from itaoreport.evidence.dedupe import PictureUnavailable
    from itaoreport.evidence.images import ImageError, open_image

    if sha not in paths:
        raise PictureUnavailable(sha)
    try:
        return open_image(Path(paths[sha]), sha, digest=False).image
    except ImageError:
        raise PictureUnavailable(sha) from None


def _read(arena: str, offset: int, height: int, width: int) -> np.ndarray:
    import numpy as np

    return np.fromfile(arena, dtype=np.uint8, count=height * width,
                       offset=offset).reshape(height, width)

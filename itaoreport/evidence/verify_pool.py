"""Verifying candidate pairs of look-alike screenshots in worker processes (#20).

The duplicate detector (evidence/dedupe.py) asks for verdicts on pairs (kept image,
later image), earliest later image first; here they are decided in a pool of spawned
processes, one task per later image with every kept image it waits for. Pixels do not
travel through the pool's pipes: each grayscale is written once to an arena file (in
/dev/shm where there is one, so it stays in memory) and a task names where its images
are; a worker reads each image it needs once and keeps its prepared arrays (the
verifier's Prepared memo) for the tasks that follow.

Which pairs are verified and what each verdict is do not depend on the pool: the
worker calls the same dedupe.decide as the parent would.
"""

from __future__ import annotations

import os
import tempfile
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from itaoreport.evidence.dedupe import ImageFacts, Prepared, Verdict

MIN_POOL_PAIRS = 32
"""Fewer pairs to verify than this are verified in this process (a spawned worker costs
~0.5 s to start; a pair 1-80 ms)."""
IN_FLIGHT_PER_WORKER = 3
GRAYS_KEPT = 32
"""Grayscales a worker keeps read (~1 MB each), the most recently used."""

Batch = list[tuple[str, str]]


def start(pairs: int, workers: int | None, items: dict[str, ImageFacts],
          gray_of: Callable[[str], np.ndarray]) -> PairPool | None:
    """A pool for `pairs` pairs to verify, or None to verify in this process: too few
    pairs, one CPU, ITAOREPORT_WORKERS=1, or no process pools here."""
    from itaoreport.evidence.prepare import _new_pool, worker_count

    if workers is None:
        workers = worker_count(pairs) if pairs >= MIN_POOL_PAIRS else 1
    if workers <= 1 or pairs == 0:
        return None
    pool = _new_pool(workers)
    if pool is None:
        return None
    return PairPool(pool, workers, items, gray_of)


class PairPool:
    """Worker processes deciding batches of pairs, and the arena their pixels are read from."""

    def __init__(self, pool, workers: int, items: dict[str, ImageFacts],  # noqa: ANN001
                 gray_of: Callable[[str], np.ndarray]):
        self.pool, self.workers, self.items, self.gray_of = pool, workers, items, gray_of
        folder = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) \
            else None
        fd, self.arena = tempfile.mkstemp(prefix="itaoreport-grays-", dir=folder)
        self.file = os.fdopen(fd, "wb")
        self.size = 0
        self.places: dict[str, tuple[int, int, int]] = {}
        """SHA-256 -> (offset, height, width) of its grayscale in the arena."""
        self.running: dict = {}
        """Future -> its batch."""

    def wait(self, next_batch: Callable[[], Batch | None]
             ) -> list[tuple[str, str, Verdict]]:
        """Start batches from next_batch until enough are running, then wait for at least
        one to finish; its verdicts, (a, b, verdict) in the batch's order."""
        from concurrent.futures import FIRST_COMPLETED
        from concurrent.futures import wait as wait_for

        while len(self.running) < IN_FLIGHT_PER_WORKER * self.workers:
            batch = next_batch()
            if batch is None:
                break
            self.running[self._submit(batch)] = batch
        if not self.running:
            return []
        done, _ = wait_for(list(self.running), return_when=FIRST_COMPLETED)
        found = []
        for future in sorted(done, key=lambda f: self.running[f][0]):  # any order works
            batch = self.running.pop(future)
            found += [(a, b, v) for (a, b), v in zip(batch, future.result())]
        return found

    def _submit(self, batch: Batch):  # noqa: ANN202 - a Future
        items = self.items
        shas = []
        for a, b in batch:
            shas += [items[a].sha256, items[b].sha256]
            self._place(a)
            self._place(b)
        places = {sha: self.places[sha] for sha in shas}
        tasks = [(items[a].sha256, items[b].sha256, items[a], items[b]) for a, b in batch]
        return self.pool.submit(verify_batch, self.arena, places, tasks)

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
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.file.close()
        try:
            os.unlink(self.arena)
        except OSError:
            pass


_WORKER: dict[str, tuple[Prepared, dict]] = {}
"""In a worker process: the arena being read -> (its Prepared memo, where its images are)."""


def verify_batch(arena: str, places: dict[str, tuple[int, int, int]],
                 tasks: list[tuple[str, str, ImageFacts, ImageFacts]]) -> list[Verdict]:
    """In a worker: the verdict on each (kept SHA-256, later SHA-256, their facts)."""
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

        _WORKER[arena] = (Prepared(gray_of), where)
    prepared, where = _WORKER[arena]
    where.update(places)
    return [decide(prepared, a, b, facts_a, facts_b) for a, b, facts_a, facts_b in tasks]


def _read(arena: str, offset: int, height: int, width: int) -> np.ndarray:
    import numpy as np

    return np.fromfile(arena, dtype=np.uint8, count=height * width,
                       offset=offset).reshape(height, width)

"""Fewer garbage collections while a build runs.

A build allocates millions of small objects that live until it ends (the case
model, the HTML, and above all WeasyPrint's boxes: 124 million function calls
for a 1,000-entry report). With Python's default thresholds the cyclic garbage
collector keeps walking all of them. Measured on that report: WeasyPrint's
layout 37.5 s with the defaults, 32.5 s inside `fewer_collections()`, with the
same peak memory (0.78 GiB). Reference counting still frees everything that is
not in a cycle at once; cycles are collected, only less often.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

THRESHOLDS = (50_000, 50, 50)
"""Python's defaults are (700, 10, 10) (2,000 for the youngest generation from 3.13)."""

_lock = threading.Lock()
_depth = 0
_saved: tuple[int, ...] = ()


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the collector's thresholds (and set aside what already exists) for the block.

    Nested and concurrent uses (watch mode builds the HTML while the PDF renders)
    share one setting; the defaults come back when the last one ends.
    """
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(*THRESHOLDS)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                gc.set_threshold(*_saved)
                gc.unfreeze()


QUIET_YOUNGEST = 1_000_000
"""The youngest generation's threshold inside no_young_collections."""


@contextmanager
def no_young_collections() -> Iterator[None]:
    """For reading a case and making its HTML: almost everything allocated there lives until
    the build ends (the case, the evidence, the views), so each collection of the youngest
    generation only walks live objects. A warm 1,000-entry build made ~120,000 such objects:
    at fewer_collections' 50,000, two collections of 8-24 ms each, ~30 ms in all (#18);
    with this threshold none, while a case ten times larger still gets collected.

    Only inside fewer_collections (elsewhere it changes nothing). At its end what the block
    made is set aside as fewer_collections sets aside what existed before it (gc.freeze:
    given back when the build ends), else the next allocation would walk it all at once;
    and the threshold it found comes back."""
    with _lock:
        active = _depth > 0
        saved = gc.get_threshold()
        if active:
            gc.set_threshold(max(saved[0], QUIET_YOUNGEST), *saved[1:])
    try:
        yield
    finally:
        if active:
            with _lock:
                gc.freeze()
                gc.set_threshold(*saved)


DEFAULT_THRESHOLDS = (700, 10, 10)


@contextmanager
def collecting_new_garbage() -> Iterator[None]:
    """Collect the garbage the block makes as it goes, without walking what exists already.

    For writing the PDF: WeasyPrint and fontTools make cyclic garbage there (font subsets,
    PDF objects), which with fewer_collections' thresholds piled up until the build ended:
    1,000 entries peaked at 1.71 GiB, 0.55 GiB over the laid-out document; with collections
    as usual, 1.38 GiB (measured), but each full collection then walked the whole layout
    (~1 GiB of objects) and writing took 40 % longer. So the garbage that exists is
    collected once, everything alive is set aside (gc.freeze: never walked again), and the
    block runs with Python's default thresholds, which only see what it allocates.
    """
    with _lock:
        outer = _depth > 0
        saved = gc.get_threshold()
        gc.collect()
        gc.freeze()
        gc.set_threshold(*DEFAULT_THRESHOLDS)
    try:
        yield
    finally:
        with _lock:
            gc.set_threshold(*saved)
            if not outer:  # inside fewer_collections, its end gives everything back
                gc.unfreeze()

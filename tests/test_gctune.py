"""The collector's thresholds are raised for a build and come back afterwards."""

from __future__ import annotations

import gc
import threading

from itaoreport.gctune import THRESHOLDS, fewer_collections

DEFAULT = gc.get_threshold()


def test_thresholds_raised_inside_and_restored_after_nested_and_concurrent_use():
    before = gc.get_threshold()
    entered, release = threading.Event(), threading.Event()

    def other_build():
        with fewer_collections():
            entered.set()
            release.wait(5)

    thread = threading.Thread(target=other_build)
    with fewer_collections():
        assert gc.get_threshold() == THRESHOLDS
        thread.start()
        entered.wait(5)
        with fewer_collections():
            assert gc.get_threshold() == THRESHOLDS
        assert gc.get_threshold() == THRESHOLDS
    assert gc.get_threshold() == THRESHOLDS  # the other build still runs
    release.set()
    thread.join(5)
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_restored_after_an_exception():
    before = gc.get_threshold()
    try:
        with fewer_collections():
            raise ValueError("a failed build")
    except ValueError:
        pass
    assert gc.get_threshold() == before


def test_writing_collects_its_own_garbage_and_sets_the_rest_aside():
    import weakref

    from itaoreport.gctune import DEFAULT_THRESHOLDS, collecting_new_garbage

    class Node:
        pass

    before = gc.get_threshold()
    with fewer_collections():
        kept = [Node() for _ in range(100)]
        with collecting_new_garbage():
            assert gc.get_threshold() == DEFAULT_THRESHOLDS
            assert gc.get_freeze_count() >= len(kept)  # what exists is not walked again
            first = Node()
            first.me = first  # a cycle: only the collector frees it
            gone = weakref.ref(first)
            del first
            for _ in range(20_000):  # enough allocations for the collector to run
                node = Node()
                node.me = node
            assert gone() is None
        assert gc.get_threshold() == THRESHOLDS
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_no_young_collections_walks_nothing_made_inside_and_gives_it_back():
    """Inside a build, what the block makes is never walked by a young collection (it lives
    until the build ends); after the block it is set aside, so the next allocation does not
    walk it either; when the build ends everything is given back to the collector."""
    from itaoreport.gctune import no_young_collections

    collections: list[int] = []

    def count(phase: str, info: dict) -> None:
        if phase == "start":
            collections.append(info["generation"])

    gc.callbacks.append(count)
    try:
        with fewer_collections():
            with no_young_collections():
                kept = [[n] for n in range(3 * THRESHOLDS[0])]  # 150,000 live lists
                assert gc.get_threshold()[0] > THRESHOLDS[0]
            assert gc.get_threshold() == THRESHOLDS
            more = [[n] for n in range(THRESHOLDS[0] // 2)]
            assert collections == []
            assert gc.get_freeze_count() >= len(kept)
        assert gc.get_freeze_count() == 0
        with no_young_collections():  # outside a build: changes nothing
            assert gc.get_threshold() == DEFAULT
    finally:
        gc.callbacks.remove(count)
    assert len(kept) + len(more) > 0

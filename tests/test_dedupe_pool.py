"""Verifying candidate pairs in worker processes (#20): the same groups, the same verdicts and
the same pairs verified whatever the number of workers and the order verdicts arrive in; a
warm run decodes no image and starts no worker."""

from __future__ import annotations

import json
import os
import random
import signal
from pathlib import Path

import pytest
from chatshots import CONVERSATION, chat, encode
from PIL import Image

from itaoreport.evidence import dedupe, images, prepare, verify_pool
from itaoreport.evidence.dedupe_files import dedupe_paths
from itaoreport.evidence.images import open_image


def screenshots() -> dict[str, bytes]:
    """Four conversations that look alike, each with copies and a near-miss."""
    files = {}
    for n in range(4):
        messages = CONVERSATION[: 3 + n]
        original = chat(messages, clock=f"14:3{n}")
        files[f"c{n}_orig.png"] = encode(original, "PNG")
        files[f"c{n}_q70.jpg"] = encode(original, "JPEG", quality=70)
        files[f"c{n}_q92.jpg"] = encode(original, "JPEG", quality=92)
        files[f"c{n}_webp.webp"] = encode(original, "WEBP", quality=80)
        files[f"c{n}_small.png"] = encode(original.resize((405, 878), Image.Resampling.BICUBIC),
                                          "PNG")
        files[f"c{n}_minute.png"] = encode(chat(messages, clock=f"14:4{n}"), "PNG")
    return files


@pytest.fixture(scope="module")
def analysed(tmp_path_factory) -> tuple[dict, dict]:
    folder = tmp_path_factory.mktemp("shots")
    facts, grays = {}, {}
    for name, data in screenshots().items():
        (folder / name).write_bytes(data)
        facts[name], grays[name] = dedupe.analyse(open_image(folder / name), name, len(data))
    return facts, grays


def outcome(result: dedupe.DedupeResult) -> str:
    return json.dumps([result.to_json(), result.keep_of], sort_keys=True)


def spy_on_decide(monkeypatch) -> list[tuple[str, str]]:
    """The pairs this process verifies."""
    seen = []
    real = dedupe.decide

    def decide(prepared, a, b, facts_a, facts_b):
        seen.append((a, b))
        return real(prepared, a, b, facts_a, facts_b)

    monkeypatch.setattr(dedupe, "decide", decide)
    return seen


def test_same_groups_verdicts_and_pairs_with_one_and_two_workers(analysed, monkeypatch):
    facts, grays = analysed
    verified = spy_on_decide(monkeypatch)
    alone = dedupe.find_duplicates(facts, grays.__getitem__, workers=1)
    assert len(verified) >= 20 and len(set(verified)) == len(verified)
    assert alone.groups and alone.kept_separate  # copies merged, near-misses listed

    batches = []
    real_submit = verify_pool.PairPool._submit
    arenas = []

    def submit(self, number, batch):
        batches.append(batch)
        arenas.append(self.arena)
        return real_submit(self, number, batch)

    monkeypatch.setattr(verify_pool.PairPool, "_submit", submit)
    pooled = dedupe.find_duplicates(facts, grays.__getitem__, workers=2)
    assert outcome(pooled) == outcome(alone)
    # every pair was verified in the workers, each once, and they are the same pairs
    assert sorted(p for batch in batches for p in batch) == sorted(verified)
    assert len(verified) == len(set(verified))
    assert arenas and not Path(arenas[0]).exists()  # the grayscales' arena is removed
    assert not Path(arenas[0]).parent.exists()  # and the prepared arrays with it


class ShuffledPool:
    """Stands in for the worker pool: takes every batch there is, and lets one finish at a
    time, at random (verdicts decided in this process)."""

    def __init__(self, seed: int, items, gray_of):
        self.rng = random.Random(seed)
        self.items = items
        self.prepared = dedupe.Prepared(gray_of)
        self.running: list = []

    def wait(self, next_batch):
        while (batch := next_batch()) is not None:
            self.running.append(batch)
        if not self.running:
            return []
        batch = self.running.pop(self.rng.randrange(len(self.running)))
        return [(a, b, dedupe.decide(self.prepared, a, b, self.items[a], self.items[b]))
                for a, b in batch]

    def close(self) -> None:
        pass


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_verdicts_arriving_in_any_order_give_the_same_result(analysed, monkeypatch, seed):
    facts, grays = analysed
    verified = spy_on_decide(monkeypatch)
    alone = dedupe.find_duplicates(facts, grays.__getitem__, workers=1)
    in_order = sorted(verified)
    verified.clear()
    monkeypatch.setattr(verify_pool, "start",
                        lambda pairs, workers, items, gray_of, route=None:
                        ShuffledPool(seed, items, gray_of))
    shuffled = dedupe.find_duplicates(facts, grays.__getitem__, workers=2)
    assert outcome(shuffled) == outcome(alone)
    assert sorted(verified) == in_order  # nothing verified that the rule does not use


def test_the_kept_image_is_the_same_whatever_the_order_files_are_given(analysed):
    facts, grays = analysed
    names = list(facts)
    results = set()
    for seed in (1, 2):
        random.Random(seed).shuffle(names)
        shuffled = {name: facts[name] for name in names}
        results.add(outcome(dedupe.find_duplicates(shuffled, grays.__getitem__, workers=1)))
    assert len(results) == 1


def test_a_warm_run_decodes_no_image_reads_no_grayscale_and_starts_no_worker(
        tmp_path, monkeypatch):
    monkeypatch.setenv(prepare.WORKERS_ENV, "2")
    folder = tmp_path / "shots"
    folder.mkdir()
    for name, data in screenshots().items():
        (folder / name).write_bytes(data)
    cache = tmp_path / "cache"
    cold = dedupe_paths([str(folder)], cache_dir=cache)
    assert cold.result.groups

    def no_decode(*args, **kwargs):
        raise AssertionError("a warm run decoded an image")

    def no_pool(*args, **kwargs):
        raise AssertionError("a warm run started worker processes")

    def no_gray(self, sha256):
        raise AssertionError("a warm run read a grayscale")

    monkeypatch.setattr(images, "_decode", no_decode)
    monkeypatch.setattr(prepare, "_new_pool", no_pool)
    monkeypatch.setattr(dedupe_paths.__globals__["ImageCache"], "gray", no_gray)
    warm = dedupe_paths([str(folder)], cache_dir=cache)
    assert outcome(warm.result) == outcome(cold.result)
    index = list(cache.rglob("index.json"))
    assert len(index) == 1  # facts and verdicts: one file


def test_a_worker_that_dies_leaves_its_pairs_to_this_process(analysed, monkeypatch):
    facts, grays = analysed
    alone = dedupe.find_duplicates(facts, grays.__getitem__, workers=1)
    real_submit = verify_pool.PairPool._submit
    killed = []

    def submit(self, number, batch):
        real_submit(self, number, batch)
        if not killed:
            for process in self.pools[number]._processes.values():
                os.kill(process.pid, signal.SIGKILL)
                killed.append(process.pid)

    monkeypatch.setattr(verify_pool.PairPool, "_submit", submit)
    pooled = dedupe.find_duplicates(facts, grays.__getitem__, workers=2)
    assert killed
    assert outcome(pooled) == outcome(alone)


def test_images_that_are_candidates_of_each_other_go_to_one_worker():
    keys = list("abcdefg")
    pairs = {(0, 1), (1, 2), (3, 4), (5, 6)}  # {a, b, c}, {d, e}, {f, g}
    route = verify_pool.routes(keys, pairs, 2)
    assert route["a"] == route["b"] == route["c"]
    assert route["d"] == route["e"] and route["f"] == route["g"]
    assert route["a"] != route["d"] == route["f"]  # 2 pairs to one worker, 1 + 1 to the other
    # one set with more than a worker's share of the pairs: any free worker
    assert verify_pool.routes(keys, {(0, 1), (1, 2), (2, 3), (4, 5)}, 2) is None


def test_prepared_arrays_are_kept_compact_made_once_and_give_back_the_same_numbers(
        analysed, monkeypatch):
    """The verifier's memo (dedupe.Prepared) keeps whole grey levels as uint8 and window
    sums as uint32, the numbers _prepare and the plain sums made; each image is prepared
    once per size, and a memo too small to hold anything gives the same verdicts (it only
    prepares again)."""
    import numpy as np

    facts, grays = analysed
    keys = sorted(k for k in facts if k.startswith("c0") or k == "c1_orig.png")
    pairs = [(a, b) for a in keys for b in keys if a < b]
    roomy = dedupe.Prepared(grays.__getitem__)
    cramped = dedupe.Prepared(grays.__getitem__)
    cramped.memo.limit_bytes = cramped.window_sums.limit_bytes = 1
    cramped.hot.limit_entries = 1
    for a, b in pairs:
        assert dedupe.verify_keys(roomy, a, b) == dedupe.verify_keys(cramped, a, b)
    sizes = {k[:2] for k in roomy.memo.values}
    assert roomy.made == len(sizes) < cramped.made
    full = [(k, s) for k, s in sizes if s[0] > dedupe.COARSE_WIDTH]
    assert full and all(roomy.memo.values[k, s].dtype == np.uint8 for k, s in sizes)
    for key, size in full:
        made = dedupe._prepare(grays[key], size)
        given = roomy.at(key, size)
        assert given.dtype == np.uint8 and np.array_equal(given, made)
        block = dedupe._block_size(size[0])
        sums, squares = roomy.sums(key, size, block)
        assert sums.dtype == squares.dtype == np.uint32
        plain = made.astype(np.float64)
        h, w = plain.shape[0] // block, plain.shape[1] // block
        for got, values in ((sums, plain), (squares, plain ** 2)):
            blocks = values[:h * block, :w * block].reshape(h, block, w, block).sum(axis=(1, 3))
            k = dedupe.RESIDUAL_BLOCKS
            assert np.array_equal(got, sum(blocks[i:h - k + 1 + i, j:w - k + 1 + j]
                                           for i in range(k) for j in range(k)))
    held = roomy.memo.bytes
    roomy.memo.drop(lambda memo_key: memo_key[0] == keys[0])
    assert all(k[0] != keys[0] for k in roomy.memo.values) and 0 < roomy.memo.bytes < held
    assert roomy.memo.bytes == sum(v.nbytes for v in roomy.memo.values.values())
    assert dedupe._compact(np.array([0.5, 1.0], dtype=np.float32)).dtype == np.float32
    assert dedupe._compact(np.array([2.0 ** 25 + 1])).dtype == np.float64
    odd = dedupe.Prepared(grays.__getitem__)
    real_prepare = dedupe._prepare
    # a prepared array that is not whole grey levels is refused, never compared
    monkeypatch.setattr(dedupe, "_prepare",
                        lambda gray, size: real_prepare(gray, size) + np.float32(0.5))
    with pytest.raises(ValueError, match="not whole grey levels"):
        odd.at(keys[0], (120, 260))


def test_workers_share_prepared_arrays_and_remake_a_damaged_one(analysed, tmp_path):
    """A worker's prepared arrays are left beside the arena for the other workers: a second
    process verifying the same pairs prepares nothing and gives the same verdicts; a file
    cut short is made again."""
    facts, grays = analysed
    keys = sorted(k for k in facts if k.startswith("c2"))
    pairs = [(a, b) for a in keys for b in keys if a < b]
    arena = str(tmp_path / "arena")
    assert verify_pool.SharedFolder(arena).folder is None  # only a folder the pool made
    Path(verify_pool.SharedFolder.of(arena)).mkdir()
    first = dedupe.Prepared(grays.__getitem__, shared=verify_pool.SharedFolder(arena))
    second = dedupe.Prepared(grays.__getitem__, shared=verify_pool.SharedFolder(arena))
    alone = dedupe.Prepared(grays.__getitem__)
    verdicts = [dedupe.verify_keys(first, a, b) for a, b in pairs]
    assert first.made > len(keys)
    assert [dedupe.verify_keys(second, a, b) for a, b in pairs] == verdicts
    assert second.made == 0
    assert [dedupe.verify_keys(alone, a, b) for a, b in pairs] == verdicts
    shared = sorted(Path(verify_pool.SharedFolder.of(arena)).iterdir())
    assert len(shared) == first.made
    shared[0].write_bytes(shared[0].read_bytes()[:-1])
    third = dedupe.Prepared(grays.__getitem__, shared=verify_pool.SharedFolder(arena))
    assert [dedupe.verify_keys(third, a, b) for a, b in pairs] == verdicts
    assert third.made == 1


def test_a_worker_reads_no_grayscale_for_pairs_whose_arrays_it_has(analysed, tmp_path,
                                                                     monkeypatch):
    """Every verdict asks for both images' shapes; a worker knows them from where the
    grayscales lie in the arena, so verifying pairs whose arrays are prepared reads none
    (with one grayscale kept read, it used to read two per pair), with the same verdicts."""
    import numpy as np

    facts, grays = analysed
    keys = sorted(k for k in facts if k.startswith("c1"))
    pairs = [(a, b) for a in keys for b in keys if a < b]
    arena = str(tmp_path / "grays")
    Path(verify_pool.SharedFolder.of(arena)).mkdir()
    places, offset = {}, 0
    with open(arena, "wb") as fh:
        for key in keys:
            gray = np.ascontiguousarray(grays[key], dtype=np.uint8)
            fh.write(gray.data)
            places[facts[key].sha256] = (offset, *gray.shape)
            offset += gray.nbytes
    tasks = [(facts[a].sha256, facts[b].sha256, facts[a], facts[b]) for a, b in pairs]
    monkeypatch.setattr(verify_pool, "GRAYS_KEPT", 1)
    reads = []
    real_read = verify_pool._read
    monkeypatch.setattr(verify_pool, "_read", lambda *args: reads.append(args) or real_read(*args))
    monkeypatch.setattr(verify_pool, "_WORKER", {})
    first = verify_pool.verify_batch(arena, places, tasks)
    assert reads and first == [dedupe.verify_keys(dedupe.Prepared(grays.__getitem__), a, b)
                               for a, b in pairs]
    reads.clear()
    assert verify_pool.verify_batch(arena, places, tasks) == first
    assert reads == []

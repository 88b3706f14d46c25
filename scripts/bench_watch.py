"""Measure a watch-mode rebuild after one entry edit on a large generated case.

    python scripts/bench_watch.py [--entries 300] [--screenshots 200] [--keep DIR]

Generates a case (phone-sized PNG screenshots), builds it once (what `watch`
does at start; this fills the case's content-hash cache), then edits one entry
and rebuilds the HTML, JSON, summary and CSV log the way `watch` does. The
baselines, measured in the same run: the same rebuild with only the on-disk
cache, and with the cache deleted. Prints the times and the ratio.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

from itaoreport.build import BuildOptions, build
from itaoreport.case.files import CACHE_DIR
from itaoreport.evidence.exhibits import cache_folder
from itaoreport.evidence.memo import MemoCache

FAST = ("html", "json", "txt", "csv")
CASE_YAML = """\
title: Generated case for the watch benchmark
claimant: {name: Bench Buyer}
seller: {name: BenchShop}
order: {id: B-1, date: 2023-01-02, expected_delivery: 2023-02-01}
claim: {type: item_not_received, requested: full_refund}
timezone: UTC
"""


def screenshot(path: Path, seed: int) -> None:
    """A 1080x2340 chat-like PNG with a few coloured bubbles (about 30-60 kB)."""
    rnd = random.Random(seed)
    im = Image.new("RGB", (1080, 2340), "#ece5dd")
    draw = ImageDraw.Draw(im)
    y = 200
    while y < 2200:
        h = rnd.randint(80, 260)
        left = rnd.random() < 0.5
        x0, x1 = (40, rnd.randint(500, 900)) if left else (rnd.randint(180, 580), 1040)
        draw.rounded_rectangle((x0, y, x1, y + h), 24, fill="#ffffff" if left else "#dcf8c6")
        draw.text((x0 + 24, y + 20), f"message {seed}-{y}", fill="black")
        y += h + rnd.randint(30, 90)
    im.save(path, format="PNG")


def generate(root: Path, entries: int, screenshots: int) -> list[Path]:
    """Write the case folder; returns the entry files."""
    (root / "entries").mkdir(parents=True)
    (root / "screenshots").mkdir()
    (root / "case.yaml").write_text(CASE_YAML, encoding="utf-8")
    for i in range(screenshots):
        screenshot(root / "screenshots" / f"s{i:04d}.png", i)
    files = []
    for i in range(entries):
        day, minute = 1 + i // 100, i % 100
        path = root / "entries" / f"e{i:04d}.yaml"
        lines = [f"timestamp: 2023-03-{day:02d} {minute // 60 + 8:02d}:{minute % 60:02d}",
                 "channel: ItaoBuy Messaging", f"sender: {'me' if i % 2 else 'seller'}",
                 f"summary: Message number {i} about the missing parcel."]
        if i < screenshots:
            lines += ["attachments:", f"  - screenshots/s{i:04d}.png"]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(path)
    return files


def timed(case: Path, out: Path, cache: MemoCache | None = None, cold: bool = False) -> float:
    if cold:
        shutil.rmtree(case / CACHE_DIR, ignore_errors=True)
    started = time.perf_counter()
    build(case, BuildOptions(out=out, formats=FAST, image_cache=cache))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=300)
    parser.add_argument("--screenshots", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="generate the case here and keep it")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="itaoreport-bench-"))
    try:
        t = time.perf_counter()
        files = generate(root / "case", args.entries, args.screenshots)
        print(f"generated {args.entries} entries, {args.screenshots} screenshots "
              f"in {time.perf_counter() - t:.1f}s")
        out = root / "out"
        memo = MemoCache(cache_folder(root / "case"))
        print(f"first build (empty cache):       {timed(root / 'case', out, memo):6.3f}s")
        warm, disk, cold = [], [], []
        for run in range(args.runs):
            entry = files[len(files) // 2]
            entry.write_text(entry.read_text().replace("summary: ", f"summary: (edit {run}) ", 1))
            warm.append(timed(root / "case", out, memo))
            disk.append(timed(root / "case", out))
        cold.append(timed(root / "case", out, cold=True))
        w, c = statistics.median(warm), cold[0]
        print(f"rebuild after one entry edit, as watch does (median of {args.runs}): {w:6.3f}s")
        print(f"the same rebuild with the on-disk cache only (median): {statistics.median(disk):6.3f}s")
        print(f"the same rebuild with the cache deleted (baseline): {c:6.3f}s")
        print(f"ratio: {c / w:.1f}x faster")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Score the duplicate detector on labelled sets from ../shared/dedupe-devset.

    python benchmarks/dedupe_devset.py --seeds 1 2 3 4 5 --scenes 20

Generates each set (cached in benchmarks/work/), runs the detector, and prints
false merges and merged copies per seed with the scorer that ships with the
generator, plus the verifier's score range for true copies and near-misses.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

from itaoreport.evidence.dedupe import analyse, find_duplicates
from itaoreport.evidence.exhibits import sha256_file
from itaoreport.evidence.images import open_image

HERE = Path(__file__).resolve().parent
DEVSET = HERE.parent.parent / "shared" / "dedupe-devset" / "make_set.py"


def load_set(folder: Path) -> tuple[dict, dict]:
    items, grays = {}, {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp"):
            continue
        decoded = open_image(path)
        sha, size = sha256_file(path)
        facts, gray = analyse(decoded, sha, size)
        items[path.name], grays[path.name] = facts, gray
    return items, grays


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    ap.add_argument("--scenes", type=int, default=20)
    args = ap.parse_args()
    if not DEVSET.is_file():
        print(f"skipped: {DEVSET} is absent (../shared is only beside the repository in CI)")
        return 0
    spec = importlib.util.spec_from_file_location("make_set", DEVSET)
    make_set = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_set)
    worst_copy, best_near = 0.0, 255.0
    failed = False
    for seed in args.seeds:
        folder = HERE / "work" / f"devset-s{seed}-n{args.scenes}"
        if not (folder / "labels.json").is_file():
            subprocess.run([sys.executable, str(DEVSET), str(folder), "--scenes",
                            str(args.scenes), "--seed", str(seed)], check=True,
                           stdout=subprocess.DEVNULL)
        labels = json.loads((folder / "labels.json").read_text())
        items, grays = load_set(folder)
        t = time.perf_counter()
        result = find_duplicates(items, grays.__getitem__,
                                 source_of=lambda key, f=folder: open_image(f / key).image)
        elapsed = time.perf_counter() - t
        groups = [[g.keep] + [m.path for m in g.duplicates] for g in result.groups]
        false_merges, merged, copies = make_set.score(labels, groups)
        group_of = {row["file"]: row["group"] for row in labels}
        for g in result.groups:
            for m in g.duplicates:
                worst_copy = max(worst_copy, m.score)
        for n in result.kept_separate:
            if group_of[n.a] != group_of[n.b]:
                best_near = min(best_near, n.score)
        failed |= false_merges > 0 or merged < 0.95 * copies
        print(f"seed {seed}: {len(items)} images, false merges {false_merges}, "
              f"merged copies {merged}/{copies} ({merged / copies:.0%}), "
              f"grouping {elapsed * 1000:.0f} ms")
    print(f"largest score of a merged copy: {worst_copy}; smallest score of a near-miss "
          f"kept separate: {best_near}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

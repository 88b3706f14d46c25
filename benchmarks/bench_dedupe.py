"""Held-out check of the duplicate detector: kinds of copies and near-misses make_set.py lacks.

    python benchmarks/bench_dedupe.py --seeds 101 102 103 --scenes 6

Draws scenes with ../shared/dedupe-devset/make_set.py's own drawing code, then for
each scene compares the full-size original PNG with
- true copies: JPEG q70, lossy WEBP, 60% Lanczos (PNG and JPEG q60), 50% bicubic
  (PNG and JPEG q70), 256-colour palette PNG: each should merge;
- near-misses, each also shrunk and re-encoded the same ways: one character
  changed, last message missing, status-bar clock one minute later, one bubble's
  minute changed, a read tick added: none may merge.
Prints merged copies per kind and false merges per (near-miss, copy kind).
Exit status 1 if any false merge happened.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import random
import string
import sys
from collections import Counter
from pathlib import Path

from PIL import Image, ImageDraw

from itaoreport.evidence.dedupe import analyse_decoded, find_duplicates

MAKE_SET = Path(__file__).resolve().parents[2] / "shared" / "dedupe-devset" / "make_set.py"


def load_make_set():
    spec = importlib.util.spec_from_file_location("make_set", MAKE_SET)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def encoded(im: Image.Image, fmt: str, **options) -> tuple[Image.Image, str, bool]:
    buf = io.BytesIO()
    im.save(buf, fmt, **options)
    buf.seek(0)
    out = Image.open(buf)
    out.load()
    return out, fmt, fmt == "PNG" and out.mode not in ("P", "PA", "1")  # as images.py decides


def shrink(im: Image.Image, factor: float, resample: int) -> Image.Image:
    return im.resize((round(im.width * factor), round(im.height * factor)), resample)


COPY_KINDS = {
    "png": lambda im: encoded(im, "PNG"),
    "jpeg-q70": lambda im: encoded(im, "JPEG", quality=70),
    "webp-q80": lambda im: encoded(im, "WEBP", quality=80),
    "60pct-png": lambda im: encoded(shrink(im, 0.6, Image.LANCZOS), "PNG"),
    "60pct-jpeg-q60": lambda im: encoded(shrink(im, 0.6, Image.LANCZOS), "JPEG", quality=60),
    "50pct-bicubic-png": lambda im: encoded(shrink(im, 0.5, Image.BICUBIC), "PNG"),
    "50pct-bicubic-jpeg-q70": lambda im: encoded(shrink(im, 0.5, Image.BICUBIC), "JPEG",
                                                 quality=70),
    "palette-256": lambda im: encoded(im.quantize(256, method=Image.Quantize.MEDIANCUT), "PNG"),
}


def copy_of(scene: dict) -> dict:
    return json.loads(json.dumps(scene))


def near_misses(ms, scene: dict, rng: random.Random) -> dict[str, Image.Image]:
    """Captures that differ from the scene in one thing a reviewer can read."""
    shown = [i for i, m in enumerate(scene["msgs"]) if m.get("drawn")]
    out = {}
    a = copy_of(scene)
    i = rng.choice(shown)
    text = a["msgs"][i]["text"]
    pos = rng.choice([p for p, c in enumerate(text) if c.isalnum()])
    pool = string.digits if text[pos].isdigit() else string.ascii_lowercase
    a["msgs"][i]["text"] = text[:pos] + rng.choice(pool.replace(text[pos].lower(), "")) + \
        text[pos + 1:]
    out["one-character"] = ms.draw(a)
    b = copy_of(scene)
    b["msgs"] = b["msgs"][:shown[-1]]
    out["missing-last-message"] = ms.draw(b)
    c = copy_of(scene)
    hh, mm = c["clock"].split(":")
    c["clock"] = f"{hh}:{(int(mm) + 1) % 60:02d}"
    out["clock-one-minute"] = ms.draw(c)
    d = copy_of(scene)
    j = rng.choice(shown)
    t = d["msgs"][j]["time"]
    d["msgs"][j]["time"] = t[:-1] + str((int(t[-1]) + 1) % 10)
    out["one-bubble-minute"] = ms.draw(d)
    ticked = read_tick(ms.draw(scene), scene)
    if ticked is not None:
        out["read-tick"] = ticked
    return out


def read_tick(im: Image.Image, scene: dict) -> Image.Image | None:
    """A tick drawn after the last drawn message of mine (make_set's layout)."""
    k = scene["w"] / 1080
    y, last = int(240 * k), None
    for m in scene["msgs"]:
        if not m.get("drawn"):
            break
        if m["me"]:
            last = y
        y += int(110 * k) + int(30 * k)
    if last is None:
        return None
    im = im.copy()
    x, yy = scene["w"] - int(55 * k), last + int(80 * k)
    ImageDraw.Draw(im).line([(x, yy + int(8 * k)), (x + int(6 * k), yy + int(14 * k)),
                             (x + int(16 * k), yy)], fill=(120, 120, 120), width=max(1, int(3 * k)))
    return im


def merged(original, other) -> tuple[bool, float]:
    facts = {"original": analyse_decoded(*original[:1], "a", 0, original[1], original[2]),
             "other": analyse_decoded(*other[:1], "b", 0, other[1], other[2])}
    pictures = {"original": original[0], "other": other[0]}
    result = find_duplicates({k: f for k, (f, _) in facts.items()}, lambda k: facts[k][1],
                             source_of=pictures.__getitem__)
    for group in result.groups:
        return True, group.duplicates[0].score
    return False, max((n.score for n in result.kept_separate), default=-1.0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[101, 102, 103])
    ap.add_argument("--scenes", type=int, default=6)
    args = ap.parse_args()
    if not MAKE_SET.is_file():
        print(f"skipped: {MAKE_SET} is absent (../shared is only beside the repository)")
        return 0
    ms = load_make_set()
    copies, copies_merged, nears, false = Counter(), Counter(), Counter(), Counter()
    worst_copy, best_near = 0.0, 255.0
    for seed in args.seeds:
        rng = random.Random(seed)
        for n in range(args.scenes):
            scene = ms.scene(rng)
            im = ms.draw(scene)
            original = encoded(im, "PNG")
            for kind, make in COPY_KINDS.items():
                if kind == "png":
                    continue
                copies[kind] += 1
                was_merged, score = merged(original, make(im))
                copies_merged[kind] += was_merged
                if was_merged:
                    worst_copy = max(worst_copy, score)
            for near, near_im in near_misses(ms, scene, rng).items():
                for kind, make in COPY_KINDS.items():
                    nears[near, kind] += 1
                    was_merged, score = merged(original, make(near_im))
                    if score >= 0:
                        best_near = min(best_near, score)
                    if was_merged:
                        false[near, kind] += 1
                        print(f"false merge: seed {seed} scene {n} {near} as {kind} "
                              f"(score {score})", flush=True)
    print("true copies merged: " + ", ".join(
        f"{k} {copies_merged[k]}/{copies[k]}" for k in copies))
    print(f"near-misses merged (false merges): {sum(false.values())}/{sum(nears.values())}")
    print(f"largest merged-copy score {worst_copy}, smallest near-miss score {best_near}, "
          f"margin ratio {best_near / worst_copy if worst_copy else float('inf'):.2f}")
    for key in sorted(nears):
        if false[key]:
            print(f"  {key[0]} as {key[1]}: {false[key]}/{nears[key]}")
    return 1 if false else 0


if __name__ == "__main__":
    sys.exit(main())

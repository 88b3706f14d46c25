"""A labelled duplicate-screenshot set from real screenshots, and its score (#20).

    python benchmarks/dedupe_realset.py make /work/realshots /tmp/realset --originals 80
    python benchmarks/dedupe_realset.py score /tmp/realset
    python benchmarks/dedupe_realset.py make-drawn /tmp/drawnset --originals 42

`make` takes real screenshots from a folder (e.g. the app-store screenshots under
`fastlane/metadata/android/*/images/phoneScreenshots/` of public Android apps; keep them
outside the repository) and writes, for each original, copies that show the same
evidence and near-misses that are different evidence, with OUT/labels.json (`file`,
`group`, `kind`, `source`):

- copies (same group): JPEG q90 and q60, WEBP q80, 50 % and 75 % bicubic (PNG), 75 % +
  JPEG q70, RGBA PNG with text metadata, 256-colour palette PNG;
- near-misses (a group each): one glyph changed by copying a glyph-sized patch from
  elsewhere on the same text line (PNG, and a JPEG q90 copy of it in the same group), the
  last message cut (its band filled with the row's background), one read tick added.

Originals with identical pixels (the same screen in two locales) are taken once.

`make-drawn` makes the same kinds of copies and near-misses from small chats it draws itself
(tests/chatshots.py: 360x640, 450x800 and 540x1170, random messages in turn): pictures that
are compared at their own width, where nothing softens what JPEG does to thin text.

`score` runs the detector the way `itaoreport dedupe` does (facts, grayscales and
verdicts through a cache folder, worker pool), prints false merges, how often each copy
kind ends in its original's group, the margin ratio (smallest near-miss score / largest
merged-copy score), wall and CPU seconds, and the load average. With `--floor` it then
decodes every file once and makes its 720-px grayscale, in one process, and prints what that
costs: the part of a cold run that no way of grouping avoids.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, PngImagePlugin

from itaoreport.evidence.dedupe import MIN_VERIFY_WIDTH
from itaoreport.evidence.images import ImageError, open_image

COPY_KINDS = ["jpeg90", "jpeg60", "webp", "half_bicubic", "75_bicubic", "75_jpeg70",
              "rgba_meta", "palette256"]
NEAR_KINDS = ["glyph", "glyph_jpeg90", "last_message_cut", "read_tick"]


def encode(im: Image.Image, fmt: str, **options: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **options)
    return buf.getvalue()


def scaled(im: Image.Image, factor: float) -> Image.Image:
    return im.resize((round(im.width * factor), round(im.height * factor)),
                     Image.Resampling.BICUBIC)


def copies(im: Image.Image) -> dict[str, tuple[str, bytes]]:
    rgb = flat(im)
    meta = PngImagePlugin.PngInfo()
    meta.add_text("Software", "Screenshot editor 2.1")
    meta.add_text("Comment", "exported for the dispute")
    return {
        "jpeg90": ("jpg", encode(rgb, "JPEG", quality=90)),
        "jpeg60": ("jpg", encode(rgb, "JPEG", quality=60)),
        "webp": ("webp", encode(rgb, "WEBP", quality=80)),
        "half_bicubic": ("png", encode(scaled(rgb, 0.5), "PNG")),
        "75_bicubic": ("png", encode(scaled(rgb, 0.75), "PNG")),
        "75_jpeg70": ("jpg", encode(scaled(rgb, 0.75), "JPEG", quality=70)),
        "rgba_meta": ("png", encode(rgb.convert("RGBA"), "PNG", pnginfo=meta)),
        "palette256": ("png", encode(rgb.quantize(256, method=Image.Quantize.MEDIANCUT,
                                                  dither=Image.Dither.FLOYDSTEINBERG), "PNG")),
    }


def flat(im: Image.Image) -> Image.Image:
    """RGB as a viewer shows it (transparency over white), what a copying tool saves."""
    from itaoreport.evidence.dedupe import rgb

    return rgb(im)


def text_rows(gray: np.ndarray) -> list[tuple[int, int]]:
    """Bands of rows that hold text-like detail (many strong horizontal changes)."""
    edges = (np.abs(np.diff(gray.astype(np.int16), axis=1)) > 60).sum(axis=1)
    busy = edges > max(6, gray.shape[1] // 150)
    bands, start = [], None
    for y, b in enumerate(busy):
        if b and start is None:
            start = y
        elif not b and start is not None:
            if y - start >= max(8, gray.shape[0] // 250):
                bands.append((start, y))
            start = None
    return bands


def glyph_changed(im: Image.Image, rng: random.Random) -> Image.Image | None:
    """Copy a glyph-sized patch from elsewhere on a text line over one glyph."""
    rgb = flat(im)
    gray = np.asarray(rgb.convert("L"))
    h, w = gray.shape
    bands = [b for b in text_rows(gray) if h * 0.06 < b[0] < h * 0.94 and b[1] - b[0] < h * 0.05]
    rng.shuffle(bands)
    for top, bottom in bands[:40]:
        size = bottom - top
        side = max(6, round(size * 0.7))
        row = gray[top:bottom]
        cols = np.nonzero((np.abs(np.diff(row.astype(np.int16), axis=1)) > 60).any(axis=0))[0]
        if len(cols) < 4:
            continue
        for _ in range(20):
            x_to = int(rng.choice(cols)) - side // 2
            x_from = x_to + rng.choice([-1, 1]) * rng.randint(2, 5) * side
            if min(x_to, x_from) < 0 or max(x_to, x_from) + side > w:
                continue
            dest = gray[top:top + size, x_to:x_to + side].astype(np.int16)
            src = gray[top:top + size, x_from:x_from + side].astype(np.int16)
            if dest.std() < 25 or src.std() < 25 or np.abs(dest - src).mean() < 18:
                continue
            out = rgb.copy()
            out.paste(rgb.crop((x_from, top, x_from + side, top + size)), (x_to, top))
            return out
    return None


def last_message_cut(im: Image.Image) -> Image.Image | None:
    """The lowest text band in the content area filled with each row's background."""
    rgb = flat(im)
    arr = np.asarray(rgb).copy()
    gray = np.asarray(rgb.convert("L"))
    h = gray.shape[0]
    bands = [b for b in text_rows(gray) if h * 0.15 < b[0] and b[1] < h * 0.9]
    if not bands:
        return None
    top, bottom = bands[-1]
    for y in range(max(0, top - 2), min(h, bottom + 2)):
        values, counts = np.unique(arr[y].reshape(-1, 3), axis=0, return_counts=True)
        arr[y] = values[counts.argmax()]
    return Image.fromarray(arr)


def read_tick(im: Image.Image, rng: random.Random) -> Image.Image | None:
    """A small tick drawn at the end of one text line, in that line's ink."""
    rgb = flat(im)
    gray = np.asarray(rgb.convert("L"))
    h, w = gray.shape
    bands = [b for b in text_rows(gray) if h * 0.1 < b[0] < h * 0.9 and b[1] - b[0] < h * 0.05]
    if not bands:
        return None
    top, bottom = rng.choice(bands)
    size = bottom - top
    row = gray[top:bottom]
    cols = np.nonzero((np.abs(np.diff(row.astype(np.int16), axis=1)) > 60).any(axis=0))[0]
    x = int(cols.max()) + size // 2
    if x + size >= w:
        x = int(cols.min()) - size - size // 2
        if x < 0:
            return None
    background = np.median(gray[top:bottom, max(0, x):x + size])
    ink = (20, 20, 20) if background > 128 else (235, 235, 235)
    out = rgb.copy()
    d = ImageDraw.Draw(out)
    y0, s = top + size // 4, max(4, size * 2 // 3)
    d.line([(x, y0 + s // 2), (x + s // 3, y0 + s), (x + s, y0)], fill=ink,
           width=max(1, size // 8))
    return out


def make(source: Path, out: Path, originals: int, seed: int) -> None:
    rng = random.Random(seed)
    files = sorted(p for p in source.iterdir()
                   if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    rng.shuffle(files)
    out.mkdir(parents=True, exist_ok=True)
    labels, seen = [], set()
    taken = 0
    for path in files:
        if taken >= originals:
            break
        try:
            decoded = open_image(path)
        except ImageError:
            continue
        if decoded.pixel_digest in seen or decoded.width < 200:
            continue
        seen.add(decoded.pixel_digest)
        im = decoded.image
        group = f"r{taken:04d}"
        stem = out / group
        shutil.copyfile(path, f"{stem}_orig{path.suffix.lower()}")
        rows = [(f"{group}_orig{path.suffix.lower()}", group, "orig")]
        for kind, (ext, data) in copies(im).items():
            Path(f"{stem}_{kind}.{ext}").write_bytes(data)
            rows.append((f"{group}_{kind}.{ext}", group, kind))
        glyph = glyph_changed(im, rng)
        nears = {"glyph": glyph, "last_message_cut": last_message_cut(im),
                 "read_tick": read_tick(im, rng)}
        for kind, near in nears.items():
            if near is None:
                continue
            Path(f"{stem}n_{kind}.png").write_bytes(encode(near, "PNG"))
            rows.append((f"{group}n_{kind}.png", f"{group}n_{kind}", kind))
        if glyph is not None:
            Path(f"{stem}n_glyph_jpeg90.jpg").write_bytes(encode(glyph, "JPEG", quality=90))
            # a copy of the near-miss: in the near-miss's group, apart from the original's
            rows.append((f"{group}n_glyph_jpeg90.jpg", f"{group}n_glyph", "glyph_jpeg90"))
        labels += [{"file": f, "group": g, "kind": k, "source": path.name} for f, g, k in rows]
        taken += 1
    (out / "labels.json").write_text(json.dumps(labels, indent=1))
    print(f"{len(labels)} images from {taken} originals in {out}")


DRAWN_SIZES = [(360, 640), (450, 800), (540, 1170)]
DRAWN_WORDS = ("parcel order refund tracking promised seller buyer delivered pending payment "
               "shipped tomorrow today sorry please update number address return photo "
               "invoice").split()


def make_drawn(out: Path, originals: int, seed: int) -> None:
    """Draw `originals` small chats (DRAWN_SIZES in turn) and make the labelled set of them."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from chatshots import chat

    rng = random.Random(seed)

    def message() -> tuple[bool, str, str]:
        words = " ".join(rng.sample(DRAWN_WORDS, rng.randint(3, 5))).capitalize()
        return rng.random() < 0.5, words, f"{rng.randint(8, 22):02d}:{rng.randint(0, 59):02d}"

    with tempfile.TemporaryDirectory(prefix="drawn-chats-") as folder:
        for k in range(originals):
            width, height = DRAWN_SIZES[k % len(DRAWN_SIZES)]
            messages = [message() for _ in range(rng.randint(3, 7))]
            clock = f"{rng.randint(8, 22)}:{rng.randint(10, 59)}"
            chat(messages, clock=clock, width=width, height=height).save(
                Path(folder) / f"chat{k:03d}_{width}.png")
        make(Path(folder), out, originals, seed)


def score(folder: Path, cache: Path | None, workers: str | None, floor: bool = False) -> int:
    from itaoreport.evidence.dedupe_files import dedupe_paths

    if workers:
        os.environ["ITAOREPORT_WORKERS"] = workers
    labels = json.loads((folder / "labels.json").read_text())
    row_of = {row["file"]: row for row in labels}
    own_cache = cache is None
    cache = cache or Path(tempfile.mkdtemp(prefix="realset-cache-"))
    load = os.getloadavg()
    wall, cpu = time.perf_counter(), _cpu_seconds()
    outcome = dedupe_paths([str(folder)], cache_dir=cache,
                           progress=lambda message: print(f"  {message}", file=sys.stderr))
    wall, cpu = time.perf_counter() - wall, _cpu_seconds() - cpu
    result = outcome.result
    name = os.path.basename
    keep_of = {name(k): name(v) for k, v in result.keep_of.items()}
    false_merges = []
    for g in result.groups:
        members = [name(g.keep)] + [name(m.path) for m in g.duplicates]
        for a in members:
            for b in members:
                if a < b and row_of[a]["group"] != row_of[b]["group"]:
                    false_merges.append((a, b))
    orig_of = {row["group"]: row["file"] for row in labels if row["kind"] == "orig"}
    by_kind: dict[str, list[int]] = {k: [0, 0] for k in COPY_KINDS}
    narrow: dict[str, int] = {k: 0 for k in COPY_KINDS}
    worst_copy, best_near = 0.0, 255.0
    for row in labels:
        if row["kind"] in by_kind:
            if outcome.widths.get(str(folder / row["file"]), MIN_VERIFY_WIDTH) < MIN_VERIFY_WIDTH:
                narrow[row["kind"]] += 1  # listed, never merged (the 50 % of a 360 px chat)
                continue
            by_kind[row["kind"]][1] += 1
            same = keep_of.get(row["file"]) == keep_of.get(orig_of[row["group"]])
            by_kind[row["kind"]][0] += same
    for g in result.groups:
        for m in g.duplicates:
            if m.stage == "verified":
                worst_copy = max(worst_copy, m.score)
    near_scores: dict[str, float] = {}
    too_small = 0
    for n in result.kept_separate:
        a, b = row_of[name(n.a)], row_of[name(n.b)]
        if outcome.too_small(n.a, n.b) is not None:
            # compared narrower than MIN_VERIFY_WIDTH: listed, never merged, whatever the
            # score, so not part of the margin (50 % copies of 360 and 450 px drawn chats)
            too_small += a["group"] != b["group"]
            continue
        if a["group"] != b["group"]:
            best_near = min(best_near, n.score)
            for row in (a, b):
                if row["kind"] in NEAR_KINDS:
                    near_scores[row["kind"]] = min(near_scores.get(row["kind"], 255.0), n.score)
    print(f"{outcome.images} images ({len(outcome.unreadable)} unreadable); false merges: "
          f"{len(false_merges)} {false_merges[:5]}")
    for kind, (merged, total) in by_kind.items():
        print(f"  {kind:14} {merged}/{total} in the original's group ({merged / max(total, 1):.0%})"
              + (f"; {narrow[kind]} narrower than {MIN_VERIFY_WIDTH} px, never merged, not "
                 "counted" if narrow[kind] else ""))
    ratio = best_near / worst_copy if worst_copy else float("inf")
    print(f"largest merged-copy score {worst_copy}; smallest near-miss score {best_near} "
          f"(by kind {near_scores}); margin ratio {ratio:.2f}"
          + (f" ({too_small} pairs of different pictures narrower than {MIN_VERIFY_WIDTH} px, "
             "never merged, left out)" if too_small else ""))
    stages = ", ".join(f"{stage} {w:.1f}/{c:.1f}" for stage, (w, c) in outcome.seconds.items())
    after = os.getloadavg()
    print(f"grouping: wall {wall:.1f} s, CPU {cpu:.1f} s (this process and workers; "
          f"wall/CPU by stage: {stages}), load average before {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f}, after {after[0]:.2f} {after[1]:.2f} {after[2]:.2f}")
    if own_cache:
        shutil.rmtree(cache, ignore_errors=True)
    if floor:
        decode_floor(folder, cpu, outcome.seconds)
    ok = not false_merges and all(m >= 0.95 * t for m, t in by_kind.values() if t)
    return 0 if ok else 1


def decode_floor(folder: Path, cold_cpu: float, stages: dict) -> None:
    """What no grouping of these files can spend less on: each file decoded once, as the
    detector decodes it (images.open_image without the digest: Pillow, or libspng for plain
    PNGs), then made the detector's 720-px grayscale (dedupe.normalised_gray), in this one
    process, after the run. Printed as CPU seconds, as shares of the run's CPU, and as the
    wall time it takes at best on this machine's cores."""
    import hashlib

    from itaoreport.evidence.dedupe import normalised_gray, rgb
    from itaoreport.evidence.prepare import keep_freed_memory, worker_count

    keep_freed_memory()  # as in the workers: large buffers are not page-faulted in each time
    decode = gray = 0.0
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg",
                                                                         ".webp"))
    for path in files:
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        start = time.process_time()
        try:
            decoded = open_image(path, sha, digest=False)
        except ImageError:
            continue
        middle = time.process_time()
        normalised_gray(rgb(decoded.image).convert("L"))
        end = time.process_time()
        decode += middle - start
        gray += end - middle
    cores = worker_count(len(files))
    analyse_cpu = stages.get("analyse", (0.0, 0.0))[1]
    print(f"floor: decoding the {len(files)} files {decode:.1f} s CPU ({decode / cold_cpu:.0%} "
          f"of the cold run's {cold_cpu:.1f} s, {decode / max(analyse_cpu, 1e-9):.0%} of its "
          f"analysis), with the 720-px grayscales {decode + gray:.1f} s: at best "
          f"{(decode + gray) / cores:.1f} s wall on {cores} core{'s' if cores != 1 else ''} "
          "before any comparison")


def _cpu_seconds() -> float:
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make", help="build the labelled set from a folder of screenshots")
    m.add_argument("source", type=Path)
    m.add_argument("out", type=Path)
    m.add_argument("--originals", type=int, default=80)
    m.add_argument("--seed", type=int, default=1)
    d = sub.add_parser("make-drawn", help="build the labelled set from small chats it draws")
    d.add_argument("out", type=Path)
    d.add_argument("--originals", type=int, default=42)
    d.add_argument("--seed", type=int, default=1)
    s = sub.add_parser("score", help="run the detector on a set and score it")
    s.add_argument("folder", type=Path)
    s.add_argument("--cache", type=Path, help="cache folder to keep (warm runs); default: "
                                               "a fresh one, removed afterwards")
    s.add_argument("--workers", help="ITAOREPORT_WORKERS for the run")
    s.add_argument("--floor", action="store_true",
                   help="afterwards, decode every file once in this process and print what "
                        "that and the 720-px grayscales cost (the part no grouping avoids)")
    args = ap.parse_args()
    if args.command == "make":
        make(args.source, args.out, args.originals, args.seed)
        return 0
    if args.command == "make-drawn":
        make_drawn(args.out, args.originals, args.seed)
        return 0
    return score(args.folder, args.cache, args.workers, args.floor)


if __name__ == "__main__":
    sys.exit(main())

"""Shrinking 8-bit greyscale pictures for the duplicate detector, by banded matrix products.

Pillow's `resize(size, LANCZOS)` runs ~1.4 ns per filter tap in plain C: ~15 ms of CPU to
bring a 1080x1920 screenshot to 720 px wide, ~8 ms more to bring that to 480 px, and its
GaussianBlur(0.8) ~4 ms more. The same weights applied as float32 matrix products over
bands of 16 outputs (numpy's BLAS) cost about a third of that (#20, round 6; measured in
one process, best of 5 x 8 at load 11: 1080x1920 -> 720 px 5.9 ms, 720 -> 480 px with the
blur 3.4 ms; the coarse 120 px array ~1.5 ms).

`shrink(gray, size, radius)` gives Pillow's pictures:

- the resize uses Pillow's Lanczos weights exactly (its fixed-point ones: `axis`), in
  Pillow 13's order of passes (columns first, unless the height shrinks by more than twice
  as many pixels as the width), rounded and clipped to
  0-255 after each pass as Pillow does, so it differs from Pillow's only where a float32
  sum lands on the other side of a rounding boundary: a grey level, in ~2 outputs per
  million;
- the blur is Pillow's GaussianBlur(radius) (three box passes per axis, BoxBlur.c) as one
  product per axis, rounded once where Pillow rounds after each pass: within two grey
  levels, ~11 % of the outputs one level away on a real screenshot.

Changing the order of the passes (rows first, ~5 % faster) moves outputs at hard edges by
up to 16 levels, because Lanczos overshoots there and the clip then happens elsewhere;
not clipping at all raised a half-size copy's score from 0.93 to 1.39.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

PRECISION_BITS = 22
"""Pillow's fixed-point weights (Resample.c: 32 - 8 - 2 bits)."""
SUPPORT = 3.0
"""Lanczos-3."""
BLOCK = 16
"""Outputs per band: each band is one product with a dense block of weights (zero outside the
band). Measured, best of 5 x 8 at load 11, 1080x1920 -> 720 px / 720 -> 480 px with the blur:
8 outputs 8.3 / 4.2 ms, 16: 5.9 / 3.4, 24: 6.0-6.5 / 3.4-3.6, 48: 7.5 / 4.0, 96: 8.9 / 5.6."""


def _lanczos(x: np.ndarray) -> np.ndarray:
    """Pillow's lanczos_filter: sinc(x) * sinc(x / 3) on [-3, 3), else 0."""
    inside = (x >= -3.0) & (x < 3.0)
    return np.where(inside, np.sinc(x) * np.sinc(x / 3.0), 0.0)


@dataclass(frozen=True)
class Axis:
    """Pillow's resampling of one axis: for each output, the first input and its weights."""

    starts: np.ndarray
    """First input index of each output (int64)."""
    weights: np.ndarray
    """(outputs, ksize) int64 fixed-point weights, zero beyond each output's taps."""
    counts: np.ndarray
    """Taps of each output."""
    blocks: tuple
    """(out0, out1, in0, in1, dense float32 (in1 - in0, out1 - out0) weights / 2**22)."""


@lru_cache(maxsize=256)
def axis(in_size: int, out_size: int) -> Axis:
    """precompute_coeffs and normalize_coeffs_8bpc of Pillow's Resample.c for LANCZOS over
    the whole picture (box 0..in_size), for every output at once."""
    scale = float(np.float32(in_size)) / out_size  # (double)(in1 - in0) / outSize, floats in
    filterscale = max(scale, 1.0)
    support = SUPPORT * filterscale
    ksize = int(math.ceil(support)) * 2 + 1
    centers = (np.arange(out_size) + 0.5) * scale
    starts = np.maximum((centers - support + 0.5).astype(np.int64), 0)  # C's (int): toward 0
    counts = np.minimum((centers + support + 0.5).astype(np.int64), in_size) - starts
    taps = np.arange(ksize)
    used = taps[None, :] < counts[:, None]
    weights = _lanczos((taps[None, :] + starts[:, None] - centers[:, None] + 0.5)
                       * (1.0 / filterscale))
    weights[~used] = 0.0
    total = weights.sum(axis=1, keepdims=True)
    np.divide(weights, total, out=weights, where=total != 0.0)
    unit = float(1 << PRECISION_BITS)
    fixed = np.trunc(weights * unit + np.where(weights < 0, -0.5, 0.5)).astype(np.int64)
    fixed[~used] = 0
    return Axis(starts, fixed, counts, _bands(starts, fixed / unit, counts))


def _bands(starts: np.ndarray, weights: np.ndarray, counts: np.ndarray) -> tuple:
    """Blocks (out0, out1, in0, in1, dense float32 (in1 - in0, outputs)) of a banded map
    whose output i takes weights[i, :counts[i]] of inputs starts[i]..."""
    blocks = []
    taps = np.arange(weights.shape[1])
    for o0 in range(0, starts.size, BLOCK):
        o1 = min(o0 + BLOCK, starts.size)
        s, w, n = starts[o0:o1], weights[o0:o1], counts[o0:o1]
        i0, i1 = int(s.min()), int((s + n).max())
        dense = np.zeros((i1 - i0, o1 - o0), dtype=np.float32)
        used = taps[None, :] < n[:, None]
        rows = (s[:, None] - i0 + taps[None, :])[used]
        columns = np.broadcast_to(np.arange(o1 - o0)[:, None], used.shape)[used]
        dense[rows, columns] = w[used]
        blocks.append((o0, o1, i0, i1, dense))
    return tuple(blocks)


@lru_cache(maxsize=1)
def one_blas_thread() -> bool:
    """Let numpy's BLAS use one thread in this process (once; True if it could be told).

    The products here are small (16 outputs at a time): numpy's bundled OpenBLAS would
    start a thread per core for each, which costs more than the product and, on a
    loaded machine, made a resize ~10x slower in wall time (measured, round 6). Pictures
    are worked on in parallel by processes instead (evidence/prepare.py)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - a dependency; without it BLAS keeps its threads
        return False
    threadpool_limits(1, user_api="blas")
    return True


def _box_pass(size: int, radius: float) -> np.ndarray:
    """One pass of Pillow's box blur (BoxBlur.c, ImagingLineBoxBlur8) over `size` samples
    as a matrix, before its rounding: the box of 2r+1 samples weighs `ww` each and the two
    beyond it `fw` each (in units of 2**-24), samples past an edge repeat the edge."""
    r = int(radius)
    ww = int(np.float32((1 << 24) / np.float32(radius * 2 + 1)))  # (UINT32)(1 << 24) / (f * 2 + 1)
    fw = ((1 << 24) - (r * 2 + 1) * ww) // 2
    matrix = np.zeros((size, size), dtype=np.float64)
    rows = np.arange(size)
    for k in range(-r - 1, r + 2):
        np.add.at(matrix, (rows, np.clip(rows + k, 0, size - 1)), fw if abs(k) == r + 1 else ww)
    return matrix / (1 << 24)


def gaussian_radius(radius: float, passes: int = 3) -> float:
    """Pillow's _gaussian_blur_radius: the box radius of each of `passes` box blurs that
    together make GaussianBlur(radius) (float32 arithmetic, as in BoxBlur.c)."""
    f = np.float32
    sigma2 = f(radius) * f(radius) / f(passes)
    big = f(math.sqrt(f(12.0) * sigma2 + f(1.0)))
    small = f(math.floor((big - f(1.0)) / f(2.0)))
    a = (f(2) * small + f(1)) * (small * (small + f(1)) - f(3) * sigma2)
    a /= f(6) * (sigma2 - (small + f(1)) * (small + f(1)))
    return float(small + a)


@lru_cache(maxsize=256)
def blur_axis(size: int, radius: float) -> tuple:
    """Blocks, as `axis` gives them, of Pillow's GaussianBlur(radius) along one axis of
    `size` samples: its three box passes as one banded linear map (unrounded).

    The map is the same for every output farther than its reach from both edges, so it is
    worked out densely on a short axis only and laid along this one."""
    box_radius = gaussian_radius(radius)
    reach = 3 * (int(box_radius) + 1)
    short = min(size, 4 * reach + 1)
    box = _box_pass(short, box_radius)
    dense = box @ box @ box
    if size == short:
        rows = dense
        shifts = np.zeros(size, dtype=np.int64)
    else:  # the first and last 2 * reach rows as worked out; every other one is the middle one
        edge = 2 * reach
        index = np.full(size, edge)
        index[:edge] = np.arange(edge)
        index[size - edge:] = np.arange(short - edge, short)
        rows = dense[index]
        shifts = np.zeros(size, dtype=np.int64)
        shifts[edge:size - edge] = np.arange(size - 2 * edge)
        shifts[size - edge:] = size - short
    used = rows != 0
    first = np.argmax(used, axis=1)
    last = short - np.argmax(used[:, ::-1], axis=1)
    counts = last - first
    taps = np.arange(counts.max())
    take = np.minimum(first[:, None] + taps[None, :], short - 1)
    weights = np.where(taps[None, :] < counts[:, None], np.take_along_axis(rows, take, axis=1), 0.0)
    return _bands(first + shifts, weights, counts)


def shrink(gray: np.ndarray, size: tuple[int, int], radius: float = 0.0) -> np.ndarray:
    """`gray` (uint8) resized to `size` (width, height) as Pillow's resize(LANCZOS) does
    (clipped to 0-255 after each pass, as Pillow clips), then blurred as Pillow's
    GaussianBlur(radius) (its three box passes per axis as one product), rounded once at
    the end: float32 whole numbers 0-255, within a grey level of Pillow's (which rounds
    after each of its 8 passes)."""
    one_blas_thread()
    height, width = gray.shape
    out_w, out_h = size
    values = gray  # made float32 a band at a time (_floats): never a float copy of it all
    resize = [(_apply_columns, width, out_w), (_apply_rows, height, out_h)]
    if height - out_h > 0 and height - out_h > 2 * (width - out_w):
        resize.reverse()  # Pillow 13's order: vertical first when it shrinks much more
    for apply, before, after in resize:
        if before != after:
            values = apply(values, axis(before, after).blocks, after)
            np.rint(values, out=values)  # Pillow rounds and clips after each pass
            np.clip(values, 0.0, 255.0, out=values)
    if radius > 0:
        values = _apply_columns(values, blur_axis(out_w, radius), out_w)
        values = _apply_rows(values, blur_axis(out_h, radius), out_h)
    if values.dtype != np.float32:  # neither resized nor blurred
        return values.astype(np.float32)
    np.rint(values, out=values)
    np.clip(values, 0.0, 255.0, out=values)
    return values


CHUNK_BYTES = 64 << 20
"""A columns pass makes its float32 copy of the picture this many bytes of rows at a time at
most (16 megapixels): a 60-megapixel picture's copy would be 240 MB on top of its decode.
Ordinary screenshots are taken whole: in bands of rows that stay in the processor's cache
(256 KB to 1 MB) the many small products cost more than the cache saves (a 1080x1920 pass
5.3-5.7 ms whole, 6.9-11.8 ms in such bands, measured alternating at load ~1.5)."""


def _floats(values: np.ndarray) -> np.ndarray:
    return values if values.dtype == np.float32 else values.astype(np.float32)


def _apply_columns(values: np.ndarray, blocks: tuple, size: int) -> np.ndarray:
    rows = values.shape[0]
    out = np.empty((rows, size), dtype=np.float32)
    step = max(16, CHUNK_BYTES // (4 * max(1, values.shape[1])))
    for r0 in range(0, rows, step):
        chunk = _floats(values[r0:r0 + step])
        target = out[r0:r0 + step]
        for o0, o1, i0, i1, dense in blocks:
            target[:, o0:o1] = chunk[:, i0:i1] @ dense
    return out


def _apply_rows(values: np.ndarray, blocks: tuple, size: int) -> np.ndarray:
    out = np.empty((size, values.shape[1]), dtype=np.float32)
    for o0, o1, i0, i1, dense in blocks:
        np.matmul(dense.T, _floats(values[i0:i1]), out=out[o0:o1])
    return out

"""The last grouping of a case's pictures, kept, so that a warm build does not group again.

Grouping (evidence/dedupe.find_duplicates) is a function of the pictures' facts (their
SHA-256, size, pixel digest, perceptual hash...) under their paths, and of the code that
groups. A warm build of a 1,000-entry case with 330 pictures still compared 54,000 hash
pairs and looked up ~1,400 cached verdicts to find the same groups again (~30-40 ms, #18).
So the result is kept in one file, `dedupe-result.json` in the case's cache folder of this
user (evidence/owner.py: a file that came with a case from someone else is never read),
under the SHA-256 of every picture's path and facts and of the grouping code's source.

Trust is that of the verdicts kept beside it (evidence/cache.py): a file of the wrong shape,
one that names other pictures than those being grouped, or one that merges two pictures
grouping would not even have compared (not the same bytes or pixels, and not a candidate
pair by perceptual hash and framing) is a miss; the result is then computed as usual and
the file rewritten (atomically).
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

from itaoreport.evidence.cache import VERSION, _write, no_links_below, read_cache_file
from itaoreport.evidence.dedupe import (
    ASPECT_TOLERANCE,
    CANDIDATE_DISTANCE,
    DedupeResult,
    Group,
    ImageFacts,
    Match,
    Near,
)

NAME = "dedupe-result.json"
FORMAT = 1
_SOURCES = ("evidence/dedupe.py", "evidence/prepare.py", "evidence/verify_pool.py",
            "evidence/images.py", "evidence/resample.py", "evidence/dedupe_memo.py")
"""The modules that decide a grouping: any change to them is another key."""
STAGES = ("exact", "pixels", "verified")


@lru_cache(maxsize=1)
def code_version() -> str:
    from itaoreport import __version__

    digest = hashlib.sha256(f"{__version__} cache {VERSION} format {FORMAT}".encode())
    package = Path(__file__).resolve().parent.parent
    for name in _SOURCES:
        try:
            digest.update(name.encode() + b"\0" + (package / name).read_bytes())
        except OSError:  # no source beside the bytecode: the version alone
            digest.update(b"?" + name.encode())
    return digest.hexdigest()


def key(items: dict[str, ImageFacts]) -> str:
    """What a grouping of `items` (path -> facts) depends on."""
    listed = [[path, items[path].to_json()] for path in sorted(items)]
    text = json.dumps([code_version(), listed], separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _path(folder: str | os.PathLike | None) -> str | None:
    if folder is None:
        return None
    folder = os.fspath(folder)
    path = os.path.join(folder, NAME)
    return path if no_links_below(folder, path) else None


def get(folder: str | os.PathLike | None, items: dict[str, ImageFacts]) -> DedupeResult | None:
    """The grouping kept for exactly these pictures and this code, or None."""
    path = _path(folder)
    if path is None or not items:
        return None
    try:
        data = json.loads(read_cache_file(path))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("key") != key(items):
        return None
    result = _from_json(data.get("result"), set(items))
    if result is None or not all(_could_match(items[g.keep], items[m.path], m.stage)
                                 for g in result.groups for m in g.duplicates):
        return None
    return result


def _could_match(kept: ImageFacts, copy: ImageFacts, stage: str) -> bool:
    """Whether grouping could have matched these two pictures at this stage: the same bytes,
    the same pixels, or (verified) a candidate pair of single-frame pictures. So a kept file
    can merge no pair a kept verdict could not (evidence/cache.py), never two pictures that
    are not even alike."""
    if stage == "exact":
        return kept.sha256 == copy.sha256
    if stage == "pixels":
        return kept.pixel_digest == copy.pixel_digest
    aspect_kept, aspect_copy = kept.width / kept.height, copy.width / copy.height
    return (kept.frames == 1 and copy.frames == 1
            and (kept.phash ^ copy.phash).bit_count() <= CANDIDATE_DISTANCE
            and abs(aspect_kept - aspect_copy) <= ASPECT_TOLERANCE * aspect_copy)


def put(folder: str | os.PathLike | None, items: dict[str, ImageFacts],
        result: DedupeResult) -> None:
    path = _path(folder)
    if path is None or not items:
        return
    _write(path, json.dumps({"key": key(items), "result": _to_json(result)},
                            ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def _to_json(result: DedupeResult) -> dict:
    return {**result.to_json(), "keep_of": result.keep_of}


def _from_json(data: object, paths: set[str]) -> DedupeResult | None:
    """The result, if `data` has exactly the shape _to_json gives and names these paths."""
    try:
        keep_of = data["keep_of"]  # type: ignore[index]
        if not (isinstance(keep_of, dict) and set(keep_of) == paths
                and all(isinstance(v, str) and keep_of.get(v) == v for v in keep_of.values())):
            return None
        groups = []
        for g in data["groups"]:  # type: ignore[index]
            keep = g["keep"]
            if keep_of.get(keep) != keep or not isinstance(g["duplicates"], list):
                return None
            matches = [Match(m["path"], m["stage"], float(m["score"])) for m in g["duplicates"]]
            if any(keep_of.get(m.path) != keep or m.path == keep or m.stage not in STAGES
                   for m in matches):
                return None
            groups.append(Group(keep, matches))
        near = [Near(n["a"], n["b"], float(n["score"])) for n in data["kept_separate"]]  # type: ignore[index]
        if any(n.a not in paths or n.b not in paths for n in near):
            return None
    except (KeyError, TypeError, ValueError):
        return None
    merged = {m.path for g in groups for m in g.duplicates}
    if merged != {p for p, k in keep_of.items() if k != p}:
        return None
    return DedupeResult(groups, near, dict(keep_of))

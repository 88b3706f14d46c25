"""A case's `.itaoreport/` caches are read only by the user who made them (evidence/owner.py).

A case folder from someone else may bring a cache whose entries give a file's hash another
picture; the report must still show the evidence itself.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from PIL import Image

from conftest import ENTRY_YAML, png_bytes, write_case
from itaoreport.build import BuildOptions, build
from itaoreport.evidence import owner

RED: dict[str, bytes] = {}
for fmt, magic in (("PNG", b"\x89PNG"), ("JPEG", b"\xff\xd8\xff")):
    buf = io.BytesIO()
    Image.new("RGB", (40, 80), "red").save(buf, format=fmt)
    RED[magic] = buf.getvalue()


@pytest.fixture
def as_user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # noqa: ANN201
    """as_user(name): later builds run as that user (their own secret, so their own tag)."""

    def switch(name: str) -> str:
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / f"home-{name}"))
        owner._secret.cache_clear()
        return owner.owner_tag()

    yield switch
    owner._secret.cache_clear()


def _case(root: Path) -> Path:
    entries = {f"e{n}.yaml": ENTRY_YAML + f"attachments: [s/{n}.png]\n" for n in range(2)}
    files = {f"s/{n}.png": png_bytes(colour=c, text=f"shot {n}")
             for n, c in enumerate(["white", "yellow"])}
    return write_case(root, entries=entries, files=files)


def _plant_red_pictures(case: Path) -> int:
    """Every cached picture (rendition, print copy) replaced by a red one of its format."""
    planted = 0
    for path in (case / ".itaoreport").rglob("*"):
        if path.is_file():
            head = path.read_bytes()[:4]
            for magic, red in RED.items():
                if head.startswith(magic):
                    path.write_bytes(red)
                    planted += 1
                    meta = path.with_suffix(".json")
                    if meta.is_file():  # its size, as a careful forger would
                        info = json.loads(meta.read_text())
                        meta.write_text(json.dumps({**info, "size": len(red)}))
    return planted


def _assets(case: Path) -> set[bytes]:
    return {p.read_bytes() for p in (case / "build" / "assets").iterdir() if p.is_file()}


def test_a_cache_made_by_someone_else_is_never_read(tmp_path: Path, as_user):  # noqa: ANN001
    case = _case(tmp_path / "case")
    mallory = as_user("mallory")
    build(case, BuildOptions(formats=("html", "pdf")))
    assert (case / ".itaoreport" / "cache" / mallory).is_dir()
    assert _plant_red_pictures(case) >= 2

    alice = as_user("alice")
    assert alice != mallory
    build(case, BuildOptions(formats=("html", "pdf")))
    shown = _assets(case)
    assert not shown & set(RED.values())  # the evidence itself, not the planted pictures
    assert (case / ".itaoreport" / "cache" / alice).is_dir()

    as_user("mallory")  # the planted cache is what its own user's build would read: the
    build(case, BuildOptions(formats=("html",)))  # check above could fail
    assert _assets(case) & set(RED.values())


def test_the_owner_tag_is_stable_and_the_secret_private(tmp_path: Path, as_user):  # noqa: ANN001
    first = as_user("alice")
    secret = tmp_path / "home-alice" / "itaoreport" / owner.SECRET_NAME
    assert secret.stat().st_size == owner.SECRET_BYTES
    assert secret.stat().st_mode & 0o077 == 0
    assert as_user("alice") == first  # read back, the same in every run
    assert first.startswith("u") and len(first) == 1 + owner.TAG_CHARS


def test_without_a_usable_secret_each_run_has_its_own_cache(tmp_path: Path, as_user,  # noqa: ANN001
                                                            monkeypatch: pytest.MonkeyPatch):
    home = tmp_path / "home-link" / "itaoreport"
    home.mkdir(parents=True)
    (home / owner.SECRET_NAME).symlink_to(tmp_path / "elsewhere")  # never followed
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-link"))
    owner._secret.cache_clear()
    one = owner.owner_tag()
    owner._secret.cache_clear()
    assert owner.owner_tag() != one
    assert not (tmp_path / "elsewhere").exists()
    assert os.path.islink(home / owner.SECRET_NAME)

"""A build reuses the case as read last time only when nothing it was read from changed
(itaoreport/case/loadcache.py), and never runs what a planted file holds."""

from __future__ import annotations

import hashlib
import hmac
import os
import pickle
import shutil
from pathlib import Path

import pytest

from conftest import SAMPLE_CASE, case_cache
from itaoreport.build import BuildOptions, build
from itaoreport.case import loadcache
from itaoreport.case.validate import load_case
from itaoreport.errors import CaseInvalid
from itaoreport.evidence.exhibits import cache_folder

PROMISE = "entries/2023-10-27-0915-seller-promised-tracking.yaml"
SHOT = "screenshots/2023-10-27-0915-seller-promise.png"


@pytest.fixture
def case(tmp_path: Path) -> Path:
    target = tmp_path / "case"
    shutil.copytree(SAMPLE_CASE, target, ignore=shutil.ignore_patterns("build", ".itaoreport"))
    return target


@pytest.fixture
def loads(monkeypatch) -> list[Path]:
    """The full loads made from now on (a reused case makes none)."""
    made: list[Path] = []
    real = loadcache.load_case

    def counting(case_dir, *args, **kwargs):
        made.append(Path(case_dir))
        return real(case_dir, *args, **kwargs)

    monkeypatch.setattr(loadcache, "load_case", counting)
    return made


def _load(case: Path):
    return loadcache.load_case_cached(case, cache_folder(case))[0]


def test_a_second_load_reuses_the_first_and_equals_a_fresh_one(case: Path, loads):
    first = _load(case)
    second = _load(case)
    assert len(loads) == 1 and (case_cache(case) / loadcache.NAME).is_file()
    fresh = load_case(case)
    assert second.case == fresh.case and second.problems == fresh.problems
    assert second.case is not first.case  # a new object each time: builds may change theirs


def test_a_build_reads_the_case_once(case: Path, loads):
    first = build(case, BuildOptions(formats=("json",)))
    again = build(case, BuildOptions(formats=("json",)))
    assert len(loads) == 1 and again.report == first.report


@pytest.mark.parametrize("change", [
    "edit an entry", "edit case.yaml", "add an entry", "remove an entry",
    "add editor litter", "grow an attachment", "new code",
])
def test_every_change_is_read_again(case: Path, loads, monkeypatch, change: str):
    _load(case)
    if change == "edit an entry":
        path = case / PROMISE
        path.write_text(path.read_text().replace("within 2 days", "within 3 days"))
    elif change == "edit case.yaml":
        path = case / "case.yaml"
        path.write_text(path.read_text() + "\n# a comment\n")
    elif change == "add an entry":
        (case / "entries" / "2023-11-03-0900-x.yaml").write_text(
            "timestamp: 2023-11-03 09:00\nchannel: Email\nsender: me\nsummary: One more.\n")
    elif change == "remove an entry":
        (case / "entries" / "2023-11-02-1105-last-attempt.yaml").unlink()
    elif change == "add editor litter":
        (case / "entries" / ".#2023-11-02-1105-last-attempt.yaml").write_text("x: 1\n")
    elif change == "grow an attachment":
        with open(case / SHOT, "ab") as fh:
            fh.write(b"\0" * 10)
    elif change == "new code":
        monkeypatch.setattr(loadcache, "_code_version", lambda: "another version")
    again = _load(case)
    assert len(loads) == 2
    fresh = load_case(case)
    assert again.case == fresh.case and again.problems == fresh.problems


def test_an_attachment_gone_or_linked_out_is_an_error_again(case: Path, tmp_path: Path):
    build(case, BuildOptions(formats=("json",)))
    outside = tmp_path / "outside.png"
    shutil.copy(case / SHOT, outside)
    (case / SHOT).unlink()
    with pytest.raises(CaseInvalid) as gone:
        build(case, BuildOptions(formats=("json",)))
    assert any("does not exist" in p.message and p.loc.path == PROMISE
               for p in gone.value.problems)
    os.symlink(outside, case / SHOT)
    with pytest.raises(CaseInvalid) as linked:
        build(case, BuildOptions(formats=("json",)))
    assert any("points outside the case folder" in p.message for p in linked.value.problems)


def test_the_same_folder_by_another_relative_path_keeps_its_own_root(case: Path, loads,
                                                                      monkeypatch):
    monkeypatch.chdir(case.parent)
    one = _load(Path("case"))
    monkeypatch.chdir(case)
    other = _load(Path("."))
    assert one.case.root == Path("case") and other.case.root == Path(".")
    assert len(loads) == 2


class _Planted:
    """Unpickling this makes a file: proof that a planted pickle ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _plant(case: Path, body: bytes, signing: bytes | None) -> None:
    key = loadcache._inputs_key(case)
    signature = (hmac.new(signing, key + body, hashlib.sha256).digest() if signing
                 else b"\0" * 32)
    (case_cache(case) / loadcache.NAME).write_bytes(loadcache.MAGIC + signature + body)


@pytest.mark.parametrize("signed", [False, True])
def test_a_planted_pickle_never_runs(case: Path, tmp_path: Path, loads, signed: bool):
    """Unsigned (someone without this user's secret): never unpickled. Signed with the
    right key but naming a class a case is not made of: refused by the unpickler."""
    _load(case)
    marker = tmp_path / "ran"
    body = pickle.dumps((_Planted(marker), {}, b""))
    from itaoreport.evidence.owner import signing_key

    _plant(case, body, signing_key() if signed else None)
    result = _load(case)
    assert not marker.exists()
    assert result.case is not None and len(loads) == 2


def test_a_damaged_file_is_a_miss(case: Path, loads):
    _load(case)
    path = case_cache(case) / loadcache.NAME
    data = path.read_bytes()
    for damaged in (data[: len(data) // 2], b"", data[:-1] + bytes([data[-1] ^ 1])):
        path.write_bytes(damaged)
        assert _load(case).case == load_case(case).case
    assert len(loads) == 4


def test_the_privacy_warnings_of_the_texts_are_kept_with_the_case(case: Path, loads):
    """A build's privacy check of the case's texts (after redact_text) is kept beside the case,
    and a reused case gives the same warnings (and still redacts what the report shows)."""
    path = case / PROMISE
    path.write_text(path.read_text().replace(
        "summary: The seller said",
        "summary: Call +49 30 1234567 or mail anna@example.org. The seller said")
        + "redact_text: [GadgetWorld, +49 30 1234567]\n")
    first = build(case, BuildOptions(formats=("json",)))
    again = build(case, BuildOptions(formats=("json",)))
    assert len(loads) == 1
    private = [w.message for w in first.warnings if "anyone who gets the report" in w.message]
    assert len(private) == 1 and "e-mail" in private[0]  # the redacted phone is not reported
    assert private == [w.message for w in again.warnings
                       if "anyone who gets the report" in w.message]
    entry = next(e for e in again.report["entries"] if e["file"] == PROMISE)
    assert "GadgetWorld" not in str(entry) and first.report == again.report


def test_a_warm_build_does_not_even_import_the_yaml_parser(case: Path):
    """A reused case needs no parsing: PyYAML (~20 ms of start-up) stays unimported, while
    a change to the PyYAML in use would still be a fresh read (_pyyaml_identity)."""
    import subprocess
    import sys

    build(case, BuildOptions(formats=("json",)))
    script = ("import sys; from itaoreport.build import BuildOptions, build; "
              f"build({str(case)!r}, BuildOptions(formats=('json',))); "
              "print(sorted(m for m in sys.modules if m == 'yaml' or m.startswith('yaml.')))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"
    assert loadcache._pyyaml_identity().startswith(b"PyYAML ")
    assert loadcache._pyyaml_identity() != b"PyYAML ?"

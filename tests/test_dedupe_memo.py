"""A warm build reuses the last grouping of the same pictures (evidence/dedupe_memo.py), and
only that: other pictures, other paths or a kept file of the wrong shape group again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from itaoreport.build import BuildOptions, build
from itaoreport.evidence import dedupe_memo, exhibits
from itaoreport.evidence.exhibits import cache_folder

COPY = "screenshots/emailed/IMG_2023-10-27_seller.jpg"
KEPT = "screenshots/2023-10-27-0915-seller-promise.png"


@pytest.fixture
def groupings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many pictures each real grouping (find_duplicates) was given from now on."""
    made: list[int] = []
    real = exhibits.find_duplicates

    def counting(items, *args, **kwargs):  # noqa: ANN001, ANN202
        made.append(len(items))
        return real(items, *args, **kwargs)

    monkeypatch.setattr(exhibits, "find_duplicates", counting)
    return made


def _attachments(case: Path) -> dict[str, dict]:
    report = json.loads((case / "build" / "report.json").read_text(encoding="utf-8"))
    return {a["path"]: a for a in report["attachments"]}


def test_a_warm_build_reuses_the_grouping_and_reports_the_same(sample_copy: Path,
                                                             groupings: list[int]):
    case = sample_copy
    build(case, BuildOptions(formats=("json",)))
    first = (case / "build" / "report.json").read_bytes()
    assert groupings == [6]
    assert _attachments(case)[COPY]["duplicate_of"] == KEPT
    build(case, BuildOptions(formats=("json",)))
    assert groupings == [6]  # no second grouping
    assert (case / "build" / "report.json").read_bytes() == first


def test_a_changed_or_renamed_picture_is_grouped_again(sample_copy: Path, groupings: list[int]):
    case = sample_copy
    build(case, BuildOptions(formats=("json",)))
    picture = case / "screenshots" / "2023-10-20-order-details.png"
    picture.write_bytes(picture.read_bytes() + b"\0")  # other bytes, the same picture
    build(case, BuildOptions(formats=("json",)))
    assert groupings == [6, 6]
    entry = case / "entries" / "2023-11-02-1105-last-attempt.yaml"
    moved = case / "screenshots" / "emailed" / "IMG_copy.jpg"
    (case / COPY).rename(moved)
    entry.write_text(entry.read_text(encoding="utf-8").replace(COPY, moved.relative_to(
        case).as_posix()), encoding="utf-8")
    build(case, BuildOptions(formats=("json",)))
    assert groupings == [6, 6, 6]
    assert _attachments(case)["screenshots/emailed/IMG_copy.jpg"]["duplicate_of"] == KEPT


def _kept(case: Path) -> Path:
    folder = cache_folder(case)
    assert folder is not None
    return folder / dedupe_memo.NAME


@pytest.mark.parametrize("damage", [
    "not json",
    "a list",
    "another key",
    "a copy kept apart from its group",
    "a group's member that is kept itself",
    "a picture the case does not have",
    "a stage that does not exist",
    "no keep_of",
    "two pictures that are not alike merged",
])
def test_a_kept_grouping_of_the_wrong_shape_is_grouped_again(sample_copy: Path,
                                                            groupings: list[int], damage: str):
    case = sample_copy
    build(case, BuildOptions(formats=("json",)))
    good = (case / "build" / "report.json").read_bytes()
    kept = json.loads(_kept(case).read_text(encoding="utf-8"))
    result = kept["result"]
    if damage == "not json":
        _kept(case).write_text("{", encoding="utf-8")
    else:
        if damage == "a list":
            kept = []
        elif damage == "another key":
            kept["key"] = "0" * 64
        elif damage == "a copy kept apart from its group":
            result["keep_of"][COPY] = COPY
        elif damage == "a group's member that is kept itself":
            result["groups"][0]["duplicates"][0]["path"] = KEPT
        elif damage == "a picture the case does not have":
            result["keep_of"]["screenshots/elsewhere.png"] = "screenshots/elsewhere.png"
        elif damage == "a stage that does not exist":
            result["groups"][0]["duplicates"][0]["stage"] = "trusted"
        elif damage == "no keep_of":
            del result["keep_of"]
        elif damage == "two pictures that are not alike merged":  # the right key and shape
            order = "screenshots/2023-10-20-order-details.png"
            result["keep_of"][order] = KEPT
            result["groups"][0]["duplicates"].append(
                {"path": order, "stage": "verified", "score": 0.1})
        _kept(case).write_text(json.dumps(kept), encoding="utf-8")
    build(case, BuildOptions(formats=("json",)))
    assert groupings == [6, 6]
    assert (case / "build" / "report.json").read_bytes() == good


def test_grouping_code_is_part_of_the_key(monkeypatch: pytest.MonkeyPatch, sample_copy: Path,
                                          groupings: list[int]):
    case = sample_copy
    build(case, BuildOptions(formats=("json",)))
    monkeypatch.setattr(dedupe_memo, "code_version", lambda: "another version of the code")
    build(case, BuildOptions(formats=("json",)))
    assert groupings == [6, 6]


def test_every_module_the_grouping_imports_is_in_the_key():
    """A kept grouping is keyed by the source of the modules that decide it: a module the
    detector imports and the key leaves out could change the result of a warm build."""
    import re
    from pathlib import Path

    from itaoreport.evidence import dedupe_memo

    package = Path(dedupe_memo.__file__).resolve().parent.parent
    imported = set()
    for name in ("evidence/dedupe.py", "evidence/verify_pool.py"):
        source = (package / name).read_text()
        imported |= {f"evidence/{m}.py" for m in re.findall(
            r"from itaoreport\.evidence(?:\.(\w+))? import", source) if m}
        imported |= {f"evidence/{m.strip()}.py" for line in re.findall(
            r"from itaoreport\.evidence import ([\w, ]+)", source) for m in line.split(",")}
    assert "evidence/resample.py" in imported
    assert imported - {"evidence/cache.py", "evidence/owner.py"} <= set(dedupe_memo._SOURCES)

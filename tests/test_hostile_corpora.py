"""Real broken inputs from PyYAML's and Pillow's test suites (../shared/corpora).

Every YAML file there used as an entry gives a located error; every image used
as an attachment gives a clean error naming the file and the entry, or a good
build. The whole run is guarded by faulthandler: a hang dumps the stacks and
ends the test process instead of waiting forever.
"""

from __future__ import annotations

import faulthandler
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ENTRY_YAML, require_shared, write_case
from hostile_support import HANG_GUARD_SECONDS, assert_clean_failure, run_cli

from itaoreport.build import BuildOptions, build
from itaoreport.case.validate import load_case
from itaoreport.evidence.exhibits import gather_evidence

SCREENSHOT_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".avif"}


def corpus(name: str) -> list[Path]:
    folder = require_shared("corpora", name)
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("LICENSE"))


@pytest.fixture(autouse=True)
def hang_guard() -> Iterator[None]:
    """End the run with every thread's stack if one file takes longer than the guard."""
    faulthandler.dump_traceback_later(HANG_GUARD_SECONDS, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


def test_every_yaml_loader_error_is_a_located_error(tmp_path: Path):
    files = corpus("yaml-loader-errors")
    assert len(files) >= 80
    case = write_case(tmp_path / "case", entries={})
    entries = case / "entries"
    entries.mkdir()
    for source in files:
        shutil.copy(source, entries / f"{source.stem}.yaml")
    output = assert_clean_failure(run_cli("validate", case))
    for source in files:
        # paths are shown as reached from the current folder: here, case/entries/...
        lines = [line for line in output.splitlines()
                 if line.startswith(f"{case / 'entries' / source.stem}.yaml:")]
        assert lines, f"{source.name}: no located error in the output"
        where = lines[0].split(": ")[0].rsplit(":", 2)
        assert int(where[1]) >= 1 and int(where[2]) >= 1, lines[0]
        assert ": error: " in lines[0], lines[0]


@pytest.mark.parametrize("folder", ["bad-images", "odd-images"])
def test_every_image_ends_in_a_build_or_a_named_error(tmp_path: Path, folder: str):
    outcomes: dict[str, str] = {}
    for source in corpus(folder):
        case = write_case(tmp_path / source.name, entries={
            "e.yaml": ENTRY_YAML + f"attachments:\n  - evidence/{source.name}\n"})
        (case / "evidence").mkdir()
        shutil.copy(source, case / "evidence" / source.name)
        result = run_cli("build", case, "--format", "html,json")
        if result.exit_code == 0:
            assert (case / "build" / "report.html").is_file()
            outcomes[source.name] = "built"
            continue
        output = assert_clean_failure(
            result, f"entries/e.yaml:6:5: error: attachment 'evidence/{source.name}'")
        outcomes[source.name] = output.splitlines()[0].split("': ", 1)[1]
        if folder == "odd-images" and source.suffix.lower() in SCREENSHOT_SUFFIXES:
            pytest.fail(f"{source.name} is a screenshot format and must build: {output}")
        if folder == "odd-images":
            assert "unsupported" in outcomes[source.name], outcomes
    if folder == "bad-images":
        # bombs with an image suffix must be refused before decoding; an .ico is not
        # treated as a screenshot at all (hashed as a plain file, never decoded)
        bombs = {name: outcome for name, outcome in outcomes.items()
                 if "decompression_bomb." in name and Path(name).suffix in SCREENSHOT_SUFFIXES}
        assert bombs and all("too large" in o for o in bombs.values()), bombs


def test_odd_images_render_into_a_pdf(tmp_path: Path):
    pytest.importorskip("pypdf", reason="pypdf is in the test extra: pip install -e '.[test]'")
    files = corpus("odd-images")
    case = write_case(tmp_path / "case", entries={
        "e.yaml": ENTRY_YAML + "attachments:\n"
                  + "".join(f"  - evidence/{p.name}\n" for p in files)})
    (case / "evidence").mkdir()
    for source in files:
        shutil.copy(source, case / "evidence" / source.name)
    result = build(case, BuildOptions(formats=("pdf", "json")))
    exhibits = result.report["exhibits"]
    # the hopper pictures are one picture in several formats: copies merge into one exhibit,
    # every file still maps to an exhibit that has a rendition
    assert all(a["exhibit"] for a in result.report["attachments"])
    assert len(exhibits) < len(result.report["attachments"])
    assert all(x["rendition"] for x in exhibits)

    import pypdf

    reader = pypdf.PdfReader(case / "build" / "report.pdf")
    # every distinct rendition reached the PDF through the confined fetcher (hopper.png,
    # .bmp and .tif hold the same pixels, so their renditions are the same image)
    evidence = gather_evidence(load_case(case).case)
    distinct = {x.rendition.data for x in evidence.exhibits if x.rendition}
    drawn = {image.data for page in reader.pages for image in page.images}
    assert len(drawn) == len(distinct)

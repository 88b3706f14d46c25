"""Preparing screenshots: one decode each, worker processes or not, the same evidence either way."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from chatshots import CONVERSATION, chat, encode
from conftest import ENTRY_YAML, case_cache, png_bytes, write_case

from itaoreport.case.validate import load_case
from itaoreport.evidence import prepare
from itaoreport.evidence.cache import VERSION as cache_version
from itaoreport.evidence.cache import ImageCache
from itaoreport.evidence.exhibits import gather_evidence
from itaoreport.evidence.memo import MemoCache
from itaoreport.evidence.renditions import cache_root_for
from itaoreport.render.fit import FIRST_TRY, PrintPrep

IMAGES = prepare.MIN_POOL_JOBS + 2
"""Enough screenshots for the worker pool."""


def many_screenshots_case(root: Path, broken: bool = False) -> Path:
    """IMAGES distinct chat screenshots, one JPEG copy of the first, one entry each."""
    files = {f"s/{i:02d}.png": encode(chat(CONVERSATION[: 2 + i % 4], clock=f"14:{i:02d}"), "PNG")
             for i in range(IMAGES)}
    files["s/copy.jpg"] = encode(chat(CONVERSATION[:2], clock="14:00"), "JPEG", quality=85)
    if broken:
        files["s/05.png"] = files["s/05.png"][:300]
    entries = {f"e{i:02d}.yaml": ENTRY_YAML.replace("14:30", f"14:{i:02d}")
               + f"attachments: [s/{i:02d}.png]\n" for i in range(IMAGES)}
    entries["f.yaml"] = ENTRY_YAML.replace("2023-10-26", "2023-10-27") + "attachments: [s/copy.jpg]\n"
    return write_case(root, entries=entries, files=files)


def evidence_json(evidence) -> tuple:
    return ([a.to_json() for a in sorted(evidence.attachments.values(), key=lambda a: a.path)],
            [x.to_json() for x in evidence.exhibits],
            [(x.rendition.data, x.printed.data if x.printed else None) for x in evidence.exhibits],
            evidence.kept_separate)


@pytest.fixture
def in_process(monkeypatch):
    monkeypatch.setenv(prepare.WORKERS_ENV, "1")


def test_worker_count_follows_the_setting_and_the_number_of_images(monkeypatch):
    monkeypatch.setenv(prepare.WORKERS_ENV, "4")
    assert prepare.worker_count(100) == 4
    assert prepare.worker_count(prepare.MIN_POOL_JOBS - 1) == 1
    monkeypatch.setenv(prepare.WORKERS_ENV, "1")
    assert prepare.worker_count(100) == 1
    monkeypatch.setenv(prepare.WORKERS_ENV, "not a number")
    assert prepare.worker_count(100) >= 1


def test_pool_and_in_process_give_the_same_evidence(tmp_path: Path, monkeypatch):
    results = []
    for workers in ("2", "1"):
        monkeypatch.setenv(prepare.WORKERS_ENV, workers)
        case_dir = many_screenshots_case(tmp_path / workers)
        case = load_case(case_dir).case
        cache = ImageCache(None)  # no cache: every image is decoded in this build
        printer = PrintPrep(False, None)
        evidence = gather_evidence(case, cache, printer)
        assert cache.stats["decodes"] == IMAGES + 1
        assert evidence.printed_grayscale is False
        results.append(evidence_json(evidence))
    assert results[0] == results[1]
    attachments = {a["path"]: a for a in results[0][0]}
    assert attachments["s/copy.jpg"]["duplicate_of"] == "s/00.png"
    assert len(results[0][1]) == IMAGES


def test_a_broken_image_in_the_pool_is_a_located_error(tmp_path: Path, monkeypatch):
    monkeypatch.setenv(prepare.WORKERS_ENV, "2")
    case = load_case(many_screenshots_case(tmp_path, broken=True)).case
    evidence = gather_evidence(case)
    (problem,) = evidence.problems
    assert problem.format().startswith("entries/e05.yaml:5:15: error: ")
    assert "error: attachment 's/05.png': the image is corrupt or truncated" in problem.format()
    assert evidence.exhibits == []


class KillingPrinter:
    """Makes print renditions, except that it kills its process on one screenshot."""

    grayscale = False

    def __init__(self, victim: str):
        self.victim = victim

    def lookup(self, size, sha256):
        return None

    def make(self, image, sha256):
        if sha256 == self.victim:
            os._exit(3)  # what a decoder crash or the out-of-memory killer looks like
        return PrintPrep(False, None).make(image, sha256)


def test_a_worker_that_dies_costs_only_its_own_screenshot(tmp_path: Path, monkeypatch):
    """The screenshot whose worker died is an error naming it; every other one is prepared,
    and nothing is retried in the build's own process (where a crash would end the build)."""
    monkeypatch.setenv(prepare.WORKERS_ENV, "2")
    case_dir = many_screenshots_case(tmp_path)
    case = load_case(case_dir).case
    victim = hashlib.sha256((case_dir / "s" / "04.png").read_bytes()).hexdigest()
    evidence = gather_evidence(case, ImageCache(None), KillingPrinter(victim))
    (problem,) = evidence.problems
    assert problem.loc.path == "entries/e04.yaml"
    assert "'s/04.png': reading this image made the image decoder crash" in problem.message


def test_warm_build_reads_facts_only(tmp_path: Path, in_process):
    """With facts, verdicts and renditions cached, no image is decoded and no grayscale read."""
    case = load_case(many_screenshots_case(tmp_path)).case
    folder = case_cache(tmp_path / "case")
    first = gather_evidence(case, ImageCache(folder), PrintPrep(False, cache_root_for(case.root)))

    class Counting(ImageCache):
        grays = 0

        def gray(self, sha256):
            Counting.grays += 1
            return super().gray(sha256)

    cache = Counting(folder)
    again = gather_evidence(case, cache, PrintPrep(False, cache_root_for(case.root)))
    assert cache.stats["decodes"] == 0 and Counting.grays == 0
    assert evidence_json(again) == evidence_json(first)


def test_a_lost_grayscale_is_made_again_when_a_new_pair_needs_it(tmp_path: Path, in_process):
    case_dir = write_case(tmp_path / "case", entries={
        "a.yaml": ENTRY_YAML + "attachments: [s/a.png]\n"},
        files={"s/a.png": encode(chat(CONVERSATION), "PNG"),
               "s/b.jpg": encode(chat(CONVERSATION), "JPEG", quality=80)})
    folder = case_cache(case_dir)
    gather_evidence(load_case(case_dir).case, ImageCache(folder))
    grays = list(folder.rglob("*.gray"))
    assert grays
    for gray in grays:
        gray.write_bytes(b"damaged")  # the facts of a.png stay, its grayscale is unreadable
    (case_dir / "entries" / "b.yaml").write_text(
        ENTRY_YAML.replace("14:30", "15:30") + "attachments: [s/b.jpg]\n")
    cache = ImageCache(folder)
    evidence = gather_evidence(load_case(case_dir).case, cache)
    assert evidence.attachments["s/b.jpg"].duplicate_of == "s/a.png"
    assert cache.stats["decodes"] == 2  # b.jpg, new; a.png again for its grayscale


def test_first_print_rendition_is_the_one_fitting_would_make(tmp_path: Path, in_process):
    from itaoreport.evidence.images import open_image
    from itaoreport.evidence.renditions import master_image, print_rendition
    from itaoreport.render.fit import master_size

    path = tmp_path / "shot.png"
    path.write_bytes(encode(chat(CONVERSATION, width=1080, height=2340), "PNG"))
    image = open_image(path).image
    prep = PrintPrep(False, None)
    made = prep.make(image, "ab" * 32)
    big = master_size(image.size)
    layout, step = FIRST_TRY
    from itaoreport.evidence.renditions import PrintSpec

    spec = PrintSpec(layout.box_for(image.size), step.ppi, step.quality, False)
    expected = print_rendition(lambda: master_image(image, big), image.size, big, "ab" * 32, spec)
    assert made == expected
    assert prep.lookup(image.size, "ab" * 32) is None  # no cache folder: nothing to look up


def test_watch_memory_keeps_facts_not_grayscales(tmp_path: Path, in_process):
    case_dir = write_case(tmp_path / "case", entries={
        "a.yaml": ENTRY_YAML + "attachments: [s/a.png]\n"},
        files={"s/a.png": png_bytes(text="hello")})
    memo = MemoCache(case_cache(case_dir))
    gather_evidence(load_case(case_dir).case, memo)
    assert memo._facts and not memo._grays
    without_disk = MemoCache(None)
    gather_evidence(load_case(case_dir).case, without_disk)
    assert without_disk._grays  # nowhere else to keep them


def test_warm_html_build_imports_no_pixel_libraries(tmp_path: Path):
    """A warm HTML-only build reads cached facts and renditions: no numpy, no Pillow decoder."""
    import subprocess
    import sys

    case_dir = many_screenshots_case(tmp_path)
    code = ("import sys\nfrom itaoreport.build import build, BuildOptions\n"
            f"build({str(case_dir)!r}, BuildOptions(formats=('html',)))\n"
            "print(sorted(m for m in ('numpy', 'PIL.Image', 'imagehash', 'weasyprint') "
            "if m in sys.modules))\n")
    env = {**__import__("os").environ, prepare.WORKERS_ENV: "1"}
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert first.returncode == 0, first.stderr
    assert "numpy" in first.stdout  # the cold build analysed the screenshots
    warm = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert warm.returncode == 0, warm.stderr
    assert warm.stdout.strip() == "[]"


def test_a_file_saved_over_during_the_build_is_not_cached_under_the_old_hash(tmp_path: Path,
                                                                            in_process):
    case_dir = write_case(tmp_path / "case", entries={
        "a.yaml": ENTRY_YAML + "attachments: [s/a.png]\n"},
        files={"s/a.png": png_bytes(text="before")})
    case = load_case(case_dir).case
    from itaoreport.evidence import exhibits

    real = exhibits.sha256_file

    def hash_then_overwrite(path):
        digest = real(path)
        path.write_bytes(png_bytes(text="after"))  # an editor or sync tool saves meanwhile
        return digest

    import unittest.mock

    with unittest.mock.patch.object(exhibits, "sha256_file", hash_then_overwrite):
        evidence = gather_evidence(case)
    (problem,) = evidence.problems
    assert "the file changed while the report was being built; build again" in problem.message
    assert not list((case_dir / ".itaoreport").rglob("*.json"))  # nothing cached


def test_planted_cache_entries_cannot_name_outputs_hang_or_lead_out(tmp_path: Path, in_process):
    """A case from someone else may come with its own .itaoreport/: it is only ever a cache."""
    import json

    case_dir = write_case(tmp_path / "case", entries={
        "a.yaml": ENTRY_YAML + "attachments: [s/a.png]\n"},
        files={"s/a.png": png_bytes(text="hello")})
    case = load_case(case_dir).case
    first = gather_evidence(case)
    sha = first.attachments["s/a.png"].sha256
    folder = case_cache(case_dir) / f"v{cache_version}"
    (meta,) = (folder / "renditions").rglob("*.json")
    info = json.loads(meta.read_text())
    meta.write_text(json.dumps({**info, "name": "report.html"}))
    index = folder / "index.json"  # facts and verdicts
    index.unlink()
    os.mkfifo(index)  # reading it would block forever
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.rmtree(folder / "images")
    (folder / "images").symlink_to(outside)
    evidence = gather_evidence(case)
    assert evidence.exhibits[0].rendition.name == f"assets/{sha[:16]}.jpg"
    assert ImageCache(case_cache(case_dir)).verdict(sha, "0" * 64) is None
    assert list(outside.iterdir()) == []  # nothing written through the link


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc settings")
def test_workers_keep_freed_memory_instead_of_faulting_it_in_again():
    """A worker holds a few screenshots' buffers at once (decoded pixels, copies, arrays)
    and frees them, again and again; with keep_freed_memory (set up in every worker) glibc
    reuses the freed memory instead of giving it back and faulting it in again each time."""
    code = (
        "import resource, sys\n"
        "from itaoreport.evidence.prepare import keep_freed_memory\n"
        "if sys.argv[1] == 'keep':\n"
        "    keep_freed_memory()\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "for _ in range(10):\n"
        "    live = [bytearray(6 * 1024 * 1024) for _ in range(16)]\n"
        "    del live\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)\n")
    faults = {}
    for mode in ("keep", "default"):
        run = subprocess.run([sys.executable, "-c", code, mode], capture_output=True, text=True,
                             check=True)
        faults[mode] = int(run.stdout)
    pages = 16 * 6 * 1024 * 1024 // 4096  # of one round
    assert faults["default"] > 5 * pages  # given back and faulted in again, round after round
    assert faults["keep"] < 2 * pages

"""Watch mode with real file-system events: editor save sequences, errors, stopping cleanly."""

from __future__ import annotations

import hashlib
import os
import re
import threading
from pathlib import Path

import pytest
from conftest import ENTRY_YAML, write_case

from itaoreport.watch import PdfWorker, Watcher, WatchOptions, case_change

WAIT = 15.0


@pytest.fixture
def watcher(tmp_path: Path):
    case = write_case(tmp_path / "case", entries={"a.yaml": ENTRY_YAML})
    lines: list[str] = []
    w = Watcher(case, WatchOptions(pdf=False, debounce=0.1), say=lines.append)
    w.lines = lines  # type: ignore[attr-defined]
    w.start()
    first = w.wait_for_build(0, WAIT)
    assert first.ok, first.details()
    yield w
    w.stop()


def html(w: Watcher) -> str:
    return (w.out_dir / "report.html").read_text(encoding="utf-8")


def test_vim_style_save_shows_up_in_the_report(watcher: Watcher):
    entry = watcher.root / "entries" / "a.yaml"
    gen = watcher.generation
    os.rename(entry, entry.with_name("a.yaml~"))  # vim: backup by rename
    probe = entry.with_name("4913")  # vim: can I write in this folder?
    probe.write_bytes(b"")
    probe.unlink()
    entry.write_text(ENTRY_YAML.replace("Asked for tracking.", "Asked again, vim style."))
    entry.with_name("a.yaml~").unlink()
    outcome = watcher.wait_for_build(gen, WAIT)
    while "vim style" not in html(watcher):  # a build may have caught the save half-way
        outcome = watcher.wait_for_build(outcome.generation, WAIT)
    assert outcome.ok and outcome.changed == ["entries/a.yaml"]


def test_gedit_save_of_invalid_yaml_keeps_last_good_report_and_fix_rebuilds(watcher: Watcher):
    entry = watcher.root / "entries" / "a.yaml"
    before = hashlib.sha256((watcher.out_dir / "report.html").read_bytes()).hexdigest()
    gen = watcher.generation
    tmp = entry.with_name(".goutputstream-X1Y2Z3")
    tmp.write_text("timestamp: [unclosed\n")
    os.rename(tmp, entry)
    bad = watcher.wait_for_build(gen, WAIT)
    assert not bad.ok and bad.changed == ["entries/a.yaml"]
    # shown from the current folder, as validate and build show them
    shown = re.escape(str(watcher.shown_dir / "entries" / "a.yaml"))
    assert any(re.match(rf"{shown}:\d+:\d+: error: invalid YAML", d) for d in bad.details())
    assert "the last good report is kept" in watcher.lines[-1]
    assert hashlib.sha256((watcher.out_dir / "report.html").read_bytes()).hexdigest() == before
    tmp.write_text(ENTRY_YAML.replace("Asked for tracking.", "Fixed after the error."))
    os.rename(tmp, entry)
    good = watcher.wait_for_build(bad.generation, WAIT)
    assert good.ok and "Fixed after the error." in html(watcher)


def test_jetbrains_and_emacs_temp_files_never_trigger_builds(watcher: Watcher):
    entries = watcher.root / "entries"
    gen = watcher.generation
    for name in ("a.yaml___jb_tmp___", "a.yaml___jb_old___", "#a.yaml#", "a.yaml~", ".a.yaml.swp"):
        (entries / name).write_text("litter: yes\n")
        (entries / name).unlink()
    os.symlink("user@host.1234:1700000000", entries / ".#a.yaml")  # emacs lock file
    (entries / ".#a.yaml").unlink()
    # The sentinel: a real save after the litter. Events arrive in order, so if any litter
    # had counted it would show up as an extra build or in this build's changed list.
    (watcher.root / "case.yaml").write_text((watcher.root / "case.yaml").read_text() + "\n")
    outcome = watcher.wait_for_build(gen, WAIT)
    assert outcome.changed == ["case.yaml"]
    assert outcome.generation == gen + 1
    assert "___jb_" not in html(watcher) and "litter" not in html(watcher)


def test_stop_leaves_no_temporary_files_and_stops_writing(tmp_path: Path):
    case = write_case(tmp_path / "case")
    w = Watcher(case, WatchOptions(pdf=False, debounce=0.05), say=lambda m: None)
    w.start()
    w.wait_for_build(0, WAIT)
    entry = case / "entries" / "a.yaml"
    entry.write_text(ENTRY_YAML.replace("Asked", "Asked once more"))
    w.stop()
    report = (w.out_dir / "report.html").read_bytes()
    entry.write_text(ENTRY_YAML.replace("Asked", "Written after stop"))
    assert not [p for p in case.rglob("*") if p.name.endswith(".tmp")]
    assert (w.out_dir / "report.html").read_bytes() == report


def test_falls_back_to_polling_when_inotify_is_exhausted(tmp_path: Path):
    case = write_case(tmp_path / "case")

    class Exhausted:
        def schedule(self, *args, **kwargs):
            pass

        def start(self) -> None:
            raise OSError(28, "inotify watch limit reached")

    lines: list[str] = []
    w = Watcher(case, WatchOptions(pdf=False, poll_interval=0.1, debounce=0.05), lines.append,
                observer_factory=Exhausted)  # type: ignore[arg-type]
    w.start()
    try:
        gen = w.wait_for_build(0, WAIT).generation
        assert w.polling and "inotify watch limit reached" in lines[0] and "every" in lines[0]
        (case / "entries" / "a.yaml").write_text(ENTRY_YAML.replace("Asked", "Polled"))
        outcome = w.wait_for_build(gen, WAIT)
        assert outcome.ok and "Polled" in html(w)
    finally:
        w.stop()


def test_case_change_names_real_files_only(tmp_path: Path):
    root = tmp_path
    ignored = (root / "build", root / "out")
    assert case_change(root, ignored, str(root / "entries" / "a.yaml")) == "entries/a.yaml"
    assert case_change(root, ignored, str(root / "theme" / "style.css")) == "theme/style.css"
    for litter in ("entries/4913", "entries/5036", "entries/.goutputstream-AB12",
                   "entries/sedK3x9Qa", "screenshots/~$notes.docx", "build/report.html",
                   "out/report.json", ".itaoreport/cache/x.json", ".git/index"):
        assert case_change(root, ignored, str(root / litter)) is None, litter
    for kept in ("entries/4914", "entries/sed-notes.yaml", "screenshots/2023-10-26.png"):
        assert case_change(root, ignored, str(root / kept)) == kept
    assert case_change(root, ignored, str(tmp_path.parent / "elsewhere.yaml")) is None


def test_a_newer_build_supersedes_a_pdf_still_rendering(tmp_path: Path):
    release, started = threading.Event(), threading.Event()
    written: list[bytes] = []

    def render(analysed: object) -> dict[str, bytes]:
        if analysed == "old":
            started.set()
            assert release.wait(WAIT)
        return {"report.pdf": str(analysed).encode()}

    worker = PdfWorker(lambda out, files: written.append(files["report.pdf"]) or [],
                       lambda m: None, render)  # type: ignore[arg-type]
    worker.submit(1, "old", tmp_path)  # type: ignore[arg-type]
    assert started.wait(WAIT)
    worker.submit(2, "new", tmp_path)  # type: ignore[arg-type]
    release.set()
    assert worker.wait_written(2, WAIT)
    assert written == [b"new"] and worker.dropped == [1]
    worker.stop()


def test_ctrl_c_exits_0_without_traceback_or_temp_files(tmp_path: Path):
    import signal
    import subprocess
    import sys

    case = write_case(tmp_path / "case")
    proc = subprocess.Popen([sys.executable, "-m", "itaoreport", "watch", str(case), "--no-pdf"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.append(line)
            if "first build" in line:
                break
        assert "ok" in lines[-1], lines
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=WAIT)
    finally:
        proc.kill() if proc.poll() is None else None
    assert proc.returncode == 0, err
    assert "Traceback" not in err and out.rstrip().endswith("stopped")
    assert not [p for p in case.rglob("*") if p.name.endswith(".tmp")]


def test_rebuild_after_an_entry_edit_does_not_decode_screenshots_again(tmp_path: Path):
    from conftest import png_bytes

    entry = ENTRY_YAML + "attachments:\n  - screenshots/s.png\n"
    case = write_case(tmp_path / "case", entries={"a.yaml": entry},
                      files={"screenshots/s.png": png_bytes(text="hello")})
    w = Watcher(case, WatchOptions(pdf=False, debounce=0.05), say=lambda m: None)
    w.start()
    try:
        gen = w.wait_for_build(0, WAIT).generation
        assert w.image_cache.stats["decodes"] == 1
        (case / "entries" / "a.yaml").write_text(entry.replace("Asked", "Asked kindly"))
        outcome = w.wait_for_build(gen, WAIT)
        assert outcome.ok and outcome.exhibits == 1 and "Asked kindly" in html(w)
        assert w.image_cache.stats["decodes"] == 1
    finally:
        w.stop()


def test_deleting_a_folder_of_screenshots_rebuilds(tmp_path: Path):
    """Moving a folder out of the case (or to the Trash) reports only the folder's deletion."""
    from conftest import png_bytes

    entry = ENTRY_YAML + "attachments:\n  - screenshots/chat/s.png\n"
    case = write_case(tmp_path / "case", entries={"a.yaml": entry},
                      files={"screenshots/chat/s.png": png_bytes(text="hello")})
    w = Watcher(case, WatchOptions(pdf=False, debounce=0.05), say=lambda m: None)
    w.start()
    try:
        gen = w.wait_for_build(0, WAIT).generation
        (case / "screenshots" / "chat").rename(tmp_path / "trash")
        outcome = w.wait_for_build(gen, WAIT)
        assert not outcome.ok and "screenshots/chat" in " ".join(outcome.changed)
    finally:
        w.stop()


def test_watch_pdf_is_rendered_in_its_own_process_and_equals_a_build(tmp_path: Path):
    """report.pdf comes from the PDF process (WeasyPrint never holds the watcher's GIL) and
    is byte for byte the PDF `itaoreport build` makes of the same case."""
    from conftest import png_bytes

    from itaoreport.build import BuildOptions, build
    from itaoreport.watch import PdfProcess

    entry = ENTRY_YAML + "attachments:\n  - screenshots/s.png\n"
    case = write_case(tmp_path / "case", entries={"a.yaml": entry},
                      files={"screenshots/s.png": png_bytes(text="hello")})
    w = Watcher(case, WatchOptions(debounce=0.05), say=lambda m: None)
    w.start()
    try:
        gen = w.wait_for_build(0, WAIT).generation
        assert w.pdf is not None and w.pdf.wait_written(gen, 120)
        renderer = w.pdf._render
        assert isinstance(renderer, PdfProcess) and renderer._pool is not None
        watched = (case / "build" / "report.pdf").read_bytes()
    finally:
        w.stop()
    assert renderer._pool is None  # stopped with the watcher
    built = build(case, BuildOptions(formats=("pdf",)))
    assert watched == (built.out_dir / "report.pdf").read_bytes()


@pytest.mark.skipif(not hasattr(os, "nice"), reason="no process priorities (os.nice) here")
def test_the_pdf_process_runs_at_a_lower_priority():
    """On a busy machine the next save's HTML preview comes before the long PDF layout."""
    from itaoreport.watch import PDF_NICENESS, _pdf_pool

    pool = _pdf_pool()
    assert pool is not None
    try:
        assert pool.submit(os.nice, 0).result(60) == min(19, os.nice(0) + PDF_NICENESS)
    finally:
        pool.shutdown()

"""One measurement in a fresh process; prints one JSON object on its last line.

    python -m benchmarks.child build CASE FORMATS [--capture DIR]
    python -m benchmarks.child rebuild CASE
    python -m benchmarks.child baseline CAPTURE_DIR IMAGE... [--ocr IMAGE...]
    python -m benchmarks.child imports ARG...      (itaoreport ARG...; which heavy modules loaded)

run.py starts this once per measurement so imports, caches in memory and peak
memory are those of a real command-line run. Times are in seconds, measured in
here around the work itself; run.py adds the process's wall time.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import json
import resource
import statistics
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CAPTURED_HTML = "print.html"
CAPTURED_ASSETS = "assets.json"


def peak_rss_bytes() -> int:
    """Peak resident memory of this process and any process it waited for (Linux: KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    scale = 1 if sys.platform == "darwin" else 1024
    return max(own, children) * scale


def cpu_seconds() -> float:
    """User + system CPU time of this process and the processes it waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_build(case: Path, formats: tuple[str, ...], capture: Path | None) -> dict:
    """One build() like `itaoreport build --format FORMATS`; optionally keep what WeasyPrint got."""
    from itaoreport.build import BuildOptions, build

    recorder = _PdfInputRecorder() if capture else None
    t = time.perf_counter()
    result = build(case, BuildOptions(formats=formats))
    seconds = time.perf_counter() - t
    pdf = result.out_dir / "report.pdf"
    if recorder:
        recorder.save(capture)
    return {"seconds": seconds, "timings": result.timings,
            "pdf_bytes": pdf.stat().st_size if "pdf" in formats else None,
            "html_bytes": (result.out_dir / "report.html").stat().st_size
            if "html" in formats else None}


REBUILDS = 3
"""Edits measured in watch mode; each is followed by a restore, which rebuilds too."""
WATCH_TIMEOUT = 600.0
PDF_START_SECONDS = 3.0
"""With the PDF on: how long after the first build the edits start (the PDF process has
started and is laying out the report by then; at 1,000 entries that takes ~45 s)."""
"""Longest wait for any one rebuild (the first build of a large case included)."""


def run_rebuild(case: Path, pdf: bool = False) -> dict:
    """The rebuild after one entry is edited, in watch mode (a Watcher; with `pdf`, as
    `itaoreport watch` runs by default, report.pdf renders meanwhile in its own process).

    Each of REBUILDS rounds saves the edited entry (its bytes written in place, as
    an editor saves), waits for the rebuild it causes, then writes the original
    bytes back and waits for that rebuild too. The entry is restored in any case.
    """
    from itaoreport.watch import FAST_FORMATS, Watcher, WatchOptions

    entry = middle_entry(case)
    original = entry.read_bytes()
    edited = original.replace(b"summary: \"", b"summary: \"Edited. ", 1)
    if edited == original:
        raise SystemExit(f"{entry}: no summary to edit")
    said: list[str] = []
    published: dict[int, float] = {}
    with _recorded_build_timings() as timings:
        watcher = Watcher(case, WatchOptions(pdf=pdf), say=said.append,
                          publish=lambda o: published.setdefault(o.generation, time.perf_counter()))
        try:
            watcher.start()
            first = watcher.wait_for_build(0, WATCH_TIMEOUT)
            if pdf:
                time.sleep(PDF_START_SECONDS)  # the PDF process is laying out the report now
            name = entry.resolve().relative_to(watcher.root).as_posix()
            edits, restores, after = [], [], first.generation
            for _ in range(REBUILDS):
                edits.append(save_and_wait(watcher, entry, edited, name, after, published))
                restores.append(save_and_wait(watcher, entry, original, name,
                                              edits[-1]["generation"], published))
                after = restores[-1]["generation"]
        finally:
            try:
                watcher.stop()
            finally:
                if entry.read_bytes() != original:
                    entry.write_bytes(original)
    best = min(edits, key=lambda r: r["seconds"])
    return {
        "seconds": best["seconds"],
        "median_seconds": statistics.median(r["seconds"] for r in edits),
        "save_to_report_seconds": min(r["save_to_report"] for r in edits),
        "save_to_report_median_seconds": statistics.median(r["save_to_report"] for r in edits),
        "timings": timings.get(best["generation"], {}),
        "first_build_seconds": first.seconds,
        "edits": edits,
        "restores": restores,
        "mode": (f"watch mode (Watcher with its in-memory cache, "
                 f"{'report.pdf rendering meanwhile' if pdf else 'no PDF'}): build time of the "
                 f"rebuild (Outcome.seconds: build() writing {'+'.join(FAST_FORMATS)}; "
                 f"excludes the {WatchOptions().debounce:g} s debounce and event delivery)"),
        "edited": entry.relative_to(case).as_posix(),
        "watcher_lines": said,
    }


def middle_entry(case: Path) -> Path:
    """The entry file in the middle of the case (sorted by path)."""
    entries = sorted((case / "entries").rglob("*.yaml"))
    return entries[len(entries) // 2]


def save_and_wait(watcher, entry: Path, data: bytes, name: str, after: int,
                  published: dict[int, float]) -> dict:
    """Write `data` to `entry` and wait for the rebuild that includes it (newer than `after`).

    `save_to_report` runs from the end of the write to the moment the watcher
    published the outcome, so it includes the debounce.
    """
    entry.write_bytes(data)
    saved = time.perf_counter()
    outcome = watcher.wait_for_build(after, WATCH_TIMEOUT)
    while name not in outcome.changed:  # a rebuild for some other change came first
        outcome = watcher.wait_for_build(outcome.generation, WATCH_TIMEOUT)
    if not outcome.ok:
        raise SystemExit(f"the rebuild after saving {name} failed: {outcome.line()}")
    return {"generation": outcome.generation, "seconds": outcome.seconds,
            "save_to_report": published[outcome.generation] - saved,
            "changed": outcome.changed}


@contextmanager
def _recorded_build_timings() -> Iterator[dict[int, dict[str, float]]]:
    """Stage timings of each build the watcher runs, by generation (1 = the first build).

    Wraps the build() that itaoreport.watch calls while the block runs; the
    wrapper only keeps the result's timings, so it does not change what is measured.
    """
    import itaoreport.watch as watch

    recorded: dict[int, dict[str, float]] = {}
    build = watch.build

    def recording_build(*args, **kwargs):
        generation = len(recorded) + 1  # the watcher calls build() once per generation
        recorded[generation] = {}
        result = build(*args, **kwargs)
        recorded[generation] = dict(result.timings)
        return result

    watch.build = recording_build
    try:
        yield recorded
    finally:
        watch.build = build


class _PdfInputRecorder:
    """Wraps weasyprint.HTML to keep the last HTML string and every file it fetched."""

    def __init__(self) -> None:
        import weasyprint

        self.html: str | None = None
        self.fetched: dict[str, tuple[bytes, str]] = {}
        self.base_url: str | None = None
        recorder, original = self, weasyprint.HTML

        class RecordingHTML(original):  # type: ignore[misc, valid-type]
            def __init__(self, *args, string=None, base_url=None, url_fetcher=None, **kwargs):
                recorder.html, recorder.base_url = string, base_url
                if url_fetcher is not None:
                    url_fetcher = recorder.wrap(url_fetcher)
                super().__init__(*args, string=string, base_url=base_url,
                                 url_fetcher=url_fetcher, **kwargs)

        weasyprint.HTML = RecordingHTML

    def wrap(self, fetcher):
        fetch = fetcher.fetch

        def recording_fetch(url, headers=None):
            response = fetch(url, headers)
            body = response.read() if hasattr(response, "read") else response
            media = response.headers.get("Content-Type", "") if hasattr(response, "headers") else ""
            self.fetched[url] = (body, media)
            from weasyprint.urls import URLFetcherResponse

            return URLFetcherResponse(url, body, {"Content-Type": media})

        fetcher.fetch = recording_fetch
        return fetcher

    def save(self, folder: Path) -> None:
        if self.html is None:
            raise SystemExit("the build did not call weasyprint.HTML; nothing to compare against")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / CAPTURED_HTML).write_text(self.html, encoding="utf-8")
        index = {}
        for i, (url, (body, media)) in enumerate(sorted(self.fetched.items())):
            name = f"asset-{i:05d}"
            (folder / name).write_bytes(body)
            index[url] = [name, media]
        (folder / CAPTURED_ASSETS).write_text(
            json.dumps({"base_url": self.base_url, "assets": index}), encoding="utf-8")


def run_baseline(capture: Path, images: list[Path], ocr: list[Path] | None = None) -> dict:
    """The unavoidable work: decode every image once with Pillow, one OCR call for each
    picture the build reads (quote and privacy checks; the engine's call as the build makes
    it, evidence/ocr.read_words), WeasyPrint on the same HTML."""
    t = time.perf_counter()
    from PIL import Image

    for path in images:
        with Image.open(path) as im:
            im.load()
    decode = time.perf_counter() - t

    t = time.perf_counter()
    read = 0
    if ocr:
        from itaoreport.evidence.ocr import find_engine, read_words

        engine = find_engine()
        spec = engine.spec(["eng"]) if engine else None
        for path in ocr if spec else []:
            with Image.open(path) as im:
                im.load()
                read_words(im, spec)
                read += 1
    ocr_seconds = time.perf_counter() - t

    t = time.perf_counter()
    import weasyprint
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    index = json.loads((capture / CAPTURED_ASSETS).read_text(encoding="utf-8"))
    assets = {url: ((capture / name).read_bytes(), media)
              for url, (name, media) in index["assets"].items()}

    class Served(URLFetcher):
        def fetch(self, url, headers=None):
            data, media = assets[url]
            return URLFetcherResponse(url, data, {"Content-Type": media})

    html = (capture / CAPTURED_HTML).read_text(encoding="utf-8")
    pdf = weasyprint.HTML(string=html, base_url=index["base_url"], url_fetcher=Served()).write_pdf()
    weasy = time.perf_counter() - t
    return {"seconds": decode + ocr_seconds + weasy, "decode_seconds": decode,
            "ocr_seconds": ocr_seconds, "ocr_images": read, "weasyprint_seconds": weasy,
            "images": len(images), "pdf_bytes": len(pdf)}


HEAVY_MODULES = ("weasyprint", "PIL", "numpy", "imagehash", "watchdog", "fontTools")


def run_imports(args: list[str]) -> dict:
    """Run `itaoreport ARGS` in this process and list the heavy modules it imported."""
    from itaoreport.cli import main as cli

    try:
        cli(args, standalone_mode=False)
    except SystemExit:
        pass
    return {"seconds": time.perf_counter() - STARTED,
            "heavy_imports": [m for m in HEAVY_MODULES if m in sys.modules]}


def main(argv: list[str]) -> None:
    command, rest = argv[0], argv[1:]
    if command == "build":
        capture = Path(rest[3]) if len(rest) > 3 and rest[2] == "--capture" else None
        outcome = run_build(Path(rest[0]), tuple(rest[1].split(",")), capture)
    elif command == "rebuild":
        outcome = run_rebuild(Path(rest[0]), pdf="--pdf" in rest[1:])
    elif command == "baseline":
        files = rest[1:rest.index("--ocr")] if "--ocr" in rest else rest[1:]
        ocr = rest[rest.index("--ocr") + 1:] if "--ocr" in rest else []
        outcome = run_baseline(Path(rest[0]), [Path(p) for p in files], [Path(p) for p in ocr])
    elif command == "imports":
        outcome = run_imports(rest)
    else:
        raise SystemExit(f"unknown measurement {command!r}")
    outcome["process_seconds"] = time.perf_counter() - STARTED
    outcome["peak_rss_bytes"] = peak_rss_bytes()
    outcome["cpu_seconds"] = cpu_seconds()
    print(json.dumps(outcome))


if __name__ == "__main__":
    main(sys.argv[1:])

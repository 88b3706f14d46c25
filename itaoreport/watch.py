"""Watch mode: rebuild a case on every saved change, the HTML first, then the PDF in the background.

A watchdog observer turns file events into case-file names (editor litter and
outputs filtered out); a builder thread waits for a quiet moment (one build per
save), calls build() with an image cache kept in memory for the whole run, and reports
one line per rebuild. A PdfWorker renders report.pdf afterwards, one at a time;
a newer good build supersedes a PDF still rendering, whose result is dropped.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from watchdog.events import (
    DirDeletedEvent,
    DirMovedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers.api import BaseObserver

from itaoreport.build import Analysed, BuildOptions, analyse_case, build, render_files
from itaoreport.case.files import CACHE_DIR, OUTPUT_DIR, is_editor_litter, is_hidden_folder
from itaoreport.errors import BuildFailed, CaseInvalid, ItaoError, Problem, shown_from
from itaoreport.evidence.exhibits import cache_folder
from itaoreport.evidence.memo import MemoCache
from itaoreport.write import write_outputs

FAST_FORMATS = ("html", "json", "txt", "csv")
"""What every rebuild writes before the PDF."""
DEBOUNCE_SECONDS = 0.2
"""Quiet time after the last event before building: editors save in several steps."""
LONGEST_WAIT_SECONDS = 2.0
"""Build anyway once changes have waited this long (a sync tool writing for minutes)."""
POLL_SECONDS = 1.0
STOP_JOIN_SECONDS = 1.0
WATCHED_EVENTS = frozenset({"created", "modified", "deleted", "moved", "closed", "attrib"})
"""Event types that can change a file; opened/closed_no_write come from our own reads."""
WATCHED_EVENT_CLASSES = [FileCreatedEvent, FileModifiedEvent, FileAttribEvent, FileDeletedEvent,
                         FileMovedEvent, DirMovedEvent, DirDeletedEvent, FileClosedEvent]
"""What the observer is asked for. Leaving out opened / closed-without-writing / accessed
keeps the kernel from reporting our own reads: a build reads every entry and rendition,
and handling those thousands of events in the observer thread slowed each rebuild by
~0.3 s (1,000 entries)."""


class _Stopped(Exception):
    """The watcher stopped while a build was running; nothing more is written."""


@dataclass
class WatchOptions:
    out: Path | None = None
    """Output folder; default: the case's build/ folder."""
    pdf: bool = True
    """Render report.pdf after each good build (in the background)."""
    strict: bool = False
    """Treat warnings as errors."""
    poll: bool = False
    """Poll the folder instead of using inotify (network folders, WSL's /mnt/c)."""
    poll_interval: float = POLL_SECONDS
    debounce: float = DEBOUNCE_SECONDS


@dataclass
class Outcome:
    """One rebuild: what changed, how long it took, and what came of it."""

    generation: int
    changed: list[str]
    """Case files (relative paths) whose events led to this build; empty for the first build."""
    seconds: float = 0.0
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    failure: str = ""
    """Why the build failed when it is not the case's fault (output folder, internal error)."""
    entries: int = 0
    exhibits: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors and not self.failure

    def line(self) -> str:
        """The one line the terminal shows for this rebuild."""
        if self.ok:
            warned = f", {_count(len(self.warnings), 'warning')}" if self.warnings else ""
            result = f"ok ({self.entries} entries, {self.exhibits} exhibits{warned})"
        elif self.errors:
            result = f"{_count(len(self.errors), 'error')}; the last good report is kept"
        else:
            result = f"failed: {self.failure}; the last good report is kept"
        return f"{describe_changes(self.changed)} · {self.seconds:.2f}s · {result}"

    def details(self) -> list[str]:
        """The located problems, formatted as `validate` prints them."""
        return [p.format() for p in self.errors + self.warnings]

    def banner(self) -> list[str]:
        """What the preview page shows while the case cannot be built (empty when it can)."""
        return [p.format() for p in self.errors] or ([self.failure] if self.failure else [])


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def describe_changes(changed: list[str]) -> str:
    """'first build', or the changed files (at most three named)."""
    if not changed:
        return "first build"
    named = ", ".join(changed[:3])
    more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
    return f"{named}{more} changed"


def case_change(root: Path, ignored: tuple[Path, ...], path: str | bytes) -> str | None:
    """The case file an event path stands for (relative posix path); None for litter and outputs."""
    full = Path(path.decode() if isinstance(path, bytes) else path)
    try:
        rel = full.relative_to(root)
    except ValueError:
        return None
    # litter rules are for file names only; hidden folders (.git, ...) are not case files
    if not rel.parts or is_editor_litter(rel.parts[-1]) or any(
            is_hidden_folder(part) for part in rel.parts[:-1]):
        return None
    if any(full == folder or folder in full.parents for folder in ignored):
        return None
    return rel.as_posix()


class _EventHandler(FileSystemEventHandler):
    """Passes the case files behind each file-system event to the watcher."""

    def __init__(self, root: Path, ignored: tuple[Path, ...], notice: Callable[[list[str]], None]):
        self.root, self.ignored, self.notice = root, ignored, notice

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in WATCHED_EVENTS or (
                event.is_directory and event.event_type not in ("moved", "deleted")):
            return
        # A rename counts for both names: gedit renames its temporary file onto the entry
        # (destination), and renaming an entry away (source) removes it from the report.
        paths = [event.src_path] + ([event.dest_path] if event.event_type == "moved" else [])
        names = [n for n in (case_change(self.root, self.ignored, p) for p in paths) if n]
        if names:
            self.notice(names)


class PdfWorker:
    """Renders report.pdf in one background thread; a newer build's PDF supersedes an older one."""

    def __init__(self, write: Callable[[Path, dict[str, bytes]], list[Path]],
                 report: Callable[[str], None],
                 render: Callable[[Analysed], dict[str, bytes]] | None = None):
        self._write, self._report = write, report
        self._render = render or PdfProcess()
        self._cond = threading.Condition()
        self._job: tuple[int, Analysed, Path] | None = None
        self._latest = 0
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.written: list[int] = []
        """Generations whose PDF was written, oldest first."""
        self.dropped: list[int] = []
        """Generations whose finished PDF was thrown away because a newer build came."""

    def submit(self, generation: int, analysed: Analysed, out_dir: Path) -> None:
        """Render this build's PDF next; an older one still rendering will not be written."""
        with self._cond:
            self._job, self._latest = (generation, analysed, out_dir), generation
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="itaoreport-pdf",
                                                daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def stop(self) -> None:
        """Drop pending work; a PDF still rendering is abandoned, never written."""
        with self._cond:
            self._stopping, self._job = True, None
            self._cond.notify_all()
        close = getattr(self._render, "close", None)
        if close is not None:
            close()

    def wait_written(self, generation: int, timeout: float) -> bool:
        """True once the PDF of `generation` (or a newer one) is written, False on timeout."""
        with self._cond:
            return self._cond.wait_for(
                lambda: bool(self.written) and self.written[-1] >= generation, timeout)

    def _next(self) -> tuple[int, Analysed, Path] | None:
        with self._cond:
            self._cond.wait_for(lambda: self._job is not None or self._stopping)
            job, self._job = self._job, None
            return None if self._stopping else job

    def _run(self) -> None:
        while (job := self._next()) is not None:
            generation, analysed, out_dir = job
            started = time.perf_counter()
            try:
                files = self._render(analysed)
            except Exception as exc:  # noqa: BLE001 - a failed PDF must not end the watcher
                if self._is_latest(generation):
                    self._report(f"report.pdf · failed: {_describe(exc)}; the last good PDF is kept")
                continue
            if not self._is_latest(generation):
                with self._cond:
                    self.dropped.append(generation)
                continue
            try:
                self._write(out_dir, files)
            except _Stopped:
                return
            except Exception as exc:  # noqa: BLE001
                self._report(f"report.pdf · failed: {_describe(exc)}")
                continue
            self._report(f"report.pdf · {time.perf_counter() - started:.1f}s · ok")
            with self._cond:
                self.written.append(generation)
                self._cond.notify_all()

    def _is_latest(self, generation: int) -> bool:
        with self._cond:
            return generation == self._latest and not self._stopping


def render_pdf(analysed: Analysed) -> dict[str, bytes]:
    """report.pdf of an already analysed case, as {name: bytes}, in this process."""
    return render_files(analysed, BuildOptions(formats=("pdf",)), {}, lambda message: None)


class PdfProcess:
    """Renders report.pdf in a process of its own (started once, kept for the session).

    WeasyPrint lays out a 1,000-entry report for ~45 s. In a thread of the watcher it
    held the GIL against the next save's HTML rebuild (measured: 1.24-1.41 s instead of
    0.47 s); in its own process it uses the other CPU. The process reads the case again
    (everything comes from the cache) and returns the PDF's bytes; writing stays here.
    """

    def __init__(self) -> None:
        self._pool = None
        self._lock = threading.Lock()

    def __call__(self, analysed: Analysed) -> dict[str, bytes]:
        from concurrent.futures.process import BrokenProcessPool

        with self._lock:
            if self._pool is None:
                self._pool = _pdf_pool()
            pool = self._pool
        if pool is None:  # no process pools on this system
            return render_pdf(analysed)
        try:
            outcome = pool.submit(render_case_pdf, analysed.case.root,
                                  analysed.report["case_dir"]).result()
        except BrokenProcessPool:
            with self._lock:
                self._pool = None
            raise BuildFailed("the PDF renderer stopped unexpectedly (out of memory?); "
                              "it starts again with the next change") from None
        if isinstance(outcome, str):
            raise BuildFailed(outcome)
        return outcome

    def close(self) -> None:
        """Stop the process, also in the middle of a PDF."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            processes = list((getattr(pool, "_processes", None) or {}).values())
            for process in processes:
                process.terminate()
            for process in processes:
                process.join(STOP_JOIN_SECONDS)
            pool.shutdown(wait=True, cancel_futures=True)  # frees its queues and semaphores


def _pdf_pool():  # noqa: ANN202 - a ProcessPoolExecutor or None
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    try:
        return ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start_pdf_process)
    except (OSError, NotImplementedError, ImportError, ValueError):
        return None


PDF_NICENESS = 10
"""How much lower the PDF process's CPU priority is: on a busy machine the HTML preview
of the next save comes first, the PDF (which takes ~45 s at 1,000 entries) after."""


def _start_pdf_process() -> None:
    from itaoreport.evidence.prepare import leave_ctrl_c_to_the_parent

    leave_ctrl_c_to_the_parent()
    try:
        os.nice(PDF_NICENESS)
    except (AttributeError, OSError):  # no nice() on Windows: same priority
        pass


def render_case_pdf(case_dir: Path, case_dir_from_output: str) -> dict[str, bytes] | str:
    """In the PDF process: the case's report.pdf as {name: bytes}, or why it failed."""
    options = BuildOptions(formats=("pdf",))
    try:
        analysed = analyse_case(case_dir, options, {})
        analysed.report["case_dir"] = case_dir_from_output
        return render_files(analysed, options, {}, lambda message: None)
    except ItaoError as exc:
        return exc.format_message()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ItaoError):
        return exc.format_message()
    return f"internal error {type(exc).__name__}: {exc} (a bug in itaoreport; please report it)"


class Watcher:
    """Rebuilds one case folder on every change until stopped."""

    def __init__(self, case_dir: Path, options: WatchOptions | None = None,
                 say: Callable[[str], None] = print,
                 publish: Callable[[Outcome], None] | None = None,
                 observer_factory: Callable[[], BaseObserver] | None = None):
        self.root = Path(case_dir).resolve()
        self.shown_dir = Path(case_dir)
        """The case folder as the user named it: problems are shown from the current folder."""
        self.options = options or WatchOptions()
        self.out_dir = self.options.out.resolve() if self.options.out else self.root / OUTPUT_DIR
        self.polling = self.options.poll
        self.image_cache = MemoCache(cache_folder(self.root))
        self._say, self._publish = say, publish
        self._observer_factory = observer_factory
        self._cond = threading.Condition()
        self._pending: dict[str, None] = {}
        self._first_event = self._last_event = 0.0
        self._stopping = False
        self._write_lock = threading.Lock()
        self._stopped = False
        self._observer: BaseObserver | None = None
        self._thread: threading.Thread | None = None
        self.generation = 0
        self.outcomes: deque[Outcome] = deque(maxlen=100)
        self.pdf = PdfWorker(self._write, say) if self.options.pdf else None

    def start(self) -> None:
        """Start watching, then build once; returns at once (the work runs in threads)."""
        ignored = (self.root / OUTPUT_DIR, self.out_dir, self.root / CACHE_DIR)
        handler = _EventHandler(self.root, ignored, self._notice)
        self._observer = self._start_observer(handler)
        self._thread = threading.Thread(target=self._run, name="itaoreport-build", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching and building; once this returns, nothing more is written."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        with self._write_lock:
            self._stopped = True
        if self.pdf:
            self.pdf.stop()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(STOP_JOIN_SECONDS)
        if self._thread is not None:
            self._thread.join(STOP_JOIN_SECONDS)  # a long build is abandoned: it can no longer write

    def wait_for_build(self, after: int, timeout: float) -> Outcome:
        """The first rebuild newer than generation `after`; TimeoutError if none comes in time."""
        with self._cond:
            if not self._cond.wait_for(lambda: self.generation > after and self.outcomes
                                       and self.outcomes[-1].generation > after, timeout):
                raise TimeoutError(f"no rebuild after generation {after} within {timeout}s")
            return next(o for o in self.outcomes if o.generation > after)

    def _start_observer(self, handler: _EventHandler) -> BaseObserver:
        if not self.polling:
            from watchdog.observers import Observer

            observer = (self._observer_factory or Observer)()
            try:
                observer.schedule(handler, str(self.root), recursive=True,
                                  event_filter=WATCHED_EVENT_CLASSES)
                observer.start()
                return observer
            except OSError as exc:
                self._say(f"file-change notifications are unavailable ({exc.strerror or exc}); "
                          f"checking for changes every {self.options.poll_interval:g}s instead")
                self.polling = True
        from watchdog.observers.polling import PollingObserver

        observer = PollingObserver(timeout=self.options.poll_interval)
        observer.schedule(handler, str(self.root), recursive=True,
                          event_filter=WATCHED_EVENT_CLASSES)
        observer.start()
        return observer

    def _notice(self, names: list[str]) -> None:
        with self._cond:
            now = time.monotonic()
            if not self._pending:
                self._first_event = now
            self._pending.update(dict.fromkeys(names))
            self._last_event = now
            self._cond.notify_all()

    def _next_changes(self) -> list[str] | None:
        """Wait for a burst of changes to settle; None once stopping."""
        with self._cond:
            while not self._stopping:
                if not self._pending:
                    self._cond.wait()
                    continue
                now = time.monotonic()
                quiet = self._last_event + self.options.debounce - now
                overdue = self._first_event + LONGEST_WAIT_SECONDS - now
                if quiet <= 0 or overdue <= 0:
                    changed = list(self._pending)
                    self._pending.clear()
                    return changed
                self._cond.wait(min(quiet, overdue))
            return None

    def _run(self) -> None:
        changed: list[str] | None = []
        while changed is not None:
            if not self._rebuild(changed):
                return
            changed = self._next_changes()

    def _rebuild(self, changed: list[str]) -> bool:
        """Build once and report it; False if the watcher stopped meanwhile."""
        started = time.perf_counter()
        outcome = Outcome(self.generation + 1, changed)
        options = BuildOptions(out=self.out_dir, formats=FAST_FORMATS, strict=self.options.strict,
                               image_cache=self.image_cache, writer=self._write)
        try:
            result = build(self.root, options)
        except _Stopped:
            return False
        except CaseInvalid as exc:
            failing = [p for p in exc.problems if p.is_error or self.options.strict]
            outcome.errors = shown_from(failing, self.shown_dir)
            outcome.warnings = shown_from([p for p in exc.problems if p not in failing],
                                          self.shown_dir)
        except Exception as exc:  # noqa: BLE001 - one bad build must not end the watcher
            outcome.failure = _describe(exc)
        else:
            outcome.warnings = shown_from(result.warnings, self.shown_dir)
            if result.analysed is not None:
                outcome.entries = len(result.analysed.case.entries)
                outcome.exhibits = len(result.analysed.evidence.exhibits)
                if self.pdf:
                    self.pdf.submit(outcome.generation, result.analysed, result.out_dir)
        outcome.seconds = time.perf_counter() - started
        self._say("\n".join([outcome.line(), *("  " + d for d in outcome.details())]))
        if self._publish:
            self._publish(outcome)
        with self._cond:
            self.generation = outcome.generation
            self.outcomes.append(outcome)
            self._cond.notify_all()
        return True

    def _write(self, out_dir: Path, files: dict[str, bytes]) -> list[Path]:
        with self._write_lock:
            if self._stopped:
                raise _Stopped()
            return write_outputs(out_dir, files)


def run_watch(case_dir: Path, options: WatchOptions, say: Callable[[str], None],
              serve: bool = False, port: int = 8000) -> None:
    """Watch a case until Ctrl-C or SIGTERM, printing one line per rebuild; optionally serve it."""
    if not case_dir.is_dir():
        raise ItaoError(f"{case_dir} is not a folder; give the case folder (the one with case.yaml)")
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    preview = server = None
    if serve:
        from itaoreport.serve import PreviewServer, PreviewState

        preview = PreviewState()
    watcher = Watcher(case_dir, options, say,
                      publish=(lambda o: preview.publish(o.generation, o.banner())) if preview
                      else None)
    try:
        if preview is not None:
            server = PreviewServer(watcher.out_dir, preview, port, log=say)
            server.start()
            busy = f" (port {port} was busy)" if server.port != port and port else ""
            say(f"preview: {server.url}{busy}")
        say(f"watching {case_dir} for changes{' (polling)' if options.poll else ''}; "
            "press Ctrl-C to stop")
        watcher.start()
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up
        watcher.stop()
        if server is not None:
            server.stop()
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    say("stopped")

"""The live preview: serves the output folder on 127.0.0.1 and reloads the page after each rebuild.

report.html is served with a small inline script (no external script, no CDN)
that listens on a Server-Sent Events endpoint and reloads the page, keeping its
scroll position, when a newer build is published. While the case has errors the
page also shows them in a banner. Nothing is injected into the file on disk.
"""

from __future__ import annotations

import errno
import html
import mimetypes
import os
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qs, unquote, urlsplit

from itaoreport.errors import ItaoError

HOST = "127.0.0.1"
PAGE = "report.html"
EVENTS_PATH = "/__itaoreport/events"
PORT_TRIES = 50
KEEPALIVE_SECONDS = 15.0

RELOAD_SCRIPT = """<script>
(function () {
  var generation = %(generation)d, key = "itaoreport-scroll:" + location.pathname;
  try {
    var saved = sessionStorage.getItem(key);
    if (saved !== null) {
      sessionStorage.removeItem(key);
      window.addEventListener("load", function () { window.scrollTo(0, Number(saved)); });
    }
  } catch (e) {}
  if (%(errors)d) { document.title = "%(title_prefix)s" + document.title; }
  var events = new EventSource("%(events)s?since=" + generation);
  events.addEventListener("reload", function () {
    try { sessionStorage.setItem(key, String(window.scrollY)); } catch (e) {}
    events.close();
    location.reload();
  });
})();
</script>
"""

BANNER_STYLE = (
    "position:sticky;top:0;z-index:2147483647;margin:0;padding:12px 16px;"
    "background:#fdecea;color:#611a15;border-bottom:3px solid #b3261e;"
    "font:15px/1.4 system-ui,sans-serif;box-shadow:0 2px 6px rgba(0,0,0,.15)"
)

PLACEHOLDER = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>itaoreport preview</title></head>
<body style="font:16px/1.5 system-ui,sans-serif;margin:2em">
<p>No report has been built yet. This page reloads by itself when it is.</p>
</body></html>
"""


class PreviewState:
    """What the page shows besides report.html: the build generation and any errors."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._generation = 0
        self._errors: list[str] = []
        self._closed = False

    def publish(self, generation: int, errors: list[str]) -> None:
        """A build finished: reload open pages; show `errors` in a banner (none: no banner)."""
        with self._cond:
            self._generation, self._errors = generation, list(errors)
            self._cond.notify_all()

    def snapshot(self) -> tuple[int, list[str]]:
        with self._cond:
            return self._generation, list(self._errors)

    def wait_newer(self, generation: int, timeout: float) -> int | None:
        """The current generation once it differs from `generation` (or on timeout); None once closed."""
        with self._cond:
            self._cond.wait_for(lambda: self._generation != generation or self._closed, timeout)
            return None if self._closed else self._generation

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


def banner_html(errors: list[str]) -> str:
    """The error banner shown at the top of the page while the case cannot be built."""
    if not errors:
        return ""
    count = f"{len(errors)} error{'s' if len(errors) != 1 else ''}"
    items = "".join(f'<li><code style="white-space:pre-wrap">{html.escape(e)}</code></li>'
                    for e in errors)
    return (f'<div id="itaoreport-errors" role="alert" style="{BANNER_STYLE}">'
            f"<strong>The case has {count}; this is the last good report.</strong> "
            "Fix the file and save; this page reloads by itself."
            f'<ul style="margin:6px 0 0;padding-left:1.2em">{items}</ul></div>')


def inject(page: str, generation: int, errors: list[str]) -> str:
    """report.html with the error banner after <body> and the reload script before </body>."""
    script = RELOAD_SCRIPT % {"generation": generation, "errors": len(errors),
                              "title_prefix": f"({len(errors)} error{'s' * (len(errors) != 1)}) ",
                              "events": EVENTS_PATH}
    banner = banner_html(errors)
    body = re.search(r"<body\b[^>]*>", page, re.IGNORECASE)
    if body:
        page = page[:body.end()] + banner + page[body.end():]
    else:
        page = banner + page
    end = page.lower().rfind("</body>")
    return page[:end] + script + page[end:] if end >= 0 else page + script


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Linux refuses a second listener even with SO_REUSEADDR; Windows would allow it.
    allow_reuse_address = os.name != "nt"

    def __init__(self, address: tuple[str, int], out_dir: Path, state: PreviewState):
        self.out_dir, self.state = out_dir, state
        self.page_views = 0
        self.event_streams = 0
        self.counter_lock = threading.Lock()
        super().__init__(address, _Handler)

    def count(self, attribute: str) -> None:
        with self.counter_lock:
            setattr(self, attribute, getattr(self, attribute) + 1)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "itaoreport-preview"

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the terminal shows one line per rebuild, not one per request."""

    def _respond(self, send_body: bool) -> None:
        url = urlsplit(self.path)
        if url.path == EVENTS_PATH and send_body:
            return self._events(parse_qs(url.query).get("since", ["0"])[0])
        if url.path in ("", "/"):
            self.send_response(HTTPStatus.FOUND)
            self.send_header("Location", "/" + PAGE)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        target = self._resolve(url.path)
        if target is None:
            return self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain", send_body)
        if target == self.server.out_dir / PAGE:
            return self._page(target, send_body)
        try:
            data = target.read_bytes()
        except OSError:
            return self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain", send_body)
        media = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        return self._send(HTTPStatus.OK, data, media, send_body)

    def _resolve(self, url_path: str) -> Path | None:
        """The file under the output folder a URL names; None for anything outside it."""
        parts = PurePosixPath(unquote(url_path)).parts[1:]
        if not parts or any(p in ("..", ".") or p.startswith(".") or "\\" in p or "\0" in p
                            for p in parts):
            return None
        out = self.server.out_dir.resolve()
        target = out.joinpath(*parts)
        if target.name == PAGE and target.parent == out:
            return self.server.out_dir / PAGE
        try:
            real = target.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        return real if out in real.parents and real.is_file() else None

    def _page(self, target: Path, send_body: bool) -> None:
        generation, errors = self.server.state.snapshot()  # before reading: a newer file only reloads
        try:
            page = target.read_text(encoding="utf-8")
        except OSError:
            page = PLACEHOLDER
        self.server.count("page_views")
        data = inject(page, generation, errors).encode("utf-8")
        self._send(HTTPStatus.OK, data, "text/html; charset=utf-8", send_body)

    def _send(self, status: HTTPStatus, data: bytes, media: str, send_body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", media)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if send_body:
            self.wfile.write(data)

    def _events(self, since: str) -> None:
        """Server-Sent Events: one `reload` event as soon as a newer build is published."""
        self.server.count("event_streams")
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        generation = int(since) if since.isdigit() else -1
        try:
            while True:
                current = self.server.state.wait_newer(generation, KEEPALIVE_SECONDS)
                if current is None:
                    return
                if current != generation:
                    self.wfile.write(f"event: reload\ndata: {current}\n\n".encode())
                    self.wfile.flush()
                    return
                self.wfile.write(b": keep-alive\n\n")
                self.wfile.flush()
        except OSError:  # the page went away
            return


class PreviewServer:
    """The preview web server on 127.0.0.1, in a background thread."""

    def __init__(self, out_dir: Path, state: PreviewState, port: int = 8000):
        self.state = state
        self._server = _bind(out_dir, state, port)
        self.port: int = self._server.server_address[1]
        self.url = f"http://{HOST}:{self.port}/{PAGE}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={
            "poll_interval": 0.2}, name="itaoreport-serve", daemon=True)

    @property
    def page_views(self) -> int:
        """How many times report.html was served (each reload is one)."""
        return self._server.page_views

    @property
    def event_streams(self) -> int:
        """How many reload-event connections pages opened."""
        return self._server.event_streams

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop serving; open event streams end at once."""
        self.state.close()
        self._server.shutdown()
        self._server.server_close()


def _bind(out_dir: Path, state: PreviewState, port: int) -> _Server:
    """A server on `port`, or the next free one (port 0: any free port)."""
    last: OSError | None = None
    for candidate in ([0] if port == 0 else range(port, min(port + PORT_TRIES, 65536))):
        try:
            return _Server((HOST, candidate), out_dir, state)
        except OSError as exc:
            if exc.errno not in (errno.EADDRINUSE, errno.EACCES):
                raise ItaoError(f"cannot serve the preview on {HOST}:{candidate}: "
                                f"{exc.strerror or exc}") from None
            last = exc
    raise ItaoError(f"no free port for the preview from {port} to {port + PORT_TRIES - 1} "
                    f"({last.strerror if last else 'all busy'}); choose one with --port")

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
import stat
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
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


MAX_TARGET_CHARS = 2000
"""Longest request target (path and query) answered; longer is a malformed request (400)."""
MAX_SERVED_BYTES = 512_000_000
"""Largest file served: the PDF and renditions are far smaller; anything bigger is not ours."""
MAX_GENERATION_DIGITS = 18
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

NOT_SHOWN = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>itaoreport preview</title></head>
<body style="font:16px/1.5 system-ui,sans-serif;margin:2em">
<p>The output folder's report.html is not a file itaoreport wrote (it is a link, a special
file, or not inside the output folder), so it is not shown. The next successful build
replaces it; this page reloads by itself when it does.</p>
</body></html>
"""


class BadRequest(Exception):
    """A request the preview will not interpret: answered with 400 and one log line."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Linux refuses a second listener even with SO_REUSEADDR; Windows would allow it.
    allow_reuse_address = os.name != "nt"

    def __init__(self, address: tuple[str, int], out_dir: Path, state: PreviewState,
                 log: Callable[[str], None]):
        self.out_dir, self.state, self.log = out_dir, state, log
        self.page_views = 0
        self.event_streams = 0
        self.counter_lock = threading.Lock()
        super().__init__(address, _Handler)

    def count(self, attribute: str) -> None:
        with self.counter_lock:
            setattr(self, attribute, getattr(self, attribute) + 1)

    def allowed_hosts(self) -> set[str]:
        """Host headers answered: the loopback names with this port (DNS rebinding guard)."""
        port = self.server_address[1]
        hosts = {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"}
        if port == 80:  # browsers leave out the default port
            hosts |= {"127.0.0.1", "localhost", "[::1]"}
        return hosts

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001
        """One line instead of socketserver's traceback (a traceback here is a bug to report)."""
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):  # the browser went away mid-answer
            return
        self.log(f"preview: internal error answering a request: {type(exc).__name__}: "
                 f"{_shown(str(exc))}")


def _shown(text: str, limit: int = 120) -> str:
    """User-controlled text for a log line: control characters escaped, cut short."""
    text = text.encode("unicode_escape", "backslashreplace").decode("ascii") \
        if _CONTROL.search(text) else text
    return text if len(text) <= limit else text[:limit] + "..."


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "itaoreport-preview"

    def do_GET(self) -> None:
        self._guarded(send_body=True)

    def do_HEAD(self) -> None:
        self._guarded(send_body=False)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the terminal shows one line per rebuild, not one per request."""

    def log_error(self, format: str, *args: object) -> None:
        """Requests http.server itself refuses (bad request line, headers): one line."""
        self.server.log(f"preview: {_shown(format % args)}")

    def _guarded(self, send_body: bool) -> None:
        try:
            host = self.headers.get("Host", "").strip().lower()
            if host not in self.server.allowed_hosts():
                self.server.log(f"preview: refused a request for host {_shown(host)!r} "
                                "(only 127.0.0.1, localhost and [::1] are answered)")
                return self._send(HTTPStatus.FORBIDDEN, b"forbidden\n", "text/plain", send_body)
            return self._respond(send_body)
        except BadRequest as exc:
            self.server.log(f"preview: bad request {_shown(self.path)!r}: {exc}")
            return self._send(HTTPStatus.BAD_REQUEST, f"bad request: {exc}\n".encode(),
                              "text/plain; charset=utf-8", send_body)

    def _respond(self, send_body: bool) -> None:
        if len(self.path) > MAX_TARGET_CHARS:
            raise BadRequest(f"longer than {MAX_TARGET_CHARS:,} characters")
        if not self.path.startswith("/"):
            raise BadRequest("the target is not a path")
        url = urlsplit(self.path)
        if url.path == EVENTS_PATH and send_body:
            return self._events(_generation(url.query))
        if url.path in ("", "/"):
            self.send_response(HTTPStatus.FOUND)
            self.send_header("Location", "/" + PAGE)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        parts = _url_parts(url.path)
        if parts == [PAGE]:
            return self._page(send_body)
        data = self._read(parts)
        if data is None:
            return self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain", send_body)
        media = mimetypes.guess_type(parts[-1])[0] or "application/octet-stream"
        return self._send(HTTPStatus.OK, data, media, send_body)

    def _read(self, parts: list[str]) -> bytes | None:
        """The bytes of OUT/parts if that is a regular file inside OUT, else None."""
        if not parts or any(p in ("..", ".") or p.startswith(".") for p in parts):
            return None
        return read_served_file(self.server.out_dir, parts)

    def _page(self, send_body: bool) -> None:
        generation, errors = self.server.state.snapshot()  # before reading: a newer file only reloads
        status = HTTPStatus.OK
        if not os.path.lexists(self.server.out_dir / PAGE):
            page = PLACEHOLDER
        else:
            data = read_served_file(self.server.out_dir, [PAGE])
            if data is None:
                self.server.log(f"preview: not showing {self.server.out_dir / PAGE}: a link, a "
                                "special file, or outside the output folder")
                status, page = HTTPStatus.NOT_FOUND, NOT_SHOWN
            else:
                try:
                    page = data.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise BadRequest(f"{PAGE} in the output folder is not UTF-8 text "
                                     f"(byte {exc.start:,})") from None
        self.server.count("page_views")
        body = inject(page, generation, errors).encode("utf-8")
        self._send(status, body, "text/html; charset=utf-8", send_body)

    def _send(self, status: HTTPStatus, data: bytes, media: str, send_body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", media)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if send_body:
            self.wfile.write(data)

    def _events(self, generation: int) -> None:
        """Server-Sent Events: one `reload` event as soon as a newer build is published."""
        self.server.count("event_streams")
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
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


def _generation(query: str) -> int:
    """`since` of an events request: ASCII digits only (not `²`), at most 18 of them."""
    try:
        values = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query),
                          errors="strict", max_num_fields=10).get("since", ["0"])
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the query is not name=value pairs of UTF-8 text") from None
    if len(values) != 1:
        raise BadRequest("give `since` once")
    since = values[0]
    if not (since.isascii() and since.isdigit() and len(since) <= MAX_GENERATION_DIGITS):
        raise BadRequest(f"`since` must be a build number of at most {MAX_GENERATION_DIGITS} "
                         "digits")
    return int(since)


def _url_parts(url_path: str) -> list[str]:
    """The path components a URL names, decoded; BadRequest for what no link of ours produces."""
    try:
        text = unquote(url_path, errors="strict")
    except UnicodeDecodeError:
        raise BadRequest("the path is not UTF-8 text") from None
    if _CONTROL.search(text) or "\\" in text:
        raise BadRequest("the path has control characters or backslashes")
    return [p for p in text.split("/") if p]


def read_served_file(out_dir: Path, parts: list[str]) -> bytes | None:
    """The bytes of out_dir/parts when it is a regular file whose real path is inside out_dir.

    Links that stay inside the output folder are followed; anything leading out of
    it, a folder, a FIFO, a device or a socket gives None, and the file is never
    opened unless it is a regular file (checked again on the open descriptor).
    """
    try:
        out = out_dir.resolve(strict=True)
        real = out.joinpath(*parts).resolve(strict=True)
        if real == out or out not in real.parents:
            return None
        st = os.stat(real, follow_symlinks=False)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_SERVED_BYTES:
            return None
        fd = os.open(real, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except (OSError, RuntimeError, ValueError):
        return None
    with os.fdopen(fd, "rb") as fh:
        now = os.fstat(fh.fileno())
        if not stat.S_ISREG(now.st_mode) or (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
            return None
        return fh.read(MAX_SERVED_BYTES + 1)[:MAX_SERVED_BYTES]


class PreviewServer:
    """The preview web server on 127.0.0.1, in a background thread."""

    def __init__(self, out_dir: Path, state: PreviewState, port: int = 8000,
                 log: Callable[[str], None] | None = None):
        self.state = state
        self._server = _bind(out_dir, state, port, log or _stderr)
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


def _stderr(message: str) -> None:
    import sys

    print(message, file=sys.stderr, flush=True)


def _bind(out_dir: Path, state: PreviewState, port: int, log: Callable[[str], None]) -> _Server:
    """A server on `port`, or the next free one (port 0: any free port)."""
    last: OSError | None = None
    for candidate in ([0] if port == 0 else range(port, min(port + PORT_TRIES, 65536))):
        try:
            return _Server((HOST, candidate), out_dir, state, log)
        except OSError as exc:
            if exc.errno not in (errno.EADDRINUSE, errno.EACCES):
                raise ItaoError(f"cannot serve the preview on {HOST}:{candidate}: "
                                f"{exc.strerror or exc}") from None
            last = exc
    raise ItaoError(f"no free port for the preview from {port} to {port + PORT_TRIES - 1} "
                    f"({last.strerror if last else 'all busy'}); choose one with --port")

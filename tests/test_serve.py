"""The live preview: confined file serving, the error banner, and a real browser reloading."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import ENTRY_YAML, write_case

from itaoreport.serve import PreviewServer, PreviewState, inject
from itaoreport.watch import Watcher, WatchOptions

WAIT = 20.0


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, ""


@pytest.fixture
def served(tmp_path: Path):
    out = tmp_path / "out"
    (out / "assets").mkdir(parents=True)
    (out / "report.html").write_text("<html><body><h1>Report</h1></body></html>")
    (out / "assets" / "a.jpg").write_bytes(b"jpeg")
    (tmp_path / "secret.txt").write_text("do not serve")
    (out / "link.txt").symlink_to(tmp_path / "secret.txt")
    state = PreviewState()
    server = PreviewServer(out, state, port=0)
    server.start()
    yield server, state
    server.stop()


def test_serves_only_files_inside_the_output_folder(served):
    server, _ = served
    base = f"http://127.0.0.1:{server.port}"
    assert get(f"{base}/assets/a.jpg") == (200, "jpeg")
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt",
                 "/link.txt", "/.report.html.abc.tmp", "/assets"):
        status, body = get(base + path)
        assert status == 404 and "do not serve" not in body, path


def test_page_gets_reload_script_and_error_banner_but_file_on_disk_does_not(served):
    server, state = served
    state.publish(3, ["entries/a.yaml:2:7: error: invalid YAML <here>"])
    status, page = get(server.url)
    assert status == 200
    assert "EventSource" in page and "var generation = 3" in page
    assert 'id="itaoreport-errors"' in page and "The case has 1 error" in page
    assert "invalid YAML &lt;here&gt;" in page  # escaped: user text is data
    assert "EventSource" not in (server._server.out_dir / "report.html").read_text()
    state.publish(4, [])
    assert 'id="itaoreport-errors"' not in get(server.url)[1]


def test_banner_goes_right_after_body_and_script_before_its_end():
    page = inject('<html><body class="x"><p>hi</p></body></html>', 1, ["e"])
    assert page.index('<body class="x">') < page.index("itaoreport-errors") < page.index("<p>hi")
    assert page.index("EventSource") < page.index("</body>")


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return name
    pytest.skip("no chromium on PATH: the live-reload browser test needs Debian's `chromium` "
                "(.ci/run installs it)")


def _titles(port: int) -> list[str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as r:
            return [t.get("title", "") for t in json.load(r) if t.get("type") == "page"]
    except (OSError, ValueError):
        return []


def _poll(predicate, what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_real_browser_reloads_after_rebuild_and_shows_errors(tmp_path: Path):
    browser = _chromium()
    case = write_case(tmp_path / "case", entries={"a.yaml": ENTRY_YAML})
    state = PreviewState()
    watcher = Watcher(case, WatchOptions(pdf=False, debounce=0.05), lambda m: None,
                      publish=lambda o: state.publish(o.generation, o.banner()))
    watcher.start()
    gen = watcher.wait_for_build(0, WAIT).generation
    server = PreviewServer(watcher.out_dir, state, port=0)
    server.start()
    profile = Path(tempfile.mkdtemp(prefix="itaoreport-chromium-"))
    proc = subprocess.Popen(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", f"--user-data-dir={profile}",
         "--remote-debugging-port=0", server.url],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        _poll(lambda: port_file.is_file() and port_file.read_text().strip(), "chromium to start")
        devtools = int(port_file.read_text().split()[0])
        _poll(lambda: "Test case" in _titles(devtools), "the page to load")
        _poll(lambda: server.event_streams >= 1, "the page to listen for rebuilds")
        views = server.page_views
        case_yaml = case / "case.yaml"
        case_yaml.write_text(case_yaml.read_text().replace("title: Test case", "title: Renamed"))
        gen = watcher.wait_for_build(gen, WAIT).generation
        _poll(lambda: "Renamed" in _titles(devtools), "the page to reload with the new title")
        assert server.page_views > views
        (case / "entries" / "a.yaml").write_text("timestamp: [unclosed\n")
        assert not watcher.wait_for_build(gen, WAIT).ok
        _poll(lambda: any(t.startswith("(1 error) Renamed") for t in _titles(devtools)),
              "the reloaded page to show the error")
    finally:
        proc.terminate()
        proc.wait(10)
        server.stop()
        watcher.stop()
        shutil.rmtree(profile, ignore_errors=True)


# -- issue #14 part 2: what the preview answers, and to whom ------------------------------------

def raw(port: int, request: bytes, timeout: float = 5) -> tuple[int, bytes]:
    """Send one raw HTTP request; the status and body (the connection must not just drop)."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    data = b"".join(chunks)
    assert data.startswith(b"HTTP/1."), data[:200]  # an answer, not a dropped connection
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def request(port: int, target: bytes, host: bytes | None = None, method: bytes = b"GET"):
    host_line = b"" if host is None else b"Host: " + host + b"\r\n"
    return raw(port, method + b" " + target + b" HTTP/1.1\r\n" + host_line
               + b"Connection: close\r\n\r\n")


@pytest.fixture
def logged(tmp_path: Path):
    """A server with a log callback: every log line it writes, and its output folder."""
    out = tmp_path / "out"
    (out / "assets").mkdir(parents=True)
    (out / "report.html").write_text("<html><body><h1>Report</h1></body></html>")
    (out / "assets" / "a.jpg").write_bytes(b"jpeg")
    (tmp_path / "secret.txt").write_text("do not serve")
    lines: list[str] = []
    state = PreviewState()
    server = PreviewServer(out, state, port=0, log=lines.append)
    server.start()
    yield server, out, lines
    server.stop()


def host(server) -> bytes:
    return f"127.0.0.1:{server.port}".encode()


def test_planted_report_link_kept_by_a_failing_first_build_is_not_served(tmp_path: Path):
    """The issue's example: build/report.html -> a file outside, and the first build fails."""
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:do not serve")
    case = write_case(tmp_path / "case", entries={"a.yaml": "timestamp: [unclosed\n"})
    (case / "build").mkdir()
    (case / "build" / "report.html").symlink_to(secret)
    (case / "build" / "report.json").symlink_to(secret)
    state = PreviewState()
    watcher = Watcher(case, WatchOptions(pdf=False, debounce=0.05), lambda m: None,
                      publish=lambda o: state.publish(o.generation, o.banner()))
    watcher.start()
    lines: list[str] = []
    server = PreviewServer(watcher.out_dir, state, port=0, log=lines.append)
    server.start()
    try:
        assert not watcher.wait_for_build(0, WAIT).ok
        assert (case / "build" / "report.html").is_symlink()  # kept as the "last good" report
        for path in ("/report.html", "/report.json", "/./report.html", "//report.html"):
            status, body = get(f"http://127.0.0.1:{server.port}{path}")
            assert status == 404 and "do not serve" not in body, path
        status, body = request(server.port, b"/report.html", host(server))
        assert status == 404 and b"do not serve" not in body
        assert b"is not a file itaoreport wrote" in body and b"EventSource" in body
        assert any("not showing" in line for line in lines)
    finally:
        server.stop()
        watcher.stop()


def test_links_fifos_devices_and_folders_are_404_and_never_opened(logged, tmp_path: Path):
    import os

    server, out, _ = logged
    (out / "assets" / "out.jpg").symlink_to(tmp_path / "secret.txt")
    (out / "assets" / "zero.jpg").symlink_to("/dev/zero")
    (out / "assets" / "up").symlink_to(tmp_path)
    os.mkfifo(out / "assets" / "pipe.jpg")
    (out / "assets" / "same.jpg").symlink_to(out / "assets" / "a.jpg")  # stays inside: served
    base = f"http://127.0.0.1:{server.port}"
    started = time.monotonic()
    for path in ("/assets/out.jpg", "/assets/zero.jpg", "/assets/pipe.jpg", "/assets/up/secret.txt",
                 "/assets", "/assets/"):
        status, body = get(base + path)
        assert status == 404 and "do not serve" not in body, path
    assert time.monotonic() - started < 5  # no pipe waited for a writer, no device read
    assert get(base + "/assets/same.jpg") == (200, "jpeg")
    (out / "report.html").unlink()
    os.mkfifo(out / "report.html")
    assert get(base + "/report.html")[0] == 404
    (out / "report.html").unlink()
    (out / "report.html").mkdir()
    assert get(base + "/report.html")[0] == 404
    (out / "report.html").rmdir()
    status, page = get(base + "/report.html")  # nothing there: the waiting page
    assert status == 200 and "No report has been built yet" in page


@pytest.mark.parametrize("header, status", [
    (b"127.0.0.1:{port}", 200), (b"localhost:{port}", 200), (b"[::1]:{port}", 200),
    (b"LocalHost:{port}", 200),
    (b"evil.example:{port}", 403),            # DNS rebinding: a web page's own name
    (b"127.0.0.1", 403), (b"localhost:1{port}", 403), (b"127.0.0.1.nip.io:{port}", 403),
    (b"", 403), (None, 403),
])
def test_only_loopback_host_headers_are_answered(logged, header: bytes | None, status: int):
    server, _, lines = logged
    value = None if header is None else header.replace(b"{port}", str(server.port).encode())
    for target in (b"/report.html", b"/report.json", b"/assets/a.jpg",
                   b"/__itaoreport/events?since=0"):
        if status == 200 and target.startswith(b"/__"):
            continue  # an open event stream waits for the next build
        got, body = request(server.port, target, value)
        expected = 404 if status == 200 and target == b"/report.json" else status
        assert got == expected, (value, target)
        if status == 403:
            assert b"Report" not in body and b"jpeg" not in body
    if status == 403:
        assert len(lines) == 4 and all("refused a request for host" in line for line in lines)


@pytest.mark.parametrize("target", [
    "/__itaoreport/events?since=²".encode(),           # raw UTF-8 byte in the request line
    b"/__itaoreport/events?since=%C2%B2",              # the same, as a browser sends it
    b"/__itaoreport/events?since=" + b"9" * 5000,      # int() refuses 4,301+ digits
    b"/__itaoreport/events?since=" + b"9" * 100,       # short enough a target, too many digits
    b"/__itaoreport/events?since=%FF",
    b"/__itaoreport/events?since=-1",
    b"/__itaoreport/events?since=1&since=2",
    b"/__itaoreport/events?since=%0a1",
    b"/report%FF.html", b"/assets/a%00.jpg", b"/assets%5c..%5csecret.txt",
    b"http://evil.example/report.html", b"*",
    b"/" + b"a" * 3000,
])
def test_malformed_requests_get_400_and_one_log_line(logged, capfd, target: bytes):
    server, _, lines = logged
    status, body = request(server.port, target, host(server))
    assert status == 400, (target, body)
    assert len(lines) == 1 and "bad request" in lines[0] and len(lines[0]) < 400, lines
    err = capfd.readouterr().err
    assert "Traceback" not in err


def test_report_html_that_is_not_utf8_is_400_not_a_dropped_connection(logged, capfd):
    server, out, lines = logged
    (out / "report.html").write_bytes(b"<html><body>\xff\xfe broken</body></html>")
    status, body = request(server.port, b"/report.html", host(server))
    assert status == 400 and b"not UTF-8" in body
    assert len(lines) == 1 and "not UTF-8" in lines[0]
    assert "Traceback" not in capfd.readouterr().err
    status, _ = request(server.port, b"/report.html", host(server), method=b"HEAD")
    assert status == 400


def test_requests_http_server_refuses_itself_are_one_log_line(logged, capfd):
    server, _, lines = logged
    import socket

    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /report.html HTTP/9.9\r\n\r\n")  # http.server answers HTTP/0.9
        assert b"Error code: 505" in sock.recv(65536)
    status, _ = raw(server.port, b"BREW /report.html HTTP/1.1\r\nHost: "
                    + host(server) + b"\r\nConnection: close\r\n\r\n")
    assert status == 501
    assert len(lines) == 2
    assert "Traceback" not in capfd.readouterr().err


def test_an_unexpected_error_while_answering_is_one_log_line(logged, capfd, monkeypatch):
    from itaoreport import serve

    server, _, lines = logged

    def boom(*args):
        raise RuntimeError("simulated")

    monkeypatch.setattr(serve, "read_served_file", boom)
    try:
        request(server.port, b"/assets/a.jpg", host(server))
    except (AssertionError, OSError):
        pass  # the connection may close without an answer; what matters is the log
    assert lines == ["preview: internal error answering a request: RuntimeError: simulated"]
    assert "Traceback" not in capfd.readouterr().err

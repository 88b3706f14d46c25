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

"""report.html against the Nu HTML Checker and axe-core in a real Chromium (#16).

The checkers come from npm (.ci/package.json: vnu-jar, axe-core, puppeteer-core), installed
by .ci/run into .ci/node_modules (or point ITAOREPORT_NODE_MODULES at another folder).
Each test skips, saying what is missing, where node, Java, chromium or those packages are
absent. Two reports are built once per session: the sample case (pictures, promises,
tables) and a case in Chinese with right-to-left and other scripts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from conftest import write_multilingual_case

from itaoreport.build import BuildOptions, build

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = Path(os.environ.get("ITAOREPORT_NODE_MODULES", ROOT / ".ci" / "node_modules"))
INSTALL = "run .ci/run, or: npm install --prefix .ci --no-package-lock"


@pytest.fixture(scope="session")
def html_reports(tmp_path_factory: pytest.TempPathFactory, sample_build: Path) -> dict[str, Path]:
    # the sample's report.html: sample_build (conftest.py), the build the PDF checks read too
    scripts = write_multilingual_case(tmp_path_factory.mktemp("html-standards") / "scripts",
                                      "zh-Hans")
    build(scripts, BuildOptions(formats=("html",)))
    return {"sample": sample_build / "build" / "report.html",
            "scripts": scripts / "build" / "report.html"}


def _need(tool: str, package: str) -> str:
    found = shutil.which(tool)
    if found is None:
        pytest.skip(f"{tool} is absent (Debian package {package}; .ci/run installs it)")
    return found


def _module(name: str) -> Path:
    path = NODE_MODULES / name
    if not path.exists():
        pytest.skip(f"npm package {name} is absent from {NODE_MODULES} ({INSTALL})")
    return path


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.skip("chromium is absent (Debian package chromium; .ci/run installs it)")


@pytest.fixture(scope="session")
def nu_messages(request: pytest.FixtureRequest) -> dict[str, list[dict]]:
    """The Nu checker's messages per report (one Java run for all)."""
    java = _need("java", "default-jre-headless")
    jar = _module("vnu-jar") / "build" / "dist" / "vnu.jar"
    html_reports = request.getfixturevalue("html_reports")  # built only when checkable
    done = subprocess.run([java, "-jar", str(jar), "--format", "json",
                           *map(str, html_reports.values())],
                          capture_output=True, text=True, timeout=300)
    messages: dict[str, list[dict]] = {name: [] for name in html_reports}
    by_path = {str(path.resolve()): name for name, path in html_reports.items()}
    for message in json.loads(done.stderr)["messages"]:
        where = unquote(urlsplit(message.get("url", "")).path)  # "file:/tmp/..."
        for name in [by_path[where]] if where in by_path else list(messages):
            messages[name].append(message)
    return messages


@pytest.fixture(scope="session")
def axe_results(request: pytest.FixtureRequest) -> dict[str, dict]:
    """axe-core's results per report (one browser for all)."""
    node = _need("node", "nodejs")
    browser = _chromium()
    _module("axe-core")
    _module("puppeteer-core")
    html_reports = request.getfixturevalue("html_reports")
    files = {str(path): name for name, path in html_reports.items()}
    done = subprocess.run([node, str(ROOT / ".ci" / "axe.js"), browser, *files],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NODE_PATH": str(NODE_MODULES)})
    assert done.returncode == 0, done.stderr[-2000:]
    return {files[file]: result for file, result in json.loads(done.stdout).items()}


@pytest.mark.parametrize("which", ["sample", "scripts"])
def test_nu_html_checker_finds_no_errors(nu_messages: dict[str, list[dict]], which: str):
    errors = [m for m in nu_messages[which] if m["type"] in ("error", "non-document-error")]
    assert errors == [], errors


@pytest.mark.parametrize("which", ["sample", "scripts"])
def test_axe_core_finds_no_violations(axe_results: dict[str, dict], which: str):
    result = axe_results[which]
    assert result["passes"] > 10  # axe really ran its rules on the page
    assert result["violations"] == [], json.dumps(result["violations"], indent=1)[:4000]

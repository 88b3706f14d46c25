"""Shared fixtures: small case folders written in tmp_path, and where the sample lives."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_CASE = ROOT / "sample_case"
SHARED = ROOT.parent / "shared"

CASE_YAML = """\
title: Test case
claimant:
  name: Buyer
seller:
  name: ShopCo
order:
  id: T-1
  date: 2023-10-20
  expected_delivery: 2023-11-01
claim:
  type: item_not_received
  requested: full_refund
as_of: 2023-11-05
timezone: Europe/Berlin
"""

ENTRY_YAML = """\
timestamp: 2023-10-26 14:30
channel: Email
sender: me
summary: Asked for tracking.
"""


def write_case(root: Path, case_yaml: str = CASE_YAML, entries: dict[str, str] | None = None,
               files: dict[str, bytes] | None = None) -> Path:
    """Write a case folder; entries maps file name (under entries/) to YAML text."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "case.yaml").write_text(textwrap.dedent(case_yaml), encoding="utf-8")
    for name, text in (entries if entries is not None else {"a.yaml": ENTRY_YAML}).items():
        path = root / "entries" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    for name, data in (files or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def case_cache(case: Path) -> Path:
    """The case's analysis cache folder of this user (`.itaoreport/cache/<owner tag>`)."""
    from itaoreport.evidence.owner import owner_tag

    return case / ".itaoreport" / "cache" / owner_tag()


def png_bytes(width: int = 40, height: int = 80, colour: str = "white", text: str = "") -> bytes:
    import io

    from PIL import Image, ImageDraw

    im = Image.new("RGB", (width, height), colour)
    if text:
        ImageDraw.Draw(im).text((2, 2), text, fill="black")
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    """A private copy of sample_case (without any build output)."""
    target = tmp_path / "sample"
    shutil.copytree(SAMPLE_CASE, target, ignore=shutil.ignore_patterns("build", ".itaoreport"))
    return target


def require_shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: ../shared is only beside the repository in CI and "
                    "on developer machines")
    return path


# A case in many scripts: a Chinese quote, a Japanese summary, an Arabic sender name,
# Hebrew, Cyrillic, Greek, Korean and Traditional Chinese text, and emoji.
MULTILINGUAL_QUOTE = "快递单号明天更新，请耐心等待 🙏"
MULTILINGUAL_CASE = """\
title: 订单 CN-8841 未收到货
claimant:
  name: Alex Example
seller:
  name: 深圳数码专营店
order:
  id: CN-8841
  date: 2023-10-20
  item: 无线耳机（黑色）
  amount: 399.00
  currency: CNY
  expected_delivery: 2023-11-01
claim:
  type: item_not_received
  requested: full_refund
as_of: 2023-11-05
timezone: Asia/Shanghai
"""
MULTILINGUAL_ENTRIES = {
    "2023-10-26-1430-asked.yaml": """\
        timestamp: 2023-10-26 14:30
        channel: ItaoBuy 消息
        sender: me
        summary: 荷物がまだ届いていません。追跡番号を教えてください。
        quote: "Где моя посылка? Πού είναι το δέμα μου; 배송 언제 되나요?"
        action: Asked for tracking 📦
        """,
    "2023-10-27-0915-promise.yaml": f"""\
        timestamp: 2023-10-27 09:15
        channel: ItaoBuy 消息
        sender: seller
        sender_name: محمد العلي
        summary: 卖家承诺明天更新快递单号。請耐心等候。
        quote: {MULTILINGUAL_QUOTE}
        promise:
          text: 快递单号明天更新
          due: 2023-10-28 18:00
        """,
    "2023-10-30-1800-courier.yaml": """\
        timestamp: 2023-10-30 18:00
        channel: Phone
        sender: carrier
        sender_name: דואר ישראל
        summary: "The courier said: החבילה לא נמצאה במערכת 😞👍🏽"
        quote: החבילה לא נמצאה במערכת
        """,
}
MULTILINGUAL_TEXTS = [
    MULTILINGUAL_QUOTE,
    "荷物がまだ届いていません。追跡番号を教えてください。",
    "محمد العلي",
    "החבילה לא נמצאה במערכת",
    "Где моя посылка?",
    "Πού είναι το δέμα μου;",
    "배송 언제 되나요?",
    "卖家承诺明天更新快递单号。請耐心等候。",
    "😞👍🏽",
    "📦",
]
"""User text of MULTILINGUAL_CASE that every output must show exactly as written."""


def write_multilingual_case(root: Path, language: str | None = None) -> Path:
    """MULTILINGUAL_CASE in `root`, with `language:` set when given."""
    case_yaml = MULTILINGUAL_CASE + (f"language: {language}\n" if language else "")
    return write_case(root, case_yaml, MULTILINGUAL_ENTRIES)


def installed_font_families() -> str:
    """fc-list's family names, or "" when fontconfig is absent."""
    import shutil
    import subprocess

    if shutil.which("fc-list") is None:
        return ""
    return subprocess.run(["fc-list", ":", "family"], capture_output=True, text=True,
                          check=False).stdout


def require_report_fonts() -> None:
    """Skip unless the fonts README: Install names are there (CI installs them in .ci/run)."""
    families = installed_font_families()
    missing = [f for f in ("DejaVu Sans", "Noto Sans CJK SC", "Noto Color Emoji")
               if f not in families]
    if missing:
        pytest.skip(f"fonts absent: {', '.join(missing)} (fontconfig/fc-list "
                    f"{'found' if families else 'absent'}); see README: Install")


# -- builds shared by the checks that only read them ------------------------------------------
# Session-scoped: made once per test process (with pytest-xdist, once per worker that needs
# them). Every output of a build is byte for byte the same whichever formats are asked for,
# so one build of every format serves checks of report.pdf, report.html, report.json and
# summary.txt alike. Tests must not change these cases or their build/ folders (a build into
# another output folder of its own is fine); a test that does takes a copy (sample_copy,
# warm_sample_copy).

@pytest.fixture(scope="session")
def sample_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of sample_case built from cold with `itaoreport build`'s default formats (all);
    the outputs are in its build/ folder."""
    from itaoreport.build import BuildOptions, build

    case = tmp_path_factory.mktemp("sample-build") / "case"
    shutil.copytree(SAMPLE_CASE, case, ignore=shutil.ignore_patterns("build", ".itaoreport"))
    build(case, BuildOptions())
    return case


def warm_copy_of_sample(target: Path, built: Path) -> Path:
    """A copy of sample_case (without build output) in `target`, with the analysis cache
    (.itaoreport/) that the build of `built` (sample_build) left."""
    shutil.copytree(SAMPLE_CASE, target, ignore=shutil.ignore_patterns("build", ".itaoreport"))
    shutil.copytree(built / ".itaoreport", target / ".itaoreport")
    return target


@pytest.fixture
def warm_sample_copy(tmp_path: Path, sample_build: Path) -> Path:
    """sample_copy plus the analysis cache sample_build left: for tests whose first build only
    sets the scene (a good report to keep, a log to export), so that it does not decode and OCR
    the same screenshots again; what such a test checks comes after that build. The cache is
    keyed by file content and checked on reading, and a warm build writes the same bytes as a
    cold one (test_fit.py). Tests of a build from cold use sample_copy."""
    return warm_copy_of_sample(tmp_path / "sample", sample_build)


@pytest.fixture(scope="session")
def scripts_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """report.pdf of MULTILINGUAL_CASE with the zh-Hans report language."""
    from itaoreport.build import BuildOptions, build

    require_report_fonts()
    case = write_multilingual_case(tmp_path_factory.mktemp("scripts") / "case", "zh-Hans")
    build(case, BuildOptions(formats=("pdf",)))
    return case / "build" / "report.pdf"

"""Portal profiles, fitting, reproducible PDFs and `verify`, on a small generated case."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from casegen import make_large_case
from click.testing import CliRunner
from PIL import Image

from itaoreport.build import BuildOptions, build
from itaoreport.cli import PROFILE_NAMES, main
from itaoreport.errors import BuildFailed
from itaoreport.evidence.renditions import PrintSpec, floor_width_px, print_pixels, print_rendition
from itaoreport.render.profiles import PROFILES, ProfileError, parse_size, resolve_profile

pypdf = pytest.importorskip("pypdf")


@pytest.fixture(scope="module")
def small_case(tmp_path_factory) -> Path:
    """Six entries, four full-resolution phone screenshots."""
    return make_large_case(tmp_path_factory.mktemp("fit") / "case", entries=6, screenshots=4)


@pytest.fixture(scope="module")
def built(small_case: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("out") / "build"
    build(small_case, BuildOptions(out=out, formats=("pdf", "html", "json")))
    return out


def test_sizes_read_like_portals_write_them():
    assert parse_size("2MB") == 2_000_000
    assert parse_size("1.5M") == 1_500_000
    assert parse_size("900k") == 900_000
    assert parse_size("1MiB") == 1_048_576
    with pytest.raises(ProfileError, match="write it like 2MB"):
        parse_size("two megs")


def test_cli_profile_names_match_profiles_and_overrides_apply():
    assert set(PROFILE_NAMES) == set(PROFILES)
    visa = resolve_profile("visa", max_pages=3)
    assert (visa.max_bytes, visa.max_pages) == (2_000_000, 3)
    assert "--max-pages 3" in visa.name


def test_print_renditions_never_go_below_the_legibility_floor():
    phone = (1080, 2340)
    low = print_pixels(phone, PrintSpec((54, 117), ppi=30, quality=45))
    assert low[0] == floor_width_px(phone) == 344
    assert print_pixels((300, 650), PrintSpec((54, 117), 200, 80))[0] == 300  # never upscaled


def test_grayscale_rendition_for_black_and_white_portals():
    image = Image.new("RGB", (1080, 2340), "#dcf8c6")
    r = print_rendition(lambda: image, image.size, image.size, "ab" * 32,
                        PrintSpec((54, 117), 150, 60, grayscale=True))
    assert Image.open(io.BytesIO(r.data)).mode == "L"


def test_two_builds_are_byte_identical_with_or_without_the_cache(small_case: Path, built: Path,
                                                                 tmp_path: Path):
    shutil.rmtree(small_case / ".itaoreport")
    again = tmp_path / "again"
    build(small_case, BuildOptions(out=again, formats=("pdf", "html", "json")))
    for name in ("report.pdf", "report.html", "report.json"):
        assert (again / name).read_bytes() == (built / name).read_bytes(), name


def test_pdf_metadata_bookmarks_attachments_and_footer(built: Path):
    reader = pypdf.PdfReader(built / "report.pdf")
    meta = reader.metadata
    assert meta.author == "Sam Buyer"
    assert meta.subject == "Order IT-20240105-0042"
    assert "IT-20240105-0042" in meta["/Keywords"]
    assert reader.trailer["/Root"]["/Lang"] == "en"
    titles = []
    stack = list(reader.outline)
    while stack:
        item = stack.pop(0)
        if isinstance(item, list):
            stack[:0] = item
        else:
            titles.append(item.title)
    for section in ("Claim summary", "Exhibit index", "Communication log", "Timeline",
                    "Annex: integrity of the evidence"):
        assert section in titles
    assert sum(" · ItaoBuy Messaging · " in t for t in titles) == 6  # every entry
    assert {"Exhibit E1", "Exhibit E4"} <= set(titles)
    assert set(reader.attachments) >= {"report.json", "screenshots/2024-01-06-01.png"}
    fingerprint = __import__("hashlib").sha256((built / "report.json").read_bytes()).hexdigest()
    for number, page in enumerate(reader.pages, start=1):
        text = page.extract_text()
        assert fingerprint[:16] in text and f"Page {number} of {len(reader.pages)}" in text


def test_verify_passes_then_names_the_changed_missing_and_added_files(small_case: Path,
                                                                      tmp_path: Path):
    case = tmp_path / "case"
    shutil.copytree(small_case, case)
    runner = CliRunner()
    assert runner.invoke(main, ["build", str(case), "--format", "pdf"]).exit_code == 0
    pdf = str(case / "build" / "report.pdf")
    result = runner.invoke(main, ["verify", pdf])
    assert result.exit_code == 0 and "OK: all 4 evidence files" in result.output
    shot = case / "screenshots" / "2024-01-06-02.png"
    data = bytearray(shot.read_bytes())
    data[1000] ^= 1
    shot.write_bytes(bytes(data))
    (case / "screenshots" / "2024-01-06-03.png").unlink()
    (case / "screenshots" / "extra.png").write_bytes(b"x")
    result = runner.invoke(main, ["verify", pdf])
    assert result.exit_code == 1
    assert "2024-01-06-02.png: changed" in result.output
    assert "2024-01-06-03.png: missing" in result.output
    assert "extra.png: added" in result.output
    assert "Traceback" not in result.output


def test_over_budget_fails_saying_by_how_much_and_writes_nothing(small_case: Path,
                                                                 tmp_path: Path):
    out = tmp_path / "out"
    with pytest.raises(BuildFailed) as info:
        build(small_case, BuildOptions(out=out, formats=("pdf",),
                                       profile=resolve_profile("visa", "60k")))
    message = info.value.format_message()
    assert "legibility floor" in message and "over)" in message
    assert "of the 4 screenshots would fit" in message and "Nothing was written" in message
    assert not out.exists()


def test_too_many_pages_fails_naming_the_screenshot_pages(small_case: Path, tmp_path: Path):
    result = CliRunner().invoke(main, ["build", str(small_case), "-o", str(tmp_path / "o"),
                                       "--format", "pdf", "--profile", "mastercard",
                                       "--max-pages", "2"])
    assert result.exit_code == 1
    assert "mastercard with --max-pages 2 allows 2" in result.output
    assert "The 4 screenshots of entries 2024-01-06-01 to 2024-01-07-04 take" in result.output
    assert "Traceback" not in result.output


def _embedded_originals(pdf: Path) -> set[str]:
    return set(pypdf.PdfReader(pdf).attachments) - {"report.json"}


def test_portal_profiles_embed_the_originals_when_they_fit(small_case: Path, tmp_path: Path):
    shots = {p.relative_to(small_case).as_posix()
             for p in (small_case / "screenshots").iterdir()}
    result = CliRunner().invoke(main, ["build", str(small_case), "-o", str(tmp_path / "visa"),
                                       "--format", "pdf", "--profile", "visa"])
    assert result.exit_code == 0, result.output
    assert "originals embedded)" in result.output and "of 4 originals" not in result.output
    assert _embedded_originals(tmp_path / "visa" / "report.pdf") == shots


def test_originals_over_budget_are_left_out_largest_first_and_said(small_case: Path,
                                                                    tmp_path: Path):
    runner = CliRunner()
    sizes: dict[str, int] = {}
    for flag in ("--embed-originals", "--no-embed-originals"):
        out = tmp_path / flag
        assert runner.invoke(main, ["build", str(small_case), "-o", str(out), "--format", "pdf",
                                    flag]).exit_code == 0
        sizes[flag] = (out / "report.pdf").stat().st_size
    budget = (sizes["--embed-originals"] + sizes["--no-embed-originals"]) // 2
    out = tmp_path / "fitted"
    result = runner.invoke(main, ["build", str(small_case), "-o", str(out), "--format", "pdf",
                                  "--profile", "visa", "--max-size", str(budget)])
    assert result.exit_code == 0, result.output
    pdf = out / "report.pdf"
    assert pdf.stat().st_size <= budget
    kept = _embedded_originals(pdf)
    by_size = sorted((p.relative_to(small_case).as_posix()
                      for p in (small_case / "screenshots").iterdir()),
                     key=lambda name: (-(small_case / name).stat().st_size, name))
    dropped = [name for name in by_size if name not in kept]
    assert 0 < len(dropped) < len(by_size)
    assert dropped == by_size[:len(dropped)]  # the largest first
    assert (f"{len(dropped)} of the 4 original evidence files were not embedded (the largest"
            in result.output)
    assert all(name in result.output for name in dropped)
    assert f"{len(kept)} of 4 originals embedded" in result.output
    # required originals that do not fit: the build fails and says so
    result = runner.invoke(main, ["build", str(small_case), "-o", str(tmp_path / "all"),
                                  "--format", "pdf", "--embed-originals",
                                  "--max-size", str(sizes["--no-embed-originals"] + 1000)])
    assert result.exit_code == 1 and "Leave out --embed-originals" in result.output

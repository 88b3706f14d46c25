"""The missing-glyph check: characters no font has are located warnings, never silent boxes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import (
    ENTRY_YAML,
    png_bytes,
    require_report_fonts,
    write_case,
    write_multilingual_case,
)

from itaoreport.build import BuildOptions, build
from itaoreport.case.validate import load_case
from itaoreport.errors import CaseInvalid, Loc
from itaoreport.render import fonts
from itaoreport.render.themes import builtin_themes_dir

needs_fontconfig = pytest.mark.skipif(shutil.which("fc-match") is None,
                                      reason="fontconfig's fc-match is absent (README: Install)")

PRIVATE_USE = ENTRY_YAML.replace("Asked for tracking.", "Asked for tracking \ue000.") + (
    "attachments:\n  - path: s/a.png\n    caption: \"Seller's logo \U000f0001\"\n")


@needs_fontconfig
def test_private_use_character_is_a_warning_with_entry_field_and_code_point(tmp_path: Path):
    write_case(tmp_path, entries={"a.yaml": PRIVATE_USE}, files={"s/a.png": png_bytes()})
    result = build(tmp_path, BuildOptions(formats=("html",)))
    messages = [p.format() for p in result.warnings]
    assert ("entries/a.yaml:4:1: warning: summary: no installed font has a glyph for U+E000; "
            "it would print as an empty box") in " ".join(messages)
    assert any(m.startswith("entries/a.yaml:6:11: warning: attachments[1].caption: no installed "
                            "font has a glyph for U+F0001") for m in messages), messages


@needs_fontconfig
def test_private_use_character_fails_a_strict_build_and_writes_nothing(tmp_path: Path):
    write_case(tmp_path, entries={"a.yaml": PRIVATE_USE}, files={"s/a.png": png_bytes()})
    with pytest.raises(CaseInvalid) as info:
        build(tmp_path, BuildOptions(formats=("html",), strict=True))
    assert any("U+E000" in p.message for p in info.value.problems)
    assert not (tmp_path / "build").exists()


def test_validate_does_not_run_the_glyph_check(tmp_path: Path):
    write_case(tmp_path, entries={"a.yaml": PRIVATE_USE}, files={"s/a.png": png_bytes()})
    assert not [p for p in load_case(tmp_path).problems if "glyph" in p.message]


@needs_fontconfig
def test_every_script_of_the_multilingual_case_has_a_font(tmp_path: Path):
    require_report_fonts()
    loaded = load_case(write_multilingual_case(tmp_path))
    css = (builtin_themes_dir() / "default" / "style.css").read_text(encoding="utf-8")
    assert fonts.check_glyphs(loaded.case, css) == []


def test_without_fontconfig_the_check_is_skipped_with_a_warning(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(fonts, "FC_MATCH", "fc-match-that-is-not-installed")
    fonts._coverage.cache_clear()
    try:
        write_case(tmp_path, entries={"a.yaml": PRIVATE_USE}, files={"s/a.png": png_bytes()})
        result = build(tmp_path, BuildOptions(formats=("html",)))
    finally:
        fonts._coverage.cache_clear()
    [problem] = [p for p in result.warnings if "glyph" in p.message]
    assert problem.format() == (
        "case.yaml: warning: the missing-glyph check was skipped: fc-match-that-is-not-installed "
        "was not found (install fontconfig and the fonts the README's Install section lists)")


def test_fontconfig_charsets_become_one_coverage():
    coverage = fonts.parse_charsets("20-7e a0 4e00-9fff\n30-39 7f\n1f300-1f64f\n")
    assert coverage.starts == (0x20, 0xA0, 0x4E00, 0x1F300)  # 7f joins 20-7e
    assert 0x41 in coverage and 0x7F in coverage and 0x5FEB in coverage and 0x1F64F in coverage
    assert 0x9F not in coverage and 0xE000 not in coverage and 0x1F650 not in coverage


def test_only_drawn_characters_need_glyphs():
    invisible = "\n\t \u200d\ufe0f\u200f\u2068\u00ad\U000e0067"
    assert not [c for c in invisible if fonts.needs_glyph(c)]
    assert all(fonts.needs_glyph(c) for c in "a快🙏\ue000")


def test_the_theme_font_list_is_what_fontconfig_is_asked_about():
    css = (builtin_themes_dir() / "default" / "style.css").read_text(encoding="utf-8")
    assert fonts.font_families(css)[:3] == ("DejaVu Sans", "Noto Sans", "Noto Sans CJK SC")
    assert fonts.font_families("p { color: red }") == ("sans-serif",)


def test_each_field_names_its_own_uncovered_characters_once_in_order():
    coverage = fonts.Coverage.from_ranges([(0x20, 0x7E)])
    fields = [fonts.TextField(Loc("a.yaml", 4, 1), "summary", "a\ue001b\ue000\ue001 \ufe0f\u200d"),
              fonts.TextField(Loc("a.yaml", 5, 1), "quote", "plain text"),
              fonts.TextField(Loc("b.yaml", 4, 1), "summary", "\ue000\ue000")]
    problems = fonts.missing_glyphs(iter(fields), coverage)
    assert [(str(p.loc), p.message.split(";")[0]) for p in problems] == [
        ("a.yaml:4:1", "summary: no installed font has a glyph for U+E001, U+E000"),
        ("b.yaml:4:1", "summary: no installed font has a glyph for U+E000")]


@needs_fontconfig
def test_a_font_lookup_started_in_the_background_is_not_run_twice(monkeypatch: pytest.MonkeyPatch):
    """start_font_lookup (build: while the evidence is gathered) and check_glyphs share one
    fc-match run."""
    runs = []
    real_run = fonts.subprocess.run

    def counted(*args, **kwargs):
        runs.append(args[0])
        return real_run(*args, **kwargs)

    monkeypatch.setattr(fonts.subprocess, "run", counted)
    fonts._coverage.cache_clear()
    try:
        css = "body { font-family: 'Some Family Nobody Has', sans-serif; }"
        fonts.start_font_lookup(css)
        coverage = fonts.font_coverage(fonts.font_families(css))
        assert fonts.font_coverage(fonts.font_families(css)) is coverage
    finally:
        fonts._coverage.cache_clear()
    assert len(runs) == 1
    assert ord("a") in coverage

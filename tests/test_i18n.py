"""The report language: catalogs, Chinese reports with original quotes, fallbacks, formats."""

from __future__ import annotations

import csv
import json
import html
import io
import string
import textwrap
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from conftest import (
    CASE_YAML,
    MULTILINGUAL_ENTRIES,
    MULTILINGUAL_TEXTS,
    write_case,
    write_multilingual_case,
)

from itaoreport.build import BuildOptions, build
from itaoreport.errors import CaseInvalid
from itaoreport.render import i18n
from itaoreport.render.context import LOG_COLUMNS
from itaoreport.render.themes import ThemeError, builtin_themes_dir

FAST = ("html", "json", "txt", "csv")
CATALOGS = sorted(builtin_themes_dir().glob("*/i18n/*.po"))
DEFAULT_I18N = builtin_themes_dir() / "default" / "i18n"


def messages(path: Path) -> dict[str, object]:
    """Message id -> msgstr (a tuple for plural messages)."""
    catalog = i18n.read_catalog(path, path.stat().st_mtime_ns)
    return {(m.id if isinstance(m.id, str) else m.id[0]): m.string for m in catalog if m.id}


def placeholders(text: object) -> set[str]:
    forms = text if isinstance(text, tuple) else (text,)
    return {name for form in forms for _lit, name, _spec, _conv in string.Formatter().parse(form)
            if name}


@pytest.mark.parametrize("path", CATALOGS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_catalog_has_every_english_message(path: Path):
    english = messages(DEFAULT_I18N / "en.po")
    other = messages(path)
    missing = sorted(set(english) - set(other))
    assert not missing, f"{path.name} lacks {missing}"
    empty = sorted(k for k, v in other.items() if not (all(v) if isinstance(v, tuple) else v))
    assert not empty, f"{path.name} leaves {empty} untranslated"
    plural_mismatch = sorted(k for k in english
                             if isinstance(english[k], tuple) != isinstance(other[k], tuple))
    assert not plural_mismatch, f"{path.name}: plural in one catalog only: {plural_mismatch}"


@pytest.mark.parametrize("path", CATALOGS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_translations_use_only_placeholders_the_program_fills(path: Path):
    english = messages(DEFAULT_I18N / "en.po")
    wrong = {key: sorted(placeholders(text) - placeholders(english[key]))
             for key, text in messages(path).items()
             if key in english and placeholders(text) - placeholders(english[key])}
    assert not wrong, f"{path.name} uses placeholders English does not have: {wrong}"


def test_zh_hans_report_speaks_chinese_and_keeps_quotes_verbatim(tmp_path: Path):
    case = write_multilingual_case(tmp_path / "zh", language="zh-Hans")
    result = build(case, BuildOptions(formats=FAST))
    out = case / "build"
    page = (out / "report.html").read_text(encoding="utf-8")
    assert '<html lang="zh-Hans">' in page
    for heading in ("索赔摘要", "证据索引", "沟通记录", "时间线", "附件：证据完整性", "声明"):
        assert f">{heading}</h2>" in page, heading
    for column in ("时间", "渠道", "发送方", "摘要 / 关键引述", "附件", "行动 / 承诺"):
        assert f">{column}</th>" in page, column
    assert "2023年10月20日" in page  # order date on the cover
    summary = (out / "summary.txt").read_text(encoding="utf-8")
    assert summary.startswith("我于2023年10月20日向深圳数码专营店订购了无线耳机（黑色）")
    assert "2023年10月27日，深圳数码专营店承诺：“快递单号明天更新”，期限为2023年10月28日；" in summary
    assert "现已逾期4天" in summary and summary.strip().endswith("我要求全额退款，金额为¥399.00。")
    assert result.report["summary"] == summary.strip()
    for text in MULTILINGUAL_TEXTS:
        assert html.escape(text, quote=False) in page, text
    entries = {e["id"]: e for e in result.report["entries"]}
    for name, source in MULTILINGUAL_ENTRIES.items():
        written = yaml.safe_load(textwrap.dedent(source))
        assert entries[name[:-5]]["quote"] == written["quote"]
        assert entries[name[:-5]]["summary"] == written["summary"]
    rows = list(csv.reader(io.StringIO((out / "log.csv").read_text(encoding="utf-8-sig"))))
    assert rows[0] == LOG_COLUMNS  # log.csv stays English for importers
    assert rows[2][2] == "Seller “محمد العلي”" and rows[2][1] == "ItaoBuy 消息"


def test_english_and_chinese_reports_show_the_same_user_text(tmp_path: Path):
    reports = {}
    for language in ("en", "zh-Hans"):
        case = write_multilingual_case(tmp_path / language, language=language)
        reports[language] = build(case, BuildOptions(formats=("json",))).report
    assert reports["en"]["entries"] == reports["zh-Hans"]["entries"]
    assert reports["en"]["summary"].startswith("I ordered “无线耳机（黑色）” from 深圳数码专营店 on Oct 20")


def test_unknown_language_warns_at_its_line_and_falls_back_to_english(tmp_path: Path):
    write_case(tmp_path, CASE_YAML + "language: xx-Klingon\n")
    result = build(tmp_path, BuildOptions(formats=("html", "json")))
    [problem] = [p for p in result.warnings if "language" in p.message]
    assert problem.format().startswith("case.yaml:15:1: warning: language: no catalog for "
                                       "'xx-Klingon'; the report is written in English")
    page = (tmp_path / "build" / "report.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in page and ">Communication log</h2>" in page
    with pytest.raises(CaseInvalid):
        build(tmp_path, BuildOptions(formats=("json",), strict=True))


def test_a_case_theme_can_change_one_message(tmp_path: Path):
    write_case(tmp_path, CASE_YAML + "language: zh-Hans\n", files={
        "theme/i18n/zh-Hans.po": 'msgid "log"\nmsgstr "往来记录"\n'.encode()})
    build(tmp_path, BuildOptions(formats=("html",)))
    page = (tmp_path / "build" / "report.html").read_text(encoding="utf-8")
    assert ">往来记录</h2>" in page and ">时间线</h2>" in page


def test_adding_a_language_is_adding_one_catalog(tmp_path: Path):
    german = 'msgid ""\nmsgstr ""\n"Language: de\\n"\n\nmsgid "log"\nmsgstr "Kommunikationsprotokoll"\n'
    write_case(tmp_path, CASE_YAML + "language: de\n",
               files={"theme/i18n/de.po": german.encode()})
    result = build(tmp_path, BuildOptions(formats=("html", "json")))
    assert not [p for p in result.warnings if "language" in p.message]
    page = (tmp_path / "build" / "report.html").read_text(encoding="utf-8")
    assert '<html lang="de">' in page and ">Kommunikationsprotokoll</h2>" in page
    assert ">Timeline</h2>" in page  # not translated yet: English
    assert "20. Okt. 2023" in page  # the order date, in CLDR's German format


@pytest.mark.parametrize(("tag", "catalog"), [
    ("zh-Hans", "zh-Hans"), ("zh", "zh-Hans"), ("zh-CN", "zh-Hans"), ("ZH-hans", "zh-Hans"),
    ("en-GB", "en"), ("zh-TW", None), ("fr", None),
])
def test_language_tags_resolve_to_catalogs(tag: str, catalog: str | None):
    assert i18n.resolve_language(tag, ["en", "zh-Hans"]) == catalog


def test_formats_follow_the_locale():
    path = [builtin_themes_dir() / "default"]
    british, _ = i18n.load_translator(path, "en-GB")
    chinese, _ = i18n.load_translator(path, "zh-Hans")
    assert british.date(date(2023, 10, 27)) == "27 Oct 2023"
    assert chinese.date(date(2023, 10, 27)) == "2023年10月27日"
    assert british.money(Decimal("1234.5"), "EUR") == "€1,234.50"
    assert chinese.plural("summary.days", 3) == "3天"
    assert british.plural("summary.days", 1) == "1 day"


def test_page_footer_is_a_safe_css_string():
    path = [builtin_themes_dir() / "default"]
    chinese, _ = i18n.load_translator(path, "zh-Hans")
    content = chinese.css_content("page_of", page="counter(page)", pages="counter(pages)")
    assert content == '"第 " counter(page) " 页，共 " counter(pages) " 页"'
    hostile = i18n.css_string('</style><script>"x"')
    assert "<" not in hostile and hostile.count('"') == 2


@pytest.mark.parametrize(("text", "direction"), [
    ("החבילה לא נמצאה", "rtl"), ("محمد", "rtl"), ("The courier said: החבילה", "ltr"),
    ("“123” 🙏", "auto"), ("快递单号", "ltr"),
])
def test_text_direction_follows_the_first_strong_character(text: str, direction: str):
    assert i18n.text_direction(text) == direction


def test_a_case_catalog_can_only_place_the_values_it_is_given(tmp_path: Path):
    hostile = textwrap.dedent("""\
        msgid "tz_note"
        msgstr "{timezone.__class__.__mro__}"

        msgid "page_of"
        msgstr "{page} {secret}"

        msgid "summary.request"
        msgstr "{remedy[0]}{amount!r}"

        msgid "log"
        msgstr "往来 {记录"
        """)
    write_case(tmp_path, CASE_YAML + "language: zh-Hans\n",
               files={"theme/i18n/zh-Hans.po": hostile.encode()})
    result = build(tmp_path, BuildOptions(formats=("html", "txt")))
    page = (tmp_path / "build" / "report.html").read_text(encoding="utf-8")
    assert "Times are shown in Europe/Berlin." in page  # the built-in English instead
    assert "__mro__" not in page and "secret" not in page
    assert '"Page " counter(page) " of " counter(pages)' in page
    assert ">往来 {记录</h2>" in page  # without placeholders a message is only text
    assert (tmp_path / "build" / "summary.txt").read_text(encoding="utf-8").strip().endswith(
        "I request 全额退款.")  # this one message in English, its value still Chinese
    assert result.out_dir == tmp_path / "build"


def test_a_broken_or_escaping_case_catalog_is_a_clear_error(tmp_path: Path):
    write_case(tmp_path, CASE_YAML + "language: zh-Hans\n",
               files={"theme/i18n/zh-Hans.po": b'msgid "log"\nmsgstr "x\nmsgid'})
    with pytest.raises(ThemeError, match="is not a valid .po file"):
        build(tmp_path, BuildOptions(formats=("json",)))
    outside = tmp_path.parent / "outside.po"
    outside.write_bytes(b'msgid "log"\nmsgstr "x"\n')
    (tmp_path / "theme" / "i18n" / "zh-Hans.po").unlink()
    (tmp_path / "theme" / "i18n" / "zh-Hans.po").symlink_to(outside)
    with pytest.raises(ThemeError, match="link that points outside"):
        build(tmp_path, BuildOptions(formats=("json",)))


# -- compiled catalogs kept in the user's cache (#18) ---------------------------------------------

def _fresh_catalog_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    i18n.compiled_catalog.cache_clear()
    return tmp_path / "user-cache" / "itaoreport" / "catalogs"


def _translated(search_path: list[Path]) -> list[str]:
    tr = i18n.build_translator(search_path, "zh-Hans", "zh-Hans")
    return [tr._messages.gettext(key) for key in tr._keys] + [
        tr._messages.ngettext(key, key, n) for key in ("summary.days", "summary.contact") for n in (1, 2)]


def test_a_compiled_catalog_is_kept_and_gives_the_same_translations(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    search_path = [builtin_themes_dir() / "default"]
    folder = _fresh_catalog_cache(tmp_path, monkeypatch)
    first = _translated(search_path)
    kept = sorted(folder.glob("*.json"))
    assert len(kept) == 2  # zh-Hans and the English fallback
    i18n.compiled_catalog.cache_clear()

    def no_parsing(*args, **kwargs):
        raise AssertionError("a kept catalog was parsed again")

    monkeypatch.setattr(i18n, "read_po", no_parsing)
    assert _translated(search_path) == first
    assert any("报告" in text or "证据" in text for text in first)  # really the Chinese one


def test_a_kept_catalog_of_the_wrong_shape_is_made_again(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch):
    search_path = [builtin_themes_dir() / "default"]
    folder = _fresh_catalog_cache(tmp_path, monkeypatch)
    first = _translated(search_path)
    for kept in folder.glob("*.json"):
        kept.write_text('{"mo": "not base64!", "keys": [], "plurals": []}', encoding="utf-8")
    i18n.compiled_catalog.cache_clear()
    assert _translated(search_path) == first
    assert all(i18n.CompiledCatalog.from_json(json.loads(p.read_text(encoding="utf-8")))
               for p in folder.glob("*.json"))


def test_an_invalid_catalog_is_never_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    folder = _fresh_catalog_cache(tmp_path, monkeypatch)
    bad = tmp_path / "theme" / "i18n" / "en.po"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b'msgid "log"\nmsgstr "x\nmsgid')
    with pytest.raises(ThemeError, match="not a valid .po file"):
        i18n.compiled_catalog(bad, bad.stat().st_mtime_ns)
    assert not list(folder.glob("*.json"))


def test_a_moment_shown_again_is_the_same_text_and_its_written_offset_still_counts():
    """moment() keeps its texts per translator: the same instant written with another offset
    (or asked with `offset`) is another text, never the one kept for the first."""
    from itaoreport.case.values import parse_moment, zone

    tr = i18n.load_translator([builtin_themes_dir() / "default"], "en", "Europe/Berlin")[0]
    berlin = zone("Europe/Berlin")
    as_berlin = parse_moment("2023-10-27 09:15", berlin)
    as_shanghai = parse_moment("2023-10-27T15:15:00+08:00", berlin)
    assert as_berlin.instant == as_shanghai.instant
    first = [tr.moment(as_berlin), tr.moment(as_shanghai), tr.moment(as_berlin, offset=True)]
    again = [tr.moment(as_berlin), tr.moment(as_shanghai), tr.moment(as_berlin, offset=True)]
    assert first == again
    assert first[0] == "Oct 27, 2023, 09:15"
    assert first[1] == "Oct 27, 2023, 09:15 (15:15 UTC+08:00)"
    assert first[2] == first[0] + " (UTC+02:00)"
    assert len(set(first)) == 3

"""What the renderer looks up once instead of per use gives what the slow way gave."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from conftest import ENTRY_YAML, png_bytes, write_case

from itaoreport.build import BuildOptions, build
from itaoreport.render.context import exhibits_by_entry
from itaoreport.render.i18n import data_translator, load_translator
from itaoreport.render.themes import builtin_themes_dir

PROMISED = ENTRY_YAML.replace("sender: me", "sender: seller") + """\
attachments:
  - s/a.png
  - s/b.png
promise:
  text: Tracking within two days.
  due: 2023-10-28 18:00
"""
KEPT = """\
timestamp: 2023-10-27 09:00
channel: Email
sender: seller
summary: Tracking sent.
fulfils: a
attachments:
  - s/c.png
  - s/a.png
"""


def test_promise_table_links_the_exhibits_of_the_promise_and_of_the_entry_keeping_it(
        tmp_path: Path):
    write_case(tmp_path, entries={"a.yaml": PROMISED, "b.yaml": KEPT},
               files={f"s/{n}.png": png_bytes(colour=c, text=n)
                      for n, c in (("a", "white"), ("b", "yellow"), ("c", "pink"))})
    build(tmp_path, BuildOptions(formats=("html",)))
    html = (tmp_path / "build" / "report.html").read_text(encoding="utf-8")
    row = re.search(r'<table class="promise-table">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    links = re.findall(r'href="#exhibit-(E\d+)"', row)
    assert links == ["E1", "E2", "E1", "E3"]  # the promise's own, then the keeping entry's


def test_exhibits_by_entry_keeps_exhibit_order_and_names_each_exhibit_once():
    case = SimpleNamespace(entries=[SimpleNamespace(id=i) for i in ("a", "b", "c")])
    e1 = SimpleNamespace(label="E1", entries=["a", "b", "a"])
    e2 = SimpleNamespace(label="E2", entries=["b"])
    e3 = SimpleNamespace(label="E3", entries=["a", "gone"])
    found = exhibits_by_entry(case, SimpleNamespace(exhibits=[e1, e2, e3]))
    assert {k: [x.label for x in v] for k, v in found.items()} == {
        "a": ["E1", "E3"], "b": ["E1", "E2"], "c": [], "gone": ["E3"]}


def fresh_translator(language: str):  # noqa: ANN201
    return load_translator([builtin_themes_dir() / "default"], language, "Asia/Shanghai")[0]


def test_remembered_dates_are_the_dates_babel_gives():
    search_path = [builtin_themes_dir() / "default"]
    for language in ("en", "zh-Hans"):
        tr, _ = load_translator(search_path, language, "Asia/Shanghai")
        days = [date(2023, 10, d) for d in (1, 27, 1, 27)]
        fresh = [fresh_translator(language).date(d) for d in days]
        assert [tr.date(d) for d in days] == fresh
        short = "summary.date.skeleton"
        assert tr.date(days[0], short) == fresh_translator(language).date(days[0], short)
    tr = load_translator(search_path, "en")[0]
    assert [tr.date(date(2023, 10, 1)), tr.date(date(2023, 10, 1), "summary.date.skeleton"),
            tr.date(date(2023, 10, 1))] == ["Oct 1, 2023", "Oct 1", "Oct 1, 2023"]
    # aware datetimes in different zones compare equal; each keeps its own day
    utc = datetime(2023, 10, 27, 23, 30, tzinfo=timezone.utc)
    assert tr.date(utc) == "Oct 27, 2023"
    assert tr.date(utc.astimezone(ZoneInfo("Asia/Tokyo"))) == "Oct 28, 2023"
    assert data_translator(search_path).date(date(2023, 10, 27)) == "2023-10-27"

"""What the renderer looks up once instead of per use gives what the slow way gave."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

from conftest import ENTRY_YAML, png_bytes, write_case

from itaoreport.build import BuildOptions, build
from itaoreport.render.context import exhibits_by_entry

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

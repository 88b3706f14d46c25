"""log.xlsx is byte-identical whether or not lxml is installed (#16).

openpyxl picks its XML writer when it is imported: lxml when importable, the standard
library's ElementTree otherwise. Each side runs in its own interpreter: one where importing
lxml fails (as if it were not installed), one where it is imported for real.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

WRITE = r'''
import sys
if sys.argv[1] == "without":
    class NoLxml:
        def find_spec(self, name, path=None, target=None):
            if name == "lxml" or name.startswith("lxml."):
                raise ImportError("lxml blocked by the test")
    sys.meta_path.insert(0, NoLxml())
import weasyprint.pdf.metadata  # a build renders a PDF too: it registers XML prefixes ("")
from openpyxl.xml import LXML
from itaoreport.render.xlsx import log_xlsx
rows = [
    {"timestamp": "2023-10-26 14:30", "sender": "Me (buyer)", "summary": "=SUM(A1:A2) & <b>",
     "quote": "line one\nline two\twith a tab"},
    {"timestamp": "2023-10-27 09:15", "sender": "卖家 “GadgetWorld”", "summary": "已发货 🙂",
     "quote": ""},
]
sys.stdout.write(repr(LXML) + "\n")
sys.stdout.flush()
sys.stdout.buffer.write(log_xlsx(rows, ["timestamp", "sender", "summary", "quote"]))
'''


def _write(mode: str) -> tuple[bool, bytes]:
    done = subprocess.run([sys.executable, "-c", WRITE, mode], cwd=ROOT, capture_output=True,
                          timeout=120, check=True)
    flag, _, data = done.stdout.partition(b"\n")
    return flag == b"True", data


def test_log_xlsx_bytes_do_not_depend_on_lxml():
    pytest.importorskip("lxml", reason="lxml is not installed (pip install -e '.[test]')")
    with_lxml, a = _write("with")
    without_lxml, b = _write("without")
    assert with_lxml and not without_lxml  # the two runs really used different XML writers
    assert a[:2] == b"PK" and a == b


def test_log_xlsx_opens_with_what_it_wrote():
    import io

    from openpyxl import load_workbook

    with_lxml, data = _write("with")
    sheet = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0] == ["timestamp", "sender", "summary", "quote"]
    assert rows[1][2:] == ["=SUM(A1:A2) & <b>", "line one\nline two\twith a tab"]
    assert rows[2][1:3] == ["卖家 “GadgetWorld”", "已发货 🙂"]

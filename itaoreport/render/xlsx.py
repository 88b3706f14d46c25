"""The communication log as an Excel workbook (log.xlsx), byte-identical for the same rows.

Byte-identical whatever else is installed: openpyxl writes its XML with lxml when lxml
is importable and with the standard library's ElementTree otherwise, and the two differ
in bytes (`<a/>` or `<a />`, where namespaces are declared). Every XML part is therefore
rewritten in canonical form (C14N 2.0, `xml.etree.ElementTree.canonicalize`) behind one
fixed XML declaration, so the bytes no longer depend on the writer.
"""

from __future__ import annotations

import io
import zipfile
from datetime import datetime

ZIP_TIME = (1980, 1, 1, 0, 0, 0)
FIXED_DATE = datetime(1980, 1, 1)
MIN_WIDTH = 10
MAX_WIDTH = 60
MAX_CELL_CHARS = 32_767
"""Excel's limit for the text of one cell."""


def log_xlsx(rows: list[dict[str, str]], columns: list[str], *,
             created: datetime | None = None) -> bytes:
    """A one-sheet workbook: a bold, frozen header row, then one row per entry, text wrapped.

    Every cell is stored as text (never a formula or a number), so what the
    user wrote is what the spreadsheet shows. created (naive UTC) is written as
    the workbook's created/modified date; by default a fixed date, so the bytes
    depend only on the rows.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = "Log"
    wrap = Alignment(wrap_text=True, vertical="top")
    for col, name in enumerate(columns, start=1):
        cell = _text_cell(sheet, 1, col, name)
        cell.font = Font(bold=True)
        cell.alignment = wrap
    for row_index, row in enumerate(rows, start=2):
        for col, name in enumerate(columns, start=1):
            _text_cell(sheet, row_index, col, row.get(name) or "").alignment = wrap
    for col, name in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(col)].width = _width(name, rows)
    sheet.freeze_panes = "A2"
    when = created or FIXED_DATE
    book.properties.creator = "itaoreport"
    book.properties.created = when
    book.properties.modified = when
    buffer = io.BytesIO()
    book.save(buffer)
    return _fixed_zip(buffer.getvalue(), when)


def _text_cell(sheet, row: int, col: int, text: str):
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    cell = sheet.cell(row=row, column=col)
    cell.value = ILLEGAL_CHARACTERS_RE.sub("", str(text))[:MAX_CELL_CHARS]
    cell.data_type = "s"  # text, even when it starts with "=" (never a formula)
    return cell


def _width(name: str, rows: list[dict[str, str]]) -> float:
    longest = max(
        [len(name)] + [len(line) for row in rows for line in (row.get(name) or "").splitlines()]
    )
    return float(min(MAX_WIDTH, max(MIN_WIDTH, longest + 2)))


def _fixed_zip(data: bytes, when: datetime) -> bytes:
    """The same archive with fixed member times and order, and core.xml dates set to `when`.

    openpyxl stamps the save time into docProps/core.xml and every zip member.
    """
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            content = source.read(name)
            if name == "docProps/core.xml":
                content = _set_core_dates(content, stamp)
            if name.endswith((".xml", ".rels")):
                content = _canonical(content)
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, content)
    return out.getvalue()


XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def _canonical(xml: bytes) -> bytes:
    """One XML part in canonical form (C14N 2.0: attributes in order, `<a></a>` for empty
    elements, namespaces declared where first used), the same from lxml and ElementTree."""
    from xml.etree.ElementTree import canonicalize

    return XML_DECLARATION + canonicalize(xml.decode("utf-8")).encode("utf-8")


def _set_core_dates(xml: bytes, stamp: bytes) -> bytes:
    import re

    return re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)", rb"\g<1>" + stamp + rb"\g<2>",
                  xml)

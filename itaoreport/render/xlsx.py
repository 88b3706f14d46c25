"""The communication log as an Excel workbook (log.xlsx), byte-identical for the same rows.

Byte-identical whatever else is installed: openpyxl writes its XML with lxml when lxml
is importable and with the standard library's ElementTree otherwise, and the two differ
in bytes (`<a/>` or `<a />`, where namespaces are declared). Every XML part is therefore
parsed and written again in one canonical form behind one fixed XML declaration
(`_canonical`), so the bytes no longer depend on the writer.
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
_TEXT = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}
_ATTRIBUTE = {**_TEXT, '"': "&quot;", "\t": "&#9;", "\n": "&#10;"}


def _canonical(xml: bytes) -> bytes:
    """One XML part in one canonical form, the same from lxml's and ElementTree's writers:
    every namespace declared on the root (prefixes as written), attributes sorted, empty
    elements as `<a/>`, no comments.

    Not `ElementTree.canonicalize` (C14N 2.0): it seeds its namespaces from ElementTree's
    process-wide prefix registry, which other libraries change (WeasyPrint registers the
    prefix "" at import), and then writes `xmlns=""` twice on child elements.
    """
    from xml.etree.ElementTree import XMLPullParser

    parser = XMLPullParser(events=("start-ns", "end"))
    parser.feed(xml)
    parser.close()
    prefixes: dict[str, str] = {}
    root = None
    for event, item in parser.read_events():
        if event == "start-ns":
            prefix, uri = item
            if prefixes.setdefault(uri, prefix) != prefix or \
                    list(prefixes.values()).count(prefix) > 1:
                raise ValueError(f"namespace prefix {prefix!r} used for two namespaces")
        else:
            root = item

    def name(tag: str) -> str:
        if tag[:1] != "{":
            if "" in prefixes.values():
                raise ValueError(f"element {tag!r} outside the default namespace")
            return tag
        uri, local = tag[1:].split("}", 1)
        return f"{prefixes[uri]}:{local}" if prefixes[uri] else local

    def escape(text: str, table: dict[str, str]) -> str:
        return "".join(table.get(c, c) for c in text)

    out: list[str] = []

    def write(element, declare: bool) -> None:  # noqa: ANN001 (an ElementTree Element)
        tag = name(element.tag)
        out.append(f"<{tag}")
        if declare:
            for uri, prefix in sorted(prefixes.items(), key=lambda item: item[1]):
                out.append(f' xmlns{":" + prefix if prefix else ""}="{escape(uri, _ATTRIBUTE)}"')
        for key, value in sorted((name(k) if k[:1] == "{" else k, v)
                                 for k, v in element.attrib.items()):
            out.append(f' {key}="{escape(value, _ATTRIBUTE)}"')
        if not len(element) and not element.text:
            out.append("/>")
        else:
            out.append(">" + escape(element.text or "", _TEXT))
            for child in element:
                write(child, False)
                out.append(escape(child.tail or "", _TEXT))
            out.append(f"</{tag}>")

    write(root, True)
    return XML_DECLARATION + "".join(out).encode("utf-8")


def _set_core_dates(xml: bytes, stamp: bytes) -> bytes:
    import re

    return re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)", rb"\g<1>" + stamp + rb"\g<2>",
                  xml)

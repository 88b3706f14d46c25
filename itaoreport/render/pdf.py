"""PDF through WeasyPrint, with a URL fetcher that can only serve prepared files from memory.

WeasyPrint hands every URL to the fetcher, data: URLs included. The fetcher
serves the report's prepared assets and data: URLs up to MAX_DATA_URL_CHARS;
http(s), ftp, file: and everything else are refused (WeasyPrint then leaves
the resource out). User text never reaches the renderer as markup or CSS.

Two steps, so that fitting (render/fit.py) can lay out once and write several times:
`render_document()` lays out the pages; `write_document()` makes the bytes.
Every PDF is reproducible: no clock is read (dates come from the caller), the
file identifier is derived from the content (MD5 of the objects, as PDF/A asks).

Every PDF is PDF/A-3b and tagged (WeasyPrint's `pdf_tags`): a structure tree from the
HTML (H1-H3, P, Table/TR/TH/TD, L/LI, Figure with the img's alt as /Alt, Caption, Art
for each timeline entry), /MarkInfo Marked, /Lang from `<html lang>`. The tree follows
the document order, so a screen reader reads side-by-side columns (a card's picture and
its text) each to its end. Each embedded file has /AFRelationship, a MIME /Subtype and /Params (size,
MD5 checksum, dates) and is listed once in the catalog's /AF.
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING
from urllib.parse import unquote_to_bytes, urlsplit

from itaoreport.errors import BuildFailed
from itaoreport.gctune import collecting_new_garbage, fewer_collections

if TYPE_CHECKING:
    import weasyprint

BASE_URL = "https://report.itaoreport.invalid/"
"""Relative URLs in the report resolve under this base; the fetcher serves them from memory."""
PDF_VARIANT = "pdf/a-3b"
"""PDF/A-3b: archival, fonts embedded, and any file may be attached (report.json, originals).
It costs only the embedded sRGB profile (~3 kB) and XMP metadata, so every profile uses it."""

Assets = dict[str, tuple[bytes, str]]
"""Relative URL -> (bytes, media type)."""

MAX_DATA_URL_CHARS = 1_000_000
"""Longest data: URL the fetcher decodes (theme CSS may inline small images); longer: refused."""


def decode_data_url(url: str) -> tuple[bytes, str]:
    """The bytes and media type of a data: URL; ValueError if it is too long or malformed."""
    if len(url) > MAX_DATA_URL_CHARS:
        raise ValueError(f"refused a data: URL of {len(url):,} characters; "
                         f"the limit is {MAX_DATA_URL_CHARS:,}")
    header, comma, payload = url[5:].partition(",")
    if not comma:
        raise ValueError("refused a malformed data: URL (no comma)")
    params = header.split(";")
    media_type = params[0].strip() or "text/plain"
    if params[-1].strip().lower() == "base64":
        try:
            return base64.b64decode(payload, validate=False), media_type
        except binascii.Error:
            raise ValueError("refused a data: URL with invalid base64") from None
    return unquote_to_bytes(payload), media_type


@dataclass(frozen=True)
class PdfAttachment:
    """A file embedded in the PDF."""

    data: bytes
    name: str
    description: str
    relationship: str = "Supplement"
    """PDF/A-3 AFRelationship: Data for the machine-readable report, Source for originals."""


def _confined_fetcher(assets: Assets):
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class ConfinedFetcher(URLFetcher):
        """Serves only the prepared report assets; everything else is refused."""

        def fetch(self, url, headers=None):  # noqa: ANN001, ANN201
            if url[:5].lower() == "data:":
                data, media_type = decode_data_url(url)
                return URLFetcherResponse(url[:64], data, {"Content-Type": media_type})
            parts = urlsplit(url)
            if url.startswith(BASE_URL) and not parts.query:
                name = parts.path.lstrip("/")
                if name in assets:
                    data, media_type = assets[name]
                    return URLFetcherResponse(url, data, {"Content-Type": media_type})
            raise ValueError(f"refused to fetch {url[:200]!r}: reports only use their own files")

    return ConfinedFetcher()


def _quiet() -> None:
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)


def render_document(html: str, assets: Assets) -> weasyprint.Document:
    """Lay out the pages (the slow step); raise BuildFailed with one readable message."""
    import weasyprint

    _quiet()
    try:
        with fewer_collections():
            return weasyprint.HTML(string=html, base_url=BASE_URL,
                                   url_fetcher=_confined_fetcher(assets)
                                   ).render(pdf_variant=PDF_VARIANT)
    except Exception as exc:  # WeasyPrint raises many kinds; the user needs one message
        raise BuildFailed(f"PDF rendering failed: {type(exc).__name__}: {exc}") from exc


def write_document(document: weasyprint.Document, attachments: list[PdfAttachment],
                   when: tuple[date, date]) -> bytes:
    """PDF bytes; `when` = (created, modified) dates for the embedded files."""
    import weasyprint

    created, modified = (datetime(d.year, d.month, d.day) for d in when)
    files = [weasyprint.Attachment(string=a.data, base_url=BASE_URL, name=a.name,
                                   description=a.description, created=created,
                                   modified=modified, relationship=a.relationship)
             for a in attachments]
    try:
        with fewer_collections(), collecting_new_garbage():
            return document.write_pdf(attachments=files, pdf_variant=PDF_VARIANT,
                                      pdf_identifier=True, pdf_tags=True,
                                      finisher=_finish)
    except Exception as exc:
        raise BuildFailed(f"PDF writing failed: {type(exc).__name__}: {exc}") from exc


def _finish(document, pdf) -> None:  # noqa: ANN001 (WeasyPrint's Document, pydyf's PDF)
    """Last touches on the PDF objects before they are written.

    - WeasyPrint 70 lists every embedded file twice in the catalog's /AF (once from the
      EmbeddedFiles name tree, once from the file specifications): each is kept once,
      in order.
    - No image is interpolated (PDF/A rule 6.2.8-3). print.css asks for it on pictures
      (`image-rendering: crisp-edges`), but colour emoji are drawn as images with the
      text's style, and a case's own theme may leave the rule out.
    """
    import pydyf

    listed = pdf.catalog.get("AF")
    if listed is not None:
        pdf.catalog["AF"] = pydyf.Array(dict.fromkeys(listed))
    for obj in pdf.objects:
        extra = getattr(obj, "extra", None)
        while isinstance(extra, dict) and extra.get("Subtype") == "/Image":
            if "Interpolate" in extra:
                extra["Interpolate"] = "false"
            mask = extra.get("SMask")
            extra = getattr(mask, "extra", None)


def html_to_pdf(html: str, assets: Assets, *, attachments: list[PdfAttachment] | None = None,
                when: tuple[date, date] = (date(1970, 1, 1), date(1970, 1, 1))) -> bytes:
    """Render HTML to PDF bytes in one go (no fitting)."""
    return write_document(render_document(html, assets), attachments or [], when)

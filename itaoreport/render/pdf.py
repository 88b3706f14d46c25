"""PDF through WeasyPrint, with a URL fetcher that can only serve prepared files from memory.

WeasyPrint hands every URL to the fetcher, data: URLs included. The fetcher
serves the report's prepared assets and data: URLs up to MAX_DATA_URL_CHARS;
http(s), ftp, file: and everything else are refused (WeasyPrint then leaves
the resource out). User text never reaches the renderer as markup or CSS.
"""

from __future__ import annotations

import base64
import binascii
import logging
from urllib.parse import unquote_to_bytes, urlsplit

from itaoreport.errors import BuildFailed

BASE_URL = "https://report.itaoreport.invalid/"
"""Relative URLs in the report resolve under this base; the fetcher serves them from memory."""

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


def _confined_fetcher(assets: dict[str, tuple[bytes, str]]):  # noqa: ANN202
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


def html_to_pdf(html: str, assets: dict[str, tuple[bytes, str]], *,
                attachments: list[tuple[bytes, str, str]] | None = None) -> bytes:
    """Render HTML to PDF bytes. assets maps relative URL -> (bytes, media type).

    attachments: (data, file name, description) embedded as PDF file attachments.
    """
    import weasyprint

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    options: dict = {}
    if attachments:
        options["attachments"] = [
            weasyprint.Attachment(string=data, base_url=BASE_URL, name=name, description=desc)
            for data, name, desc in attachments
        ]
    try:
        document = weasyprint.HTML(string=html, base_url=BASE_URL,
                                   url_fetcher=_confined_fetcher(assets))
        return document.write_pdf(**options)
    except Exception as exc:  # WeasyPrint raises many kinds; the user needs one message
        raise BuildFailed(f"PDF rendering failed: {type(exc).__name__}: {exc}") from exc

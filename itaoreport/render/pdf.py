"""PDF through WeasyPrint, with a URL fetcher that can only serve prepared files from memory."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from itaoreport.errors import BuildFailed

BASE_URL = "https://report.itaoreport.invalid/"
"""Relative URLs in the report resolve under this base; the fetcher serves them from memory."""


def _confined_fetcher(assets: dict[str, tuple[bytes, str]]):  # noqa: ANN202
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class ConfinedFetcher(URLFetcher):
        """Serves only the prepared report assets; everything else is refused."""

        def fetch(self, url, headers=None):  # noqa: ANN001, ANN201
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

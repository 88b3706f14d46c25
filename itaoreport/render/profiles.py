"""Upload profiles: what each dispute portal accepts, and size parsing for --max-size.

The limits and where they come from are documented in docs/pdf-profiles.md;
keep the two in step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from itaoreport.errors import ItaoError


@dataclass(frozen=True)
class Profile:
    """The limits one portal puts on an uploaded PDF."""

    name: str
    """The profile's name; with overrides, e.g. "visa with --max-size 1.5M"."""
    max_bytes: int | None
    """Largest accepted file in bytes, or None for no limit."""
    max_pages: int | None
    """Most pages accepted, or None for no limit."""
    grayscale: bool
    """The portal wants black and white: images are made grayscale."""
    source: str
    """Where the limits come from (shown by --help and in docs/pdf-profiles.md)."""

    def describe(self) -> str:
        """One line: the limits in words."""
        parts = []
        if self.max_bytes is not None:
            parts.append(f"at most {format_size(self.max_bytes)}")
        if self.max_pages is not None:
            parts.append(f"at most {self.max_pages} pages")
        if self.grayscale:
            parts.append("black and white")
        return ", ".join(parts) or "no size or page limit"


PROFILES: dict[str, Profile] = {
    p.name: p for p in [
        Profile("generic", None, None, False,
                "no portal: everything at full print quality, originals embedded"),
        Profile("visa", 2_000_000, None, False,
                "Visa dispute documentation: one PDF of at most 2 MB"),
        Profile("mastercard", 14_500_000, 19, False,
                "Mastercom: at most 19 pages, 14.5 MB recommended"),
        Profile("amex", 1_000_000, 20, True,
                "American Express OptBlue: 1 MB in total, 20 pages, black and white"),
        Profile("stripe", 5_000_000, 49, False,
                "Stripe dispute evidence: about 5 MB combined, fewer than 50 pages"),
        Profile("paypal", 9_999_999, None, False,
                "PayPal resolution center: each file under 10 MB"),
    ]
}
DEFAULT_PROFILE = "generic"

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(i?)(b?)\s*$", re.IGNORECASE)
_UNIT = {"": 1, "k": 1000, "m": 1000**2, "g": 1000**3}


class ProfileError(ItaoError):
    """An unknown profile or an unreadable size."""


def parse_size(text: str) -> int:
    """Bytes from '2MB', '1.5M', '900k', '2000000' (k/M/G = 1000s; KiB/MiB = 1024s)."""
    match = _SIZE.match(text)
    if not match:
        raise ProfileError(f"cannot read the size {text!r}; write it like 2MB, 1.5M, 900k "
                           "or 2000000 (bytes)")
    number, unit, binary, _ = match.groups()
    factor = 1024 ** " kmg".index(unit.lower()) if binary else _UNIT[unit.lower()]
    size = int(float(number) * factor)
    if size < 50_000:
        raise ProfileError(f"{text!r} is {size:,} bytes; a report needs at least 50 kB")
    return size


def format_size(size: float) -> str:
    """Decimal units, the way portals state their limits: 2.0 MB, 950 kB."""
    if size >= 1_000_000:
        return f"{size / 1_000_000:.2f} MB".replace(".00 MB", " MB")
    return f"{size / 1000:.0f} kB"


def resolve_profile(name: str, max_size: str | None = None, max_pages: int | None = None
                    ) -> Profile:
    """The named profile with --max-size / --max-pages applied on top."""
    if name not in PROFILES:
        raise ProfileError(f"unknown profile {name!r}; choose from {', '.join(PROFILES)}")
    profile = PROFILES[name]
    if max_size is not None:
        profile = replace(profile, name=f"{profile.name} with --max-size {max_size}",
                          max_bytes=parse_size(max_size))
    if max_pages is not None:
        profile = replace(profile, name=f"{profile.name} with --max-pages {max_pages}",
                          max_pages=max_pages)
    return profile

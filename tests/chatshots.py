"""Small synthetic chat screenshots for duplicate-detection tests (drawn, never shipped)."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.truetype(str(FONT), size)
    except OSError:  # no DejaVu: Pillow's own scalable default font
        return ImageFont.load_default(size)


def chat(messages: list[tuple[bool, str, str]], clock: str = "14:32", width: int = 540,
         height: int = 1170, ticks: str = "\u2713\u2713") -> Image.Image:
    """A phone-like chat: status bar with clock, header, bubbles with times and read ticks."""
    k = width / 540
    im = Image.new("RGB", (width, height), (236, 229, 221))
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, width, int(36 * k)], fill=(7, 70, 60))
    d.text((int(14 * k), int(8 * k)), clock, font=_font(int(16 * k)), fill="white")
    d.rectangle([0, int(36 * k), width, int(100 * k)], fill=(7, 94, 84))
    d.text((int(70 * k), int(52 * k)), "GadgetWorld", font=_font(int(24 * k)), fill="white")
    y = int(120 * k)
    body, small = _font(int(19 * k)), _font(int(13 * k))
    for mine, text, time in messages:
        tw = d.textlength(text, font=body)
        bw = min(int(tw + 40 * k), int(width * 0.85))
        x0 = width - bw - int(14 * k) if mine else int(14 * k)
        d.rounded_rectangle([x0, y, x0 + bw, y + int(58 * k)], int(10 * k),
                            fill=(220, 248, 198) if mine else (255, 255, 255))
        d.text((x0 + int(14 * k), y + int(8 * k)), text, font=body, fill=(20, 20, 20))
        stamp = f"{time} {ticks}" if mine else time
        d.text((x0 + bw - int(12 * k), y + int(52 * k)), stamp, font=small, fill=(110, 110, 110),
               anchor="rs")
        y += int(74 * k)
    return im


CONVERSATION = [
    (True, "Hello, any update on my order?", "09:12"),
    (False, "Tracking will update in 2 days.", "09:40"),
    (True, "Tracking: LP004512345678CN", "10:05"),
    (False, "The parcel is at the sorting center.", "11:20"),
    (True, "Please provide the tracking number today.", "12:01"),
]


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **options)
    return buf.getvalue()

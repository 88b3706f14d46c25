"""Phone-sized chat screenshots drawn with Pillow (sample case and synthetic benchmark cases).

The pictures imitate a phone chat app: status bar, chat header, message bubbles
with times and ticks. Needs DejaVu fonts (Debian: fonts-dejavu-core).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

W, H = 1080, 2340
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")


@dataclass(frozen=True)
class Palette:
    """The colours of one chat app."""

    background: str = "#ece5dd"
    status_bar: str = "#0b3d2e"
    header: str = "#075e54"
    avatar: str = "#f4a261"
    subtitle: str = "#d8f3ec"
    day_chip: str = "#d4eaf4"
    day_text: str = "#33475b"
    mine: str = "#dcf8c6"
    theirs: str = "#ffffff"
    text: str = "#111b21"
    meta: str = "#667781"
    composer: str = "#f0f0f0"
    send: str = "#00a884"


PALETTES = (
    Palette(),
    Palette("#fff4ec", "#202020", "#ff5000", "#ffd1b3", "#ffe3d1", "#ffe8d9", "#7a3b12",
            "#ffd9bf", "#ffffff", "#1f1f1f", "#8a6a55", "#fafafa", "#ff5000"),
    Palette("#f0f2f5", "#1c2b4a", "#0866ff", "#7fb2ff", "#dce8ff", "#e4e6eb", "#3a3b3c",
            "#0866ff", "#e4e6eb", "#050505", "#65676b", "#ffffff", "#0866ff"),
    Palette("#0b141a", "#000000", "#1f2c34", "#53bdeb", "#8696a0", "#182229", "#8696a0",
            "#005c4b", "#202c33", "#e9edef", "#8696a0", "#1f2c34", "#00a884"),
)
"""Four apps' colour schemes; the first is the one the sample case uses."""


@cache
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(FONT_DIR / name), size)


def chat_image(clock: str, day: str, messages: list[tuple[str, str, str]],
               title: str = "GadgetWorld", subtitle: str = "Order IT-20231020-8841",
               palette: Palette = PALETTES[0]) -> Image.Image:
    """A chat screenshot; messages are (side 'me'|'them', text, time)."""
    p = palette
    im = Image.new("RGB", (W, H), p.background)
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, W, 80], fill=p.status_bar)
    d.text((40, 18), clock, font=font(40, True), fill="white")
    d.text((W - 230, 18), "4G  87%", font=font(38), fill="white")
    d.rectangle([0, 80, W, 260], fill=p.header)
    d.ellipse([40, 115, 150, 225], fill=p.avatar)
    d.text((70, 140), title[0], font=font(60, True), fill="white")
    d.text((180, 118), title, font=font(52, True), fill="white")
    d.text((180, 186), subtitle, font=font(34), fill=p.subtitle)
    y = 300
    d.rounded_rectangle([W // 2 - 150, y, W // 2 + 150, y + 64], 24, fill=p.day_chip)
    d.text((W // 2, y + 32), day, font=font(34), fill=p.day_text, anchor="mm")
    y += 110
    body = font(44)
    for side, text, time in messages:
        lines = []
        for para in text.split("\n"):
            lines += textwrap.wrap(para, 30) or [""]
        bw = min(880, max(int(d.textlength(line, font=body)) for line in lines) + 190)
        bh = 62 * len(lines) + 84
        x0 = W - 40 - bw if side == "me" else 40
        d.rounded_rectangle([x0, y, x0 + bw, y + bh], 28, fill=p.mine if side == "me" else p.theirs)
        for i, line in enumerate(lines):
            d.text((x0 + 34, y + 26 + 62 * i), line, font=body, fill=p.text)
        tick = " \u2713\u2713" if side == "me" else ""
        d.text((x0 + bw - 30, y + bh - 22), time + tick, font=font(32), fill=p.meta, anchor="rs")
        y += bh + 36
    d.rectangle([0, H - 170, W, H], fill=p.composer)
    d.rounded_rectangle([30, H - 140, W - 160, H - 40], 50, fill="white")
    d.text((80, H - 90), "Message", font=font(42), fill="#8696a0", anchor="lm")
    d.ellipse([W - 130, H - 140, W - 30, H - 40], fill=p.send)
    return im

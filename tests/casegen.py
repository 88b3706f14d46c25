"""Realistic phone-chat screenshots and generated case folders, for tests and benchmarks.

The drawing functions also make the sample case's pictures
(scripts/draw_sample_screenshots.py). Needs DejaVu fonts (Debian: fonts-dejavu-core).
"""

from __future__ import annotations

import random
import textwrap
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

W, H = 1080, 2340
"""A full-resolution phone screenshot (1080x2340, a common 19.5:9 Android screen)."""
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
    mine_text: str | None = None
    """Text on the claimant's own bubbles, when it differs from `text` (white on a brand
    colour, as Messenger draws it)."""


PALETTES = (
    Palette(),
    Palette("#fff4ec", "#202020", "#ff5000", "#ffd1b3", "#ffe3d1", "#ffe8d9", "#7a3b12",
            "#ffd9bf", "#ffffff", "#1f1f1f", "#8a6a55", "#fafafa", "#ff5000"),
    Palette("#f0f2f5", "#1c2b4a", "#0866ff", "#7fb2ff", "#dce8ff", "#e4e6eb", "#3a3b3c",
            "#0866ff", "#e4e6eb", "#050505", "#65676b", "#ffffff", "#0866ff", "#ffffff"),
    Palette("#0b141a", "#000000", "#1f2c34", "#53bdeb", "#8696a0", "#182229", "#8696a0",
            "#005c4b", "#202c33", "#e9edef", "#8696a0", "#1f2c34", "#00a884"),
)
"""Four apps' colour schemes; the first is the one the sample case uses, the last is dark mode.
The third is Messenger's: white text on its blue bubbles (black on that blue, which no app
draws, is below WCAG's 4.5:1 contrast; tests/test_quotes.py still reads it)."""
DARK = PALETTES[3]
"""Dark mode: light text on dark bubbles."""
CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
"""Simplified Chinese text (Debian: fonts-noto-cjk); index 2 of the collection is SC."""


@cache
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu Sans at a pixel size."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(FONT_DIR / name), size)


@cache
def cjk_font(size: int) -> ImageFont.FreeTypeFont:
    """Noto Sans CJK SC at a pixel size (OSError when fonts-noto-cjk is not installed)."""
    return ImageFont.truetype(str(CJK_FONT), size, index=2)


def has_cjk(text: str) -> bool:
    return any("\u3000" <= c <= "\u9fff" or "\uff00" <= c <= "\uffef" for c in text)


def _font_for(text: str, size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    return cjk_font(size) if has_cjk(text) else font(size, bold)


def _wrap_cjk(d: ImageDraw.ImageDraw, text: str, body: ImageFont.FreeTypeFont,
              width: int) -> list[str]:
    """Lines of CJK text (no spaces to break at) no wider than `width` pixels."""
    lines = [""]
    for c in text:
        if lines[-1] and d.textlength(lines[-1] + c, font=body) > width:
            lines.append("")
        lines[-1] += c
    return lines


def chat_image(clock: str, day: str, messages: list[tuple[str, str, str]],
               title: str = "GadgetWorld", subtitle: str = "Order IT-20231020-8841",
               photo_seed: int | None = None, palette: Palette = PALETTES[0],
               bubbles: list[tuple[int, int, int, int]] | None = None) -> Image.Image:
    """A chat-app screenshot; messages are (side 'me'|'them', text, time).

    photo_seed adds a noisy "product photo" bubble, like a picture sent in the chat,
    which compresses far worse than flat UI colours; palette picks an app's colours.
    A message with Chinese (CJK) text is drawn in Noto Sans CJK SC. When `bubbles` is
    given, each message's bubble (x0, y0, x1, y1) is appended to it, in message order.
    """
    p = palette
    im = Image.new("RGB", (W, H), p.background)
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, W, 80], fill=p.status_bar)
    d.text((40, 18), clock, font=font(40, True), fill="white")
    d.text((W - 230, 18), "4G  87%", font=font(38), fill="white")
    d.rectangle([0, 80, W, 260], fill=p.header)
    d.ellipse([40, 115, 150, 225], fill=p.avatar)
    d.text((70, 140), title[0], font=_font_for(title, 60, True), fill="white")
    d.text((180, 118), title, font=_font_for(title, 52, True), fill="white")
    d.text((180, 186), subtitle, font=_font_for(subtitle, 34), fill=p.subtitle)
    y = 300
    d.rounded_rectangle([W // 2 - 150, y, W // 2 + 150, y + 64], 24, fill=p.day_chip)
    d.text((W // 2, y + 32), day, font=_font_for(day, 34), fill=p.day_text, anchor="mm")
    y += 110
    if photo_seed is not None:
        im.paste(_photo(photo_seed, 640, 520), (40 + 24, y + 24))
        d.rounded_rectangle([40, y, 40 + 688, y + 620], 28, outline="#ffffff", width=24)
        y += 660
    for side, text, time in messages:
        body = _font_for(text, 44)
        lines: list[str] = []
        for para in text.split("\n"):
            lines += (_wrap_cjk(d, para, body, 690) if has_cjk(para)
                      else textwrap.wrap(para, 30)) or [""]
        bw = min(880, max(int(d.textlength(line, font=body)) for line in lines) + 190)
        bh = 62 * len(lines) + 84
        x0 = W - 40 - bw if side == "me" else 40
        d.rounded_rectangle([x0, y, x0 + bw, y + bh], 28, fill=p.mine if side == "me" else p.theirs)
        if bubbles is not None:
            bubbles.append((x0, y, x0 + bw, y + bh))
        for i, line in enumerate(lines):
            d.text((x0 + 34, y + 26 + 62 * i), line, font=body,
                   fill=(p.mine_text or p.text) if side == "me" else p.text)
        tick = " \u2713\u2713" if side == "me" else ""
        d.text((x0 + bw - 30, y + bh - 22), time + tick, font=font(32), fill=p.meta, anchor="rs")
        y += bh + 36
    d.rectangle([0, H - 170, W, H], fill=p.composer)
    d.rounded_rectangle([30, H - 140, W - 160, H - 40], 50, fill="white")
    d.text((80, H - 90), "Message", font=font(42), fill="#8696a0", anchor="lm")
    d.ellipse([W - 130, H - 140, W - 30, H - 40], fill=p.send)
    return im


def _photo(seed: int, width: int, height: int) -> Image.Image:
    """A photo-like picture: smooth gradient, a few shapes and sensor noise."""
    rng = random.Random(seed)
    base = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    tint = Image.new("RGB", (width, height), tuple(rng.randrange(60, 200) for _ in range(3)))
    im = Image.blend(base, tint, 0.6)
    d = ImageDraw.Draw(im)
    for _ in range(6):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(30, 140)
        d.ellipse([x - r, y - r, x + r, y + r],
                  fill=tuple(rng.randrange(256) for _ in range(3)))
    noise = Image.effect_noise((width, height), 40).convert("RGB")
    return Image.blend(im, noise, 0.25)


def chat(path: Path, clock: str, day: str, messages: list[tuple[str, str, str]],
         title: str = "GadgetWorld", subtitle: str = "Order IT-20231020-8841") -> None:
    """Draw a chat screenshot into a PNG file."""
    chat_image(clock, day, messages, title, subtitle).save(path, optimize=True)


def order_page(path: Path) -> None:
    """Draw an order-details screenshot into a PNG file."""
    im = Image.new("RGB", (W, H), "#f5f5f5")
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, W, 80], fill="#202020")
    d.text((40, 18), "10:12", font=font(40, True), fill="white")
    d.rectangle([0, 80, W, 240], fill="#ff5000")
    d.text((50, 120), "ItaoBuy  \u00b7  Order details", font=font(54, True), fill="white")
    rows = [
        ("Order number", "IT-20231020-8841"),
        ("Placed on", "2023-10-20 10:12"),
        ("Seller", "GadgetWorld"),
        ("Item", "Wireless earbuds, black"),
        ("Quantity", "1"),
        ("Paid", "USD 59.90"),
        ("Shipping", "Standard (7-12 days)"),
        ("Estimated delivery", "by 2023-11-01"),
        ("Status", "Awaiting shipment"),
    ]
    y = 300
    d.rounded_rectangle([30, y, W - 30, y + 130 * len(rows) + 40], 30, fill="white")
    for label, value in rows:
        d.text((80, y + 50), label, font=font(40), fill="#777777")
        d.text((W - 80, y + 50), value, font=font(42, True), fill="#222222", anchor="ra")
        y += 130
    d.rounded_rectangle([30, y + 120, W - 30, y + 260], 70, fill="#ff5000")
    d.text((W // 2, y + 190), "Contact seller", font=font(46, True), fill="white", anchor="mm")
    im.save(path, optimize=True)


LARGE_CASE_YAML = """\
title: No delivery for order IT-20240105-0042
claimant:
  name: Sam Buyer
seller:
  name: GadgetWorld
order:
  id: IT-20240105-0042
  date: 2024-01-05
  expected_delivery: 2024-01-20
  amount: 129.00
  currency: EUR
claim:
  type: item_not_received
  requested: full_refund
as_of: 2024-03-15
timezone: Europe/Berlin
"""

_ASKS = ["Where is my parcel? The tracking page still shows nothing.",
         "Could you please send me a valid tracking number for order 0042?",
         "It has been {n} days since I paid. Please ship or refund me.",
         "Your last message said it would ship soon. Any news on day {n}?"]
_REPLIES = ["We are checking with the warehouse, please wait {n} more days.",
            "Tracking will update within {n} days. Thank you for your patience.",
            "Sorry for the delay, the item ships tomorrow (ref {n}).",
            "Our courier had a problem. New tracking coming in {n} days."]


def make_large_case(root: Path, entries: int = 60, screenshots: int = 40) -> Path:
    """A case with `entries` entries, the first `screenshots` each with its own distinct
    full-resolution phone screenshot (1080x2340 PNG, a third with a photo in the chat)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "case.yaml").write_text(LARGE_CASE_YAML, encoding="utf-8")
    (root / "entries").mkdir(exist_ok=True)
    (root / "screenshots").mkdir(exist_ok=True)
    for i in range(entries):
        day, hour = 6 + i // 3, 9 + (i % 3) * 4
        month, mday = (1, day) if day <= 31 else (2, day - 31)
        stamp = f"2024-{month:02d}-{mday:02d} {hour:02d}:{(i * 7) % 60:02d}"
        mine = i % 2 == 0
        text = (_ASKS if mine else _REPLIES)[i % 4].format(n=i + 2)
        lines = [f"timestamp: {stamp}", "channel: ItaoBuy Messaging",
                 f"sender: {'me' if mine else 'seller'}",
                 (f"summary: {'I asked' if mine else 'The seller replied'} about the order "
                 f"(message {i + 1})."), f'quote: "{text}"']
        if i < screenshots:
            name = f"screenshots/{stamp[:10]}-{i + 1:02d}.png"
            other = (_REPLIES if mine else _ASKS)[(i + 1) % 4].format(n=i + 1)
            messages = [("them" if mine else "me", other, f"{hour - 1:02d}:10"),
                        ("me" if mine else "them", text, stamp[11:])]
            chat_image(stamp[11:], stamp[:10], messages, subtitle="Order IT-20240105-0042",
                       photo_seed=i if i % 3 == 0 else None).save(root / name)
            lines.append(f"attachments: [{name}]")
        if not mine and i % 4 == 1:
            lines += ["promise:", "  text: Tracking will update", f"  due: {stamp[:10]}"]
        (root / "entries" / f"{stamp[:10]}-{i + 1:02d}.yaml").write_text(
            "\n".join(lines) + "\n", encoding="utf-8")
    return root


def bubble_boxes(messages: list[tuple[str, str, str]], photo_seed: int | None = None
                 ) -> list[tuple[int, int, int, int]]:
    """The [x0, y0, x1, y1] of each message bubble chat_image draws for `messages` (the same
    geometry), e.g. to write an attachment's `highlight:`."""
    d = ImageDraw.Draw(Image.new("RGB", (W, 10)))
    body = font(44)
    y = 410 + (660 if photo_seed is not None else 0)
    boxes = []
    for side, text, _time in messages:
        lines: list[str] = []
        for para in text.split("\n"):
            lines += textwrap.wrap(para, 30) or [""]
        bw = min(880, max(int(d.textlength(line, font=body)) for line in lines) + 190)
        bh = 62 * len(lines) + 84
        x0 = W - 40 - bw if side == "me" else 40
        boxes.append((x0, y, x0 + bw, y + bh))
        y += bh + 36
    return boxes


DAMAGED_CASE_YAML = """\
title: Lid cracked on arrival, order IT-20240501-7730
platform: ItaoBuy
claimant:
  name: Robin Claimant
seller:
  name: BrightLine Home
order:
  id: IT-20240501-7730
  date: 2024-05-01
  item: Glass storage jar set
  amount: 48.50
  currency: EUR
claim:
  type: damaged
  requested: replacement
as_of: 2024-05-26
timezone: Europe/Madrid
statement: |
  The jar set arrived with a cracked lid. I sent photos the same day and the
  packaging photos the seller asked for; the promised replacement never came.
"""

_DAMAGED = [
    # (stamp, sender, summary, quote in the chat, other side's message, promise due)
    ("2024-05-03 10:05", "seller", "The seller confirmed shipment.",
     "Your order has shipped with Correos, tracking LP551204771CN.",
     "Hello, has my order shipped yet?", None),
    ("2024-05-09 18:40", "me", "I reported the cracked lid with photos.",
     "The lid arrived cracked. Photos of the jar and the box are attached.",
     "Delivered today, please confirm you received it.", None),
    ("2024-05-10 09:15", "seller", "The seller asked for photos of the packaging.",
     "Please send photos of the outer packaging within 48 hours so we can help.",
     "The lid arrived cracked. Photos attached.", None),
    ("2024-05-10 20:30", "me", "I sent the packaging photos on time.",
     "Here are the packaging photos you asked for, sent within the 48 hours.",
     "Please send photos of the outer packaging.", None),
    ("2024-05-13 11:00", "seller", "The seller promised a replacement within 5 days.",
     "We will send you a replacement lid within 5 days.",
     "Any news about the replacement?", "2024-05-18"),
    ("2024-05-20 08:45", "me", "I said the replacement had not arrived.",
     "The replacement has not arrived, the 5 days are over.",
     "We will send you a replacement lid within 5 days.", None),
    ("2024-05-24 12:10", "me", "I told the seller I would open a dispute.",
     "Without a reply by tomorrow I will open a dispute for a replacement.",
     "The replacement has not arrived.", None),
]


def make_damaged_case(root: Path) -> Path:
    """A damaged-item case of 8 entries and 9 pictures: 7 tall chat screenshots (each with a
    `highlight:` on its quoted message) and 2 photos of the damage in one entry."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "case.yaml").write_text(DAMAGED_CASE_YAML, encoding="utf-8")
    (root / "entries").mkdir(exist_ok=True)
    (root / "shots").mkdir(exist_ok=True)
    for i, (stamp, sender, summary, quote, other, due) in enumerate(_DAMAGED):
        mine = sender == "me"
        clock = stamp[11:]
        messages = [("them" if mine else "me", other, "08:00"),
                    ("me" if mine else "them", quote, clock)]
        name = f"shots/chat-{i + 1}.png"
        chat_image(clock, stamp[:10], messages, title="BrightLine Home",
                   subtitle="Order IT-20240501-7730",
                   palette=PALETTES[i % len(PALETTES)]).save(root / name, optimize=True)
        box = bubble_boxes(messages)[1]
        lines = [f"timestamp: {stamp}", "channel: ItaoBuy Messaging", f"sender: {sender}",
                 f"summary: {summary}", f'quote: "{quote}"', "attachments:",
                 f"  - path: {name}", f"    highlight: [[{', '.join(map(str, box))}]]"]
        if due:
            lines += ["promise:", "  text: Replacement lid sent", f"  due: {due}"]
        (root / "entries" / f"{stamp[:10]}-{i + 1}.yaml").write_text("\n".join(lines) + "\n",
                                                                      encoding="utf-8")
    for n in (1, 2):
        _photo(40 + n, 1600, 1200).save(root / "shots" / f"photo-{n}.jpg", quality=88)
    (root / "entries" / "2024-05-09-photos.yaml").write_text(
        "timestamp: 2024-05-09 18:35\nchannel: Photos\nsender: me\n"
        "summary: Photos of the cracked lid and of the box as delivered.\n"
        "attachments:\n  - path: shots/photo-1.jpg\n    caption: The cracked lid\n"
        "  - path: shots/photo-2.jpg\n    caption: The box as delivered\n", encoding="utf-8")
    return root

"""Chat screenshots with known quotes, for the quote-check tests and benchmarks/bench_quotes.py.

Each screenshot is drawn by casegen.chat_image in light or dark mode, in English or
Simplified Chinese; every message gives quotes that are in the picture verbatim (the
message, a part of it, and a quote running from one bubble into the next) with the
bubble(s) their box must lie in, and misquotes made from them by changing one number or
one word, which must never be "found".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from casegen import DARK, PALETTES, chat_image

ENGLISH = [
    ("them", "Hello, thanks for your order IT-20231020-8841. We ship within 5 days.", "09:10"),
    ("me", "You promised a refund of 10 EUR if it is late. Please confirm.", "09:12"),
    ("them", "Yes, a refund of 10 EUR will be paid by 14 November.", "09:30"),
    ("me", "Tracking still shows nothing after 12 days.", "10:05"),
    ("them", "Sorry for the delay, the courier had a problem with the label.", "10:40"),
    ("me", "Please send a valid tracking number today or I will open a dispute.", "11:02"),
]
ENGLISH_2 = [
    ("me", "The parcel arrived damaged and the box was open.", "08:15"),
    ("them", "We can offer a partial refund of 25.50 USD or a replacement.", "08:47"),
    ("me", "I want the replacement, shipped by express within 3 days.", "09:03"),
    ("them", "Agreed. The replacement ships on Monday with express delivery.", "09:20"),
    ("me", "Thank you, I will wait until Friday before I escalate this.", "09:31"),
]
CHINESE = [
    ("them", "您好，感谢您的订单。我们会在5天内发货。", "09:10"),
    ("me", "你答应过如果迟到就退款10欧元，请确认。", "09:12"),
    ("them", "是的，10欧元的退款将在11月14日前支付。", "09:30"),
    ("me", "追踪信息12天后仍然没有显示。", "10:05"),
    ("them", "抱歉耽误了，快递的标签出了问题。", "10:40"),
]
SWAPS = {"refund": "return", "within": "after", "ship": "send", "send": "ship", "paid": "sent",
         "valid": "new", "thanks": "sorry", "tracking": "delivery", "promised": "offered",
         "late": "lost", "replacement": "voucher", "express": "standard", "friday": "monday",
         "monday": "friday", "damaged": "wet", "open": "torn", "partial": "full",
         "nothing": "little", "courier": "seller", "problem": "delay", "wait": "hope",
         "please": "kindly", "agreed": "refused", "label": "address", "will": "may"}
CJK_SWAPS = {"退": "付", "没": "已", "迟": "早", "快": "邮", "问": "难", "发": "收", "请": "不",
             "是": "不", "追": "物", "感": "多"}


@dataclass(frozen=True)
class Shot:
    name: str
    messages: list[tuple[str, str, str]]
    dark: bool
    language: str


SHOTS = (
    Shot("en-light", ENGLISH, False, "en"),
    Shot("en-dark", ENGLISH, True, "en"),
    Shot("en2-orange", ENGLISH_2, False, "en"),
    Shot("en2-dark", ENGLISH_2, True, "en"),
    Shot("zh-light", CHINESE, False, "zh"),
    Shot("zh-dark", CHINESE, True, "zh"),
)


def draw(shot: Shot):  # noqa: ANN201 - (PIL image, bubble boxes)
    bubbles: list[tuple[int, int, int, int]] = []
    palette = DARK if shot.dark else PALETTES[1 if shot.name.startswith("en2") else 0]
    title, subtitle = (("数码世界", "订单 IT-20231020-8841") if shot.language == "zh"
                       else ("GadgetWorld", "Order IT-20231020-8841"))
    image = chat_image("10:12", "11月14日" if shot.language == "zh" else "14 November",
                       shot.messages, title=title, subtitle=subtitle, palette=palette,
                       bubbles=bubbles)
    return image, bubbles


def verbatim(shot: Shot) -> list[tuple[str, list[int]]]:
    """(quote, indexes of the bubbles it is in) for every quote present as typed."""
    quotes: list[tuple[str, list[int]]] = []
    texts = [m[1] for m in shot.messages]
    for k, text in enumerate(texts):
        quotes.append((text, [k]))
        if shot.language == "zh":
            if len(text) > 10:
                quotes.append((text[2:10], [k]))
        else:
            words = text.split()
            if len(words) > 6:
                quotes.append((" ".join(words[2:7]), [k]))
    for k in range(len(texts) - 1):  # from the end of one bubble into the next
        if shot.language == "zh":
            cut = len(texts[k]) - 6
            while cut > 0 and texts[k][cut - 1].isdigit():  # never half a number
                cut -= 1
            quotes.append((texts[k][cut:] + texts[k + 1][:6], [k, k + 1]))
        else:
            quotes.append((" ".join(texts[k].split()[-4:] + texts[k + 1].split()[:4]),
                           [k, k + 1]))
    return quotes


def misquotes(quote: str) -> list[tuple[str, str]]:
    """(kind, misquote): the quote with one number changed, and with one word changed."""
    out = []
    numbers = list(re.finditer(r"\d+", quote))
    if numbers:
        n = numbers[len(numbers) // 2]
        value = n.group()
        changed = value[:-1] + str((int(value[-1]) + 3) % 10)
        out.append(("number", quote[:n.start()] + changed + quote[n.end():]))
    for word in re.findall(r"[A-Za-z]+", quote):
        swap = SWAPS.get(word.lower())
        if swap:
            swap = swap.capitalize() if word[0].isupper() else swap
            out.append(("word", re.sub(rf"\b{word}\b", swap, quote, count=1)))
            break
    else:
        for k, c in enumerate(quote):
            if c in CJK_SWAPS:
                out.append(("word", quote[:k] + CJK_SWAPS[c] + quote[k + 1:]))
                break
    return out


def inside(box: list[int], bubbles: list[tuple[int, int, int, int]]) -> bool:
    """The box lies within the union of these bubbles (a few pixels of slack)."""
    x0 = min(b[0] for b in bubbles) - 4
    y0 = min(b[1] for b in bubbles) - 4
    x1 = max(b[2] for b in bubbles) + 4
    y1 = max(b[3] for b in bubbles) + 4
    return x0 <= box[0] and y0 <= box[1] and box[2] <= x1 and box[3] <= y1

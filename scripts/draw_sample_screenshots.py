"""Draw the sample case's chat screenshots (run once; the PNGs are committed).

    python scripts/draw_sample_screenshots.py sample_case/screenshots

Needs DejaVu fonts (Debian: fonts-dejavu-core). The chat pictures are drawn by
benchmarks/screens.py, which the benchmark's synthetic cases share.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.screens import H, W, chat_image, font


def chat(path: Path, clock: str, day: str, messages: list[tuple[str, str, str]],
         title: str = "GadgetWorld", subtitle: str = "Order IT-20231020-8841") -> None:
    """messages: (side 'me'|'them', text, time)."""
    chat_image(clock, day, messages, title, subtitle).save(path, optimize=True)


def order_page(path: Path) -> None:
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


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    order_page(out / "2023-10-20-order-details.png")
    ask = ("Hello, I ordered wireless earbuds on Oct 20 (order IT-20231020-8841). "
           "Could you please confirm shipment and send me the tracking number?")
    chat(out / "2023-10-26-1430-asked-for-tracking.png", "14:31", "26 October 2023",
         [("me", ask, "14:30")])
    promise = "Tracking will update in 2 days. Please wait."
    chat(out / "2023-10-27-0915-seller-promise.png", "09:16", "27 October 2023",
         [("me", ask, "Oct 26, 14:30"), ("them", promise, "09:15")])
    ultimatum = ("It has been 3 days and the tracking number still shows nothing. "
                 "If I do not receive a valid tracking number by November 1, I will open "
                 "a dispute and ask for a full refund.")
    chat(out / "2023-10-30-1800-follow-up.png", "18:01", "30 October 2023",
         [("them", promise, "Oct 27, 09:15"), ("me", ultimatum, "18:00")])
    last = ("This is my last attempt to settle this with you directly. There is still no "
            "tracking information and the delivery date (Nov 1) has passed. Please refund "
            "the order today.")
    chat(out / "2023-11-02-1105-last-attempt.png", "11:06", "2 November 2023",
         [("me", ultimatum, "Oct 30, 18:00"), ("me", last, "11:05")])
    # The seller's promise again, as the JPEG the buyer e-mailed to herself.
    Image.open(out / "2023-10-27-0915-seller-promise.png").convert("RGB").save(
        out / "emailed" / "IMG_2023-10-27_seller.jpg" if (out / "emailed").is_dir()
        else _mkdir(out / "emailed") / "IMG_2023-10-27_seller.jpg", quality=82)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "sample_case/screenshots"))

"""The quote check on drawn chat screenshots: counts and OCR CPU time per screenshot.

    python benchmarks/bench_quotes.py               # the engine itaoreport uses (tesseract)
    python benchmarks/bench_quotes.py --compare     # also tesserocr and RapidOCR, if installed
    python benchmarks/bench_quotes.py --real DIR    # also the quotes of real_quotes.json in DIR

Screenshots come from tests/quotecases.py (casegen's chat drawing: light and dark mode,
English and Simplified Chinese, 1080x2340). For each: every quote present verbatim must
be `found` with its box inside the right bubble(s), and no quote with one number or one
word changed may be `found`. CPU time is OCR alone (decode excluded), cold: each
tesseract run is a fresh process that loads its model, as in a build.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for extra in (ROOT, ROOT / "tests"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))


def cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def tesseract_reader():  # noqa: ANN201
    from itaoreport.evidence.ocr import find_engine, languages_for, read_words

    engine = find_engine()
    if engine is None:
        raise SystemExit("tesseract is not installed")

    def read(image, language):  # noqa: ANN001, ANN202
        spec = engine.spec(languages_for("中" if language == "zh" else "a"))
        if spec is None:
            return None
        return read_words(image, spec)

    return f"tesseract {engine.version} (command, psm 3, reduced to 720 px wide)", read


def tesserocr_reader():  # noqa: ANN201 - the same preparation through the library
    import tesserocr

    from itaoreport.evidence.ocr import OcrText, prepare

    apis: dict[str, object] = {}

    def read(image, language):  # noqa: ANN001, ANN202
        lang = "chi_sim" if language == "zh" else "eng"
        if lang not in apis:
            apis[lang] = tesserocr.PyTessBaseAPI(path="/usr/share/tesseract-ocr/5/tessdata",
                                                 lang=lang, psm=tesserocr.PSM.AUTO)
        api = apis[lang]
        gray, factor = prepare(image)
        api.SetImage(gray)
        api.Recognize()
        words = []
        it = api.GetIterator()
        level = tesserocr.RIL.WORD
        line = 0
        for w in tesserocr.iterate_level(it, level):
            text = w.GetUTF8Text(level)
            box = w.BoundingBox(level)
            if text and box:
                if w.IsAtBeginningOf(tesserocr.RIL.TEXTLINE):
                    line += 1
                words.append({"text": text, "box": [v * factor for v in box], "line": line,
                              "block": 0})
        return OcrText("tesserocr", words)

    return f"tesserocr {tesserocr.tesseract_version().split()[1]} (library, model kept loaded)", read


def rapidocr_reader():  # noqa: ANN201
    import numpy as np
    from rapidocr_onnxruntime import RapidOCR

    from itaoreport.evidence.ocr import OcrText

    engine = RapidOCR()

    def read(image, language):  # noqa: ANN001, ANN202
        result, _ = engine(np.asarray(image.convert("RGB")))
        words = []
        for line, (points, text, _score) in enumerate(result or []):
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            words.append({"text": text, "box": [int(min(xs)), int(min(ys)), int(max(xs)),
                                                int(max(ys))], "line": line, "block": line})
        return OcrText("rapidocr", words)

    return "RapidOCR (PP-OCRv4 on onnxruntime, full size)", read


def run(name: str, read, shots, say=print) -> dict:  # noqa: ANN001
    from quotecases import draw, inside, misquotes, verbatim

    from itaoreport.analysis.quotes import find_quote

    found = present = in_bubble = changed = wrongly_found = 0
    seconds: list[float] = []
    misses: list[str] = []
    for shot in shots:
        image, bubbles = draw(shot)
        c = cpu()
        text = read(image, shot.language)
        if text is None:
            say(f"  {shot.name}: language not installed, skipped")
            continue
        seconds.append(cpu() - c)
        for quote, where in verbatim(shot):
            present += 1
            result = find_quote(quote, text)
            if result.found:
                found += 1
                if result.box and inside(result.box, [bubbles[k] for k in where]):
                    in_bubble += 1
                else:
                    misses.append(f"{shot.name}: box outside bubble: {quote!r} {result.box}")
            else:
                misses.append(f"{shot.name}: not found: {quote!r} (closest {result.closest!r})")
            for kind, wrong in misquotes(quote):
                changed += 1
                if find_quote(wrong, text).found:
                    wrongly_found += 1
                    misses.append(f"{shot.name}: changed {kind} found: {wrong!r}")
    return {"engine": name, "screenshots": len(seconds), "present": present, "found": found,
            "in_bubble": in_bubble, "changed": changed, "wrongly_found": wrongly_found,
            "cpu_per_screenshot": sum(seconds) / max(1, len(seconds)),
            "cpu_max": max(seconds, default=0.0), "misses": misses}


def run_real(folder: Path, read) -> None:  # noqa: ANN001
    """Quotes of benchmarks/real_quotes.json in the real screenshots saved in `folder`."""
    import json
    import re

    from quotecases import misquotes

    from itaoreport.analysis.quotes import find_quote
    from itaoreport.evidence.images import open_image

    spec = json.loads((ROOT / "benchmarks" / "real_quotes.json").read_text(encoding="utf-8"))
    found = present = changed = wrongly = 0
    seconds = []
    for name, quotes in spec["quotes"].items():
        path = folder / name
        if not path.is_file():
            print(f"  {name}: not in {folder}, skipped")
            continue
        image = open_image(path).image
        c = cpu()
        text = read(image, "en")
        seconds.append(cpu() - c)
        for quote in quotes:
            present += 1
            result = find_quote(quote, text)
            if result.found:
                found += 1
            else:
                print(f"    {name}: not found: {quote!r} (closest {result.closest!r})")
            wrong = misquotes(quote) or []
            longest = max(re.findall(r"[A-Za-z]{4,}", quote), key=len, default=None)
            if longest:
                wrong.append(("word", quote.replace(longest, "something", 1)))
            for kind, misquote in wrong:
                changed += 1
                if find_quote(misquote, text).found:
                    wrongly += 1
                    print(f"    {name}: changed {kind} found: {misquote!r}")
    print(f"  real screenshots: {len(seconds)}; quotes found {found}/{present}; with one changed "
          f"number or word found {wrongly}/{changed}; OCR CPU per screenshot "
          f"{sum(seconds) / max(1, len(seconds)):.2f} s (max {max(seconds, default=0):.2f} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compare", action="store_true",
                        help="also measure tesserocr and RapidOCR where installed")
    parser.add_argument("--real", type=Path, help="folder with the real screenshots that "
                        "benchmarks/real_quotes.json names (it says where they come from)")
    args = parser.parse_args(argv)
    from quotecases import SHOTS

    readers = [tesseract_reader]
    if args.compare:
        readers += [tesserocr_reader, rapidocr_reader]
    for make in readers:
        try:
            name, read = make()
        except ImportError as exc:
            print(f"{make.__name__}: not installed ({exc})")
            continue
        t = time.perf_counter()
        r = run(name, read, SHOTS)
        print(f"{r['engine']}: {r['screenshots']} screenshots; verbatim quotes found "
              f"{r['found']}/{r['present']} (box inside the right bubble: {r['in_bubble']}); "
              f"quotes with one changed number or word found: {r['wrongly_found']}/"
              f"{r['changed']}; OCR CPU per screenshot {r['cpu_per_screenshot']:.2f} s "
              f"(max {r['cpu_max']:.2f} s); wall {time.perf_counter() - t:.1f} s")
        for miss in r["misses"]:
            print(f"    {miss}")
        if args.real:
            run_real(args.real, read)
    return 0


if __name__ == "__main__":
    sys.exit(main())

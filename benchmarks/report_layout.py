"""Does the report argue? Issue #15's targets, measured on real builds.

    python benchmarks/report_layout.py [--keep DIR]

Builds sample_case and a damaged-item case of 8 entries and 9 pictures (7 tall chat
screenshots, 2 photos; tests/casegen.make_damaged_case) and prints, per case:
- pages (targets: sample <= 5, damaged case <= 7);
- whether page 1's text (pdftotext) holds the summary's first sentence and every broken
  promise;
- whether every exhibit's line in the index gives the page the exhibit is on;
- amex: the share of coloured pixels (target: none beyond anti-aliasing);
- legibility: each quote read back by OCR from the pictures alone at 100 dpi
  (`gs -dFILTERTEXT -sDEVICE=png16m -r100` drops every text object, then
  `tesseract PAGE - -l eng+chi_sim --psm 11`), fuzzy-matched (target >= 0.85 each): the
  issue's measurement exactly, so Ghostscript samples pictures without smoothing (PDF/A
  forbids /Interpolate); `--interpolate` adds -dDOINTERPOLATE, smoothing as viewers do.
tests/test_report_layout.py runs the same checks (skipping what needs a missing tool).
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PAGE_TARGETS = {"sample": 5, "damaged": 7}
LEGIBLE = 0.85
INTERPOLATE: list[str] = []
"""Extra Ghostscript options of the legibility render (main(): --interpolate)."""
COLOUR_TOLERANCE = 24
"""A pixel is coloured when its channels differ by more than this (anti-aliasing of grey on
grey never does)."""


def build_pdf(case: Path, out: Path, profile: str = "generic") -> Path:
    from itaoreport.build import BuildOptions, build
    from itaoreport.render.profiles import PROFILES

    build(case, BuildOptions(out=out, formats=("pdf", "json"), profile=PROFILES[profile]))
    return out / "report.pdf"


def page_count(pdf: Path) -> int:
    import pypdf

    return len(pypdf.PdfReader(pdf).pages)


def pdftotext(pdf: Path, first: int, last: int, layout: bool = False) -> str:
    args = ["pdftotext", "-f", str(first), "-l", str(last)] + (["-layout"] if layout else [])
    return subprocess.run([*args, str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout


def words(text: str) -> str:
    return " ".join(text.split())


def page_one_check(pdf: Path, report: dict) -> dict:
    """Page 1 holds the summary's first sentence and every broken or pending promise."""
    text = words(pdftotext(pdf, 1, 1))
    first = re.split(r"(?<=[.!?])\s", report["summary"], maxsplit=1)[0]
    promises = [p["text"] for p in report["promises"] if p["status"] in ("broken", "pending")]
    return {"summary_first_sentence": first in text,
            "promises": {p: words(p) in text for p in promises}}


def index_check(pdf: Path) -> dict[str, tuple[int | None, int]]:
    """Exhibit label -> (page the index gives, page the exhibit is on)."""
    import pypdf

    reader = pypdf.PdfReader(pdf)
    actual = {}
    for name, dest in reader.named_destinations.items():
        if name.startswith("exhibit-"):
            actual[name[len("exhibit-"):]] = reader.get_destination_page_number(dest) + 1
    index_text = pdftotext(pdf, 1, min(3, len(reader.pages)), layout=True)
    given: dict[str, int] = {}
    for line in index_text.splitlines():
        found = re.match(r"^\s*(E\d+)\s.*\s(\d+)\s*$", line)
        if found and found.group(1) in actual:
            given.setdefault(found.group(1), int(found.group(2)))
    return {label: (given.get(label), page) for label, page in actual.items()}


def coloured_share(pdf: Path, work: Path) -> float:
    """Share of pixels (40 dpi) whose colour channels differ by more than the tolerance."""
    import numpy as np
    from PIL import Image

    prefix = work / "colour"
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(pdf), str(prefix)], check=True)
    total = coloured = 0
    for page in sorted(work.glob("colour-*.png")):
        a = np.asarray(Image.open(page).convert("RGB")).astype(int)
        spread = a.max(axis=2) - a.min(axis=2)
        total += spread.size
        coloured += int((spread > COLOUR_TOLERANCE).sum())
    return coloured / max(total, 1)


def legibility_tools() -> str | None:
    """Why the legibility measurement cannot run here, or None."""
    for tool, package in (("gs", "ghostscript"), ("tesseract", "tesseract-ocr")):
        if shutil.which(tool) is None:
            return f"{tool} is absent (Debian package {package})"
    langs = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True).stdout
    if "chi_sim" not in langs.split() or "eng" not in langs.split():
        return "tesseract lacks eng or chi_sim (tesseract-ocr-eng, tesseract-ocr-chi-sim)"
    return None


def picture_text(pdf: Path, work: Path) -> str:
    """What OCR reads from the pictures alone at 100 dpi (every text object removed)."""
    out = work / "nofont"
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(["gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-dFILTERTEXT",
                    *INTERPOLATE, "-sDEVICE=png16m", "-r100",
                    f"-sOutputFile={out}/p-%03d.png", str(pdf)],
                   check=True)
    texts = []
    for page in sorted(out.glob("p-*.png")):
        texts.append(subprocess.run(["tesseract", str(page), "-", "-l", "eng+chi_sim",
                                     "--psm", "11"], capture_output=True, text=True,
                                    check=True).stdout)
    return "\n".join(texts)


def _norm(text: str) -> list[str]:
    return re.sub(r"[^\w]+", " ", text.lower()).split()


def best_match(quote: str, text: str) -> float:
    """How much of `quote` OCR read, in order, from one stretch of `text` (0-1).

    The share of the quote's characters (case and punctuation ignored) found in order in a
    run of at most len(quote words) + 8 OCR words, counting matches of 2 or more characters:
    OCR of a sparse page (--psm 11) puts a bubble's lines apart, with stray marks from the
    pictures between them, so the quote's words need not be adjacent in its output.
    """
    want, have = _norm(quote), _norm(text)
    target = " ".join(want)
    best = 0.0
    n = len(want)
    for start in range(0, max(1, len(have))):
        candidate = " ".join(have[start:start + n + 8])
        if not candidate or candidate[:1] not in target:
            continue
        blocks = difflib.SequenceMatcher(None, target, candidate, autojunk=False
                                         ).get_matching_blocks()
        best = max(best, sum(b.size for b in blocks if b.size >= 2) / len(target))
    return round(best, 3)


def legibility(pdf: Path, quotes: list[str], work: Path) -> dict[str, float]:
    text = picture_text(pdf, work)
    return {quote: best_match(quote, text) for quote in quotes}


def measure(name: str, case: Path, work: Path) -> dict:
    out = work / name
    pdf = build_pdf(case, out)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    result = {"case": name, "pages": page_count(pdf), "target_pages": PAGE_TARGETS.get(name),
              "page_one": page_one_check(pdf, report), "index": index_check(pdf)}
    amex = build_pdf(case, work / f"{name}-amex", "amex")
    result["amex_coloured_share"] = coloured_share(amex, work / f"{name}-amex")
    why = legibility_tools()
    if why:
        result["legibility"] = f"skipped: {why}"
    else:
        quotes = [e["quote"] for e in report["entries"] if e.get("quote")]
        result["legibility"] = legibility(pdf, quotes, work / f"{name}-ocr")
    return result


def main(argv: list[str] | None = None) -> int:
    from casegen import make_damaged_case

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="keep the builds in this folder")
    parser.add_argument("--interpolate", action="store_true",
                        help="render pictures smoothly (gs -dDOINTERPOLATE), as PDF viewers "
                             "do; the issue's measurement is without")
    args = parser.parse_args(argv)
    if args.interpolate:
        INTERPOLATE.append("-dDOINTERPOLATE")
    work = args.keep or Path(tempfile.mkdtemp(prefix="itaoreport-layout-"))
    work.mkdir(parents=True, exist_ok=True)
    sample = work / "sample-case"
    if not sample.exists():
        shutil.copytree(ROOT / "sample_case", sample,
                        ignore=shutil.ignore_patterns("build", ".itaoreport"))
    damaged = work / "damaged-case"
    if not damaged.exists():
        make_damaged_case(damaged)
    ok = True
    for name, case in (("sample", sample), ("damaged", damaged)):
        r = measure(name, case, work)
        index_ok = all(given == page for given, page in r["index"].values())
        legible = r["legibility"]
        print(f"{name}: {r['pages']} pages (target <= {r['target_pages']}); page 1 has the "
              f"summary's first sentence: {r['page_one']['summary_first_sentence']}, every "
              f"open promise: {all(r['page_one']['promises'].values())}; index pages right: "
              f"{index_ok} {r['index']}; amex coloured pixels: {r['amex_coloured_share']:.4%}")
        if isinstance(legible, dict):
            for quote, score in legible.items():
                print(f"  legibility {score:.3f} {'ok ' if score >= LEGIBLE else 'LOW'} {quote}")
            ok &= all(score >= LEGIBLE for score in legible.values())
        else:
            print(f"  legibility {legible}")
        ok &= (r["pages"] <= r["target_pages"] and r["page_one"]["summary_first_sentence"]
               and all(r["page_one"]["promises"].values()) and index_ok
               and r["amex_coloured_share"] < 0.0005)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    print("all targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

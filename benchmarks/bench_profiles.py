"""PDF size and time per profile for a 60-entry case with 40 full-resolution phone screenshots.

    python benchmarks/bench_profiles.py [--entries 60] [--screenshots 40] [--keep DIR]

Baseline, measured in the same run: WeasyPrint alone on the same print HTML with the
800 px screen renditions (what `build` did before fitting). Each profile builds with a
warm rendition cache (the first, cold build is reported separately).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from casegen import make_large_case

from itaoreport.build import BuildOptions, build
from itaoreport.errors import BuildFailed
from itaoreport.render.profiles import PROFILES, resolve_profile


def baseline(case: Path, work: Path) -> tuple[int, float]:
    """WeasyPrint alone: the same print HTML, with the 800 px screen renditions, no fitting."""
    from itaoreport.render import fit
    from itaoreport.render.pdf import render_document, write_document

    measured: list[tuple[int, float]] = []

    def weasyprint_alone(job, profile, embed_originals=None, say=None):
        assets = dict(job.assets)
        for image in job.images:
            name = next(n for n in job.assets if n.startswith(f"assets/{image.sha256[:16]}."))
            assets[fit.image_url(image.label)] = job.assets[name]
        t = time.perf_counter()
        pdf = write_document(render_document(job.html_for(fit.LAYOUTS[0]), assets),
                             job.attachments, job.when)
        measured.append((len(pdf), time.perf_counter() - t))
        return fit.FitResult(pdf, fit.LAYOUTS[0], fit.QUALITY_STEPS[0], 0, 0, len(job.originals))

    real = fit.fit_pdf
    fit.fit_pdf = weasyprint_alone
    try:
        build(case, BuildOptions(out=work / "baseline", formats=("pdf",)))
    finally:
        fit.fit_pdf = real
    return measured[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=60)
    parser.add_argument("--screenshots", type=int, default=40)
    parser.add_argument("--keep", type=Path, help="keep the case and outputs here")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-profiles-"))
    case = make_large_case(work / "case", args.entries, args.screenshots)
    size = sum(p.stat().st_size for p in (case / "screenshots").iterdir())
    print(f"case: {args.entries} entries, {args.screenshots} screenshots 1080x2340, "
          f"{size / 1e6:.1f} MB of originals")
    t = time.perf_counter()
    build(case, BuildOptions(out=work / "cold", formats=("pdf",)))
    print(f"cold build (generic, empty cache): {time.perf_counter() - t:.1f} s")
    base_size, base_time = baseline(case, work)
    print(f"{'profile':<11} {'bytes':>11} {'pages':>5} {'layout':<9} {'step':<12} "
          f"{'renders':>7} {'seconds':>7} {'vs baseline':>11}")
    print(f"{'baseline':<11} {base_size:>11,} {'':>5} {'':<9} {'800px q85':<12} {1:>7} "
          f"{base_time:>7.1f} {1:>10.2f}x")
    for name in PROFILES:
        t = time.perf_counter()
        try:
            result = build(case, BuildOptions(out=work / name, formats=("pdf",),
                                              profile=resolve_profile(name)))
        except BuildFailed as exc:
            print(f"{name:<11} does not fit: {exc.format_message()[:150]}...")
            continue
        took = time.perf_counter() - t
        fit = result.pdf
        assert fit is not None
        print(f"{name:<11} {len(fit.pdf):>11,} {fit.pages:>5} {fit.layout.name:<9} "
              f"{f'{fit.step.ppi}ppi q{fit.step.quality}':<12} {fit.renders:>7} {took:>7.1f} "
              f"{took / base_time:>10.2f}x")


if __name__ == "__main__":
    main()

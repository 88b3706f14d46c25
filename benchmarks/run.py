"""Measure itaoreport on a large synthetic case against baselines measured in the same run.

    python benchmarks/run.py                 # 1,000 entries, 300 screenshots, 30 copies
    python benchmarks/run.py --quick         # 100 entries, 30 screenshots, 6 copies
    python benchmarks/run.py --entries 2000 --screenshots 500 --copies 50

Prints every figure of issue #9 with its ratio and target, and writes
benchmarks/results/latest.json (and latest.md, a table for BENCHMARKS.md).
Each build runs in its own process, like a command-line run; the synthetic case
is generated once per set of parameters and cached in benchmarks/work/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.synth import Spec, ensure_case
from benchmarks.targets import TARGETS, check_all, format_value

FULL = Spec(entries=1000, screenshots=300, copies=30)
QUICK = Spec(entries=100, screenshots=30, copies=6)
SAMPLE_CASE = ROOT / "sample_case"
CACHE_DIR = ".itaoreport"
BUILD_DIR = "build"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    spec = QUICK if args.quick else FULL
    spec = Spec(args.entries or spec.entries, args.screenshots if args.screenshots is not None
                else spec.screenshots, args.copies if args.copies is not None else spec.copies)
    case = ensure_case(spec, args.work, say=note)
    results = measure(spec, case, args)
    write_results(results, args.results)
    print_results(results)
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="small case (100 entries, 30 screenshots) for a smoke test")
    parser.add_argument("--entries", type=int, help="entries in the synthetic case")
    parser.add_argument("--screenshots", type=int, help="distinct screenshots")
    parser.add_argument("--copies", type=int, help="re-encoded copies of screenshots")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each cheap measurement; the best counts (default 3)")
    parser.add_argument("--work", type=Path, default=ROOT / "benchmarks" / "work",
                        help="where synthetic cases are generated and kept")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results",
                        help="where latest.json and latest.md are written")
    return parser.parse_args(argv)


def note(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def compile_bytecode() -> None:
    """Compile itaoreport's modules to bytecode first, as `pip install` does.

    Otherwise, where PYTHONDONTWRITEBYTECODE is set (as in some sandboxes and CI images),
    every measured process compiles all ~120 modules from source again: ~0.2-0.3 s of
    each command-line run that no installed copy pays."""
    import compileall

    compileall.compile_dir(str(ROOT / "itaoreport"), quiet=1)


def measure(spec: Spec, case: Path, args: argparse.Namespace) -> dict:
    """Every measurement, in an order where each one finds the state it needs."""
    capture = args.work / f"{spec.key}-pdf-input"
    runs: dict[str, dict] = {}
    compile_bytecode()
    note("cold full build (no cache, no previous output) ...")
    clean(case)
    runs["cold_full"] = child("build", case, "html,pdf,json,txt,csv")
    note("warm full build ...")
    runs["warm_full"] = child("build", case, "html,pdf,json,txt,csv", "--capture", capture)
    note("warm HTML-only builds ...")
    runs["warm_html"] = best_of(args.repeat, "build", case, "html")
    note("watch mode: rebuilds after editing one entry ...")
    runs["rebuild_html"] = child("rebuild", case)
    note("watch mode with the PDF on (the default): rebuilds while report.pdf renders ...")
    runs["rebuild_html_pdf"] = child("rebuild", case, "--pdf")
    note("baseline: Pillow decode of every image + one OCR call per picture the build reads "
         "+ WeasyPrint alone on the same HTML ...")
    images = sorted(str(p) for p in (case / "screenshots").rglob("*") if p.is_file())
    runs["baseline"] = child("baseline", capture, *images, "--ocr", *quoted_images(case))
    note("command-line start-up ...")
    cli = {
        "python_pass": best_of_wall(args.repeat * 3, [sys.executable, "-c", "pass"]),
        "help": best_of_wall(args.repeat * 3, [sys.executable, "-m", "itaoreport", "--help"]),
        "validate_sample": best_of_wall(args.repeat * 3, [sys.executable, "-m", "itaoreport",
                                                          "validate", str(SAMPLE_CASE)]),
        "validate_large": best_of_wall(args.repeat, [sys.executable, "-m", "itaoreport",
                                                     "validate", str(case)]),
    }
    imports = {"help": child("imports", "--help")["heavy_imports"],
               "validate": child("imports", "validate", str(SAMPLE_CASE))["heavy_imports"]}
    return {
        "spec": {"entries": spec.entries, "screenshots": spec.screenshots, "copies": spec.copies,
                 "images": len(images), "case": str(case)},
        "machine": machine(),
        "figures": figures(runs, cli),
        "runs": runs,
        "cli": cli,
        "heavy_imports": imports,
        "watch_mode": runs["rebuild_html"].get("mode"),
    }


def quoted_images(case: Path) -> list[str]:
    """The pictures the build reads with OCR: each image attached to an entry with a quote
    (quote check) and every other picture (privacy check, #19). (A quoted copy of another screenshot makes the build read the kept file too; the
    baseline does not count that extra call.)"""
    from itaoreport.build import ocr_requests
    from itaoreport.case.validate import load_case
    from itaoreport.privacy import picture_scan_requests

    loaded = load_case(case)
    assert loaded.case is not None
    wanted, _notes = ocr_requests(loaded.case)
    scan, _notes = picture_scan_requests(loaded.case, wanted)  # the privacy check's pictures
    return sorted({str(case / path) for path in {**scan, **wanted}})


def figures(runs: dict[str, dict], cli: dict[str, dict]) -> dict[str, float]:
    """The flat numbers the targets read: process wall times unless said otherwise."""
    builds = [r for name, r in runs.items() if name != "baseline"]
    return {
        "cold_full_s": runs["cold_full"]["wall_seconds"],
        "warm_full_s": runs["warm_full"]["wall_seconds"],
        "warm_html_s": runs["warm_html"]["wall_seconds"],
        "warm_html_in_process_s": runs["warm_html"]["seconds"],
        "rebuild_html_s": runs["rebuild_html"]["seconds"],
        "rebuild_html_pdf_s": runs["rebuild_html_pdf"]["seconds"],
        "rebuild_html_pdf_median_s": runs["rebuild_html_pdf"]["median_seconds"],
        "rebuild_html_median_s": runs["rebuild_html"]["median_seconds"],
        "save_to_report_s": runs["rebuild_html"]["save_to_report_seconds"],
        "save_to_report_median_s": runs["rebuild_html"]["save_to_report_median_seconds"],
        "baseline_s": runs["baseline"]["wall_seconds"],
        "cold_full_cpu_s": runs["cold_full"]["cpu_seconds"],
        "baseline_cpu_s": runs["baseline"]["cpu_seconds"],
        "baseline_decode_s": runs["baseline"]["decode_seconds"],
        "baseline_weasyprint_s": runs["baseline"]["weasyprint_seconds"],
        "baseline_ocr_s": runs["baseline"].get("ocr_seconds", 0.0),
        "baseline_ocr_images": runs["baseline"].get("ocr_images", 0),
        "peak_rss_bytes": max(r["peak_rss_bytes"] for r in builds),
        "pdf_bytes": runs["cold_full"]["pdf_bytes"],
        "baseline_pdf_bytes": runs["baseline"]["pdf_bytes"],
        "python_pass_s": cli["python_pass"]["best"],
        "help_s": cli["help"]["best"],
        "validate_sample_s": cli["validate_sample"]["best"],
        "validate_large_s": cli["validate_large"]["best"],
    }


def clean(case: Path) -> None:
    """Forget everything a previous build left: the cache and the output."""
    for name in (CACHE_DIR, BUILD_DIR):
        shutil.rmtree(case / name, ignore_errors=True)


def child(*args: object) -> dict:
    """Run one measurement in a fresh process; its JSON plus the process's wall time."""
    command = [sys.executable, "-m", "benchmarks.child", *map(str, args)]
    t = time.perf_counter()
    done = subprocess.run(command, check=False, cwd=ROOT, capture_output=True, text=True,
                          env=child_env())
    wall = time.perf_counter() - t
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"measurement failed: {' '.join(command[3:])[:200]}")
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    outcome["wall_seconds"] = wall
    return outcome


def best_of(repeat: int, *args: object) -> dict:
    """The fastest of `repeat` runs (by wall time), with every wall time kept."""
    runs = [child(*args) for _ in range(max(1, repeat))]
    best = min(runs, key=lambda r: r["wall_seconds"])
    return {**best, "all_wall_seconds": [r["wall_seconds"] for r in runs]}


def best_of_wall(repeat: int, command: list[str]) -> dict:
    walls = []
    for _ in range(max(1, repeat)):
        t = time.perf_counter()
        subprocess.run(command, cwd=ROOT, capture_output=True, check=True, env=child_env())
        walls.append(time.perf_counter() - t)
    return {"best": min(walls), "median": statistics.median(walls), "runs": len(walls)}


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def machine() -> dict:
    from importlib import metadata

    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    info = {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": cpu_model(),
        "ram_bytes": ram_bytes(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "weasyprint": version("weasyprint"),
        "pillow": version("pillow"),
        "pyyaml_c": _has_libyaml(),
        "commit": git_commit(),
        "bytecode": "compiled before measuring (as pip install does)"
                    + ("; PYTHONDONTWRITEBYTECODE is set" if os.environ.get(
                        "PYTHONDONTWRITEBYTECODE") else ""),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    return info


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def ram_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _has_libyaml() -> bool:
    try:
        from yaml import CSafeLoader  # noqa: F401
    except ImportError:
        return False
    return True


def git_commit() -> str | None:
    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], check=False, cwd=ROOT, capture_output=True, text=True)

    head = git("rev-parse", "--short", "HEAD")
    if head.returncode != 0:
        return None
    dirty = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
    return head.stdout.strip() + ("+dirty" if dirty else "")


def write_results(results: dict, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    checks = check_all(results["figures"])
    results["checks"] = [{"target": c.target.name, "value": c.value, "limit": c.target.limit,
                          "ratio": bool(c.target.baseline), "held": c.held} for c in checks]
    (folder / "latest.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (folder / "latest.md").write_text(markdown(results), encoding="utf-8")


def markdown(results: dict) -> str:
    """The figures as BENCHMARKS.md shows them."""
    f, m, s = results["figures"], results["machine"], results["spec"]
    ram = f"{m['ram_bytes'] / 1024**3:.1f} GiB" if m["ram_bytes"] else "unknown"
    lines = [
        (f"Case: {s['entries']} entries, {s['screenshots']} distinct 1080x2340 screenshots, "
        f"{s['copies']} re-encoded copies ({s['images']} image files)."),
        (f"Machine: {m['nproc']} CPUs ({m['cpu']}), {ram} RAM, Python {m['python']}, "
        f"WeasyPrint {m['weasyprint']}, Pillow {m['pillow']}, libyaml {m['pyyaml_c']}; "
        f"commit {m['commit']}, {m['date']}; bytecode {m.get('bytecode', 'not compiled first')}."),
        "",
        "| figure | measured | compared with | ratio | target | holds |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for c in check_all(f):
        t = c.target
        measured = format_value(f[t.figure], t.unit) if t.figure in f else "-"
        base = f"{t.baseline} = {format_value(f[t.baseline], t.unit)}" if t.baseline else "-"
        ratio = f"{c.value:.3f}" if t.baseline and c.value is not None else "-"
        limit = f"≤ {t.limit:g}×" if t.baseline else f"< {format_value(t.limit, t.unit)}"
        held = "-" if c.held is None else ("yes" if c.held else "**no**")
        lines.append(f"| {t.name} | {measured} | {base} | {ratio} | {limit} | {held} |")
    lines += [
        "",
        "| other figure | value |",
        "| --- | --- |",
        f"| warm full build (HTML + PDF, cache filled) | {f['warm_full_s']:.3f} s |",
        f"| warm HTML-only, inside the process (build() alone) | {f['warm_html_in_process_s']:.3f} s |",
        (f"| cold full / baseline in CPU seconds (all processes; less sensitive to other load) | "
         f"{f['cold_full_cpu_s']:.1f} s / {f['baseline_cpu_s']:.1f} s = "
         f"{f['cold_full_cpu_s'] / f['baseline_cpu_s']:.3f} |"),
        f"| baseline: Pillow decode of every image | {f['baseline_decode_s']:.3f} s |",
        f"| baseline: WeasyPrint alone (import + render) | {f['baseline_weasyprint_s']:.3f} s |",
        (f"| baseline: one OCR call per picture the build reads ({f['baseline_ocr_images']:.0f} "
         f"pictures) | {f['baseline_ocr_s']:.3f} s |"),
        (f"| PDF size (build / WeasyPrint alone) | {f['pdf_bytes'] / 1024**2:.1f} MiB / "
        f"{f['baseline_pdf_bytes'] / 1024**2:.1f} MiB |"),
        f"| `python -c pass` | {f['python_pass_s']:.3f} s |",
        (f"| `--help` / `validate sample_case` vs `python -c pass` | "
        f"{f['help_s'] / f['python_pass_s']:.1f}× / {f['validate_sample_s'] / f['python_pass_s']:.1f}× |"),
        f"| `validate` on the synthetic case | {f['validate_large_s']:.3f} s |",
        (f"| heavy modules imported by `--help` / `validate` | "
        f"{', '.join(results['heavy_imports']['help']) or 'none'} / "
        f"{', '.join(results['heavy_imports']['validate']) or 'none'} |"),
        (f"| watch rebuild after one edit, build time best / median of "
         f"{len(results['runs']['rebuild_html']['edits'])} edits | "
         f"{f['rebuild_html_s']:.3f} s / {f['rebuild_html_median_s']:.3f} s |"),
        (f"| watch: save to report published (debounce and event delivery included), "
         f"best / median | {f['save_to_report_s']:.3f} s / {f['save_to_report_median_s']:.3f} s |"),
        (f"| watch rebuild while report.pdf renders (the default `watch`), best / median | "
         f"{f['rebuild_html_pdf_s']:.3f} s / {f['rebuild_html_pdf_median_s']:.3f} s |"),
        f"| watch rebuild measured as | {results['watch_mode']} |",
    ]
    return "\n".join(lines) + "\n"


def print_results(results: dict) -> None:
    f = results["figures"]
    print()
    print(markdown(results))
    stages = results["runs"]["cold_full"].get("timings", {})
    print("cold build stages: " + ", ".join(f"{k} {v:.2f}s" for k, v in stages.items()))
    stages = results["runs"]["warm_html"].get("timings", {})
    print("warm HTML stages:  " + ", ".join(f"{k} {v:.3f}s" for k, v in stages.items()))
    stages = results["runs"]["rebuild_html"].get("timings", {})
    print("watch rebuild stages (best edit): "
          + ", ".join(f"{k} {v:.3f}s" for k, v in stages.items()))
    missed = [c.target.name for c in check_all(f) if c.held is False]
    print(f"{len(TARGETS) - len(missed)} of {len(TARGETS)} targets hold"
          + (f"; missed: {'; '.join(missed)}" if missed else ""))


if __name__ == "__main__":
    sys.exit(main())

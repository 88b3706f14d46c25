"""The build pipeline: load → validate → analyse → evidence → render → write.

Everything is gathered and rendered in memory first; the output folder is only
touched at the end, so a failed build leaves the last good report as it was.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from itaoreport import __version__
from itaoreport.analysis.approvals import Approvals, requirement_approvals
from itaoreport.analysis.facts import Facts, derive_facts
from itaoreport.analysis.narrative import fit_text, join_sentences, summarise
from itaoreport.analysis.quotes import QuoteCheck
from itaoreport.analysis.promises import (
    DeadlineMark,
    DeadlineStatus,
    PromiseStatus,
    deadline_marks,
    deadline_statuses,
    promise_statuses,
)
from itaoreport.case.files import CACHE_DIR, OUTPUT_DIR
from itaoreport.case.model import Case
from itaoreport.case.validate import load_case
from itaoreport.errors import BuildFailed, CaseInvalid, Problem, warning
from itaoreport.evidence.cache import ImageCache
from itaoreport.evidence.derived import DerivedCache
from itaoreport.evidence.exhibits import Evidence, cache_folder, gather_evidence
from itaoreport.evidence.images import open_image
from itaoreport.evidence.provenance import GitState, Provenance
from itaoreport.evidence.redact import apply_redaction, redaction_key
from itaoreport.evidence.regions import highlight_problems, plan_figures
from itaoreport.evidence.renditions import cache_root_for
from itaoreport.gctune import fewer_collections, no_young_collections
from itaoreport.privacy import (
    apply_redact_text,
    check_case_texts,
    check_pictures,
    clean_ocr,
    picture_scan_requests,
)
from itaoreport.render import exports
from itaoreport.render.context import build_context, detail_assets, log_rows
from itaoreport.render.fonts import check_glyphs, start_font_lookup
from itaoreport.render.i18n import Translator, data_translator, load_translator
from itaoreport.render.profiles import DEFAULT_PROFILE, PROFILES, Profile
from itaoreport.render.themes import (
    greyscale_css,
    make_environment,
    read_theme_file,
    render_template,
    theme_search_path,
    user_template_cache,
)
from itaoreport.write import check_output_dir, clean_stale_temps, write_outputs

if TYPE_CHECKING:  # the PDF's modules are imported where a PDF is made (~13 ms of start-up)
    from PIL.Image import Image as PILImage

    from itaoreport.render.fit import FitJob, FitResult, Layout
    from itaoreport.render.pdf import Assets, PdfAttachment

FORMATS = ("html", "pdf", "json", "txt", "csv", "xlsx")
OUTPUT_NAMES = {"html": "report.html", "pdf": "report.pdf", "json": "report.json",
                "txt": "summary.txt", "csv": "log.csv", "xlsx": "log.xlsx"}
DEFAULT_SUMMARY_CHARS = 2000


@dataclass
class BuildOptions:
    out: Path | None = None
    """Output folder; default: the case's build/ folder."""
    formats: tuple[str, ...] = FORMATS
    strict: bool = False
    """Treat warnings as errors."""
    summary_chars: int = DEFAULT_SUMMARY_CHARS
    progress: Callable[[str], None] | None = None
    image_cache: ImageCache | None = None
    """Image analysis cache; default: the case's own (watch keeps one in memory between builds)."""
    writer: Callable[[Path, dict[str, bytes]], list[Path]] | None = None
    """Writes the outputs; default write_outputs (watch wraps it so stopping never cuts a write)."""
    profile: Profile = field(default_factory=lambda: PROFILES[DEFAULT_PROFILE])
    """The upload limits report.pdf must fit (render/profiles.py)."""
    embed_originals: bool | None = None
    """Embed the original evidence files in the PDF; None: the profile's default."""


@dataclass
class BuildResult:
    out_dir: Path
    written: list[Path]
    warnings: list[Problem] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    report: dict = field(default_factory=dict)
    analysed: Analysed | None = None
    """What was gathered, so a later pass can render more formats (watch renders the PDF last)."""
    pdf: FitResult | None = None
    """How report.pdf was fitted (layout, image step, pages), when one was made."""


@dataclass
class Analysed:
    """Everything the renderers need, gathered before anything is written."""

    case: Case
    evidence: Evidence
    facts: Facts
    promises: list[PromiseStatus]
    report: dict
    summary: list[str]
    summary_text: str
    warnings: list[Problem]
    search_path: list[Path]
    """Theme folders: the case's theme/, the chosen theme, the default."""
    tr: Translator
    """The report's words and formats in the case's language."""
    provenance: dict[str, Provenance] | None = None
    """Git history of each entry and attachment file; None outside a git repository."""
    approvals: Approvals = field(default_factory=Approvals)
    marks: list[DeadlineMark] = field(default_factory=list)
    deadlines: list[DeadlineStatus] = field(default_factory=list)
    """Deadlines set for the claimant (entry `deadline:`), apart from the promises."""
    quote_checks: dict[str, QuoteCheck] = field(default_factory=dict)
    """Entry id -> whether its quote is in its screenshots (analysis/quotes.py)."""


def build(case_dir: str | Path, options: BuildOptions | None = None) -> BuildResult:
    """Build the report files for one case folder; raise CaseInvalid or BuildFailed."""
    with fewer_collections():
        return _build(Path(case_dir), options or BuildOptions())


def _build(case_dir: Path, options: BuildOptions) -> BuildResult:
    timings: dict[str, float] = {}
    say = options.progress or (lambda message: None)
    started = time.perf_counter()
    with no_young_collections():
        analysed = analyse_case(case_dir, options, timings)
    say(f"{len(analysed.case.entries)} entries, {len(analysed.evidence.exhibits)} exhibits")
    out_dir = options.out or analysed.case.root / OUTPUT_DIR
    check_output_dir(analysed.case.root, out_dir,
                     [*analysed.evidence.attachments, "case.yaml",
                      *(e.path for e in analysed.case.entries)])
    analysed.report["case_dir"] = case_dir_from(out_dir, analysed.case.root)
    clean_stale_temps(analysed.case.root / CACHE_DIR)  # a killed build's cache writes (#14)
    fitted: list[FitResult] = []
    files = render_files(analysed, options, timings, say, fitted)
    t = time.perf_counter()
    written = (options.writer or write_outputs)(out_dir, files)
    timings["write"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - started
    return BuildResult(out_dir, written, analysed.warnings, timings, analysed.report,
                       pdf=fitted[0] if fitted else None, analysed=analysed)


def case_dir_from(out_dir: Path, case_root: Path) -> str:
    """The case folder relative to the output folder (posix), for `itaoreport verify`."""
    try:
        return Path(os.path.relpath(case_root.resolve(), out_dir.resolve())).as_posix()
    except ValueError:  # another drive on Windows: no relative path exists
        return case_root.resolve().as_posix()


def analyse_case(case_dir: Path, options: BuildOptions, timings: dict[str, float]) -> Analysed:
    from itaoreport.evidence.ocr import start_engine_lookup

    t = time.perf_counter()
    git = GitState(case_dir)  # git and tesseract answer in the background while the case is read
    start_engine_lookup()
    loaded, private = read_case(case_dir, options)
    if loaded.failed(options.strict) or loaded.case is None:
        raise CaseInvalid(loaded.problems)
    case = loaded.case
    hide = apply_redact_text(case)  # before anything is derived from the text: no output shows it
    if private is None:
        private = check_case_texts(case)
    private = list(private)
    search_path = theme_search_path(case.root, case.theme)
    style_css = None
    if "html" in options.formats or "pdf" in options.formats:
        style_css = read_theme_file(search_path, "style.css")
        start_font_lookup(style_css)  # fc-match answers while the evidence is gathered
    timings["load"] = time.perf_counter() - t

    t = time.perf_counter()
    printer = None
    if "pdf" in options.formats:
        from itaoreport.render.fit import PrintPrep

        printer = PrintPrep(options.profile.grayscale, cache_root_for(case.root))
    ocr_wanted, ocr_notes = ocr_requests(case)
    scan, scan_notes = picture_scan_requests(case, ocr_wanted)  # the privacy check reads all
    derived = DerivedCache(options.image_cache.folder if options.image_cache is not None
                           else cache_folder(case.root))
    evidence = gather_evidence(case, options.image_cache, printer, options.progress,
                               {**scan, **ocr_wanted}, derived)
    evidence.problems += highlight_problems(case, evidence)
    if evidence.problems:
        raise CaseInvalid(loaded.problems + evidence.problems)
    clean_ocr(evidence, hide)  # no word under a redact box, no redact_text string, from here on
    private += check_pictures(case, evidence, derived)
    ocr_texts(evidence, derived)
    ocr_notes += scan_notes
    timings["evidence"] = time.perf_counter() - t

    t = time.perf_counter()
    quote_checks, quote_warnings, notes = check_quotes(case, evidence, ocr_wanted, derived)
    derived.save()
    for note in ocr_notes + notes:
        (options.progress or (lambda message: None))(note)
    timings["quotes"] = time.perf_counter() - t

    t = time.perf_counter()
    tr, warnings = load_translator(search_path, case.language, case.timezone,
                                   case.locs.get("language"))
    warnings = evidence.warnings + warnings + quote_warnings
    if style_css is not None:
        warnings += check_glyphs(case, style_css)
    warnings += private
    if options.strict and warnings:
        raise CaseInvalid(loaded.problems + warnings)
    timings["checks"] = time.perf_counter() - t

    t = time.perf_counter()
    facts = derive_facts(case)
    promises = promise_statuses(case, facts.as_of)
    approvals = requirement_approvals(case)
    marks = deadline_marks(case, promises, facts.as_of)
    deadlines = deadline_statuses(case, facts.as_of)
    sentences = summarise(case, facts, promises, own_exhibits(case, evidence), tr, approvals,
                          all_own_exhibits(case, evidence))
    summary_text = fit_text(sentences, options.summary_chars, tr)
    exhibit_of = {path: info.exhibit for path, info in evidence.attachments.items() if info.exhibit}
    report = {
        "format": exports.REPORT_JSON_FORMAT,
        "generator": f"itaoreport {__version__}",
        "case": exports.case_json(case),
        "facts": {**facts.to_json(), "deadlines_passed": [m.to_json() for m in marks]},
        "summary": join_sentences((s.text for s in sentences), tr),
        "promises": [p.to_json() for p in promises],
        "deadlines": [d.to_json() for d in deadlines],
        "approvals": approvals.to_json(),
        "entries": [exports.entry_json(e, exhibit_of, quote_checks.get(e.id))
                    for e in case.entries],
        "attachments": [evidence.attachments[p].to_json() for p in sorted(evidence.attachments)],
        "exhibits": [exports.exhibit_json(x, evidence) for x in evidence.exhibits],
        "kept_separate": evidence.kept_separate,
    }
    timings["analyse"] = time.perf_counter() - t

    t = time.perf_counter()
    provenance = git.provenance([e.path for e in case.entries] + sorted(evidence.attachments))
    add_provenance(report, provenance)
    timings["provenance"] = time.perf_counter() - t
    return Analysed(case, evidence, facts, promises, report, [s.text for s in sentences],
                    summary_text, loaded.problems + warnings, search_path, tr, provenance,
                    approvals, marks, deadlines, quote_checks)


def read_case(case_dir: Path, options: BuildOptions):  # noqa: ANN201 - (LoadResult, list|None)
    """The case and the privacy warnings of its texts (None: not known yet). Watch mode keeps
    parsed and checked entries in memory; a build reuses the case as read last time, and
    those warnings, when nothing it was read from changed (case/loadcache.py)."""
    parsed = getattr(options.image_cache, "parsed", None)
    if parsed is not None:
        return load_case(case_dir, parsed, getattr(options.image_cache, "validated", None)), None
    from itaoreport.case.loadcache import load_case_cached

    folder = (options.image_cache.folder if options.image_cache is not None
              else cache_folder(case_dir))
    return load_case_cached(case_dir, folder, text_privacy)


def text_privacy(case: Case) -> list[Problem]:
    """The privacy check of the case's texts as the report shows them (after redact_text)."""
    apply_redact_text(case)
    return check_case_texts(case)


def all_own_exhibits(case: Case, evidence: Evidence) -> dict[str, list[str]]:
    """Entry id -> the exhibits of all its own attachments, in attachment order."""
    labels: dict[str, list[str]] = {}
    for entry in case.entries:
        found = [x.exhibit for a in entry.attachments
                 if (x := evidence.attachments.get(a.path)) is not None and x.exhibit]
        if found:
            labels[entry.id] = list(dict.fromkeys(found))
    return labels


def ocr_requests(case: Case) -> tuple[dict, list[str]]:
    """Which pictures to OCR, in which languages: every picture attached to an entry with a
    quote. Also the notes to say once when that cannot be done (no engine, no language)."""
    from itaoreport.evidence.exhibits import IMAGE_SUFFIXES
    from itaoreport.evidence.ocr import find_engine, languages_for, missing_engine_note

    quoted = [e for e in case.entries if e.quote and e.quote.strip() and any(
        Path(a.path).suffix.lower() in IMAGE_SUFFIXES for a in e.attachments)]
    if not quoted:
        return {}, []
    engine = find_engine()
    if engine is None:
        return {}, [missing_engine_note()]
    wanted: dict = {}
    missing: set[str] = set()
    for entry in quoted:
        langs = languages_for(entry.quote)
        spec = engine.spec(langs)
        if spec is None:
            missing.update(set(langs) - engine.languages)
            continue
        for att in entry.attachments:
            if Path(att.path).suffix.lower() not in IMAGE_SUFFIXES:
                continue
            if att.path in wanted:
                spec = engine.spec({*wanted[att.path].languages, *spec.languages}) or spec
            wanted[att.path] = spec
    packages = " ".join(f"tesseract-ocr-{name.replace('_', '-')}" for name in sorted(missing))
    notes = [f"quote checks skipped for quotes in {', '.join(sorted(missing))}: that Tesseract "
             f"language is not installed (Debian: apt install {packages})"] if missing else []
    return wanted, notes


_CHECKED: dict[str, QuoteCheck] = {}
"""Quote checks by their derived-cache key (quote, pictures by content and engine), in
memory too: a rebuild in watch mode checks only the quotes and pictures that changed, also
without a cache folder."""
MAX_CHECKED = 20_000


def ocr_texts(evidence: Evidence, derived: DerivedCache) -> None:
    """Give each exhibit's OCR words their text (report.json's `ocr_text`), from the derived
    cache when these words were seen before, so the words need not be parsed for it."""
    from itaoreport.evidence.derived import key

    for x in evidence.exhibits:
        text = evidence.ocr.get(evidence.attachments[x.path].sha256)
        if text is None:
            continue
        name = key("text", text.digest)
        found = derived.get(name)
        if isinstance(found, str):
            text._text = found
        else:
            derived.put(name, text.text())


def check_quotes(case: Case, evidence: Evidence, wanted: dict,
                 derived: DerivedCache | None = None
                 ) -> tuple[dict[str, QuoteCheck], list[Problem], list[str]]:
    """Each quoted entry's QuoteCheck, a located warning for each quote not found, and notes
    for pictures OCR failed on. With `derived`, checks are cached by the quote and the
    content of the pictures' words (evidence/derived.py)."""
    from itaoreport.analysis.quotes import NOT_FOUND, QuoteCheck, check_quote
    from itaoreport.evidence.derived import key

    checks: dict[str, QuoteCheck] = {}
    problems: list[Problem] = []
    notes: list[str] = []
    kept = {x.label: x.path for x in evidence.exhibits}
    failed: set[str] = set()
    for entry in case.entries:
        if not entry.quote or not entry.quote.strip():
            continue
        pictures = []
        keys: list[list] = []
        for att in entry.attachments:
            info = evidence.attachments.get(att.path)
            if info is None or not info.is_image or info.exhibit is None:
                continue
            shown = evidence.attachments[kept[info.exhibit]]
            text = evidence.ocr.get(shown.sha256) if att.path in wanted else None
            if shown.sha256 in evidence.ocr_errors and shown.path not in failed:
                failed.add(shown.path)
                notes.append(f"OCR of {shown.path} failed ({evidence.ocr_errors[shown.sha256]});"
                             f" quotes in it were not checked")
            if all(p[1] != shown.path for p in pictures):
                pictures.append((info.exhibit, shown.path, text))
                keys.append([info.exhibit, shown.path, text and text.engine,
                             text and text.digest])
        name = key("quote", entry.quote, keys)
        check = None
        if derived is not None:
            check = QuoteCheck.from_json(derived.get(name))
            if check is None:
                derived.forget(name)  # missing, or of the wrong shape: checked again
        if check is None:
            check = _CHECKED.get(name)
            if check is None:
                check = check_quote(entry.quote, pictures)
                if check is None:
                    continue
                if len(_CHECKED) >= MAX_CHECKED:
                    _CHECKED.clear()
                _CHECKED[name] = check
            if derived is not None:
                derived.put(name, check.to_json())
        checks[entry.id] = check
        if check.status == NOT_FOUND:
            there = (f'closest text there: "{check.closest}"' if check.closest
                     else "no text like it there")
            redacted = next((x.redact for x in evidence.exhibits
                             if x.label == check.exhibit and x.redact), None)
            hint = (f"; {check.exhibit} has regions hidden by redact:, and text under them is "
                    "not read, so a quote inside one is never found" if redacted else "")
            problems.append(warning(entry.loc("quote"), f"quote not found in {check.exhibit} "
                                                        f"({check.path}); {there}{hint}"))
    return checks, problems, notes


def own_exhibits(case: Case, evidence: Evidence) -> dict[str, str]:
    """Entry id -> the exhibit of its own first attachment (not an earlier copy it repeats)."""
    labels = {}
    for entry in case.entries:
        found = [x.exhibit for a in entry.attachments
                 if (x := evidence.attachments.get(a.path)) is not None and x.exhibit]
        if found:
            labels[entry.id] = found[0]
    return labels


def add_provenance(report: dict, provenance: dict[str, Provenance] | None) -> None:
    """Give each entry and attachment of report.json its `provenance` (none without git)."""
    if provenance is None:
        return
    for item in report["entries"]:
        item["provenance"] = provenance[item["file"]].as_json()
    for item in report["attachments"]:
        item["provenance"] = provenance[item["path"]].as_json()


def render_files(analysed: Analysed, options: BuildOptions, timings: dict[str, float],
                 say: Callable[[str], None], fitted: list[FitResult] | None = None
                 ) -> dict[str, bytes]:
    """Every output as bytes, keyed by its name inside the output folder."""
    case, evidence = analysed.case, analysed.evidence
    files: dict[str, bytes] = {}
    report_json = exports.report_json_text(analysed.report).encode("utf-8")
    fingerprint = hashlib.sha256(report_json).hexdigest()
    if "json" in options.formats:
        files[OUTPUT_NAMES["json"]] = report_json
    if "txt" in options.formats:
        files[OUTPUT_NAMES["txt"]] = (analysed.summary_text + "\n").encode("utf-8")
    needs_html = bool({"html", "pdf", "csv", "xlsx"} & set(options.formats))
    if not needs_html:
        return files

    t = time.perf_counter()
    search_path = analysed.search_path
    env = make_environment(search_path, user_template_cache())
    css_screen = read_theme_file(search_path, "style.css")
    css_print = read_theme_file(search_path, "print.css")
    meta = {"generator": f"itaoreport {__version__}", "fingerprint": fingerprint,
            "as_of": analysed.facts.as_of.isoformat(), "paper": case.paper,
            "modified": document_dates(analysed.facts.as_of)[1].isoformat()}
    with no_young_collections():  # views and HTML live until the build ends
        quote_checks = {entry_id: check.to_json()
                        for entry_id, check in analysed.quote_checks.items()}
        figures = plan_figures(case, evidence, quote_checks, options.profile.grayscale,
                               cache_root_for(case.root))
        context = build_context(case, analysed.facts, analysed.promises, evidence,
                                analysed.summary, css_screen, meta, analysed.tr, analysed.provenance,
                                approvals=analysed.approvals, marks=analysed.marks,
                                figures=figures, quote_checks=quote_checks,
                                deadlines=analysed.deadlines)
        if "csv" in options.formats or "xlsx" in options.formats:
            # log.csv and log.xlsx are data other tools read back: English words, ISO times.
            english = data_translator(search_path, case.timezone)
            rows = log_rows(case, evidence, analysed.promises, english)
            if "csv" in options.formats:
                files[OUTPUT_NAMES["csv"]] = exports.log_csv_text(rows).encode("utf-8")
            if "xlsx" in options.formats:
                files[OUTPUT_NAMES["xlsx"]] = exports.log_xlsx_bytes(rows, analysed.facts.as_of)
        html = render_template(env, "report.html.j2", {**context, "medium": "screen"})
    timings["html"] = time.perf_counter() - t
    assets = {x.rendition.name: (x.rendition.data, x.rendition.media_type)
              for x in evidence.exhibits if x.rendition}
    assets.update(detail_assets(figures))
    if "html" in options.formats:
        files[OUTPUT_NAMES["html"]] = html.encode("utf-8")
        for name, (data, _media) in assets.items():
            files[name] = data
    if "pdf" in options.formats:
        from itaoreport.render.fit import fit_pdf, image_url

        say(f"rendering PDF ({options.profile.name}: {options.profile.describe()})")
        redacted = sorted(a.path for a in evidence.attachments.values() if a.redacted)
        if redacted:
            say(f"shown redacted, originals not embedded: {', '.join(redacted[:5])}"
                + (f" and {len(redacted) - 5} more" if len(redacted) > 5 else ""))
        t = time.perf_counter()

        def html_for(layout: Layout) -> str:
            css = css_screen + css_print + layout.css()
            if options.profile.grayscale:
                css = greyscale_css(css)
            return render_template(env, "report.html.j2", {
                **context, "medium": "print", "css": css,
                "print_images": {x.label: image_url(x.label) for x in evidence.exhibits}})

        job = pdf_job(analysed, html_for, assets, report_json, options.profile.grayscale)
        result = fit_pdf(job, options.profile, options.embed_originals, say)
        files[OUTPUT_NAMES["pdf"]] = result.pdf
        for note in result.notes:
            say(note)
        if fitted is not None:
            fitted.append(result)
        timings["pdf"] = time.perf_counter() - t
    return files


def pdf_job(analysed: Analysed, html_for: Callable[[Layout], str], assets: Assets,
            report_json: bytes, grayscale: bool) -> FitJob:
    """What fitting needs: the pictures to prepare, the files to embed, the dates."""
    from itaoreport.render.fit import FitJob, PrintImage
    from itaoreport.render.pdf import PdfAttachment

    case, evidence = analysed.case, analysed.evidence
    images = [PrintImage(x.label, x.path, (info.width, info.height),
                         redaction_key(info.sha256, x.redact), x.entries[0],
                         partial(_decode, case.root / x.path, info.sha256, x.redact),
                         x.printed if evidence.printed_grayscale == grayscale else None)
              for x in evidence.exhibits if x.rendition
              for info in [evidence.attachments[x.path]] if info.width and info.height]
    manifest = PdfAttachment(report_json, "report.json", "Every fact of this report, with the "
                             "SHA-256 of each evidence file (itaoreport verify reads it)", "Data")
    # a redacted picture's original shows what the report hides: never embedded
    originals = [(a.path, a.size, partial(_original, case.root, a.path, a.sha256))
                 for a in sorted(evidence.attachments.values(), key=lambda a: a.path)
                 if not a.redacted]
    return FitJob(html_for, images, assets, [manifest], originals,
                  document_dates(analysed.facts.as_of), grayscale,
                  cache_root_for(case.root))


def _decode(path: Path, sha256: str, redact: tuple = ()) -> PILImage:
    """The picture as the report shows it: decoded, upright, redact boxes filled black."""
    return apply_redaction(open_image(path, sha256).image, redact)


def _original(root: Path, path: str, sha256: str) -> PdfAttachment:
    from itaoreport.render.pdf import PdfAttachment

    data = (root / path).read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise BuildFailed(f"{path}: the file changed during the build; build again")
    return PdfAttachment(data, path, f"Original evidence file, SHA-256 {sha256}", "Source")


def document_dates(as_of: date) -> tuple[date, date]:
    """(created, modified) for the PDF: as_of, or SOURCE_DATE_EPOCH for modified when set."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return as_of, datetime.fromtimestamp(int(epoch), tz=timezone.utc).date()
    return as_of, as_of

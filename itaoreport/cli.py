"""The command line: each command parses options, calls one function, prints the outcome.

Exit codes: 0 success, 1 invalid case or failed build, 2 usage error.
Heavy imports (WeasyPrint, Pillow) happen inside the commands that need them.
"""

from __future__ import annotations

import dataclasses
import sys
import traceback
from pathlib import Path

import click

from itaoreport import __version__
from itaoreport.errors import CaseInvalid, ItaoError, count_line, shown_from

FORMAT_CHOICES = ("html", "pdf", "json", "txt", "csv", "xlsx")
PROFILE_NAMES = ("generic", "visa", "mastercard", "amex", "stripe", "paypal")
"""Kept here so --help needs no import; tests check it against render/profiles.py."""

case_dir_argument = click.argument(
    "case_dir", type=click.Path(file_okay=False, path_type=Path), default=".", required=False
)


class _Group(click.Group):
    """Turns unexpected exceptions into a short message and exit 1 (a traceback is a bug)."""

    def invoke(self, ctx: click.Context):  # noqa: ANN201
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            click.echo(f"internal error: {detail}", err=True)
            click.echo("this is a bug in itaoreport; please report it with the command you ran "
                       "(set ITAOREPORT_DEBUG=1 to see the traceback)", err=True)
            if _debug():
                traceback.print_exc()
            ctx.exit(1)


def _debug() -> bool:
    import os

    return os.environ.get("ITAOREPORT_DEBUG") == "1"


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="itaoreport")
def main() -> None:
    """Turn a folder of dispute evidence into a claim report a reviewer believes.

    A case folder holds case.yaml, one YAML file per communication under
    entries/, and screenshots. Start with `itaoreport init my-case`.
    """


@main.command()
@click.argument("case_dir", type=click.Path(path_type=Path))
def init(case_dir: Path) -> None:
    """Create a new case folder with an example entry, or add case.yaml to a folder of entries.

    Never overwrites: files already there are kept.
    """
    from itaoreport.scaffold import create_case, kept_files

    kept = kept_files(case_dir) if case_dir.is_dir() else []
    created = create_case(case_dir)
    for path in created:
        click.echo(f"created {path}")
    for path in kept:
        click.echo(f"kept {path} (already there)")
    click.echo(f"next: edit {case_dir / 'case.yaml'} (every field: docs/case-format.md), then run "
               f"`itaoreport validate {case_dir}`")


@main.command()
@case_dir_argument
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
def validate(case_dir: Path, strict: bool) -> None:
    """Check a case folder and list every problem with its file and line."""
    from itaoreport.case.validate import load_case

    result = load_case(case_dir)
    for problem in shown_from(result.problems, case_dir):
        click.echo(problem.format(), err=problem.is_error or strict)
    if result.failed(strict):
        click.echo(count_line(result.problems), err=True)
        sys.exit(1)
    entries = len(result.case.entries) if result.case else 0
    click.echo(f"{case_dir}: {entries} entries, {count_line(result.problems)}")


def _formats(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[str, ...]:
    if not value:
        return FORMAT_CHOICES
    chosen = tuple(dict.fromkeys(v.strip().lower() for v in value.split(",") if v.strip()))
    unknown = [v for v in chosen if v not in FORMAT_CHOICES]
    if unknown or not chosen:
        raise click.BadParameter(
            f"unknown format {', '.join(unknown) or value!r}; choose from {', '.join(FORMAT_CHOICES)}"
        )
    return chosen


def _size(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    from itaoreport.render.profiles import ProfileError, parse_size

    try:
        parse_size(value)
    except ProfileError as exc:
        raise click.BadParameter(exc.format_message()) from None
    return value


@main.command()
@case_dir_argument
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default: CASE_DIR/build).")
@click.option("--format", "formats", callback=_formats, metavar="LIST",
              help=f"Comma-separated outputs to write: {','.join(FORMAT_CHOICES)} (default: all).")
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.option("--summary-chars", type=click.IntRange(200, 100_000), default=2000, show_default=True,
              help="Longest summary.txt, in characters.")
@click.option("--profile", type=click.Choice(PROFILE_NAMES), default="generic", show_default=True,
              help="Fit report.pdf to a portal's upload limits (see docs/pdf-profiles.md).")
@click.option("--max-size", metavar="SIZE", callback=_size,
              help="Largest report.pdf, e.g. 2MB, 1.5M, 900k (overrides the profile).")
@click.option("--max-pages", type=click.IntRange(1, 10_000), metavar="N",
              help="Most pages in report.pdf (overrides the profile).")
@click.option("--embed-originals/--no-embed-originals", default=None,
              help="Embed the original evidence files in report.pdf (default: as many as fit "
                   "the size limit, the largest left out first; --embed-originals: all of them "
                   "or fail; --no-embed-originals: none).")
def build(case_dir: Path, out: Path | None, formats: tuple[str, ...], strict: bool,
          summary_chars: int, profile: str, max_size: str | None, max_pages: int | None,
          embed_originals: bool | None) -> None:
    """Validate a case and write its report (HTML, PDF, JSON, summary, CSV log)."""
    from itaoreport.build import BuildOptions
    from itaoreport.build import build as run_build
    from itaoreport.render.profiles import resolve_profile

    options = BuildOptions(out=out, formats=formats, strict=strict, summary_chars=summary_chars,
                           progress=lambda message: click.echo(f"  {message}", err=True),
                           profile=resolve_profile(profile, max_size, max_pages),
                           embed_originals=embed_originals)
    try:
        result = run_build(case_dir, options)
    except CaseInvalid as exc:
        raise CaseInvalid(shown_from(exc.problems, case_dir)) from None
    for problem in shown_from(result.warnings, case_dir):
        click.echo(problem.format(), err=True)
    names = [p.name for p in result.written if p.parent == result.out_dir]
    click.echo(f"wrote {', '.join(names)} to {result.out_dir} "
               f"in {result.timings.get('total', 0):.1f}s")
    if result.pdf:
        fit = result.pdf
        click.echo(f"report.pdf: {len(fit.pdf):,} bytes, {fit.pages} pages ({fit.layout.name} "
                   f"layout, images at {fit.step.ppi} ppi, quality {fit.step.quality}"
                   f"{_originals_said(fit.originals_embedded, fit.originals_total)})")


def _originals_said(embedded: int, total: int) -> str:
    """How many originals report.pdf embeds, for the build's last line."""
    if not total:
        return ""
    if embedded == total:
        return ", originals embedded"
    return f", {embedded} of {total} originals embedded"


@main.command()
@click.argument("pdf", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("case_dir", type=click.Path(file_okay=False, path_type=Path), required=False)
def verify(pdf: Path, case_dir: Path | None) -> None:
    """Check the evidence files against the manifest embedded in a report.pdf.

    CASE_DIR defaults to the folder above the PDF's (CASE/build/report.pdf). The
    manifest is checked as untrusted input. Prints OK, or each file that changed,
    is missing, was added or was not read; exit 1 on any.
    """
    from itaoreport.verify import verify_report

    outcome = verify_report(pdf, case_dir)
    for line in outcome.lines():
        click.echo(line, err=not outcome.ok)
    if not outcome.ok:
        sys.exit(1)


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the groups as JSON.")
def dedupe(paths: tuple[str, ...], as_json: bool) -> None:
    """Find copies of the same screenshot among files and folders.

    True copies (same file, same pixels, or re-encoded/resized and verified pixel by
    pixel) are grouped; look-alikes that differ in any readable detail are listed as
    kept separate. Exit 1 if a file cannot be read.
    """
    import json

    from itaoreport.evidence.dedupe_files import dedupe_paths

    outcome = dedupe_paths(list(paths), progress=lambda message: click.echo(message, err=True))
    if as_json:
        click.echo(json.dumps(outcome.result.to_json(), indent=2, ensure_ascii=False))
    else:
        _print_dedupe(outcome)
    for path, note in outcome.warnings:
        click.echo(f"{path}: warning: {note}", err=True)
    for path, reason in outcome.unreadable:
        click.echo(f"{path}: error: {reason}", err=True)
    if outcome.unreadable:
        sys.exit(1)


def _print_dedupe(outcome) -> None:  # noqa: ANN001
    from itaoreport.evidence.dedupe import MIN_VERIFY_WIDTH

    result = outcome.result
    copies = sum(len(g.duplicates) for g in result.groups)
    click.echo(f"{outcome.images} images: {len(result.groups)} with copies ({copies} copies), "
               f"{len(result.kept_separate)} similar pairs kept separate")
    for g in result.groups:
        click.echo(f"keep {g.keep}")
        for m in g.duplicates:
            click.echo(f"  copy {m.path}  ({m.stage}, score {m.score})")
    if result.kept_separate:
        click.echo("similar but kept separate (they differ in detail):")
        for n in result.kept_separate:
            narrow = outcome.too_small(n.a, n.b)
            why = (f"; too small to verify: {narrow} px wide, {MIN_VERIFY_WIDTH} needed"
                   if narrow is not None else "")
            click.echo(f"  {n.a}  ≠  {n.b}  (score {n.score}{why})")


@main.command("import")
@click.argument("log", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("case_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--dayfirst/--monthfirst", default=None,
              help="How the sheet writes dates like 05/11/2023 (otherwise such dates are errors).")
def import_(log: Path, case_dir: Path, dayfirst: bool | None) -> None:
    """Turn a spreadsheet log (CSV or XLSX) or e-mails (.eml, .mbox) into entry files.

    One entry per row or message; never overwrites. Rows and messages already
    imported are left alone, so importing the same file again writes nothing.
    E-mails are kept in CASE_DIR/attachments/ with their attachments.
    """
    from itaoreport.mailimport import import_mail, is_mail_file

    if is_mail_file(log):
        result = import_mail(log, case_dir)
        _import_outcome(result, case_dir, "messages", log)
        return
    from itaoreport.importers import import_log

    result = import_log(log, case_dir, dayfirst=dayfirst)
    _import_outcome(result, case_dir, "rows", log)


def _import_outcome(result, case_dir: Path, what: str, log: Path) -> None:  # noqa: ANN001
    """Print what an import wrote; exit 1 when something could not be imported."""
    for problem in result.problems:
        if problem.loc.path == log.name:  # the log as the user named it, so it can be opened
            problem = dataclasses.replace(problem, loc=dataclasses.replace(problem.loc,
                                                                           path=str(log)))
        click.echo(problem.format(), err=True)
    for path in result.written:
        click.echo(f"wrote {case_dir / path}")
    failed = sum(p.is_error for p in result.problems)
    if result.written:
        click.echo(f"{len(result.written)} new entries, {len(result.unchanged)} already there")
    elif result.unchanged:
        click.echo(f"nothing new: all {len(result.unchanged)} {what} are already in "
                   f"{case_dir / 'entries'}")
    if not (case_dir / "case.yaml").exists() and result.written:
        click.echo(f"{case_dir} has no case.yaml yet; run `itaoreport init {case_dir}`")
    if failed:
        click.echo(f"{failed} {what[:-1]}(s) or problem(s) kept the file from importing fully",
                   err=True)
        sys.exit(1)


@main.command()
@click.argument("case_dir", type=click.Path(file_okay=False, path_type=Path))
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--at", "at_text", metavar="TIME",
              help="The time for every file, e.g. '2024-05-10 10:03' (default: from each file).")
@click.option("--sender", type=click.Choice(["me", "seller", "platform", "carrier", "other"]),
              help="Who sent what the pictures show (default: a placeholder to fill in).")
@click.option("--channel", metavar="TEXT",
              help="Where it happened, e.g. 'ItaoBuy Messaging' (default: a placeholder).")
@click.option("--dry-run", is_flag=True, help="Print what would be written; write nothing.")
def add(case_dir: Path, files: tuple[Path, ...], at_text: str | None, sender: str | None,
        channel: str | None, dry_run: bool) -> None:
    """Copy screenshots and photos into CASE_DIR and write a draft entry for each.

    Pictures go to screenshots/ or photos/ (never over another file; one already in the
    case is used where it is). The timestamp comes from the file name, then the picture's
    metadata; fill in the FILL IN placeholders, then `itaoreport validate --strict`.
    """
    from itaoreport.add import AddOptions, add_files

    channel = " ".join(channel.split()) if channel else None
    result = add_files(case_dir, list(files), AddOptions(at_text, sender, channel or None,
                                                         dry_run))
    verb = "would write" if dry_run else "wrote"
    for item in result.added:
        if item.copied:
            click.echo(f"{'would copy' if dry_run else 'copied'} {item.source} to "
                       f"{case_dir / item.attachment}")
        else:
            click.echo(f"{item.source} is already in the case as {case_dir / item.attachment}")
        if item.entry is None:
            click.echo(f"  already attached by {case_dir / str(item.existing_entry)}; "
                       "no new draft")
            continue
        click.echo(f"{verb} {case_dir / item.entry}")
        if dry_run:
            click.echo("".join(f"  | {line}\n" for line in item.entry_text.splitlines()), nl=False)
    for problem in result.problems:
        click.echo(problem.format(), err=True)
    failed = sum(p.is_error for p in result.problems)
    drafts = sum(1 for item in result.added if item.entry)
    if drafts and not dry_run:
        click.echo(f"{drafts} draft entries: fill in the FILL IN values, then run "
                   f"`itaoreport validate --strict {case_dir}`")
    if failed:
        click.echo(f"{failed} file(s) could not be added", err=True)
        sys.exit(1)


@main.command()
@click.argument("kind", type=click.Choice(["case", "entry"]), required=False)
def schema(kind: str | None) -> None:
    """Print the JSON Schema of case.yaml, of an entry file, or (no KIND) of both."""
    from itaoreport.case.schema import schema_text

    click.echo(schema_text(kind), nl=False)


@main.command()
@case_dir_argument
@click.option("--at", "at_text", metavar="TIME",
              help="The entry's time, e.g. '2023-10-27 09:15' (default: now), in the case timezone.")
def new(case_dir: Path, at_text: str | None) -> None:
    """Create a new entry file to fill in, and print its path."""
    from itaoreport.case.newentry import case_timezone, new_entry
    from itaoreport.case.values import BadValue, parse_moment, zone

    tz = case_timezone(case_dir)
    at = None
    if at_text:
        try:
            at = parse_moment(at_text, zone(tz)).local
        except BadValue as exc:
            raise click.BadParameter(f"{exc} ({exc.hint})", param_hint="--at") from None
    click.echo(new_entry(case_dir, at, tz))


@main.command()
@case_dir_argument
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default: CASE_DIR/build).")
@click.option("--serve", is_flag=True,
              help="Also show the report at http://127.0.0.1:PORT/, reloading after each rebuild.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Preview port; the next free one if it is busy.")
@click.option("--no-pdf", is_flag=True, help="Skip report.pdf (faster).")
@click.option("--poll", is_flag=True,
              help="Check for changes every second instead of using change notifications "
                   "(network folders, WSL's /mnt/c).")
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
def watch(case_dir: Path, out: Path | None, serve: bool, port: int, no_pdf: bool, poll: bool,
          strict: bool) -> None:
    """Build, then rebuild on every saved change until Ctrl-C."""
    import time

    from itaoreport.watch import WatchOptions, run_watch

    def say(message: str) -> None:
        click.echo(f"{time.strftime('%H:%M:%S')} {message}")

    run_watch(case_dir, WatchOptions(out=out, pdf=not no_pdf, strict=strict, poll=poll), say,
              serve=serve, port=port)


if __name__ == "__main__":  # pragma: no cover
    main()


__all__ = ["main", "ItaoError"]

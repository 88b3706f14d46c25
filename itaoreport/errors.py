"""Problems with locations, and the one exception family the CLI turns into exit codes.

Exit codes: 0 success, 1 invalid input or failed build, 2 usage error (click's own).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Iterable

import click

ERROR = "error"
_SHOW_CONTROLS = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]}
WARNING = "warning"


@dataclass(frozen=True, order=True)
class Loc:
    """A place in a case file: path relative to the case folder (posix), 1-based line and column."""

    path: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.path}:{self.line}:{self.col or 1}"
        return self.path


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or doubtful) in the input, with where it is."""

    severity: str
    loc: Loc
    message: str
    hint: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def sort_key(self) -> tuple:
        return (self.loc.path, self.loc.line, self.loc.col, self.severity != ERROR, self.message)

    def format(self) -> str:
        text = f"{self.loc}: {self.severity}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        # user text quoted in a message must not drive the terminal (escape sequences)
        return text.translate(_SHOW_CONTROLS)


def error(loc: Loc, message: str, hint: str = "") -> Problem:
    return Problem(ERROR, loc, message, hint)


def warning(loc: Loc, message: str, hint: str = "") -> Problem:
    return Problem(WARNING, loc, message, hint)


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    return sorted(set(problems), key=Problem.sort_key)


def shown_from(problems: Iterable[Problem], case_dir: str | os.PathLike) -> list[Problem]:
    """The problems with paths as reached from the current folder, so a terminal or editor
    can open them (`my-case/entries/x.yaml:3:9` rather than `entries/x.yaml:3:9`)."""
    base = os.fspath(case_dir)
    if base in ("", "."):
        return list(problems)
    shown = []
    for p in problems:
        path = os.path.normpath(os.path.join(base, p.loc.path))
        if os.path.isabs(path):
            try:
                relative = os.path.relpath(path)
            except ValueError:  # another drive on Windows
                relative = path
            path = path if relative.startswith("..") else relative
        shown.append(replace(p, loc=replace(p.loc, path=path)))
    return shown


def count_line(problems: list[Problem]) -> str:
    errors = sum(p.is_error for p in problems)
    warnings = len(problems) - errors
    return f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class ItaoError(click.ClickException):
    """Base of every error the tool reports to a user; exit status 1, no traceback."""

    exit_code = 1

    def show(self, file=None) -> None:  # noqa: ANN001 - click's signature
        click.echo(f"error: {self.format_message()}", err=True, file=file)


class CaseInvalid(ItaoError):
    """The case folder has errors; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = sort_problems(problems)
        super().__init__(f"the case has {count_line(self.problems)}")

    def show(self, file=None) -> None:  # noqa: ANN001
        for problem in self.problems:
            click.echo(problem.format(), err=True, file=file)
        click.echo(f"{count_line(self.problems)}; nothing was written", err=True, file=file)


class BuildFailed(ItaoError):
    """The build could not finish (for example the PDF does not fit its budget)."""


class LocatedError(ItaoError):
    """One problem at a place (a file of the case, a manifest entry); shown as `loc: error: ...`."""

    def __init__(self, loc: Loc, message: str, hint: str = ""):
        self.problem = error(loc, message, hint)
        super().__init__(self.problem.format())

    @property
    def loc(self) -> Loc:
        return self.problem.loc

    def show(self, file=None) -> None:  # noqa: ANN001
        click.echo(self.problem.format(), err=True, file=file)


class CaseWriteError(LocatedError):
    """A command would write into the case through a link, over a file, or outside the case."""

"""Themes: a search path of template folders and the Jinja environment over it.

Look-up order: the case's own `theme/` folder, then the chosen theme, then the
default theme, so a case overrides single files by name.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from itaoreport.errors import ItaoError

DEFAULT_THEME = "default"


class ThemeError(ItaoError):
    """A theme or template could not be found or read."""


def builtin_themes_dir() -> Path:
    import itaoreport.themes

    return Path(itaoreport.themes.__file__).parent


def theme_search_path(case_root: Path, theme: str) -> list[Path]:
    """Folders searched for templates and CSS, first match wins."""
    builtin = builtin_themes_dir()
    path: list[Path] = []
    override = case_root / "theme"
    if override.is_dir():
        path.append(override)
    if theme != DEFAULT_THEME:
        chosen = builtin / theme
        if not chosen.is_dir():
            known = sorted(p.name for p in builtin.iterdir() if (p / "report.html.j2").is_file())
            raise ThemeError(f"unknown theme {theme!r}; themes available: {', '.join(known)}")
        path.append(chosen)
    path.append(builtin / DEFAULT_THEME)
    return path


def make_environment(search_path: list[Path]) -> jinja2.Environment:
    """A sandbox-free but autoescaping environment; user text is only ever data."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(p) for p in search_path]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env


def read_theme_file(search_path: list[Path], name: str) -> str:
    """The text of the first `name` found on the search path."""
    for folder in search_path:
        candidate = folder / name
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    raise ThemeError(
        f"theme file {name!r} not found; searched: " + ", ".join(str(p) for p in search_path)
    )


def render_template(env: jinja2.Environment, name: str, context: dict) -> str:
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateNotFound as exc:
        searched = ", ".join(env.loader.searchpath)  # type: ignore[union-attr]
        raise ThemeError(f"template {exc.name!r} not found; searched: {searched}") from None
    except jinja2.TemplateSyntaxError as exc:
        raise ThemeError(f"{exc.filename or exc.name}:{exc.lineno}: template error: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        raise ThemeError(f"template {name!r} uses something the report does not have: {exc}") from None

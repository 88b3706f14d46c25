"""Themes: a search path of template folders and the Jinja environment over it.

Look-up order: the case's own `theme/` folder, then the chosen theme, then the
default theme, so a case overrides single files by name.

A case folder may come from someone else, and its `theme/` folder holds
templates: they run in Jinja's sandbox (no access to Python internals, so no
code runs on the machine building the report), and every theme file must really
be inside its own folder (links out of it are refused).
"""

from __future__ import annotations

import os
import types
from collections.abc import Callable
from pathlib import Path

import jinja2
import jinja2.sandbox
from jinja2.loaders import split_template_path

from itaoreport import __version__
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
        if not _inside(override, case_root):
            raise ThemeError("the case's theme/ folder is a link that points outside the case")
        path.append(override)
    if Path(theme).name != theme or theme.startswith("."):
        raise ThemeError(f"theme {theme[:80]!r} is not a theme name")
    if theme != DEFAULT_THEME:
        chosen = builtin / theme
        if not chosen.is_dir():
            known = sorted(p.name for p in builtin.iterdir() if (p / "report.html.j2").is_file())
            raise ThemeError(f"unknown theme {theme!r}; themes available: {', '.join(known)}")
        path.append(chosen)
    path.append(builtin / DEFAULT_THEME)
    return path


def _inside(path: Path, folder: Path) -> bool:
    """True if `path`, links followed, is `folder` or inside it."""
    try:
        real, root = path.resolve(), folder.resolve()
    except (OSError, RuntimeError, ValueError):
        return False
    return real == root or root in real.parents


def _find(search_path: list[Path], pieces: list[str]) -> Path | None:
    """The first file found on the search path, refusing one that links out of its folder."""
    for folder in search_path:
        candidate = folder.joinpath(*pieces)
        if candidate.is_file():
            if not _inside(candidate, folder):
                raise ThemeError(f"theme file {candidate} is a link that points outside {folder}")
            return candidate
    return None


class ConfinedLoader(jinja2.FileSystemLoader):
    """A FileSystemLoader that refuses template files linking out of their theme folder."""

    def __init__(self, search_path: list[Path]):
        super().__init__([str(p) for p in search_path])
        self.folders = list(search_path)

    def get_source(self, environment: jinja2.Environment,
                   template: str) -> tuple[str, str | None, Callable[[], bool] | None]:
        _find(self.folders, split_template_path(template))
        return super().get_source(environment, template)


_ENVIRONMENTS: dict[tuple, jinja2.Environment] = {}
"""Environments by search path and the template files on it, so a process that builds
again (watch mode) parses each template once; Jinja re-reads a template whose file changed."""


def make_environment(search_path: list[Path], bytecode_dir: Path | None = None) -> jinja2.Environment:
    """A sandboxed, autoescaping environment; user text is only ever data.

    bytecode_dir: where compiled templates are kept between processes (a cache;
    entries are checked against the template source, so a stale one is never
    used). It must be the user's own folder, never one inside a case: compiled
    templates are Python code, and a case may come from someone else.
    """
    key = (_template_files(search_path), str(bytecode_dir))
    env = _ENVIRONMENTS.get(key)
    if env is None:
        env = _Sandbox(
            loader=ConfinedLoader(search_path),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            bytecode_cache=_bytecode_cache(bytecode_dir),
        )
        _ENVIRONMENTS[key] = env
    return env


def _template_files(search_path: list[Path]) -> tuple:
    """Every template on the search path: a file added to an override folder changes the key."""
    found = []
    for folder in search_path:
        found.append(str(folder))
        if folder.is_dir():
            found.extend(sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.j2")))
    return tuple(found)


_INTERNAL_TYPES = (types.FunctionType, types.MethodType, type, types.CodeType,
                   types.TracebackType, types.FrameType, types.GeneratorType,
                   types.CoroutineType, types.AsyncGeneratorType)
"""The types whose public-looking attributes Jinja's sandbox may still refuse (see
jinja2.sandbox.is_internal_attribute); every other type only hides `_` names."""
_METHOD_TYPES = (types.MethodType, types.BuiltinMethodType)
"""What Jinja's sandbox may wrap on access (a bound str.format / format_map)."""


class _Sandbox(jinja2.sandbox.SandboxedEnvironment):
    """Jinja's sandbox with the same rules, decided once per type instead of per access.

    A report reads a few hundred thousand attributes; the stock check costs more
    than the rest of the rendering. For an object that is not one of
    _INTERNAL_TYPES (and does not pretend otherwise through `__class__`), the
    stock rule reduces to "names starting with `_` are refused".
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._plain_types: dict[type, bool] = {}

    def is_safe_attribute(self, obj: object, attr: str, value: object) -> bool:
        if attr.startswith("_"):
            return False
        kind = type(obj)
        plain = self._plain_types.get(kind)
        if plain is None:
            plain = self._plain_types[kind] = not issubclass(kind, _INTERNAL_TYPES)
        if plain and obj.__class__ is kind:
            return True
        return super().is_safe_attribute(obj, attr, value)

    def getattr(self, obj: object, attribute: str) -> object:
        """Jinja's getattr, without its checks where they cannot change the answer.

        For a public attribute of a plain object whose value is not a method, the
        stock rules return the value itself (is_safe_attribute above; only a bound
        `str.format` is ever wrapped). Everything else takes the stock path.
        """
        kind = type(obj)
        if not attribute.startswith("_") and self._plain_types.get(kind) and \
                obj.__class__ is kind:
            try:
                value = getattr(obj, attribute)
            except AttributeError:
                pass
            else:
                if not isinstance(value, _METHOD_TYPES):
                    return value
        return super().getattr(obj, attribute)


def user_template_cache() -> Path | None:
    """The user's cache folder for compiled templates: $XDG_CACHE_HOME or ~/.cache."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:  # no home folder at all
            return None
    return Path(base) / "itaoreport" / f"templates-{__version__}-sandboxed"


def _bytecode_cache(folder: Path | None) -> jinja2.BytecodeCache | None:
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # a read-only case folder still builds, only without the cache
    return _QuietBytecodeCache(str(folder))


class _QuietBytecodeCache(jinja2.FileSystemBytecodeCache):
    """A cache that cannot be written only makes the next build slower, never fails this one."""

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def read_theme_file(search_path: list[Path], name: str) -> str:
    """The text of the first `name` found on the search path."""
    found = _find(search_path, [name])
    if found is not None:
        return found.read_text(encoding="utf-8")
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
    except jinja2.sandbox.SecurityError as exc:
        raise ThemeError(f"template {name!r} tried something themes may not do: {exc}") from None
    except jinja2.UndefinedError as exc:
        raise ThemeError(f"template {name!r} uses something the report does not have: {exc}") from None

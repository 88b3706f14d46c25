"""Themes: a search path of template folders and the Jinja environment over it.

Look-up order: the case's own `theme/` folder, then the chosen theme, then the
default theme, so a case overrides single files by name.

A case folder may come from someone else, and its `theme/` folder holds
templates: they run in Jinja's sandbox (no access to Python internals, so no
code runs on the machine building the report), and every theme file must really
be inside its own folder (links out of it are refused).
"""

from __future__ import annotations

import re
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
        env.globals.pop("lipsum", None)  # lorem ipsum of any length: nothing a report needs
        env.filters["direction"] = _direction
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


MAX_SEQUENCE = 1_000_000
"""Longest string or list a template may make with `*` (a report is far smaller)."""
MAX_POWER = 10_000
"""Largest exponent a template may use with `**`."""


def _direction(text: object) -> str:
    """The `direction` filter: "ltr", "rtl" or "auto" for a piece of user text."""
    from itaoreport.render.i18n import text_direction

    return text_direction(str(text))


_DICT_ATTRIBUTES = frozenset(dir(dict))


class _Sandbox(jinja2.sandbox.ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with its stock attribute checks, and bounded arithmetic.

    Templates get plain data only (render/context.py); the sandbox is the second wall.
    `*` and `**` are intercepted so that a template cannot build a string or number
    that takes the machine's memory (`range` is already bounded by Jinja).
    """

    intercepted_binops = frozenset(["*", "**"])

    def getattr(self, obj: object, attribute: str) -> object:
        """`x.name` on a plain dict without such a method: the item, as Jinja's own lookup
        ends up giving (a plain dict has no other attributes), without first raising and
        catching an AttributeError, which costs most of the time of rendering a long log."""
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: object,
                   right: object) -> object:
        if operator == "**":
            if isinstance(right, (int, float)) and abs(right) > MAX_POWER or (
                    isinstance(left, int) and isinstance(right, int)
                    and left.bit_length() * abs(right) > MAX_SEQUENCE):
                raise jinja2.sandbox.SecurityError(f"the power {right} is too large")
            return left ** right  # type: ignore[operator]
        for seq, n in ((left, right), (right, left)):
            if isinstance(seq, (str, list, tuple)) and isinstance(n, int) \
                    and len(seq) * n > MAX_SEQUENCE:
                raise jinja2.sandbox.SecurityError("the result of * would be too long")
        return left * right  # type: ignore[operator]


def user_template_cache() -> Path | None:
    """The user's cache folder for compiled templates (itaoreport/usercache.py)."""
    from itaoreport.usercache import user_cache_folder

    folder = user_cache_folder()
    return None if folder is None else folder / f"templates-{__version__}-immutable"


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


_HEX_COLOUR = re.compile(r"#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b")
_RGB_COLOUR = re.compile(r"rgba?\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*([,)])")


def greyscale_css(css: str) -> str:
    """The same stylesheet with every #hex and rgb() colour replaced by its grey of equal
    luminance (Rec. 601): a black-and-white variant of any theme, since WeasyPrint has no
    CSS `filter`. Named colours other than black, white and grays are not used by the theme."""

    def grey(r: int, g: int, b: int) -> str:
        y = round(0.299 * r + 0.587 * g + 0.114 * b)
        return f"#{y:02x}{y:02x}{y:02x}"

    def hex_grey(match: re.Match) -> str:
        code = match.group(1)
        if len(code) == 3:
            code = "".join(c * 2 for c in code)
        return grey(*(int(code[i:i + 2], 16) for i in (0, 2, 4)))

    def rgb_grey(match: re.Match) -> str:
        r, g, b = (min(255, int(match.group(i))) for i in (1, 2, 3))
        y = round(0.299 * r + 0.587 * g + 0.114 * b)
        return f"rgba({y}, {y}, {y}{match.group(4)}" if match.group(4) == "," else \
            f"rgb({y}, {y}, {y})"

    return _RGB_COLOUR.sub(rgb_grey, _HEX_COLOUR.sub(hex_grey, css))


def read_theme_file(search_path: list[Path], name: str) -> str:
    """The text of the first `name` found on the search path."""
    found = _find(search_path, [name])
    if found is not None:
        return found.read_text(encoding="utf-8")
    raise ThemeError(
        f"theme file {name!r} not found; searched: " + ", ".join(str(p) for p in search_path)
    )


def render_template(env: jinja2.Environment, name: str, context: dict) -> str:
    """`name` rendered with `context`; any failure of a template is a ThemeError saying where."""
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateNotFound as exc:
        searched = ", ".join(env.loader.searchpath)  # type: ignore[union-attr]
        where = _where(exc, name)
        prefix = f"{where}: template error: " if where != name or exc.name != name else ""
        raise ThemeError(f"{prefix}template {exc.name!r} not found; searched: {searched}") from None
    except jinja2.TemplateSyntaxError as exc:
        raise ThemeError(f"{exc.filename or exc.name}:{exc.lineno}: template error: {exc.message}") from None
    except jinja2.sandbox.SecurityError as exc:
        raise ThemeError(f"{_where(exc, name)}: template error: tried something themes may not do: {exc}") from None
    except jinja2.UndefinedError as exc:
        raise ThemeError(f"{_where(exc, name)}: template error: the report has no such "
                         f"value: {exc}") from None
    except (ThemeError, RecursionError, MemoryError) as exc:
        if isinstance(exc, ThemeError):
            raise
        raise ThemeError(f"{_where(exc, name)}: template error: {type(exc).__name__}") from None
    except Exception as exc:  # noqa: BLE001 - a case's template is untrusted input
        detail = str(exc).splitlines()[0][:200] if str(exc) else ""
        raise ThemeError(f"{_where(exc, name)}: template error: {type(exc).__name__}"
                         f"{': ' + detail if detail else ''}") from None


def _where(exc: BaseException, name: str) -> str:
    """file:line of the innermost template frame of `exc` (Jinja rewrites its traceback)."""
    found = name
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            found = f"{filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found

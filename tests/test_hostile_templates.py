"""A case's own theme/ templates reach nothing outside the case (issue #14, part 1).

Templates get plain data only (render/context.py) and run in Jinja's
ImmutableSandboxedEnvironment with its stock checks. These tests render, with
the real context of a real case, a template for every method of every type in
the context (called bare and with a path outside the case), `attr()` and
`map(attribute=...)` tricks, str.format tricks, `range`, `self`, the cycler /
joiner / namespace globals and the known sandbox escapes. Each either renders
literal text or fails as a located ThemeError; no file outside the case is read
(a sentinel's text never shows) or written (the folder around the case is
unchanged), and the CLI says where and exits 1 without a traceback.
"""

from __future__ import annotations

import hashlib
import os
from datetime import date, datetime
from pathlib import Path

import pytest
from conftest import ENTRY_YAML, png_bytes, write_case
from hostile_support import assert_clean_failure, run_cli
from markupsafe import Markup

from itaoreport import build as build_module
from itaoreport.build import BuildOptions, build
from itaoreport.render import themes

SENTINEL = "SENTINEL-OUTSIDE-THE-CASE"
PLAIN = (dict, list, str, int, float, bool, type(None), date, datetime, Markup)

PROMISED = ENTRY_YAML.replace("sender: me", "sender: seller") + """\
quote: Tracking will update in 2 days.
attachments:
  - path: s/a.png
    caption: The chat
  - s/b.png
links: [https://example.invalid/x, ftp://example.invalid/y]
action: Wait
promise:
  text: Tracking within two days.
  due: 2023-10-28 18:00
"""
REQUIREMENT = """\
timestamp: 2023-10-21 10:00
channel: Email
sender: me
kind: requirement
summary: Size M please.
"""
APPROVAL = """\
timestamp: 2023-10-22 10:00
channel: Email
sender: seller
kind: approval
decision: approved
refers_to: req
summary: Approved.
"""


def _snapshot(folder: Path, skip: tuple[Path, ...]) -> dict[str, tuple[int, str]]:
    """Every file under folder (not under skip): size and SHA-256, links not followed."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if here / d not in skip]
        for name in filenames:
            path = here / name
            if path.is_symlink() or not path.is_file():
                found[str(path)] = (-1, "")
                continue
            data = path.read_bytes()
            found[str(path)] = (len(data), hashlib.sha256(data).hexdigest())
    return found


@pytest.fixture
def hostile_case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "secret.txt").write_text(SENTINEL, encoding="utf-8")
    case = write_case(tmp_path / "case", entries={"a.yaml": PROMISED, "req.yaml": REQUIREMENT,
                                                  "appr.yaml": APPROVAL},
                      files={"s/a.png": png_bytes(60, 120, text="a"),
                             "s/b.png": png_bytes(120, 60, "yellow", text="b")})
    (case / "theme").mkdir()
    return case


def _context(case: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[object, dict]:
    """The environment and the real context the build renders report.html.j2 with."""
    seen: list[tuple[object, dict]] = []
    original = build_module.render_template

    def spy(env, name, context):  # noqa: ANN001, ANN202
        seen.append((env, context))
        return original(env, name, context)

    monkeypatch.setattr(build_module, "render_template", spy)
    build(case, BuildOptions(formats=("html",)))
    monkeypatch.setattr(build_module, "render_template", original)
    return seen[0]


def _walk(value: object, expr: str, found: list[tuple[str, object]]) -> None:
    found.append((expr, value))
    if isinstance(value, dict):
        for key, item in value.items():
            _walk(item, f"{expr}[{key!r}]", found)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _walk(item, f"{expr}[{i}]", found)


def _values(context: dict) -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for key, value in context.items():
        _walk(value, key, found)
    return found


def test_the_context_is_plain_data_all_the_way_down(hostile_case: Path,
                                                    monkeypatch: pytest.MonkeyPatch):
    _env, context = _context(hostile_case, monkeypatch)
    values = _values(context)
    assert len(values) > 200  # the walk really went into entries, promises, exhibits, ...
    wrong = [(expr, type(v).__name__) for expr, v in values if type(v) not in PLAIN]
    assert not wrong, wrong[:20]


def _render(env, context: dict, source: str) -> str | themes.ThemeError:  # noqa: ANN001
    (Path(env.loader.searchpath[0]) / "probe.html.j2").write_text(source, encoding="utf-8")
    fresh = themes.make_environment([Path(p) for p in env.loader.searchpath])
    try:
        return themes.render_template(fresh, "probe.html.j2", context)
    except themes.ThemeError as exc:
        return exc


KNOWN_ESCAPES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__.__builtins__.open('SECRET_PATH').read() }}",
    "{{ self.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ range.__self__ }}",
    "{{ range(10**9) | list | length }}",
    "{{ '{0.__class__.__mro__}'.format(labels) }}",
    "{{ '{0.__class__}'.format_map(labels) }}",
    "{{ '%s' | format(labels.__class__) }}",
    "{{ labels | attr('__class__') }}",
    "{{ (labels | attr('__class__')).__base__.__subclasses__() }}",
    "{{ entries | map(attribute='__class__') | list }}",
    "{{ entries | map(attribute='__init__.__globals__') | list }}",
    "{{ labels.items() | map(attribute='__class__') | list }}",
    "{{ labels.update({'report': 'x'}) }}",
    "{{ entries.append(1) }}",
    "{{ entries.pop() }}",
    "{{ labels.pop('report') }}",
    "{{ labels.setdefault('x', 1) }}",
    "{% set ns = namespace() %}{% set ns.__class__ = 1 %}{{ ns }}",
    "{% set ns = namespace(a=1) %}{{ ns.__dict__ }}",
    "{{ cycler('a').next.__self__.__class__ }}",
    "{{ joiner().__call__.__globals__ }}",
    "{% macro m() %}{{ m.__globals__ }}{% endmacro %}{{ m() }}",
    "{% macro m() %}{{ m._func.__globals__ }}{% endmacro %}{{ m() }}",
    "{% for x in entries %}{{ loop.__class__ }}{% endfor %}",
    "{{ config }}{{ request }}{{ os }}{{ open }}",
    "{% include '../secret.txt' %}",
    "{% include '/SECRET_PATH' %}",
    "{% include '../../secret.txt' %}",
    "{% import '../secret.txt' as s %}",
    "{% extends '../secret.txt' %}",
    "{{ 'x' * 10**9 }}",
    "{{ [1] * 10**8 }}",
    "{{ (10**1000) ** 10000 }}",
    "{{ 9 ** 99999999 }}",
    "{{ dict.__base__ }}{{ dict(a=1).__class__ }}",
    "{{ case.root }}",
    "{{ fmt }}",
    "{{ when }}",
    "{{ case.root.joinpath('SECRET_PATH').read_text() }}",
    "{{ (case | attr('root')).joinpath('SECRET_PATH').write_text('x') }}",
]


def test_known_sandbox_escapes_render_text_or_fail_located(hostile_case: Path,
                                                           monkeypatch: pytest.MonkeyPatch):
    env, context = _context(hostile_case, monkeypatch)
    outside = hostile_case.parent
    secret = str(outside / "secret.txt")
    before = _snapshot(outside, (hostile_case, outside / "user-cache"))
    failed = 0
    for source in KNOWN_ESCAPES:
        outcome = _render(env, context, source.replace("SECRET_PATH", secret))
        if isinstance(outcome, themes.ThemeError):
            failed += 1
            assert "probe.html.j2" in str(outcome), (source, str(outcome))
            assert SENTINEL not in str(outcome)
        else:
            assert SENTINEL not in outcome, source
            assert "__globals__" not in outcome and "<class" not in outcome, (source, outcome)
    assert failed >= len(KNOWN_ESCAPES) - 5  # almost all of them are refused outright
    assert _snapshot(outside, (hostile_case, outside / "user-cache")) == before


def test_every_method_of_every_context_type_reaches_nothing(hostile_case: Path,
                                                            monkeypatch: pytest.MonkeyPatch):
    env, context = _context(hostile_case, monkeypatch)
    outside = hostile_case.parent
    secret = str(outside / "secret.txt")
    before = _snapshot(outside, (hostile_case, outside / "user-cache"))
    by_type: dict[type, list[str]] = {}
    for expr, value in _values(context):
        by_type.setdefault(type(value), []).append(expr)
    calls = 0
    for kind, exprs in by_type.items():
        for name in sorted(n for n in dir(kind) if not n.startswith("_")):
            for expr in exprs[:2]:  # the first two of each type: a dict of each shape, ...
                for args in ("", f"'{secret}'", f"'{secret}', '{secret}'"):
                    source = (f"{{{{ {expr}.{name}({args}) }}}}"
                              f"{{{{ ({expr} | attr('{name}'))({args}) }}}}")
                    outcome = _render(env, context, source)
                    calls += 1
                    text = str(outcome)
                    assert SENTINEL not in text, source
    assert calls > 300
    assert _snapshot(outside, (hostile_case, outside / "user-cache")) == before
    assert context["labels"]["report"]  # still there: nothing was changed in place


@pytest.mark.parametrize("source", [
    "{{ case.root.joinpath('/etc/hostname').read_text() }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ entries[0].summary.__class__ }}",
    "{{ labels.update({'a': 1}) }}",
    "line one\n{{ 'x' * 10**9 }}",
    "{{ range(10**9) | list }}",
    "{{ 1 / 0 }}",
    "{{ entries[0].summary.zfill() }}",
])
def test_the_cli_says_where_a_case_template_failed(hostile_case: Path, source: str):
    (hostile_case / "theme" / "report.html.j2").write_text(source, encoding="utf-8")
    output = assert_clean_failure(run_cli("build", hostile_case, "--format", "html,pdf"),
                                  "theme/report.html.j2:", "template error")
    line = source.count("\n") + 1
    assert f"report.html.j2:{line}:" in output
    assert not (hostile_case / "build").exists()


def test_a_template_that_only_reads_plain_data_still_works(hostile_case: Path):
    (hostile_case / "theme" / "report.html.j2").write_text(
        "{% for e in entries %}{{ e.time }} {{ e.summary | upper }} "
        "{{ e.shown | map(attribute='label') | join(',') }}\n{% endfor %}"
        "{{ labels.items() | list | length > 10 }} {{ '{0}'.format(case.order.id) }}",
        encoding="utf-8")
    result = run_cli("build", hostile_case, "--format", "html")
    assert result.exit_code == 0, result.output
    html = (hostile_case / "build" / "report.html").read_text(encoding="utf-8")
    assert "ASKED FOR TRACKING." in html and "E1,E2" in html and html.endswith("True T-1")

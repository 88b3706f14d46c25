"""Theme environments: the faster sandbox keeps Jinja's rules; environments are reused safely."""

from __future__ import annotations

import types
from dataclasses import dataclass
from pathlib import Path

import jinja2.sandbox
import pytest

from itaoreport.render import themes


@dataclass
class _Entry:
    summary: str


def _function() -> None:
    pass


def _generator():
    yield 1


class _Liar:
    """Claims to be a function through __class__, as isinstance would believe."""

    __class__ = types.FunctionType  # type: ignore[assignment]
    func_code = "secret"


OBJECTS = [_Entry("x"), "text", {"a": 1}, [1], _function, _Entry("x").__repr__, _Entry,
           _function.__code__, _generator(), _Liar()]
ATTRIBUTES = ["summary", "upper", "items", "append", "__globals__", "func_code", "__code__",
              "mro", "gi_frame", "_private", "__class__", "__init__", "f_globals"]


@pytest.mark.parametrize("obj", OBJECTS, ids=lambda o: type(o).__name__)
def test_sandbox_decides_like_jinja(obj: object, tmp_path: Path):
    fast = themes.make_environment([tmp_path])
    stock = jinja2.sandbox.SandboxedEnvironment()
    for attr in ATTRIBUTES:
        assert fast.is_safe_attribute(obj, attr, None) == stock.is_safe_attribute(obj, attr, None), attr


class _Tricky:
    plain = 1

    @property
    def broken(self) -> int:
        raise AttributeError("inside the property")

    def method(self) -> int:
        return 2

    def __getitem__(self, key: str) -> str:
        return f"item {key}"


GETATTR_OBJECTS = [*OBJECTS, _Tricky(), "{0.__class__}", {"summary": 1, "items": 2, "_x": 3}]
GETATTR_NAMES = [*ATTRIBUTES, "plain", "broken", "method", "format", "format_map", "real",
                 "missing", "_x"]


def _outcome(env: jinja2.sandbox.SandboxedEnvironment, obj: object, attr: str) -> object:
    value = env.getattr(obj, attr)
    if isinstance(value, jinja2.Undefined):
        return ("undefined", type(value), value._undefined_hint, value._undefined_exception)
    if getattr(value, "__wrapped__", None) is not None:  # the sandbox's str.format wrapper
        return ("wrapped", value.__wrapped__)
    return ("value", value)


@pytest.mark.parametrize("obj", GETATTR_OBJECTS, ids=lambda o: type(o).__name__)
def test_sandbox_getattr_gives_what_jinja_gives(obj: object, tmp_path: Path):
    fast = themes.make_environment([tmp_path])
    stock = jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.StrictUndefined)
    for attr in GETATTR_NAMES:
        for _ in range(2):  # the first look-up teaches the fast sandbox the type
            assert _outcome(fast, obj, attr) == _outcome(stock, obj, attr), attr


def test_environment_is_reused_until_the_theme_files_change(tmp_path: Path):
    (tmp_path / "a.html.j2").write_text("a", encoding="utf-8")
    first = themes.make_environment([tmp_path])
    assert themes.make_environment([tmp_path]) is first
    (tmp_path / "b.html.j2").write_text("b", encoding="utf-8")
    assert themes.make_environment([tmp_path]) is not first


def test_compiled_templates_are_cached_outside_the_case(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = themes.user_template_cache()
    assert folder is not None and folder.is_relative_to(tmp_path / "cache")
    (tmp_path / "theme").mkdir()
    (tmp_path / "theme" / "t.html.j2").write_text("{{ 1 + 1 }}", encoding="utf-8")
    env = themes.make_environment([tmp_path / "theme"], folder)
    assert themes.render_template(env, "t.html.j2", {}) == "2"
    assert any(folder.iterdir())
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")
    relative_ignored = themes.user_template_cache()
    assert relative_ignored is None or relative_ignored.is_absolute()

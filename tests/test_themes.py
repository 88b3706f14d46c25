"""Theme environments: Jinja's immutable sandbox with its own checks; environments reused safely."""

from __future__ import annotations

from pathlib import Path

import jinja2.sandbox
import pytest

from itaoreport.render import themes


def test_case_templates_run_in_the_stock_immutable_sandbox(tmp_path: Path):
    """No shortcut past Jinja's own attribute checks (issue #14: a fast path for "plain
    objects" let templates call any public method of any object)."""
    env = themes.make_environment([tmp_path])
    assert isinstance(env, jinja2.sandbox.ImmutableSandboxedEnvironment)
    for name in ("is_safe_attribute", "is_safe_callable", "getitem", "call",
                 "modifies_known_mutable"):
        own = getattr(type(env), name, None)
        stock = getattr(jinja2.sandbox.ImmutableSandboxedEnvironment, name, None)
        assert own is stock, name
    assert "lipsum" not in env.globals


class _Thing:
    name = "a class attribute"

    def method(self):
        return "called"


@pytest.mark.parametrize("obj", [
    {"name": "x", "items": "shadowing", "__class__": "dunder key", "_private": 1, "get": 2},
    {}, {1: "int key"}, _Thing(), [1, 2], "text", 5, None,
    type("Sub", (dict,), {})(name="a dict subclass"),
], ids=lambda o: type(o).__name__)
def test_the_dict_lookup_shortcut_gives_what_the_stock_sandbox_gives(tmp_path: Path, obj):
    """Our one override, getattr, takes a plain dict's item directly; for every object and
    name the outcome (value, undefined, or refusal) is the stock sandbox's."""
    ours = themes.make_environment([tmp_path])
    stock = jinja2.sandbox.ImmutableSandboxedEnvironment(undefined=type(ours.undefined()))
    names = ["name", "items", "get", "keys", "__class__", "_private", "__init__", "method",
             "missing", "pop", "update", "setdefault", "mro", "__globals__", "1"]

    def outcome(env, name):
        value = env.getattr(obj, name)
        if isinstance(value, jinja2.Undefined):
            return ("undefined", type(value).__name__)
        return ("value", repr(value) if not callable(value) else getattr(value, "__name__", "?"))

    for name in names:
        assert outcome(ours, name) == outcome(stock, name), name


@pytest.mark.parametrize("source, expected", [
    ("{{ 'ab' * 3 }}", "ababab"), ("{{ 2 ** 10 }}", "1024"), ("{{ [0] * 2 }}", "[0, 0]"),
    ("{{ 'x' * 10**7 }}", themes.ThemeError), ("{{ 7 ** 100000 }}", themes.ThemeError),
    ("{{ (10**100) ** 20000 }}", themes.ThemeError),
    ("{{ 'اهلا' | direction }} {{ 'hi' | direction }}", "rtl ltr"),
])
def test_arithmetic_is_bounded_and_the_direction_filter_is_plain(tmp_path: Path, source: str,
                                                                  expected: object):
    (tmp_path / "t.html.j2").write_text(source, encoding="utf-8")
    env = themes.make_environment([tmp_path])
    if expected is themes.ThemeError:
        with pytest.raises(themes.ThemeError, match="t.html.j2:1: template error"):
            themes.render_template(env, "t.html.j2", {})
    else:
        assert themes.render_template(env, "t.html.j2", {}) == expected


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

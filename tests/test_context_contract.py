"""The template context is the documented contract of render/context.py, and plain data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import warm_copy_of_sample

from itaoreport import build as build_module
from itaoreport.build import BuildOptions, build
from itaoreport.render import context as context_module


def documented_keys() -> set[str]:
    """The top-level keys the module docstring lists (a word at 4 spaces' indent)."""
    doc = context_module.__doc__ or ""
    block = doc.split("Keys (all always present", 1)[1].split("\nA promise view", 1)[0]
    keys = set()
    for line in block.splitlines():
        found = re.match(r"^    ([a-z_]+(?:, [a-z_]+)*)\b", line)
        if found:
            keys.update(k.strip() for k in found.group(1).split(","))
    return keys


def rendered_contexts(case: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    seen: list[dict] = []
    original = build_module.render_template

    def spy(env, name, context):  # noqa: ANN001, ANN202
        seen.append(context)
        return original(env, name, context)

    monkeypatch.setattr(build_module, "render_template", spy)
    build(case, BuildOptions(formats=("html", "pdf")))
    return seen


@pytest.fixture(scope="module")
def contexts(sample_build: Path, tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    """What one build of the sample hands its templates (screen, then print), read by both
    tests below. From a copy with sample_build's analysis cache (conftest.py): the contexts
    are made from the analysis, the same from the cache as from cold."""
    case = warm_copy_of_sample(tmp_path_factory.mktemp("contexts") / "sample", sample_build)
    with pytest.MonkeyPatch.context() as monkeypatch:
        return rendered_contexts(case, monkeypatch)


def test_every_context_key_is_documented_and_every_documented_key_is_there(
        contexts: list[dict]):
    screen, printed = contexts[:2]
    documented = documented_keys()
    assert set(screen) == documented - {"print_images"}
    assert set(printed) == documented
    assert screen["medium"] == "screen" and printed["medium"] == "print"


def test_templates_get_formatted_text_not_objects(contexts: list[dict]):
    context = contexts[0]
    assert "root" not in context["case"]
    assert context["case"]["order"]["date"] == "Oct 20, 2023"
    assert context["case"]["order"]["amount"] == "$59.90"
    first = context["entries"][0]
    assert first["time"] == "Oct 20, 2023, 10:12" and isinstance(first["summary"], str)
    assert all(not callable(v) for v in context.values())

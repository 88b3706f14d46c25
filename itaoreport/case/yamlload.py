"""Safe, located, bounded YAML loading.

Files are composed into PyYAML nodes (never constructed into Python objects by
PyYAML), then turned into a small tree of located values: every mapping key and
every scalar keeps its line and column. Scalars stay *strings* here; the
validator converts them according to the field they belong to, so `yes`, `0123`
or `10:30` in a text field are read as the text the user typed.

Refused on purpose: custom and Python tags, aliases and anchors (no alias
bombs), merge keys, duplicate keys, files over MAX_YAML_BYTES, non-UTF-8 text,
and nesting deeper than MAX_DEPTH.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

import yaml

from itaoreport.errors import Loc, Problem, error

try:  # the C parser is several times faster; fall back to pure Python where absent
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_YAML_BYTES = 1_000_000
MAX_DEPTH = 32
MAX_NODES = 50_000

_STANDARD_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:value",
}


@dataclass
class YScalar:
    """A scalar exactly as written: its text, whether it was quoted, and where it is."""

    text: str
    loc: Loc
    quoted: bool = False
    tag: str = ""

    @property
    def is_null(self) -> bool:
        return not self.quoted and self.text in ("", "~", "null", "Null", "NULL")


@dataclass
class YSeq:
    items: list["YNode"]
    loc: Loc


@dataclass
class YMap:
    """A mapping; keys are plain strings, each with the location of the key itself."""

    items: dict[str, "YNode"]
    key_locs: dict[str, Loc]
    loc: Loc
    order: list[str] = field(default_factory=list)


YNode = Union[YScalar, YSeq, YMap]


class YamlProblem(Exception):
    """Loading stopped; carries the located problem."""

    def __init__(self, problem: Problem):
        super().__init__(problem.format())
        self.problem = problem


def _loc(path: str, mark) -> Loc:  # noqa: ANN001
    if mark is None:
        return Loc(path, 1, 1)
    return Loc(path, mark.line + 1, mark.column + 1)


def load_yaml_bytes(data: bytes, path: str) -> YNode | None:
    """Parse one YAML document; raise YamlProblem with a location on anything refused."""
    if len(data) > MAX_YAML_BYTES:
        raise YamlProblem(
            error(Loc(path, 1, 1), f"file is {len(data):,} bytes; the limit is {MAX_YAML_BYTES:,}")
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise YamlProblem(
            error(Loc(path, line, col), "file is not UTF-8 text", "save it as UTF-8 in your editor")
        ) from None
    if "\x00" in text:
        raise YamlProblem(error(Loc(path, 1, 1), "file contains NUL bytes; is it really YAML?"))
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            message = f"{exc.context}: {exc.problem}"
        raise YamlProblem(error(_loc(path, mark), f"invalid YAML: {message}")) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(error(Loc(path, 1, 1), f"invalid YAML: {exc}")) from None
    except (RecursionError, MemoryError):
        raise YamlProblem(error(Loc(path, 1, 1), "YAML is nested too deeply to read")) from None
    if node is None:
        return None
    return _Converter(path).convert(node, 0)


class _Converter:
    def __init__(self, path: str):
        self.path = path
        self.seen: set[int] = set()
        self.count = 0

    def convert(self, node, depth: int) -> YNode:  # noqa: ANN001
        loc = _loc(self.path, node.start_mark)
        if id(node) in self.seen:
            raise YamlProblem(
                error(loc, "YAML anchors and aliases (&name / *name) are not allowed",
                      "write the value out in full")
            )
        self.seen.add(id(node))
        self.count += 1
        if self.count > MAX_NODES:
            raise YamlProblem(error(loc, f"file has more than {MAX_NODES:,} values; refusing to read it"))
        if depth > MAX_DEPTH:
            raise YamlProblem(error(loc, f"values are nested deeper than {MAX_DEPTH} levels"))
        tag = node.tag or ""
        if tag not in _STANDARD_TAGS:
            raise YamlProblem(
                error(loc, f"YAML tag {tag!r} is not allowed", "remove the tag; write plain values")
            )
        if isinstance(node, yaml.ScalarNode):
            return YScalar(node.value, loc, quoted=node.style not in (None, ""), tag=tag)
        if isinstance(node, yaml.SequenceNode):
            return YSeq([self.convert(item, depth + 1) for item in node.value], loc)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, loc, depth)
        raise YamlProblem(error(loc, "unsupported YAML node"))  # pragma: no cover

    def _mapping(self, node, loc: Loc, depth: int) -> YMap:  # noqa: ANN001
        result = YMap({}, {}, loc)
        for key_node, value_node in node.value:
            key_loc = _loc(self.path, key_node.start_mark)
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise YamlProblem(error(key_loc, "YAML merge keys (<<) are not allowed"))
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlProblem(error(key_loc, "a key must be a plain name, not a list or mapping"))
            if key_node.tag not in _STANDARD_TAGS:
                raise YamlProblem(error(key_loc, f"YAML tag {key_node.tag!r} is not allowed"))
            key = key_node.value
            if key in result.items:
                first = result.key_locs[key]
                raise YamlProblem(
                    error(key_loc, f"duplicate key {key!r}", f"first given on line {first.line}")
                )
            result.key_locs[key] = key_loc
            result.items[key] = self.convert(value_node, depth + 1)
            result.order.append(key)
        return result

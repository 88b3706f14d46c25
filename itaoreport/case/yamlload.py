"""Safe, located, bounded YAML loading.

Files are read as PyYAML parser events (never composed or constructed into
Python objects by PyYAML) and turned, without recursion, into a small tree of
located values: every mapping key and every scalar keeps its line and column.
Scalars stay *strings* here; the validator converts them according to the
field they belong to, so `yes`, `0123` or `10:30` in a text field are read as
the text the user typed.

Refused on purpose: custom and Python tags, aliases and anchors (no alias
bombs), merge keys, duplicate keys, more than one document, files over
MAX_YAML_BYTES, non-UTF-8 text, NUL bytes, more than MAX_NODES values and
nesting deeper than MAX_DEPTH. See docs/limits.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Union

from itaoreport.errors import Loc, Problem, error

if TYPE_CHECKING:
    import yaml


@lru_cache(maxsize=1)
def _loader_class() -> type:
    """PyYAML's C parser, several times faster, else its pure-Python one. PyYAML is imported
    here, on the first file parsed: a warm build that reuses the parsed case
    (case/loadcache.py) never needs it (~20 ms of start-up)."""
    try:
        from yaml import CSafeLoader as loader
    except ImportError:  # pragma: no cover - depends on how PyYAML was built
        from yaml import SafeLoader as loader  # type: ignore[assignment]
    return loader

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
    """The explicit standard tag written before it (e.g. `!!str`), or "" for none."""

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


def _loc(path: str, mark) -> Loc:  # noqa: ANN001 - a PyYAML Mark (C or Python) or None
    """A 1-based location from a 0-based PyYAML mark."""
    if mark is None:
        return Loc(path, 1, 1)
    return Loc(path, mark.line + 1, mark.column + 1)


def _offset_loc(path: str, data: bytes, offset: int) -> Loc:
    """The 1-based line and column of a byte offset."""
    offset = max(0, min(offset, len(data)))
    line = data.count(b"\n", 0, offset) + 1
    col = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return Loc(path, line, col)


def load_yaml_bytes(data: bytes, path: str) -> YNode | None:
    """Parse one YAML document; raise YamlProblem with a location on anything refused.

    The tree is built from the parser's event stream without recursion, so no
    input can exhaust the stack, and limits apply before anything large is built.
    """
    if len(data) > MAX_YAML_BYTES:
        raise YamlProblem(
            error(Loc(path, 1, 1), f"file is {len(data):,} bytes; the limit is {MAX_YAML_BYTES:,}",
                  "an entry is a few lines; is this really an entry file?")
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise YamlProblem(
            error(_offset_loc(path, data, exc.start), "file is not UTF-8 text",
                  "save it as UTF-8 in your editor")
        ) from None
    if "\x00" in text:
        raise YamlProblem(error(_offset_loc(path, data, data.index(b"\x00")),
                                "file contains NUL bytes; is it really YAML?"))
    import yaml
    import yaml.reader

    try:
        loader = _loader_class()(text)
        try:
            return _Builder(path).build(loader)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if "maximum nesting depth" in (exc.problem or ""):
            # libyaml >= 0.2.5 (PyYAML 6.0.3+ wheels) stops at 1,000 open brackets while
            # scanning ahead, before our own limit sees the events: the same problem.
            raise YamlProblem(error(_loc(path, mark),
                                    f"values are nested deeper than {MAX_DEPTH} levels")) from None
        plain = _plain_words(text, path, mark, exc)
        if plain is not None:
            raise YamlProblem(plain) from None
        message = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            message = f"{exc.context}: {exc.problem}"
        raise YamlProblem(error(_loc(path, mark), f"invalid YAML: {message}")) from None
    except yaml.reader.ReaderError as exc:
        # libyaml reports the offset in the UTF-8 bytes it was given
        where = _offset_loc(path, text.encode("utf-8"), exc.position)
        raise YamlProblem(error(where, f"invalid YAML: {exc.reason} (#x{exc.character:04x})"
                                if isinstance(exc.character, int) else
                                f"invalid YAML: {exc.reason}")) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(error(Loc(path, 1, 1), f"invalid YAML: {exc}")) from None


_KEY_LINE = re.compile(r"^(?P<indent>\s*(?:-\s+)?)(?P<key>[A-Za-z_][\w.-]*):[ \t]+(?P<value>.*?)\s*$")


def _plain_words(text: str, path: str, mark, exc: yaml.MarkedYAMLError) -> Problem | None:  # noqa: ANN001
    """The two mistakes people make most, said so they can fix them: a tab used to indent,
    and a text with `: ` inside it that YAML reads as a second field."""
    if mark is None:
        return None
    lines = text.splitlines()
    line = lines[mark.line] if mark.line < len(lines) else ""
    problem = exc.problem or ""
    indent = line[: len(line) - len(line.lstrip())]
    if "\t" in indent or "tab" in problem or (mark.column < len(line)
                                               and line[mark.column] == "\t"):
        return error(Loc(path, mark.line + 1, 1),
                     "this line is indented with a tab; YAML needs spaces",
                     "replace the tab with spaces; most editors can convert indentation to "
                     "spaces")
    if "mapping values are not allowed" in problem:
        match = _KEY_LINE.match(line)
        if match and ": " in match["value"] + " ":
            key, value = match["key"], match["value"]
            quoted = ("'" + value.replace("'", "''") + "'") if '"' in value else (
                '"' + value.replace("\\", "\\\\") + '"')
            return error(_loc(path, mark),
                         f"`{key}:` holds a text with a colon in it (\": \"), which YAML reads "
                         "as another field; put the whole text in quotes",
                         f"write it as {key}: {quoted}")
        return error(_loc(path, mark),
                     "a colon followed by a space (\": \") inside a text; put the whole text in "
                     "quotes")
    return None


@dataclass
class _Open:
    """A collection being built; for a mapping, the key waiting for its value."""

    node: YSeq | YMap
    key: YScalar | None = None


class _Builder:
    """Turns parser events into located values, checking every limit as events arrive."""

    def __init__(self, path: str):
        import yaml

        self.path = path
        self.count = 0
        self.events = yaml  # its event classes (PyYAML is imported only when a file is parsed)

    def build(self, loader: yaml.SafeLoader) -> YNode | None:
        yaml = self.events
        loader.get_event()  # StreamStart
        if loader.check_event(yaml.StreamEndEvent):
            return None
        loader.get_event()  # DocumentStart
        root = self._document(loader)
        loader.get_event()  # DocumentEnd
        if not loader.check_event(yaml.StreamEndEvent):
            event = loader.peek_event()
            raise YamlProblem(
                error(_loc(self.path, event.start_mark),
                      "a file holds one YAML document; this is a second one",
                      "remove the `---` line, or split the file in two")
            )
        return root

    def _document(self, loader: yaml.SafeLoader) -> YNode:
        yaml = self.events
        stack: list[_Open] = []
        while True:
            event = loader.get_event()
            if isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                node: YNode = stack.pop().node
            else:
                loc = _loc(self.path, event.start_mark)
                self._check(event, loc, stack)
                if isinstance(event, yaml.ScalarEvent):
                    node = YScalar(event.value, loc, quoted=event.style not in (None, ""),
                                   tag=event.tag or "")
                elif isinstance(event, yaml.SequenceStartEvent):
                    stack.append(_Open(YSeq([], loc)))
                    continue
                else:
                    stack.append(_Open(YMap({}, {}, loc)))
                    continue
            if not stack:
                return node
            self._add(stack[-1], node)

    def _check(self, event: yaml.Event, loc: Loc, stack: list[_Open]) -> None:
        yaml = self.events
        if isinstance(event, yaml.AliasEvent):
            raise YamlProblem(
                error(loc, "YAML anchors and aliases (&name / *name) are not allowed",
                      "write the value out in full")
            )
        self.count += 1
        if self.count > MAX_NODES:
            raise YamlProblem(
                error(loc, f"file has more than {MAX_NODES:,} values; refusing to read it"))
        if len(stack) > MAX_DEPTH:
            raise YamlProblem(error(loc, f"values are nested deeper than {MAX_DEPTH} levels"))
        tag = event.tag
        if tag not in (None, "!") and tag not in _STANDARD_TAGS:
            raise YamlProblem(
                error(loc, f"YAML tag {tag!r} is not allowed", "remove the tag; write plain values")
            )
        parent = stack[-1] if stack else None
        if parent is None or not isinstance(parent.node, YMap) or parent.key is not None:
            return
        if not isinstance(event, yaml.ScalarEvent):
            raise YamlProblem(error(loc, "a key must be a plain name, not a list or mapping"))
        if event.value == "<<" and event.style in (None, "") and tag is None:
            raise YamlProblem(error(loc, "YAML merge keys (<<) are not allowed"))

    def _add(self, parent: _Open, node: YNode) -> None:
        if isinstance(parent.node, YSeq):
            parent.node.items.append(node)
            return
        mapping = parent.node
        if parent.key is None:
            assert isinstance(node, YScalar)  # _check refused collection keys
            if node.text in mapping.items:
                first = mapping.key_locs[node.text]
                raise YamlProblem(
                    error(node.loc, f"duplicate key {node.text!r}",
                          f"first given on line {first.line}")
                )
            parent.key = node
            return
        key = parent.key.text
        mapping.key_locs[key] = parent.key.loc
        mapping.items[key] = node
        mapping.order.append(key)
        parent.key = None

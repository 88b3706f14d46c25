"""Property-based tests: random YAML and random bytes never escape as anything but our errors.

The loader and validator are the parts that read untrusted bytes. Whatever they
are given, the only exception allowed out of `load_yaml_bytes` is YamlProblem,
`load_case` never raises, and every problem says where it is. Examples are
derandomized and bounded so the run is fast and the same on every machine.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import yaml
from conftest import CASE_YAML, ENTRY_YAML, write_case
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itaoreport.case import fields as F
from itaoreport.case.validate import load_case
from itaoreport.case.yamlload import YamlProblem, YMap, YNode, YScalar, YSeq, load_yaml_bytes

PROPERTY = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.text(max_size=40), st.integers(), st.floats(allow_nan=False), st.booleans(), st.none(),
    st.dates(), st.datetimes(), st.sampled_from(["yes", "no", "on", "off", "0123", "10:30",
                                                 "1:20:30", "2023-10-27", "~", "null", "1e3",
                                                 ".inf", "0x1F", "0o17", "<<", "=", "!x", "*a"]),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5),
                            st.dictionaries(st.text(max_size=12), inner, max_size=5)),
    max_leaves=30,
)
dump_styles = st.sampled_from([
    {"default_flow_style": False}, {"default_flow_style": True}, {"default_style": '"'},
    {"default_style": "'"}, {"allow_unicode": True}, {"canonical": True}, {"width": 8},
])


def check_problem(problem, path: str) -> None:
    assert problem.loc.path == path
    assert problem.loc.line >= 1 and problem.loc.col >= 1, problem.format()
    assert problem.severity == "error" and problem.message


def load_or_problem(data: bytes, path: str = "entries/x.yaml") -> YNode | None:
    try:
        return load_yaml_bytes(data, path)
    except YamlProblem as exc:
        check_problem(exc.problem, path)
        return None


@PROPERTY
@given(st.binary(max_size=400))
def test_random_bytes_load_or_give_a_located_problem(data: bytes):
    load_or_problem(data)


@PROPERTY
@given(st.text(max_size=300))
def test_random_text_loads_or_gives_a_located_problem(text: str):
    load_or_problem(text.encode("utf-8", "surrogatepass"))


@PROPERTY
@given(st.lists(st.sampled_from(["[", "]", "{", "}", ":", ",", "-", " ", "\n", "  ", "? ",
                                 "&a ", "*a", "!!str ", "!x ", "'", '"', "|", ">", "#", "a",
                                 "---\n", "...\n", "\t", "%YAML 1.1\n", "<<"]), max_size=80))
def test_yaml_punctuation_soup_loads_or_gives_a_located_problem(pieces: list[str]):
    load_or_problem("".join(pieces).encode("utf-8"))


def plain(node: YNode | None) -> object:
    """The tree as plain Python: scalars stay the strings that were written."""
    if isinstance(node, YMap):
        return {key: plain(value) for key, value in node.items.items()}
    if isinstance(node, YSeq):
        return [plain(item) for item in node.items]
    assert isinstance(node, YScalar) or node is None
    return node


def as_written(value: object) -> object:
    """What safe_load would give, with every scalar kept as text: the loader's promise."""
    if isinstance(value, dict):
        return {as_written(k): as_written(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_written(v) for v in value]
    return value


@PROPERTY
@given(documents, dump_styles)
def test_dumped_documents_load_and_strings_stay_exactly_as_written(value: object, style: dict):
    text = yaml.safe_dump(value, **style)
    tree = load_or_problem(text.encode("utf-8"))
    if isinstance(value, (dict, list)) and not _has_duplicate_text_keys(value):
        assert tree is not None, text
    if isinstance(value, dict) and tree is not None and not _has_duplicate_text_keys(value):
        for key, item in value.items():
            if isinstance(item, str) and isinstance(key, str):
                node = tree.items[key]
                assert isinstance(node, YScalar) and node.text == item, (text, key)


def _has_duplicate_text_keys(value: object) -> bool:
    """True where keys like 1 and "1" would both be written as 1 (a duplicate for us)."""
    if isinstance(value, dict):
        keys = [str(k) for k in value]
        return len(set(keys)) != len(keys) or any(map(_has_duplicate_text_keys, value.values()))
    if isinstance(value, list):
        return any(map(_has_duplicate_text_keys, value))
    return False


# -- load_case on whole folders --------------------------------------------------------------

field_values = st.one_of(
    scalars, st.lists(scalars, max_size=3), st.dictionaries(st.text(max_size=8), scalars,
                                                            max_size=3),
    st.fixed_dictionaries({"path": st.text(max_size=20), "caption": scalars}),
)


def entry_documents() -> st.SearchStrategy[dict]:
    names = [f.name for f in F.ENTRY_FIELDS] + ["junk", "summry"]
    return st.dictionaries(st.sampled_from(names), field_values, max_size=len(names))


def load_case_with(entries: dict[str, bytes], case_yaml: bytes | None = None):
    with tempfile.TemporaryDirectory() as tmp:
        root = write_case(Path(tmp), entries={})
        (root / "entries").mkdir()
        if case_yaml is not None:
            (root / "case.yaml").write_bytes(case_yaml)
        for name, data in entries.items():
            (root / "entries" / name).write_bytes(data)
        return load_case(root)


def assert_located(result, files: set[str]) -> None:
    for problem in result.problems:
        assert problem.loc.path in files | {"entries"}, problem.format()
        if problem.loc.path.endswith(".yaml"):
            assert problem.loc.line >= 1, problem.format()
    assert (result.case is None) == any(p.is_error for p in result.problems)


@PROPERTY
@given(entry_documents(), dump_styles)
def test_random_entries_never_raise_and_every_problem_has_a_line(entry: dict, style: dict):
    data = yaml.safe_dump(entry, **style).encode("utf-8")
    result = load_case_with({"e.yaml": data})
    assert_located(result, {"case.yaml", "entries/e.yaml"})


@PROPERTY
@given(st.dictionaries(st.sampled_from([f.name for f in F.CASE_FIELDS]), field_values,
                       max_size=len(F.CASE_FIELDS)))
def test_random_case_files_never_raise_and_every_problem_has_a_line(case: dict):
    result = load_case_with({"e.yaml": ENTRY_YAML.encode()},
                            case_yaml=yaml.safe_dump(case).encode("utf-8"))
    assert_located(result, {"case.yaml", "entries/e.yaml"})


@PROPERTY
@given(st.lists(st.tuples(st.integers(0, 200), st.binary(max_size=3)), min_size=1, max_size=4))
def test_mutated_valid_files_never_raise(edits: list[tuple[int, bytes]]):
    """Random byte edits of a valid entry and case.yaml: located errors or a case, no crash."""
    entry, case = bytearray(ENTRY_YAML.encode()), bytearray(CASE_YAML.encode())
    for position, replacement in edits:
        target = entry if position % 2 else case
        at = position % (len(target) + 1)
        target[at:at + len(replacement)] = replacement
    result = load_case_with({"e.yaml": bytes(entry)}, case_yaml=bytes(case))
    assert_located(result, {"case.yaml", "entries/e.yaml"})


EDGE_DAYS = [dt.date(1, 1, 1), dt.date(9999, 12, 31), dt.date(1899, 12, 31), dt.date(1900, 1, 1),
             dt.date(2200, 12, 31), dt.date(2201, 1, 1), dt.date(2024, 2, 29)]


@PROPERTY
@given(st.one_of(st.sampled_from(EDGE_DAYS), st.dates()),
       st.one_of(st.sampled_from([dt.time(0, 0), dt.time(23, 59)]), st.times()),
       st.sampled_from(["", "Z", "+14:00", "-12:00", "+05:30"]))
def test_any_timestamp_is_a_moment_or_a_located_error(day: dt.date, time: dt.time, offset: str):
    stamp = f"{day.isoformat()} {time.strftime('%H:%M')}{offset}"
    entry = ENTRY_YAML.replace("2023-10-26 14:30", stamp).encode()
    result = load_case_with({"e.yaml": entry})
    assert_located(result, {"case.yaml", "entries/e.yaml"})
    if result.case is None:
        [problem] = result.problems
        assert problem.loc.line == 1 and problem.loc.col == 12

"""The JSON Schema editors get: valid, complete, and in agreement with the validator."""

from __future__ import annotations

import json
import re
import textwrap

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from itaoreport.case import fields as F
from itaoreport.case.schema import (
    DATE_PATTERN,
    MOMENT_PATTERN,
    json_schema,
    modeline,
    schema_file,
    write_schema_files,
)
from itaoreport.case.values import BadValue, parse_date, parse_moment, zone
from itaoreport.case.yamlload import YMap, YScalar, YSeq, load_yaml_bytes
from itaoreport.cli import main

CASE_SAMPLE = """\
title: No tracking for order IT-20231020-8841
platform: ItaoBuy
claimant:
  name: Alex Example
  account: alex_e
seller:
  name: GadgetWorld
  store: https://example.invalid/shop/gadgetworld
order:
  id: IT-20231020-8841
  date: 2023-10-20
  item: Wireless earbuds, black
  amount: 59.90
  currency: USD
  expected_delivery: 2023-11-01
claim:
  type: item_not_received
  requested: full_refund
  amount: 59.90
as_of: 2023-11-05
timezone: Europe/Berlin
statement: |
  I paid and never got a tracking number.
theme: default
"""

ENTRY_SAMPLE = """\
timestamp: 2023-10-27 09:15
channel: ItaoBuy Messaging
sender: seller
sender_name: GadgetWorld
summary: Seller said tracking would update within 2 days.
quote: "Tracking will update in 2 days. Please wait."
attachments:
  - screenshots/2023-10-27-0915.png
  - path: screenshots/2023-10-27-0916.png
    caption: The seller's message in the order chat
links:
  - https://example.invalid/order/8841
action: Seller to provide tracking
promise:
  text: Tracking will update
  due: 2023-10-29 09:15
fulfils: 2023-10-27-0915-seller-promised-tracking
kind: message
refers_to: 2023-10-21-1000-size-requirement
tags: [tracking]
"""

_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")


def as_editor_sees_it(text: str) -> object:
    """The document as a YAML 1.2 (core schema) editor hands it to JSON Schema."""
    return _plain(load_yaml_bytes(text.encode(), "x.yaml"))


def _plain(node):
    if isinstance(node, YMap):
        return {k: _plain(v) for k, v in node.items.items()}
    if isinstance(node, YSeq):
        return [_plain(v) for v in node.items]
    assert isinstance(node, YScalar)
    if node.quoted:
        return node.text
    if node.is_null:
        return None
    if node.text in ("true", "false"):
        return node.text == "true"
    if _INT.match(node.text):
        return int(node.text)
    if _FLOAT.match(node.text):
        return float(node.text)
    return node.text


def errors(kind: str, text: str) -> list[str]:
    validator = Draft202012Validator(json_schema(kind))
    return [e.message for e in validator.iter_errors(as_editor_sees_it(text))]


@pytest.mark.parametrize("kind", ["case", "entry"])
def test_schema_is_valid_draft_2020_12_json(kind):
    schema = json_schema(kind)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"]
    assert json.loads(json.dumps(schema)) == schema


def _schema_names(schema: dict, prefix: str = "") -> set[str]:
    names = set()
    for name, prop in schema.get("properties", {}).items():
        names.add(prefix + name)
        names |= _schema_names(prop, f"{prefix}{name}.")
    return names


def _field_names(specs: tuple[F.Field, ...], prefix: str = "") -> set[str]:
    names = set()
    for spec in specs:
        names.add(prefix + spec.name)
        names |= _field_names(spec.fields, f"{prefix}{spec.name}.")
    return names


def test_every_field_of_the_format_is_in_the_schema_with_its_doc():
    assert _schema_names(json_schema("case")) == _field_names(F.CASE_FIELDS)
    assert _schema_names(json_schema("entry")) == _field_names(F.ENTRY_FIELDS)
    entry = json_schema("entry")
    assert entry["required"] == ["timestamp", "channel", "sender", "summary"]
    assert entry["properties"]["sender"]["anyOf"][0]["enum"] == list(F.SENDERS)
    assert entry["properties"]["summary"]["description"] == "A neutral summary in one or two sentences."
    attachment = json.dumps(entry["properties"]["attachments"])
    assert '"caption"' in attachment and '"path"' in attachment


def test_the_samples_of_the_case_format_validate():
    assert errors("case", CASE_SAMPLE) == []
    assert errors("entry", ENTRY_SAMPLE) == []


@pytest.mark.parametrize(
    "change",
    [
        ("sender: seller", 'sender: " "'),
        ("kind: message", "kind: Messages"),
        ("timestamp: 2023-10-27 09:15", "timestamp: yesterday"),
        ("summary: Seller said tracking would update within 2 days.\n", ""),
        ("kind: message", "kind: chat"),
        ("tags: [tracking]", "tagz: [tracking]"),
    ],
)
def test_the_schema_rejects_what_the_validator_rejects(change):
    assert errors("entry", ENTRY_SAMPLE.replace(*change))


def test_empty_optional_fields_are_allowed_as_the_validator_allows_them():
    text = textwrap.dedent("""\
        timestamp: 2023-10-27
        channel: Email
        sender: me
        summary: Asked for tracking.
        quote:
        attachments:
        promise:
        kind:
        """)
    assert errors("entry", text) == []


@pytest.mark.parametrize(
    "text",
    ["2023-10-27", "2023-10-27 09:15", "2023-10-27T09:15+08:00", "2023-10-27 09:15:30.5Z",
     "2023-1-7 9:05", "2023-10-27 09:15 -0500", "27/10/2023", "2023-10-27 9", "09:15",
     "2023-10-27T09:15+8"],
)
def test_timestamp_pattern_agrees_with_the_parser(text):
    try:
        parse_moment(text, zone("UTC"))
        parsed = True
    except BadValue:
        parsed = False
    assert bool(re.search(MOMENT_PATTERN, text)) == parsed


@pytest.mark.parametrize("text", ["2023-10-20", "2023-1-2", "20-10-2023", "2023-10-20 10:00"])
def test_date_pattern_agrees_with_the_parser(text):
    try:
        parse_date(text)
        parsed = True
    except BadValue:
        parsed = False
    assert bool(re.search(DATE_PATTERN, text)) == parsed


def test_schema_files_and_modelines_point_at_each_other(tmp_path):
    assert sorted(write_schema_files(tmp_path)) == [schema_file("case"), schema_file("entry")]
    assert write_schema_files(tmp_path) == []
    line = modeline("entries/2023/x.yaml", "entry")
    target = line.split("$schema=")[1]
    assert (tmp_path / "entries/2023" / target).resolve() == (tmp_path / schema_file("entry"))
    assert json.loads((tmp_path / schema_file("entry")).read_text()) == json_schema("entry")
    assert modeline("case.yaml", "case").endswith("=" + schema_file("case"))


def test_schema_command_prints_valid_json_schema_with_every_field():
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    Draft202012Validator.check_schema(schema)
    names = _schema_names(schema["$defs"]["case"]) | _schema_names(schema["$defs"]["entry"])
    assert names == _field_names(F.CASE_FIELDS) | _field_names(F.ENTRY_FIELDS)
    validator = Draft202012Validator(schema)
    assert validator.is_valid(as_editor_sees_it(CASE_SAMPLE))
    assert validator.is_valid(as_editor_sees_it(ENTRY_SAMPLE))
    assert not validator.is_valid({"sender": "me"})
    entry = CliRunner().invoke(main, ["schema", "entry"])
    assert json.loads(entry.output) == json_schema("entry")
    assert CliRunner().invoke(main, ["schema", "invoice"]).exit_code == 2


def test_init_writes_the_schema_line_and_the_schemas(tmp_path):
    case = tmp_path / "case"
    assert CliRunner().invoke(main, ["init", str(case)]).exit_code == 0
    [entry] = (case / "entries").iterdir()
    assert (case / "case.yaml").read_text().startswith(
        "# yaml-language-server: $schema=.schema/case.schema.json\n")
    assert entry.read_text().startswith(
        "# yaml-language-server: $schema=../.schema/entry.schema.json\n")
    for kind in ("case", "entry"):
        assert json.loads((case / schema_file(kind)).read_text()) == json_schema(kind)
    assert errors("case", (case / "case.yaml").read_text()) == []
    assert errors("entry", entry.read_text()) == []


@pytest.mark.parametrize("change", [
    ("sender: seller", 'sender: Seller "GadgetWorld"'),
    ("sender: seller", "sender: Me (Buyer)"),
    ("kind: message", "kind: Message"),
    ("kind: message", "kind: EMAIL"),
])
def test_the_schema_accepts_what_the_validator_accepts(change):
    """#17: the spreadsheet's sender forms and any capitalisation of a choice."""
    assert errors("entry", ENTRY_SAMPLE.replace(*change)) == []

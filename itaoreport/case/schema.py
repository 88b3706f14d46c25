"""JSON Schema for case.yaml and entry files, generated from the field specs the validator uses.

The schema describes a file as a YAML 1.2 editor sees it (the YAML language
server): unquoted numbers are numbers, unquoted dates are strings. Where the
validator reads any scalar as text, the schema accepts any scalar too, so an
editor never flags what `itaoreport validate` accepts. An optional field may be
left empty (null): the validator treats that as absent.
"""

from __future__ import annotations

import json
import re
from pathlib import Path, PurePosixPath

from itaoreport.case import fields as F
from itaoreport.case.fields import Field

DRAFT = "https://json-schema.org/draft/2020-12/schema"
KINDS = ("case", "entry")
SCHEMA_DIR = ".schema"
"""Folder inside a case where `write_schema_files` keeps the schemas editors read."""

# ECMA-262 versions of the formats in case/values.py (tests check they agree with the parsers).
DATE_PATTERN = r"^\s*\d{4}-\d{1,2}-\d{1,2}\s*$"
MOMENT_PATTERN = (
    r"^\s*\d{4}-\d{1,2}-\d{1,2}"
    r"([Tt ]+\d{1,2}:\d{2}(:\d{2}(\.\d{1,6})?)?\s*(Z|z|[+-]\d{2}(:?\d{2})?)?)?\s*$"
)
DURATION_PATTERN = r"^\s*\d{1,4}\s*([Hh][Oo][Uu][Rr]|[Dd][Aa][Yy]|[Ww][Ee][Ee][Kk])[Ss]?\s*$"
CURRENCY_PATTERN = r"^\s*[A-Za-z]{3}\s*$"
LANGUAGE_PATTERN = r"^\s*[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*\s*$"
DECIMAL_PATTERN = r"^\s*(\d+(\.\d*)?|\.\d+|\d{1,3}(,\d{3})+\.\d*)\s*$"
NOT_BLANK = r"\S"

_SCALAR = ["string", "number", "boolean"]


def json_schema(kind: str) -> dict:
    """The JSON Schema (draft 2020-12) of a case.yaml ("case") or an entry file ("entry")."""
    specs: tuple[Field, ...]
    if kind == "case":
        specs, title = F.CASE_FIELDS, "itaoreport case.yaml"
    elif kind == "entry":
        specs, title = F.ENTRY_FIELDS, "itaoreport entry"
    else:
        raise ValueError(f"unknown schema kind {kind!r}; one of {', '.join(KINDS)}")
    schema = {"$schema": DRAFT, "$id": schema_id(kind), "title": title}
    schema.update(_object(specs))
    return schema


def bundle_schema() -> dict:
    """Both schemas in one document: a file is valid if it is a valid case.yaml or entry."""
    defs = {}
    for kind in KINDS:
        schema = json_schema(kind)
        del schema["$schema"]
        defs[kind] = schema
    return {
        "$schema": DRAFT,
        "$id": schema_id("folder"),
        "title": "itaoreport case folder files (case.yaml and entries/**/*.yaml)",
        "anyOf": [{"$ref": schema_id(kind)} for kind in KINDS],
        "$defs": defs,
    }


def schema_id(kind: str) -> str:
    return f"urn:itaoreport:schema:{kind}:1"


def schema_text(kind: str | None = None) -> str:
    """The schema as the JSON text `itaoreport schema` prints and case folders keep."""
    schema = bundle_schema() if kind is None else json_schema(kind)
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def schema_file(kind: str) -> str:
    """Where a case folder keeps the schema of `kind`, relative to the case folder."""
    return f"{SCHEMA_DIR}/{kind}.schema.json"


def modeline(rel_path: str, kind: str) -> str:
    """The `# yaml-language-server: $schema=...` line for a file at rel_path in the case."""
    depth = len(PurePosixPath(rel_path).parts) - 1
    return f"# yaml-language-server: $schema={'../' * depth}{schema_file(kind)}"


def write_schema_files(case_dir: Path) -> list[str]:
    """Write or refresh the case's schema files; returns those that changed (relative paths).

    A case may come from someone else: the files are replaced, never written
    through a link, and a `.schema` that is a link (or any link on the way) is
    refused (case/safety.py's rules for writing inside a case).
    """
    from itaoreport.case.safety import replace_case_file, safe_case_dir

    changed = []
    safe_case_dir(case_dir, SCHEMA_DIR)
    for kind in KINDS:
        rel = schema_file(kind)
        target = case_dir / rel
        text = schema_text(kind)
        try:
            if not target.is_symlink() and target.is_file() and \
                    target.stat().st_size < 1_000_000 and \
                    target.read_text(encoding="utf-8") == text:
                continue
        except (OSError, UnicodeDecodeError):
            pass
        replace_case_file(case_dir, rel, text.encode("utf-8"))
        changed.append(rel)
    return changed


def _object(specs: tuple[Field, ...]) -> dict:
    return {
        "type": "object",
        "properties": {f.name: _property(f) for f in specs},
        "required": [f.name for f in specs if f.required],
        "additionalProperties": False,
    }


def _property(spec: Field) -> dict:
    prop: dict[str, object] = {"description": spec.doc}
    prop.update(_kind_schema(spec))
    if spec.default is not None:
        prop["default"] = spec.default
    if not spec.required:
        _allow_null(prop)
    return prop


def _allow_null(prop: dict) -> None:
    """An optional field left empty is absent for the validator, so null is allowed."""
    if "enum" in prop:
        prop["enum"] = [*prop["enum"], None]
    if "type" in prop:
        types = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
        prop["type"] = [*types, "null"]
    elif "anyOf" in prop:
        prop["anyOf"] = [*prop["anyOf"], {"type": "null"}]


def _kind_schema(spec: Field) -> dict:
    kind = spec.kind
    if kind == "map":
        return _object(spec.fields)
    if kind == "enum" and spec.name == "sender":
        # the spreadsheet's forms (`Me (Buyer)`, `Seller "GadgetWorld"`, a party's name) are
        # accepted by the validator, which alone knows the names in case.yaml
        return {"anyOf": [{"type": "string", "enum": list(spec.choices)},
                          {"type": "string", "pattern": NOT_BLANK}]}
    if kind == "enum":
        # the validator takes any capitalisation (`Email`, `DAMAGED`); editors complete the enum
        return {"anyOf": [{"type": "string", "enum": list(spec.choices)},
                          {"type": "string", "pattern": _any_case(spec.choices)}]}
    if kind in ("line", "entry_ref"):
        return {"type": _SCALAR, "pattern": NOT_BLANK}
    if kind in ("text", "url", "timezone"):
        return {"type": _SCALAR}
    if kind == "date":
        return {"type": "string", "pattern": DATE_PATTERN, "examples": ["2023-10-20"]}
    if kind == "moment":
        return {"type": "string", "pattern": MOMENT_PATTERN,
                "examples": ["2023-10-27 09:15", "2023-10-27T09:15+08:00", "2023-10-27"]}
    if kind == "due":
        return {"type": "string", "anyOf": [{"pattern": MOMENT_PATTERN},
                                            {"pattern": DURATION_PATTERN}],
                "examples": ["2023-10-29 09:15", "2023-10-29", "48 hours", "2 days", "1 week"]}
    if kind == "bool":
        return {"anyOf": [{"type": "boolean"},
                          {"type": "string", "pattern": r"^\s*([Tt]rue|[Ff]alse|[Yy]es|[Nn]o|"
                                                        r"[Oo]n|[Oo]ff|TRUE|FALSE|YES|NO|ON|OFF)\s*$"}]}
    if kind == "decimal":
        return {"type": ["number", "string"], "minimum": 0, "pattern": DECIMAL_PATTERN}
    if kind == "currency":
        return {"type": "string", "pattern": CURRENCY_PATTERN}
    if kind == "language":
        return {"type": "string", "pattern": LANGUAGE_PATTERN}
    if kind in ("tags", "links"):
        return {"anyOf": [{"type": _SCALAR}, {"type": "array", "items": {"type": _SCALAR}}]}
    if kind == "attachments":
        return {"anyOf": [_attachment(), {"type": "array", "items": _attachment()}]}
    if kind == "boxes":
        box = {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 4,
               "maxItems": 4}
        return {"anyOf": [box, {"type": "array", "items": box}]}
    raise AssertionError(f"no JSON Schema for field kind {kind!r}")


def _any_case(choices: tuple[str, ...]) -> str:
    """An ECMA-262 pattern for the choices in any capitalisation (JSON Schema has no flags)."""
    def letters(word: str) -> str:
        return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c)
                       for c in word)
    return r"^\s*(" + "|".join(letters(c) for c in choices) + r")\s*$"


def _attachment() -> dict:
    return {"anyOf": [{"type": "string", "pattern": NOT_BLANK}, _object(F.ATTACHMENT_FIELDS)]}

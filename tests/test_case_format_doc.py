"""docs/case-format.md documents every field of case/fields.py, and nothing that is not one.

Whoever adds a field to fields.py adds its row here: `| `name` | type | meaning | example |`
under "## case.yaml" or "## Entry files" (nested fields dotted: `delivery.carrier`,
`attachments.path`).
"""

from __future__ import annotations

import re
from pathlib import Path

from itaoreport.case import fields as F

DOC = Path(__file__).resolve().parent.parent / "docs" / "case-format.md"
ROW = re.compile(r"^\| `(?P<name>[a-z_][a-z_.]*)` \|(?P<rest>.*)\|\s*$")


def field_names(specs: tuple[F.Field, ...], prefix: str = "") -> set[str]:
    names = set()
    for spec in specs:
        names.add(prefix + spec.name)
        if spec.kind == "map":
            names |= field_names(spec.fields, f"{prefix}{spec.name}.")
        if spec.kind == "attachments":
            names |= field_names(F.ATTACHMENT_FIELDS, f"{prefix}{spec.name}.")
    return names


def documented(section: str) -> dict[str, list[str]]:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    rows = {}
    for line in text[start:end if end != -1 else len(text)].splitlines():
        match = ROW.match(line)
        if match:
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", match["rest"])]
            assert match["name"] not in rows, f"{match['name']} is documented twice"
            rows[match["name"]] = cells
    return rows


def test_every_case_yaml_field_is_documented_and_nothing_else():
    rows = documented("case.yaml")
    expected = field_names(F.CASE_FIELDS)
    assert sorted(expected - set(rows)) == [], "add these to docs/case-format.md"
    assert sorted(set(rows) - expected) == [], "documented but not fields of case.yaml"


def test_every_entry_field_is_documented_and_nothing_else():
    rows = documented("Entry files")
    expected = field_names(F.ENTRY_FIELDS)
    assert sorted(expected - set(rows)) == [], "add these to docs/case-format.md"
    assert sorted(set(rows) - expected) == [], "documented but not fields of an entry"


def test_every_row_has_a_type_a_meaning_and_an_example():
    for section in ("case.yaml", "Entry files"):
        for name, cells in documented(section).items():
            assert len(cells) == 3 and all(cells), f"{name}: type | meaning | example"
            leaf = name.rsplit(".", 1)[-1]
            assert leaf in cells[2], f"{name}: the example shows the field"


def test_required_fields_say_so():
    for section, specs in (("case.yaml", F.CASE_FIELDS), ("Entry files", F.ENTRY_FIELDS)):
        rows = documented(section)
        for spec in specs:
            if spec.required:
                assert "required" in rows[spec.name][0], spec.name


def test_the_doc_explains_requirements_approvals_and_phone_calls():
    text = DOC.read_text(encoding="utf-8")
    for words in ("kind: requirement", "decision: changes_requested", "decision: approved",
                  '"Approve"', '"Request changes"', "kind: call", "channel: Phone",
                  "Deadlines set for me", "48 hours"):
        assert words in text, words


def test_the_readme_init_and_messages_point_to_the_doc_that_exists():
    root = DOC.parent.parent
    assert "docs/case-format.md" in (root / "README.md").read_text(encoding="utf-8")
    from itaoreport.case import validate
    from itaoreport.scaffold import CASE_YAML

    assert "docs/case-format.md" in CASE_YAML
    assert validate.FORMAT_DOC == "docs/case-format.md"
    for path in [*root.joinpath("itaoreport").rglob("*.py"), root / "README.md"]:
        assert "CASE_FORMAT.md" not in path.read_text(encoding="utf-8"), path

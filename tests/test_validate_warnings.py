"""Issue #17: what a reviewer would catch, as located warnings (errors with --strict), and
messages a person can act on."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CASE_YAML, ENTRY_YAML, ROOT, png_bytes, write_case

from itaoreport.case.fields import PLACEHOLDERS
from itaoreport.case.validate import load_case
from itaoreport.case.wording import LANGUAGES, loaded_language, word_list
from itaoreport.cli import main
from itaoreport.scaffold import CASE_YAML as INIT_CASE_YAML


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def warnings_of(root: Path) -> list[str]:
    result = load_case(root)
    return [p.format() for p in result.problems if not p.is_error]


# -- dates -----------------------------------------------------------------------------------------

def test_an_entry_later_than_as_of_is_warned_at_its_timestamp(tmp_path):
    write_case(tmp_path, entries={"2023-11-07-late.yaml": ENTRY_YAML.replace(
        "2023-10-26 14:30", "2023-11-07 09:00")})
    [warning] = warnings_of(tmp_path)
    assert warning.startswith("entries/2023-11-07-late.yaml:1:1: warning: this entry "
                              "(2023-11-07) is later than as_of (2023-11-05)")
    assert run("validate", "--strict", tmp_path).exit_code == 1


def test_without_as_of_case_dates_after_the_newest_entry_are_warned(tmp_path):
    case = CASE_YAML.replace("as_of: 2023-11-05\n", "").replace(
        "  date: 2023-10-20", "  date: 2023-10-30")
    write_case(tmp_path, case)
    [warning] = warnings_of(tmp_path)
    assert warning.startswith("case.yaml:8:3: warning: `order.date` (2023-10-30) is later than "
                              "the newest entry (2023-10-26)")
    assert "or set `as_of`" in warning


def test_case_dates_after_as_of_and_delivered_before_shipped(tmp_path):
    write_case(tmp_path, CASE_YAML + "delivery:\n  shipped: 2023-11-03\n  delivered: 2023-11-06\n"
               "dispute:\n  id: D-1\n  opened: 2023-11-01\n")
    text = "\n".join(warnings_of(tmp_path))
    assert "case.yaml:17:3: warning: `delivery.delivered` (2023-11-06) is later than as_of" in text
    write_case(tmp_path, CASE_YAML + "delivery:\n  shipped: 2023-11-03\n  delivered: 2023-11-01\n")
    assert any("`delivery.delivered` (2023-11-01) is before `delivery.shipped`" in w
               for w in warnings_of(tmp_path))


def test_the_date_in_the_file_name_must_match_the_timestamp(tmp_path):
    shanghai = ENTRY_YAML.replace("2023-10-26 14:30", "2023-10-28T03:00+08:00")
    write_case(tmp_path, entries={"2023-10-25-1430-asked.yaml": ENTRY_YAML,
                                  "2023-10-26-1430-fine.yaml": ENTRY_YAML,
                                  "no-date-in-name.yaml": ENTRY_YAML,
                                  # the day as written, and that day in Berlin: both fine
                                  "2023-10-28-0300-travelling.yaml": shanghai,
                                  "2023-10-27-2100-travelling.yaml": shanghai})
    [warning] = warnings_of(tmp_path)
    assert warning.startswith("entries/2023-10-25-1430-asked.yaml:1:1: warning: the file name "
                              "says 2023-10-25 but the timestamp says 2023-10-26")


def test_a_time_in_the_hour_that_repeats_is_warned_with_both_offsets(tmp_path):
    write_case(tmp_path, entries={"a.yaml": ENTRY_YAML.replace("2023-10-26 14:30",
                                                               "2023-10-29 02:30")})
    [warning] = warnings_of(tmp_path)
    assert warning.startswith("entries/a.yaml:1:1: warning: 2023-10-29 02:30 happens twice in "
                              "Europe/Berlin")
    assert "2023-10-29 02:30+02:00 for the first, 2023-10-29 02:30+01:00 for the second" in warning
    write_case(tmp_path, entries={"a.yaml": ENTRY_YAML.replace("2023-10-26 14:30",
                                                               "2023-10-29 02:30+01:00")})
    assert warnings_of(tmp_path) == []


def test_a_due_time_in_the_repeated_hour_is_warned_too(tmp_path):
    write_case(tmp_path, entries={"a.yaml": ENTRY_YAML.replace("sender: me", "sender: seller")
                                  + "promise:\n  text: Ship\n  due: 2023-10-29 02:15\n"})
    [warning] = warnings_of(tmp_path)
    assert warning.startswith("entries/a.yaml:7:3: warning: 2023-10-29 02:15 happens twice")


# -- init's placeholders, empty cases, twice-attached files ----------------------------------------

def test_init_placeholders_are_warned_and_fail_strict_build(tmp_path):
    case = tmp_path / "case"
    assert run("init", case).exit_code == 0
    warned = {line.split("`")[1] for line in warnings_of(case) if "init's example" in line}
    assert warned == set(PLACEHOLDERS)
    build = run("build", case, "--format", "json")
    assert build.exit_code == 0 and "`order.id` is still init's example" in build.output
    strict = run("build", "--strict", case, "--format", "json")
    assert strict.exit_code == 1 and "`claimant.name` is still init's example" in strict.output
    assert run("validate", "--strict", case).exit_code == 1


def test_every_placeholder_is_in_the_init_template():
    for example in PLACEHOLDERS.values():
        assert example in INIT_CASE_YAML


def test_a_case_without_entries_is_warned(tmp_path):
    write_case(tmp_path, entries={})
    assert warnings_of(tmp_path) == [
        "entries: warning: the case has no entries yet (add one file per communication with "
        "`itaoreport new`, or `itaoreport import LOG.csv`)"]


def test_the_same_file_attached_twice_to_one_entry(tmp_path):
    entry = ENTRY_YAML + "attachments:\n  - s/a.png\n  - path: s/a.png\n    caption: again\n"
    write_case(tmp_path, entries={"a.yaml": entry, "b.yaml": ENTRY_YAML + "attachments: [s/a.png]\n"},
               files={"s/a.png": png_bytes()})
    [warning] = warnings_of(tmp_path)
    assert warning.startswith("entries/a.yaml:7:11: warning: s/a.png is attached twice to this entry")


# -- loaded language -------------------------------------------------------------------------------

@pytest.mark.parametrize("text, found", [
    ("The seller is a scammer.", "“scammer”"),
    ("This is FRAUD", "“FRAUD”"),
    ("They lied to me", "“lied”"),
    ("WHERE IS MY ORDER", "words in capitals (WHERE IS MY ORDER)"),
    ("Still nothing!!", "repeated “!”"),
    ("卖家是骗子", "“骗子”"),
    ("Still nothing！！", "repeated “!”"),
])
def test_loaded_language_is_found(text, found):
    assert found in loaded_language(text).describe()


@pytest.mark.parametrize("text", [
    "The seller wrote “you are a liar” in the chat.",
    'The seller said "this is not a scam".',
    "Shipped with USPS, ASAP they said, tracking by EMS.",
    "Asked for the refund! No reply.",
    "Ordered a scampi cooker.",
    "The box was crooked.",
])
def test_neutral_text_and_quoted_words_pass(text):
    assert not loaded_language(text), loaded_language(text).describe()


def test_loaded_language_is_warned_in_summary_and_action_but_not_in_quote(tmp_path):
    entry = ("timestamp: 2023-10-26 14:30\nchannel: Email\nsender: me\n"
             "summary: The seller is a SCAMMER!!\nquote: \"You are a liar and a thief\"\n"
             "action: Reported this fraud\n")
    write_case(tmp_path, entries={"a.yaml": entry})
    warnings = warnings_of(tmp_path)
    assert len(warnings) == 2
    assert warnings[0].startswith("entries/a.yaml:4:1: warning: summary: loaded language: "
                                  "“SCAMMER”; words in capitals (SCAMMER); repeated “!”")
    assert warnings[1].startswith("entries/a.yaml:6:1: warning: action: loaded language: “fraud”")
    assert "`quote:`" in warnings[0]


def test_a_seller_name_in_capitals_is_not_shouting(tmp_path):
    case = CASE_YAML.replace("name: ShopCo", "name: GADGETWORLD")
    write_case(tmp_path, case, {"a.yaml": ENTRY_YAML.replace("Asked for tracking.",
                                                             "Asked GADGETWORLD for tracking.")})
    assert warnings_of(tmp_path) == []


def test_word_lists_are_data_files_per_language_shipped_with_the_package():
    assert LANGUAGES == ("en", "zh-Hans")
    assert {"scam", "scammer*", "fraud*", "liar*", "thief"} <= set(word_list("en"))
    assert "骗子" in word_list("zh-Hans")
    folder = ROOT / "itaoreport" / "case" / "wording"
    assert sorted(p.name for p in folder.glob("*.txt")) == ["en.txt", "zh-Hans.txt"]
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "wording/*.txt" in config["tool"]["setuptools"]["package-data"]["itaoreport.case"]


# -- messages a person can act on ------------------------------------------------------------------

def test_an_unquoted_colon_says_to_put_the_text_in_quotes(tmp_path):
    write_case(tmp_path, entries={"a.yaml": ENTRY_YAML.replace(
        "summary: Asked for tracking.", "summary: Asked again: where is it")})
    [problem] = [p.format() for p in load_case(tmp_path).problems]
    assert problem == ("entries/a.yaml:4:21: error: `summary:` holds a text with a colon in it "
                       "(\": \"), which YAML reads as another field; put the whole text in quotes "
                       "(write it as summary: \"Asked again: where is it\")")


def test_a_tab_used_for_indentation_says_tab(tmp_path):
    write_case(tmp_path, entries={"a.yaml": ENTRY_YAML.replace("sender: me", "sender: seller")
                                  + "promise:\n\ttext: Ship\n"})
    [problem] = [p.format() for p in load_case(tmp_path).problems]
    assert problem.startswith("entries/a.yaml:6:1: error: this line is indented with a tab; "
                              "YAML needs spaces")


@pytest.mark.parametrize("written, sender, name", [
    ("Me (Buyer)", "me", None),
    ("me", "me", None),
    ("ME", "me", None),
    ("Buyer", "me", None),
    ('Seller "GadgetWorld"', "seller", "GadgetWorld"),
    ("SELLER", "seller", None),
    ("GadgetWorld", "seller", "GadgetWorld"),
    ("gadgetworld (seller)", "seller", "gadgetworld"),
    ("ItaoBuy support", "platform", "ItaoBuy support"),
    ("Platform", "platform", None),
])
def test_hand_written_entries_accept_the_spreadsheet_sender_forms(tmp_path, written, sender, name):
    from itaoreport.importers import parse_sender

    case = CASE_YAML.replace("name: ShopCo", "name: GadgetWorld").replace("name: Buyer",
                                                                          "name: Alex")
    text = ENTRY_YAML.replace("sender: me", f"sender: {written!r}".replace("'", '"')
                              if '"' not in written else f"sender: '{written}'")
    write_case(tmp_path, case, {"a.yaml": text})
    result = load_case(tmp_path)
    assert not result.errors, [p.format() for p in result.problems]
    [entry] = result.case.entries
    expected_import = parse_sender(written, {"gadgetworld": "seller", "itaobuy": "platform"})
    assert (entry.sender, entry.sender_name) == (sender, name)
    if written.lower() not in ("me", "seller", "platform"):
        assert expected_import == (sender, name), "the two paths agree"


def test_an_explicit_sender_name_wins_over_the_form(tmp_path):
    write_case(tmp_path, entries={"a.yaml": ENTRY_YAML.replace(
        "sender: me", "sender: Seller \"GW\"\nsender_name: GadgetWorld Official")})
    [entry] = load_case(tmp_path).case.entries
    assert (entry.sender, entry.sender_name) == ("seller", "GadgetWorld Official")


def test_paths_in_messages_are_relative_to_the_current_folder(tmp_path, monkeypatch):
    write_case(tmp_path / "cases" / "mine", entries={"a.yaml": ENTRY_YAML.replace(
        "sender: me\n", "")})
    monkeypatch.chdir(tmp_path)
    result = run("validate", "cases/mine")
    assert result.exit_code == 1
    assert result.output.startswith(
        f"{os.path.join('cases', 'mine', 'entries', 'a.yaml')}:1:1: error: missing required field")
    build = run("build", "cases/mine")
    assert f"{os.path.join('cases', 'mine', 'entries', 'a.yaml')}:1:1: error" in build.output
    absolute = run("validate", tmp_path / "cases" / "mine")
    assert absolute.output.startswith(os.path.join("cases", "mine", "entries", "a.yaml"))
    monkeypatch.chdir(tmp_path / "cases" / "mine")
    assert run("validate").output.startswith("entries/a.yaml:1:1: error")


def test_validate_without_case_yaml_suggests_init_which_completes_the_folder(tmp_path):
    folder = tmp_path / "imported"
    (folder / "entries").mkdir(parents=True)
    mine = folder / "entries" / "2023-10-26-1430-asked.yaml"
    mine.write_text(ENTRY_YAML)
    (folder / ".gitignore").write_text("my own rules\n")
    result = run("validate", folder)
    assert result.exit_code == 1
    assert "case.yaml is missing" in result.output
    assert f"run `itaoreport init {folder}` to add it; your entries stay as they are" \
        in result.output
    assert "docs/case-format.md" in result.output
    init = run("init", folder)
    assert init.exit_code == 0, init.output
    assert f"kept {folder / '.gitignore'} (already there)" in init.output
    assert (folder / ".gitignore").read_text() == "my own rules\n"
    assert mine.read_text() == ENTRY_YAML
    assert [p.name for p in (folder / "entries").iterdir()] == [mine.name], \
        "no example entry beside real ones"
    assert (folder / "case.yaml").is_file() and (folder / "screenshots").is_dir()
    again = run("init", folder)
    assert again.exit_code == 1 and "already a case" in again.output


def test_verify_against_another_case_says_the_report_belongs_to_another_order(tmp_path):
    from itaoreport.build import BuildOptions, build

    ours = write_case(tmp_path / "ours", files={"s/a.png": png_bytes()},
                      entries={"a.yaml": ENTRY_YAML + "attachments: [s/a.png]\n"})
    build(ours, BuildOptions(formats=("pdf",)))
    other = write_case(tmp_path / "other", CASE_YAML.replace("id: T-1", "id: T-2"))
    result = run("verify", ours / "build" / "report.pdf", other)
    assert result.exit_code == 1
    assert "this report belongs to another order: it is the report of order T-1" in result.output
    assert "is the case of order T-2" in result.output
    assert run("verify", ours / "build" / "report.pdf", ours).exit_code == 0


def test_choices_are_taken_in_any_capitalisation(tmp_path):
    case = CASE_YAML.replace("type: item_not_received", "type: Item_Not_Received") + "paper: a4\n"
    write_case(tmp_path, case, {"a.yaml": ENTRY_YAML + "kind: EMAIL\n"})
    result = load_case(tmp_path)
    assert result.problems == []
    assert (result.case.claim.type, result.case.paper, result.case.entries[0].kind) == (
        "item_not_received", "A4", "email")

"""The loader and validator: every problem, at its own file, line and column."""

from __future__ import annotations

from pathlib import Path

from conftest import ENTRY_YAML, png_bytes, write_case

from itaoreport.case.validate import load_case


def messages(result) -> list[str]:
    return [p.format() for p in result.problems]


def test_valid_case_loads_sorted_by_real_instant(tmp_path: Path):
    # 09:00 in Shanghai (+08:00) is 02:00 in Berlin, before 08:00 Berlin time.
    write_case(tmp_path, entries={
        "a-berlin.yaml": ENTRY_YAML.replace("2023-10-26 14:30", "2023-10-26 08:00"),
        "b-shanghai.yaml": ENTRY_YAML.replace("2023-10-26 14:30", "2023-10-26T09:00+08:00"),
    })
    result = load_case(tmp_path)
    assert result.problems == []
    assert [e.id for e in result.case.entries] == ["b-shanghai", "a-berlin"]
    assert result.case.seller.name == "ShopCo"


def test_impossible_date_and_missing_summary_both_reported_with_lines(tmp_path: Path):
    write_case(tmp_path, entries={
        "bad-date.yaml": "channel: Email\nsender: me\nsummary: x\ntimestamp: 2024-02-30 10:00\n",
        "no-summary.yaml": "timestamp: 2023-10-26 14:30\nchannel: Email\nsender: me\n",
    })
    result = load_case(tmp_path)
    assert result.case is None
    text = messages(result)
    assert any(m.startswith("entries/bad-date.yaml:4:12: error: timestamp: impossible date")
               and "February 2024 has 29 days" in m for m in text), text
    assert any(m.startswith("entries/no-summary.yaml:1:1: error: missing required field `summary`")
               for m in text), text


def test_unknown_key_is_warning_with_did_you_mean(tmp_path: Path):
    write_case(tmp_path, entries={"a.yaml": ENTRY_YAML + "sumary: typo\n"})
    result = load_case(tmp_path)
    assert result.case is not None
    [problem] = result.problems
    assert problem.severity == "warning"
    assert problem.loc.line == 5
    assert "did you mean `summary`?" in problem.format()
    assert result.failed(strict=True) and not result.failed()


def test_unknown_sender_and_kind(tmp_path: Path):
    write_case(tmp_path, entries={"a.yaml": ENTRY_YAML.replace("sender: me", "sender: Bob Jones")
                                  + "kind: chat\n"})
    text = "\n".join(messages(load_case(tmp_path)))
    [sender] = [line for line in text.splitlines() if "sender:" in line]
    assert sender.startswith("entries/a.yaml:3:9: error: sender: 'Bob Jones' is not me, seller, "
                             "platform, carrier or other")
    assert sender.count("carrier") == 1, "the list of senders is given once"
    assert "`sender_name:`" in sender
    assert "entries/a.yaml:5:7: error: kind: 'chat' is not one of" in text
    assert text.count("requirement") == 1


def test_missing_attachment_and_unknown_reference(tmp_path: Path):
    entry = ENTRY_YAML + "attachments:\n  - screenshots/shot.png\nfulfils: no-such-entry\n"
    write_case(tmp_path, entries={"a.yaml": entry},
               files={"screenshots/shot1.png": png_bytes()})
    text = "\n".join(messages(load_case(tmp_path)))
    assert "entries/a.yaml:6:5: error: attachment 'screenshots/shot.png' does not exist" in text
    assert "did you mean 'screenshots/shot1.png'?" in text
    assert "entries/a.yaml:7:1: error: fulfils: no entry with id 'no-such-entry'" in text


def test_yaml_surprises_are_read_as_meant(tmp_path: Path):
    case = (Path(__file__).parent / "conftest.py")  # noqa: F841 - documents where CASE_YAML is
    write_case(tmp_path, case_yaml="""\
        title: yes
        claimant: {name: no}
        seller: {name: "on"}
        order: {id: 0123, date: 2023-10-20}
        """, entries={"a.yaml": ENTRY_YAML.replace("Asked for tracking.", "10:30")})
    result = load_case(tmp_path)
    assert result.problems == []
    c = result.case
    assert (c.title, c.claimant.name, c.seller.name, c.order.id) == ("yes", "no", "on", "0123")
    assert c.entries[0].summary == "10:30"


def test_duplicate_key_is_an_error_at_the_second_key(tmp_path: Path):
    write_case(tmp_path, entries={"a.yaml": ENTRY_YAML + "channel: Phone\n"})
    [problem] = load_case(tmp_path).problems
    assert problem.format().startswith("entries/a.yaml:5:1: error: duplicate key 'channel'")


def test_python_tag_and_alias_are_refused(tmp_path: Path):
    write_case(tmp_path, entries={
        "tag.yaml": ENTRY_YAML + "action: !!python/object/apply:os.system ['echo hi']\n",
        "alias.yaml": ENTRY_YAML + "quote: &a hello\naction: *a\n",
    })
    text = "\n".join(messages(load_case(tmp_path)))
    assert "entries/tag.yaml:5:9: error: YAML tag 'tag:yaml.org,2002:python/object/apply:os.system'" in text
    assert "entries/alias.yaml" in text and "aliases" in text


def test_non_mapping_and_non_utf8_files(tmp_path: Path):
    write_case(tmp_path, entries={"list.yaml": "- a\n- b\n"})
    (tmp_path / "entries" / "latin1.yaml").write_bytes(b"summary: caf\xe9\n")
    text = "\n".join(messages(load_case(tmp_path)))
    assert "entries/list.yaml:1:1: error: the file must be a mapping" in text
    assert "entries/latin1.yaml:1:13: error: file is not UTF-8 text" in text


def test_attachment_outside_case_is_refused(tmp_path: Path):
    outside = tmp_path / "secret.png"
    outside.write_bytes(png_bytes())
    case = tmp_path / "case"
    entry = ENTRY_YAML + f"attachments:\n  - ../secret.png\n  - {outside}\n  - link.png\n"
    write_case(case, entries={"a.yaml": entry})
    (case / "link.png").symlink_to(outside)
    text = "\n".join(messages(load_case(case)))
    assert "entries/a.yaml:6:5: error: attachment path '../secret.png' uses `..`" in text
    assert "entries/a.yaml:7:5: error: attachment path" in text and "must be relative" in text
    assert "entries/a.yaml:8:5: error: attachment 'link.png' is a link that points outside" in text


def test_missing_case_yaml(tmp_path: Path):
    result = load_case(tmp_path)
    assert result.problems[0].format().startswith("case.yaml: error: case.yaml is missing")


def test_editor_litter_is_not_an_entry(tmp_path: Path):
    write_case(tmp_path, entries={"a.yaml": ENTRY_YAML, "a.yaml~": "junk: [", ".a.yaml.swp": "x",
                                  "#a.yaml#": "x", "sub/b.yaml": ENTRY_YAML})
    result = load_case(tmp_path)
    assert result.problems == []
    assert [e.id for e in result.case.entries] == ["a", "b"]


def test_dst_gap_time_is_reported(tmp_path: Path):
    write_case(tmp_path, entries={"a.yaml": ENTRY_YAML.replace("2023-10-26 14:30",
                                                               "2023-03-26 02:30")})
    text = "\n".join(messages(load_case(tmp_path)))
    assert "does not exist in Europe/Berlin" in text

"""Results derived from OCR words, cached by content (#18 benchmark): a warm build neither
parses the words of its pictures nor checks quotes or pictures again, and gives the same
report; damaged or planted cache files are misses, never errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from casegen import chat_image
from conftest import case_cache
from itaoreport import privacy
from itaoreport.analysis import quotes as quotes_module
from itaoreport.build import BuildOptions, build
from itaoreport.case.safety import RealPaths, is_inside
from itaoreport.evidence import ocr as ocr_module
from itaoreport.evidence.derived import FILE, KIND, DerivedCache, key
from itaoreport.evidence.ocr import OcrCache, OcrSpec, OcrText, derived_key, find_engine

ENGINE = find_engine()
needs_tesseract = pytest.mark.skipif(
    ENGINE is None, reason="tesseract is not installed (Debian: tesseract-ocr tesseract-ocr-eng)")
SPEC = OcrSpec("tesseract", "5.3.0", ("eng",))
SHA = "ab" * 32
WORDS = [{"text": "Call", "box": [0, 0, 10, 10], "line": 0, "block": 1},
         {"text": "me", "box": [12, 0, 20, 10], "line": 0, "block": 1}]
CASE_YAML = """\
title: Derived cache
platform: ItaoBuy
claimant: {name: Test Buyer}
seller: {name: GadgetWorld}
order: {id: A-1, date: 2023-10-01, item: Earbuds, amount: 20, currency: EUR}
claim: {type: item_not_received, requested: full_refund}
as_of: 2023-11-20
timezone: Europe/Berlin
"""
MESSAGES = [("them", "We ship within 5 days.", "09:10"),
            ("me", "Write to buyer@example.org", "09:12")]


def _case(root: Path) -> Path:
    (root / "entries").mkdir(parents=True)
    (root / "shots").mkdir()
    (root / "case.yaml").write_text(CASE_YAML)
    quotes = {"a": "We ship within 5 days.", "b": "We ship within 3 days.", "c": None}
    for n, (name, quote) in enumerate(quotes.items()):
        chat_image(f"10:1{n}", "14 November", MESSAGES).save(root / "shots" / f"{name}.png")
        lines = [f"timestamp: 2023-10-2{n} 10:00", "channel: chat", "sender: seller",
                 "summary: A message.", f"attachments: [shots/{name}.png]"]
        if quote:
            lines.append(f"quote: {json.dumps(quote)}")
        (root / "entries" / f"{name}.yaml").write_text("\n".join(lines) + "\n")
    return root


def _counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count quote checks, picture scans and parses of cached OCR words."""
    calls = {"quote": 0, "picture": 0, "parse": 0}

    def counting(name, module, attr):
        real = getattr(module, attr)

        def wrapper(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(module, attr, wrapper)

    counting("quote", quotes_module, "check_quote")
    counting("picture", privacy, "picture_findings")
    counting("parse", ocr_module, "_words_of")
    return calls


def _outputs(case: Path) -> tuple[bytes, bytes]:
    return (case / "build" / "report.json").read_bytes(), (case / "build" / "report.html").read_bytes()


@needs_tesseract
def test_warm_build_reuses_checks_and_gives_the_same_report(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch):
    case = _case(tmp_path / "case")
    calls = _counted(monkeypatch)
    cold = build(case, BuildOptions(formats=("html", "json")))
    assert calls["quote"] == 2 and calls["picture"] == 3
    cold_outputs = _outputs(case)
    checks = {e["id"]: (e["quote_check"] or {}).get("status") for e in cold.report["entries"]}
    assert checks == {"a": "found", "b": "not_found", "c": None}
    assert any("e-mail address" in p.message for p in cold.warnings)

    for name in calls:
        calls[name] = 0
    monkeypatch.setattr("itaoreport.build._CHECKED", {})  # a new process: nothing in memory
    warm = build(case, BuildOptions(formats=("html", "json")))
    assert calls == {"quote": 0, "picture": 0, "parse": 0}
    assert _outputs(case) == cold_outputs
    assert [p.format() for p in warm.warnings] == [p.format() for p in cold.warnings]

    # an edited quote is checked again, alone; the others come from the cache
    entry = case / "entries" / "b.yaml"
    entry.write_text(entry.read_text().replace("3 days", "5 days"))
    edited = build(case, BuildOptions(formats=("json",)))
    assert calls["quote"] == 1 and calls["picture"] == 0
    assert edited.report["entries"][1]["quote_check"]["status"] == "found"


@needs_tesseract
@pytest.mark.parametrize("damage", [
    b"not json",
    b'{"code": "old", "results": {}}',
    b"[1, 2, 3]",
    "wrong shapes",
])
def test_damaged_results_are_misses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    damage: bytes | str):
    case = _case(tmp_path / "case")
    build(case, BuildOptions(formats=("html", "json")))
    cold_outputs = _outputs(case)
    results = case_cache(case) / KIND / FILE
    if damage == "wrong shapes":  # every result of another shape (a planted file)
        data = json.loads(results.read_bytes())
        data["results"] = {k: ({"status": "found", "box": "x"} if isinstance(v, dict)
                               else [["card", 1, 2, 3, [0]]] if isinstance(v, list) else 7)
                           for k, v in data["results"].items()}
        results.write_text(json.dumps(data))
    else:
        results.write_bytes(damage)
    monkeypatch.setattr("itaoreport.build._CHECKED", {})
    calls = _counted(monkeypatch)
    build(case, BuildOptions(formats=("html", "json")))
    assert calls["quote"] == 2 and calls["picture"] == 3  # checked again
    assert _outputs(case) == cold_outputs


def test_cache_round_trip_and_pruning(tmp_path: Path):
    cache = DerivedCache(tmp_path)
    cache.put(key("x", 1), {"a": 1})
    cache.put(key("y", 2), "two")
    cache.save()
    again = DerivedCache(tmp_path)
    assert again.get(key("x", 1)) == {"a": 1}
    assert again.get(key("z", 3)) is None
    again.save()  # used only x: y is dropped
    assert DerivedCache(tmp_path).get(key("y", 2)) is None
    assert DerivedCache(tmp_path).get(key("x", 1)) == {"a": 1}


def test_cache_never_written_through_a_link(tmp_path: Path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / KIND).symlink_to(tmp_path / "elsewhere")
    cache = DerivedCache(tmp_path / "cache")
    cache.put(key("x"), 1)
    cache.save()
    assert not list((tmp_path / "elsewhere").iterdir())


def test_known_good_words_are_parsed_only_when_used(tmp_path: Path):
    cache, derived = OcrCache(tmp_path), DerivedCache(tmp_path)
    cache.put(SHA, OcrText(SPEC.key, WORDS))
    first = cache.get(SHA, SPEC, derived)  # parsed and checked; remembered as good
    assert first is not None and first.words == WORDS
    lazy = cache.get(SHA, SPEC, derived)
    assert lazy is not None and lazy._words is None and lazy.digest == first.digest
    assert lazy.words == WORDS and lazy == first


def test_planted_known_good_marker_for_bad_words_gives_no_words(tmp_path: Path):
    """A planted pair (bad words, a marker claiming their SHA-256 was checked) is no error."""
    cache, derived = OcrCache(tmp_path), DerivedCache(tmp_path)
    cache.put(SHA, OcrText(SPEC.key, WORDS))
    entry = next((tmp_path / ocr_module.CACHE_KIND).rglob("*.json"))
    bad = json.dumps({"engine": SPEC.key, "words": [{"text": 5}]}).encode()
    entry.write_bytes(bad)
    assert cache.get(SHA, SPEC, derived) is None  # checked: of the wrong shape, a miss
    import hashlib

    derived.put(derived_key(hashlib.sha256(bad).hexdigest()), SPEC.key)
    planted = cache.get(SHA, SPEC, derived)
    assert planted is not None and planted.words == [] and planted.text() == ""


def test_redaction_gives_words_their_own_digest():
    from itaoreport.evidence.exhibits import AttachmentInfo, Evidence, Exhibit

    text = OcrText(SPEC.key, WORDS)
    shown = Exhibit("E1", "a.png", [], [], redact=((0, 0, 11, 11),))
    plain = Exhibit("E2", "b.png", [], [])
    evidence = Evidence({"a.png": AttachmentInfo("a.png", "a" * 64, 1, True),
                         "b.png": AttachmentInfo("b.png", "b" * 64, 1, True)}, [shown, plain],
                        ocr={"a" * 64: text, "b" * 64: OcrText(SPEC.key, WORDS)})
    privacy.clean_ocr(evidence, None)
    redacted = evidence.ocr["a" * 64]
    assert [w["text"] for w in redacted.words] == ["me"] and redacted.digest != text.digest
    assert evidence.ocr["b" * 64].digest == text.digest  # untouched: the same words


@pytest.mark.parametrize("text, kinds", [
    ("tel: 123 4567", ["phone"]),  # seven digits: a phone number
    ("tel: 123 456", []),
    ("order 12-34-56, mail me at a@example.org", ["email"]),
    ("4111 1111 1111 1111", ["card"]),
    ("IBAN DE89 3704 0044 0532 0130 00", ["iban"]),
])
def test_privacy_scan_skips_only_what_cannot_match(text: str, kinds: list[str]):
    assert [f.kind for f in privacy.find_private(text)] == kinds


def test_real_paths_match_resolve(tmp_path: Path):
    (tmp_path / "case" / "shots").mkdir(parents=True)
    (tmp_path / "outside.png").write_bytes(b"x")
    (tmp_path / "case" / "shots" / "a.png").write_bytes(b"x")
    (tmp_path / "case" / "shots" / "out.png").symlink_to(tmp_path / "outside.png")
    (tmp_path / "case" / "linked").symlink_to(tmp_path)
    (tmp_path / "case" / "shots" / "loop").symlink_to(tmp_path / "case" / "shots" / "loop")
    real = RealPaths()

    def outcome(resolve, path):
        try:
            return resolve(path)
        except (OSError, RuntimeError) as exc:
            return type(exc)

    for rel in ("shots/a.png", "shots/out.png", "shots/missing.png", "linked/outside.png",
                "linked/case/shots/a.png", "shots/a.png/x", "missing/x.png", "shots/..",
                "shots/loop", "shots/loop/x"):
        path = tmp_path / "case" / rel
        assert outcome(real.resolve, path) == outcome(lambda p: p.resolve(strict=False),
                                                      path), rel
        root = tmp_path / "case"
        assert outcome(lambda p: is_inside(root, p, root.resolve(), RealPaths()), path) == \
            outcome(lambda p: is_inside(root, p), path), rel
    sibling = tmp_path / "case-other"  # a name starting like the case is not inside it
    (sibling).mkdir()
    (tmp_path / "case" / "shots" / "sib.png").symlink_to(sibling)
    for rel in ("shots/sib.png", ".", "shots"):
        path = tmp_path / "case" / rel
        assert is_inside(tmp_path / "case", path, None, RealPaths()) == \
            is_inside(tmp_path / "case", path), rel


def test_watch_memo_sees_every_changed_file(tmp_path: Path):
    """Watch mode's in-memory layer (hashes by file signature, parsed entries by bytes,
    OCR words) never hides a change."""
    from itaoreport.evidence.memo import MemoCache
    from itaoreport.evidence.exhibits import cache_folder

    case = _case(tmp_path / "case")
    memo = MemoCache(cache_folder(case))
    options = BuildOptions(formats=("json",), image_cache=memo)
    first = build(case, options)
    again = build(case, options)
    assert again.report == first.report and memo.parsed
    shot = case / "shots" / "a.png"
    chat_image("11:11", "15 November", MESSAGES[:1]).save(shot)
    entry = case / "entries" / "b.yaml"
    entry.write_text(entry.read_text().replace("A message.", "Another message."))
    changed = build(case, options)
    import hashlib

    sha = {a["path"]: a["sha256"] for a in changed.report["attachments"]}
    assert sha["shots/a.png"] == hashlib.sha256(shot.read_bytes()).hexdigest()
    assert sha["shots/a.png"] != {a["path"]: a["sha256"]
                                  for a in first.report["attachments"]}["shots/a.png"]
    assert changed.report["entries"][1]["summary"] == "Another message."


# -- attachments' digests kept between builds (evidence/digests.py) -------------------------------

def _count_hashing(monkeypatch) -> list[str]:
    from itaoreport.evidence import exhibits

    hashed: list[str] = []
    real = exhibits.sha256_file

    def counting(path):
        hashed.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(exhibits, "sha256_file", counting)
    return hashed


def test_unchanged_attachments_are_not_hashed_again(tmp_path: Path, monkeypatch):
    from itaoreport.evidence import digests

    monkeypatch.setattr(digests, "RACY_NS", 0)  # the files were written a moment ago
    case = _case(tmp_path / "case")
    first = build(case, BuildOptions(formats=("json",)))
    hashed = _count_hashing(monkeypatch)
    again = build(case, BuildOptions(formats=("json",)))
    assert hashed == [] and again.report["attachments"] == first.report["attachments"]


def test_a_file_changed_in_place_is_hashed_again(tmp_path: Path, monkeypatch):
    """Same size and modification time put back (as `touch -r` or a copy tool does): the
    change time still differs, so the new bytes are hashed."""
    import hashlib

    from itaoreport.evidence import digests

    monkeypatch.setattr(digests, "RACY_NS", 0)
    case = _case(tmp_path / "case")
    shot = case / "shots" / "a.png"
    build(case, BuildOptions(formats=("json",)))
    before = os.stat(shot)
    data = bytearray(shot.read_bytes())
    data[-20] ^= 0xFF  # inside the IEND/IDAT tail: same size, other bytes
    shot.write_bytes(bytes(data))
    os.utime(shot, ns=(before.st_atime_ns, before.st_mtime_ns))
    hashed = _count_hashing(monkeypatch)
    try:
        result = build(case, BuildOptions(formats=("json",)))
        sha = {a["path"]: a["sha256"] for a in result.report["attachments"]}["shots/a.png"]
    except Exception:  # a damaged PNG may be refused; the point is that it was read again
        sha = None
    assert "a.png" in hashed
    if sha is not None:
        assert sha == hashlib.sha256(bytes(data)).hexdigest()


def test_recently_changed_files_are_always_hashed(tmp_path: Path, monkeypatch):
    """With the real margin, files written seconds ago are hashed on every build (a coarse
    clock could give a second write the same times)."""
    case = _case(tmp_path / "case")
    build(case, BuildOptions(formats=("json",)))
    hashed = _count_hashing(monkeypatch)
    build(case, BuildOptions(formats=("json",)))
    assert sorted(set(hashed)) == sorted(p.name for p in (case / "shots").iterdir())


def test_a_damaged_digest_store_is_ignored(tmp_path: Path, monkeypatch):
    import hashlib

    from itaoreport.evidence import digests

    monkeypatch.setattr(digests, "RACY_NS", 0)
    case = _case(tmp_path / "case")
    build(case, BuildOptions(formats=("json",)))
    store = case_cache(case) / digests.NAME
    assert len(json.loads(store.read_text())["files"]) == 3
    for bad in ("[", json.dumps({"format": 1, "files": {"x": "y"}}), json.dumps([1, 2])):
        store.write_text(bad)
        result = build(case, BuildOptions(formats=("json",)))
        sha = {a["path"]: a["sha256"] for a in result.report["attachments"]}
        assert sha["shots/a.png"] == hashlib.sha256(
            (case / "shots" / "a.png").read_bytes()).hexdigest()


def test_watch_memo_checks_unchanged_entries_again_when_their_world_changes(tmp_path: Path):
    """Entries kept checked in watch mode are read again when their zone changes, and
    their attachments are checked again on every build (a deleted picture is an error)."""
    from itaoreport.errors import CaseInvalid
    from itaoreport.evidence.exhibits import cache_folder
    from itaoreport.evidence.memo import MemoCache

    case = _case(tmp_path / "case")
    memo = MemoCache(cache_folder(case))
    options = BuildOptions(formats=("json",), image_cache=memo)
    first = build(case, options)
    assert memo.validated
    again = build(case, options)
    assert again.report["entries"] == first.report["entries"]
    yaml_path = case / "case.yaml"
    yaml_path.write_text(yaml_path.read_text().replace("Europe/Berlin", "America/New_York"))
    moved = build(case, options)
    assert [e["timestamp"] for e in moved.report["entries"]] != \
        [e["timestamp"] for e in first.report["entries"]]
    assert moved.report["entries"] == build(case, BuildOptions(formats=("json",))).report[
        "entries"]
    (case / "shots" / "a.png").unlink()
    with pytest.raises(CaseInvalid) as gone:
        build(case, options)
    assert any("does not exist" in p.message for p in gone.value.problems)

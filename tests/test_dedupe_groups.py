"""Groups of copies (#20): palette copies are lossy copies, groups that share a copy are one
group when their kept images verify against each other, never by chaining."""

from __future__ import annotations

import pytest
from chatshots import CONVERSATION, chat, encode
from PIL import Image

from itaoreport.evidence import dedupe
from itaoreport.evidence.dedupe import find_duplicates
from itaoreport.evidence.images import open_image

PHONE = chat(CONVERSATION, width=1080, height=2340)


def analysed(tmp_path, items: dict[str, bytes]) -> tuple[dict, dict]:
    facts, grays = {}, {}
    for name, data in items.items():
        path = tmp_path / name
        path.write_bytes(data)
        facts[name], grays[name] = dedupe.analyse(open_image(path), name, len(data))
    return facts, grays


def test_palette_and_reduced_colour_pngs_are_lossy_copies(tmp_path):
    palette = encode(PHONE.quantize(256), "PNG")
    reduced = encode(PHONE.quantize(256).convert("RGB"), "PNG")
    facts, grays = analysed(tmp_path, {"original.png": encode(PHONE, "PNG"),
                                       "palette.png": palette, "reduced.png": reduced})
    assert facts["original.png"].lossless
    assert not facts["palette.png"].lossless and not facts["reduced.png"].lossless
    result = find_duplicates(facts, grays.__getitem__)
    assert set(result.keep_of.values()) == {"original.png"}, result


@pytest.mark.parametrize("kept_images_verify", [True, False])
def test_a_copy_of_two_groups_joins_them_only_if_their_kept_images_verify(
        tmp_path, monkeypatch, kept_images_verify: bool):
    """a and b were never compared (their hashes were too far apart, say); c verifies
    against both. Then a and b are compared: one group if they verify, else two."""
    other = chat(CONVERSATION[:-1], width=1080, height=2340)
    items = {"a.png": encode(PHONE, "PNG"),
             "b.jpg": encode(PHONE if kept_images_verify else other, "JPEG", quality=92),
             "c.webp": encode(PHONE.resize((540, 1170), Image.Resampling.BICUBIC), "WEBP",
                              quality=85)}
    facts, grays = analysed(tmp_path, items)
    order = sorted(facts, key=lambda k: dedupe.keep_rank(facts[k], k))
    assert order == ["a.png", "b.jpg", "c.webp"]
    real_verify = dedupe.verify_keys

    def verify(prepared, a, b, **kw):  # c "verifies" against b even when b differs
        if {a, b} == {"b.jpg", "c.webp"}:
            return dedupe.Verdict(True, 1.0, 1.0)
        return real_verify(prepared, a, b, **kw)

    monkeypatch.setattr(dedupe, "verify_keys", verify)
    monkeypatch.setattr(dedupe, "candidate_pairs", lambda *a, **k: {(0, 2), (1, 2)})
    result = find_duplicates(facts, grays.__getitem__)
    if kept_images_verify:
        assert set(result.keep_of.values()) == {"a.png"}
        (group,) = result.groups
        assert {m.path for m in group.duplicates} == {"b.jpg", "c.webp"}
    else:
        assert result.keep_of["a.png"] == "a.png" and result.keep_of["b.jpg"] == "b.jpg"
        assert len(result.groups) == 1


def test_progress_is_said_on_long_runs():
    said = []
    progress = dedupe._Progress(said.append, 100, 5000)
    for i in range(100):
        for _ in range(50):
            progress.verified()
        progress.image_placed()
    progress.done()
    assert said[0] == "comparing look-alike screenshots: 10 of 100 placed, 500 pairs verified"
    assert len(said) == 10
    assert said[-1] == "comparing look-alike screenshots: done (5000 pairs verified)"
    quiet = dedupe._Progress(said.append, 100, 10)
    quiet.verified()
    quiet.image_placed()
    quiet.done()
    assert len(said) == 10


def test_the_dedupe_command_says_how_a_long_run_goes(tmp_path):
    from click.testing import CliRunner

    from itaoreport.cli import main

    for i in range(20):
        image = Image.new("RGB", (32, 48), (i * 12, 255 - i * 12, (i * 97) % 256))
        image.save(tmp_path / f"{i:02d}.png")
    result = CliRunner().invoke(main, ["dedupe", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "analysing screenshots: 20 of 20" in result.output
    assert "20 images:" in result.output

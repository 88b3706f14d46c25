"""Synthetic case folders for the benchmark: N entries, M distinct screenshots, K re-encoded copies.

Generation is deterministic for a given spec and cached under benchmarks/work/,
keyed by the spec, so repeated runs do not redraw hundreds of PNGs. Every
distinct screenshot really differs in content (its own messages, clock, day,
app colours and number of bubbles); copies are JPEG re-encodings of some of
them, half also scaled down the way messaging apps do. Like a real case, the
folder is a git repository whose history adds the entries and their
screenshots in batches (when git is installed), so builds record provenance.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # casegen: the chat drawing

GENERATOR_VERSION = 4
"""Bump when the generated case changes, so cached cases are redrawn.
3: an entry's quote is a sentence drawn (and visible) in its first screenshot; a few
honest misquotes (one number or word changed). 4: casegen draws Messenger's own bubbles
white on blue."""
START = datetime(2023, 9, 1, 9, 0)
ORDER_ID = "IT-20230828-5150"
COMPLETE_MARK = ".complete"
GITIGNORE = "build/\n.itaoreport/\n.complete\n"
HISTORY_COMMITS = 10
MISQUOTE_EVERY = 20
"""About one quote in this many of those with a screenshot has one number or word changed: an
honest misquote, which the build warns about (the rest are found)."""

WORDS = ["order", "tracking", "parcel", "refund", "seller", "courier", "warehouse", "delivery", "label", "invoice", "photo", "address", "customs", "package", "carrier", "status", "update", "shipment", "earbuds", "charger", "cable", "box", "colour", "size", "replacement", "return", "dispute", "receipt", "payment", "voucher", "discount", "message"]
SENTENCES = (
    "Hello, could you tell me when the {0} will ship?",
    "The {0} still shows no {1} after {n} days.",
    "We are checking with the {0} and will reply within {n} days.",
    "Please send a photo of the {0} and the {1}.",
    "I attached the {0} you asked for, order {order}.",
    "Your {0} was handed to the {1} on day {n}.",
    "This is message {n} about the {0}; I still have no {1}.",
    "Sorry for the delay, the {0} team promised an update on the {1}.",
    "I will open a dispute if the {0} is not resolved by day {n}.",
    "Thank you, the {0} number is {order}-{n}.",
)
CHANNELS = ("ItaoBuy Messaging", "Email", "WhatsApp", "Phone", "ItaoBuy Messaging")
SENDERS = ("me", "seller", "me", "platform", "seller", "carrier")


@dataclass(frozen=True)
class Spec:
    """What to generate; equal specs give identical case folders."""

    entries: int = 1000
    screenshots: int = 300
    copies: int = 30
    seed: int = 9

    def __post_init__(self) -> None:
        if self.entries < 1 or self.screenshots < 0 or self.copies < 0:
            raise ValueError("entries must be at least 1; screenshots and copies not negative")
        if self.screenshots > self.entries:
            raise ValueError("at most one distinct screenshot per entry")
        if self.copies > self.screenshots:
            raise ValueError("at most one copy per distinct screenshot")

    @property
    def key(self) -> str:
        return (f"case-e{self.entries}-s{self.screenshots}-c{self.copies}"
                f"-r{self.seed}-v{GENERATOR_VERSION}")


@dataclass(frozen=True)
class Plan:
    """Where every screenshot and copy is used: entry index -> attachment paths."""

    attachments: dict[int, list[str]]
    shots: list[str]
    copies: list[tuple[str, str, bool]]
    """(copy path, original path, scaled down)."""


def shot_path(i: int) -> str:
    return f"screenshots/chat-{i:04d}.png"


@lru_cache(maxsize=4)
def plan(spec: Spec) -> Plan:
    """Spread distinct screenshots evenly over the entries; copies and re-uses come later."""
    attachments: dict[int, list[str]] = {}
    shots = [shot_path(i) for i in range(spec.screenshots)]
    first_use: dict[str, int] = {}
    for i, path in enumerate(shots):
        index = i * spec.entries // max(1, spec.screenshots)
        attachments.setdefault(index, []).append(path)
        first_use[path] = index
    copies = []
    for k in range(spec.copies):
        original = shots[k * spec.screenshots // spec.copies]
        scaled = k % 2 == 1
        copy = f"screenshots/emailed/IMG_{k:04d}.jpg"
        copies.append((copy, original, scaled))
        later = min(spec.entries - 1, first_use[original] + 3)
        attachments.setdefault(later, []).append(copy)
    for index in range(49, spec.entries, 50):  # "as shown above": the same file attached again
        earlier = [p for p in shots if first_use[p] < index]
        if earlier:
            attachments.setdefault(index, []).append(earlier[len(earlier) // 2])
    return Plan(attachments, shots, copies)


def ensure_case(spec: Spec, work_dir: Path, *, say=print) -> Path:
    """The case folder for spec under work_dir, generated on first use."""
    target = work_dir / spec.key
    if (target / COMPLETE_MARK).is_file():
        return target
    say(f"generating {spec.key} (cached for later runs) ...")
    tmp = work_dir / f".{spec.key}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    write_case(spec, tmp)
    (tmp / COMPLETE_MARK).write_text("ok\n", encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target


def write_case(spec: Spec, root: Path, workers: int | None = None) -> None:
    """Write case.yaml, entries/ and screenshots/ for spec into root, and its git history."""
    the_plan = plan(spec)
    (root / "case.yaml").write_text(case_yaml(spec), encoding="utf-8")
    (root / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
    stamps = timestamps(spec)
    ids = [entry_id(i, stamps[i]) for i in range(spec.entries)]
    promises = {i for i in range(spec.entries) if SENDERS[i % len(SENDERS)] == "seller"
                and i % 4 == 1}
    files_by_entry = []
    for i in range(spec.entries):
        attachments = the_plan.attachments.get(i, [])
        text = entry_yaml(spec, i, stamps[i], attachments, ids, promises)
        rel = f"entries/{stamps[i]:%Y-%m}/{ids[i]}.yaml"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
        files_by_entry.append([rel, *attachments])
    (root / "screenshots" / "emailed").mkdir(parents=True, exist_ok=True)
    jobs = [(root / p, spec.seed, i) for i, p in enumerate(the_plan.shots)]
    workers = workers or os.cpu_count() or 1
    if workers > 1 and len(jobs) > 4:
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(_draw_job, jobs, chunksize=4))
    else:
        for job in jobs:
            _draw_job(job)
    for copy, original, scaled in the_plan.copies:
        reencode(root / original, root / copy, scaled)
    commit_history(root, files_by_entry, stamps)


def commit_history(root: Path, files_by_entry: list[list[str]], stamps: list[datetime]) -> bool:
    """A git repository whose commits add the entries (with their files) in batches."""
    if shutil.which("git") is None:
        return False
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "Bench Buyer", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
           "GIT_COMMITTER_NAME": "Bench Buyer", "GIT_COMMITTER_EMAIL": "bench@example.invalid"}

    def git(*args: str, stdin: str | None = None) -> None:
        subprocess.run(["git", *args], cwd=root, env=env, input=stdin, text=True, check=True,
                       capture_output=True)

    git("init", "-q", "-b", "main")
    size = -(-len(files_by_entry) // HISTORY_COMMITS)
    committed: set[str] = set()
    for start in range(0, len(files_by_entry), size):
        batch = ["case.yaml", ".gitignore"] if start == 0 else []
        for files in files_by_entry[start:start + size]:
            batch += [f for f in files if f not in committed]
        committed.update(batch)
        git("add", "--pathspec-from-file=-", stdin="\n".join(batch) + "\n")
        when = stamps[min(start + size, len(stamps)) - 1].strftime("%Y-%m-%dT%H:%M:%S+0200")
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when
        git("commit", "-q", "--no-gpg-sign", "-m", f"Entries {start + 1}-{start + size}")
    return True


def timestamps(spec: Spec) -> list[datetime]:
    rng = random.Random(spec.seed)
    stamps, t = [], START
    for _ in range(spec.entries):
        t += timedelta(minutes=rng.randint(20, 240))
        stamps.append(t)
    return stamps


def entry_id(i: int, stamp: datetime) -> str:
    return f"{stamp:%Y-%m-%d-%H%M}-{i:04d}-{WORDS[i % len(WORDS)]}"


def case_yaml(spec: Spec) -> str:
    last = timestamps(spec)[-1]
    return f"""\
# Synthetic benchmark case ({spec.key}); generated by benchmarks/synth.py.
title: Synthetic dispute with {spec.entries} messages for order {ORDER_ID}
platform: ItaoBuy
claimant:
  name: Bench Buyer
  account: bench_buyer
seller:
  name: LoadTest Store
  store: https://example.invalid/shop/loadtest
order:
  id: {ORDER_ID}
  date: 2023-08-28
  item: Wireless earbuds, black
  amount: 59.90
  currency: USD
  expected_delivery: 2023-09-10
claim:
  type: item_not_received
  requested: full_refund
  amount: 59.90
as_of: {(last + timedelta(days=2)).date().isoformat()}
timezone: Europe/Berlin
statement: |
  A long dispute, generated to measure how itaoreport behaves at scale.

  Every entry and screenshot is synthetic.
"""


def sentence(rng: random.Random, n: int) -> str:
    template = rng.choice(SENTENCES)
    return template.format(rng.choice(WORDS), rng.choice(WORDS), n=n, order=ORDER_ID)


def entry_yaml(spec: Spec, i: int, stamp: datetime, attachments: list[str], ids: list[str],
               promises: set[int]) -> str:
    rng = random.Random(spec.seed * 100_003 + i)
    sender = SENDERS[i % len(SENDERS)]
    lines = [
        f"timestamp: {stamp:%Y-%m-%d %H:%M}",
        f"channel: {CHANNELS[i % len(CHANNELS)]}",
        f"sender: {sender}",
    ]
    if sender == "seller":
        lines.append("sender_name: LoadTest Store")
    lines.append(f"summary: {_quoted(sentence(rng, i) + ' ' + sentence(rng, i + 1))}")
    if i % 3 == 0:
        quote = sentence(rng, i)  # drawn in any case: the entry's other fields stay the same
        shot = shown_screenshot(spec, attachments)
        if shot is not None:
            quote = screenshot_quote(spec, i, shot)
        lines.append(f"quote: {_quoted(quote)}")
    if attachments:
        lines.append("attachments:")
        for k, path in enumerate(attachments):
            if k % 2 == 0:
                lines.append(f"  - path: {path}")
                lines.append(f"    caption: {_quoted('Screenshot ' + str(i) + ': ' + sentence(rng, k))}")
            else:
                lines.append(f"  - {path}")
    if i % 10 == 7:
        lines += ["links:", f"  - https://example.invalid/order/{ORDER_ID}/msg/{i}"]
    if i in promises:
        due = stamp + timedelta(days=2)
        lines += ["promise:", f"  text: {_quoted('Will update the ' + rng.choice(WORDS))}",
                  f"  due: {due:%Y-%m-%d %H:%M}"]
    kept = i - 3
    if kept in promises and kept % 8 == 1:
        lines.append(f"fulfils: {ids[kept]}")
    if i % 7 == 0:
        lines.append(f"tags: [{WORDS[i % len(WORDS)]}, bench]")
    return "\n".join(lines) + "\n"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _draw_job(job: tuple[Path, int, int]) -> None:
    path, seed, i = job
    draw_screenshot(path, seed, i)


@dataclass(frozen=True)
class Screenshot:
    """What screenshot number i shows: its messages (side, text, time), the sentences of
    each message, and the clock."""

    messages: list[tuple[str, str, str]]
    sentences: list[list[str]]
    clock: str


def screenshot_content(seed: int, i: int) -> Screenshot:
    rng = random.Random(seed * 7_919 + i)
    count = rng.randint(1, 6)
    messages, sentences = [], []
    for k in range(count):
        said = [sentence(rng, i * 10 + k) for _ in range(rng.randint(1, 3))]
        messages.append((rng.choice(("me", "them")), " ".join(said),
                         f"{rng.randint(7, 22):02d}:{k * 7:02d}"))
        sentences.append(said)
    return Screenshot(messages, sentences, f"{rng.randint(7, 22):02d}:{rng.randint(0, 59):02d}")


def visible_sentences(seed: int, i: int) -> list[str]:
    """The sentences of screenshot i whose bubble is wholly on screen (above the composer),
    laid out as casegen.chat_image lays them out."""
    import textwrap

    from casegen import H

    shown, y = [], 410  # the first bubble's top, under the header and the day chip
    content = screenshot_content(seed, i)
    for (_side, text, _time), said in zip(content.messages, content.sentences):
        bottom = y + 62 * len(textwrap.wrap(text, 30) or [""]) + 84
        if bottom > H - 170:
            break
        shown += said
        y = bottom + 36
    return shown


def shown_screenshot(spec: Spec, attachments: list[str]) -> int | None:
    """The number of the screenshot an entry's first attachment shows (a copy shows its
    original), or None when it has none."""
    for path in attachments:
        if path.startswith("screenshots/chat-"):
            return int(path.removeprefix("screenshots/chat-").removesuffix(".png"))
        for copy, original, _scaled in plan(spec).copies:
            if copy == path:
                return int(original.removeprefix("screenshots/chat-").removesuffix(".png"))
    return None


def screenshot_quote(spec: Spec, i: int, shot: int) -> str:
    """Entry i's quote: a sentence its screenshot shows, as typed (every MISQUOTE_EVERY-th
    quote has one number or word changed)."""
    rng = random.Random(spec.seed * 31_337 + i)
    quote = rng.choice(visible_sentences(spec.seed, shot))
    if rng.randrange(MISQUOTE_EVERY):
        return quote
    digits = [k for k, c in enumerate(quote) if c.isdigit()]
    if digits:
        k = digits[-1]
        return quote[:k] + str((int(quote[k]) + 1) % 10) + quote[k + 1:]
    words = quote.split(" ")
    for k, word in enumerate(words):
        if word in WORDS:
            words[k] = WORDS[(WORDS.index(word) + 1) % len(WORDS)]
            return " ".join(words)
    return quote + " today"


def draw_screenshot(path: Path, seed: int, i: int) -> None:
    """Screenshot number i: its own words, clock, day, colours and bubble count."""
    from casegen import PALETTES, chat_image

    content = screenshot_content(seed, i)
    day = (START + timedelta(hours=i * 3)).strftime("%d %B %Y")
    image = chat_image(content.clock, day, content.messages,
                       title=("LoadTest Store", "ItaoBuy Support", "Courier Desk")[i % 3],
                       subtitle=f"Order {ORDER_ID} · #{i}", palette=PALETTES[i % len(PALETTES)])
    image.save(path)


def reencode(original: Path, copy: Path, scaled: bool) -> None:
    """A JPEG copy of original, as if e-mailed; scaled copies are 720 px wide."""
    from PIL import Image

    with Image.open(original) as im:
        rgb = im.convert("RGB")
    if scaled:
        rgb = rgb.resize((720, round(rgb.height * 720 / rgb.width)), Image.Resampling.BILINEAR)
    rgb.save(copy, format="JPEG", quality=78 if scaled else 85)

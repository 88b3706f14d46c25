"""The generated claim summary: deterministic, neutral sentences built from facts and promises."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from itaoreport.analysis.facts import Facts
from itaoreport.analysis.promises import PromiseStatus
from itaoreport.case.model import Case

_COUNTS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven",
           8: "eight", 9: "nine", 10: "ten"}
_REMEDIES = {
    "full_refund": "a full refund",
    "partial_refund": "a partial refund",
    "replacement": "a replacement",
    "return_and_refund": "a return and refund",
    "other": "a resolution",
}


@dataclass(frozen=True)
class Sentence:
    text: str
    priority: int
    """0 = essential; larger numbers are dropped first when the summary must be shorter."""


def short_date(day: date, as_of: date | None = None) -> str:
    """Oct 20 (with the year when it differs from the as-of year)."""
    text = f"{day:%b} {day.day}"
    if as_of is not None and day.year != as_of.year:
        text += f", {day.year}"
    return text


def summarise(case: Case, facts: Facts, promises: list[PromiseStatus],
              exhibit_of: dict[str, str]) -> list[Sentence]:
    """The claim summary as sentences; exhibit_of maps entry id to its first exhibit label."""
    a = facts.as_of
    seller = case.seller.name
    sentences: list[Sentence] = []
    item = f" {case.order.item}" if case.order.item else ""
    sentences.append(Sentence(
        f"I ordered{item} from {seller} on {short_date(case.order.date, a)} "
        f"(order {case.order.id}).", 0))
    for p in promises:
        ref = _ref(exhibit_of.get(p.entry.id))
        made = short_date(p.entry.timestamp.day(), a)
        due = f" by {short_date(p.due.day(), a)}" if p.due else ""
        text = p.text.rstrip(". ")
        if p.status == "broken" and p.kept_late and p.kept_by is not None:
            sentences.append(Sentence(
                f"On {made} {seller} promised: \u201c{text}\u201d{due}{ref}; this was only done "
                f"late, on {short_date(p.kept_by.timestamp.day(), a)}.", 1))
        elif p.status == "broken":
            sentences.append(Sentence(
                f"On {made} {seller} promised: \u201c{text}\u201d{due}{ref}; this did not happen.",
                0))
        elif p.status == "pending":
            sentences.append(Sentence(
                f"On {made} {seller} promised: \u201c{text}\u201d{due}{ref}; this is still "
                "outstanding.", 2))
        else:
            sentences.append(Sentence(
                f"On {made} {seller} promised: \u201c{text}\u201d{ref}, and did so.", 3))
    if facts.days_overdue and case.order.expected_delivery:
        what = "The item" if case.claim.type == "item_not_received" else "Delivery"
        sentences.append(Sentence(
            f"{what} was due by {short_date(case.order.expected_delivery, a)} and is now "
            f"{_days(facts.days_overdue)} overdue.", 0))
    days = facts.buyer_contact_days
    if days:
        listed = ", ".join(short_date(d, a) for d in days)
        count = _COUNTS.get(len(days), str(len(days)))
        occasions = "occasion" if len(days) == 1 else "occasions"
        sentences.append(Sentence(
            f"I tried to resolve this directly with {seller} on {count} {occasions} "
            f"({listed}) without success.", 1))
    remedy = _REMEDIES.get(case.claim.requested, "a resolution")
    amount = case.claim.amount or case.order.amount
    money = f" of {amount} {case.order.currency or ''}".rstrip() if amount else ""
    sentences.append(Sentence(f"I request {remedy}{money}.", 0))
    return sentences


def _ref(label: str | None) -> str:
    return f" ({label})" if label else ""


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def fit_text(sentences: list[Sentence], limit: int) -> str:
    """Join sentences, dropping the least important ones until the text fits `limit` characters."""
    kept = list(sentences)
    while kept and len(" ".join(s.text for s in kept)) > limit:
        worst = max(range(len(kept)), key=lambda i: (kept[i].priority, i))
        if kept[worst].priority == 0 and all(s.priority == 0 for s in kept):
            kept.pop()
            continue
        kept.pop(worst)
    return " ".join(s.text for s in kept)

"""The generated claim summary: deterministic, neutral sentences built from facts and promises.

The wording comes from the report language's catalog (`summary.*` messages in
themes/*/i18n/<language>.po); what is filled in (names, promise texts, order
ids) is the user's text, unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from itaoreport.analysis.facts import Facts
from itaoreport.analysis.promises import PromiseStatus
from itaoreport.case.model import Case

if TYPE_CHECKING:
    from itaoreport.render.i18n import Translator

DATE_SAME_YEAR = "summary.date.skeleton"
"""Catalog key: CLDR skeleton for a date in the as-of year (en: MMMd, Oct 20)."""
DATE_OTHER_YEAR = "summary.date_other_year.skeleton"
"""Catalog key: CLDR skeleton for a date in another year (en: yMMMd, Oct 20, 2022)."""


@dataclass(frozen=True)
class Sentence:
    text: str
    priority: int
    """0 = essential; larger numbers are dropped first when the summary must be shorter."""


def short_date(tr: Translator, day: date, as_of: date | None = None) -> str:
    """A date in the summary: Oct 20 (with the year when it differs from the as-of year)."""
    same_year = as_of is not None and day.year == as_of.year
    return tr.date(day, DATE_SAME_YEAR if same_year else DATE_OTHER_YEAR)


def summarise(case: Case, facts: Facts, promises: list[PromiseStatus],
              exhibit_of: dict[str, str], tr: Translator) -> list[Sentence]:
    """The claim summary as sentences; exhibit_of maps entry id to its first exhibit label."""
    a = facts.as_of
    seller = case.seller.name
    sentences: list[Sentence] = []
    order = {"seller": seller, "date": short_date(tr, case.order.date, a), "order": case.order.id}
    if case.order.item:
        sentences.append(Sentence(tr.text("summary.ordered_item", item=case.order.item, **order), 0))
    else:
        sentences.append(Sentence(tr.text("summary.ordered", **order), 0))
    for p in promises:
        said = {
            "made": short_date(tr, p.entry.timestamp.day(), a),
            "seller": seller,
            "text": p.text.rstrip(". "),
            "ref": _ref(tr, exhibit_of.get(p.entry.id)),
            "due": tr.text("summary.due", date=short_date(tr, p.due.day(), a)) if p.due else "",
        }
        if p.status == "broken" and p.kept_late and p.kept_by is not None:
            kept = short_date(tr, p.kept_by.timestamp.day(), a)
            sentences.append(Sentence(tr.text("summary.promise_kept_late", kept=kept, **said), 1))
        elif p.status == "broken":
            sentences.append(Sentence(tr.text("summary.promise_broken", **said), 0))
        elif p.status == "pending":
            sentences.append(Sentence(tr.text("summary.promise_pending", **said), 2))
        else:
            sentences.append(Sentence(tr.text("summary.promise_kept", **said), 3))
    if facts.days_overdue and case.order.expected_delivery:
        key = ("summary.overdue_item" if case.claim.type == "item_not_received"
               else "summary.overdue_delivery")
        sentences.append(Sentence(tr.text(
            key, date=short_date(tr, case.order.expected_delivery, a),
            days=tr.plural("summary.days", facts.days_overdue)), 0))
    days = facts.buyer_contact_days
    if days:
        listed = tr.text("summary.list_separator").join(short_date(tr, d, a) for d in days)
        sentences.append(Sentence(tr.plural("summary.contact", len(days), seller=seller,
                                            count=_count(tr, len(days)), dates=listed), 1))
    amount = case.claim.amount or case.order.amount
    money = tr.text("summary.amount", amount=tr.money(amount, case.order.currency)) if amount else ""
    remedy = tr.text(f"summary.remedy.{case.claim.requested}")
    sentences.append(Sentence(tr.text("summary.request", remedy=remedy, amount=money), 0))
    return sentences


def _ref(tr: Translator, label: str | None) -> str:
    return tr.text("summary.ref", label=label) if label else ""


def _count(tr: Translator, n: int) -> str:
    """n as a word where the catalog has one (summary.count_words: one two three ...)."""
    words = tr.text("summary.count_words").split()
    return words[n - 1] if 0 < n <= len(words) else tr.number(n)


def join_sentences(texts: Iterable[str], tr: Translator) -> str:
    """Sentences as one paragraph, spaced the language's way (summary.sentence)."""
    return "".join(tr.text("summary.sentence", sentence=t) for t in texts).strip()


def fit_text(sentences: list[Sentence], limit: int, tr: Translator) -> str:
    """Join sentences, dropping the least important ones until the text fits `limit` characters."""
    kept = list(sentences)
    while kept and len(join_sentences((s.text for s in kept), tr)) > limit:
        worst = max(range(len(kept)), key=lambda i: (kept[i].priority, i))
        if kept[worst].priority == 0 and all(s.priority == 0 for s in kept):
            kept.pop()
            continue
        kept.pop(worst)
    return join_sentences((s.text for s in kept), tr)

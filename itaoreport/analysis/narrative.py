"""The generated claim summary: deterministic, neutral sentences built from facts and promises.

The wording comes from the report language's catalog (`summary.*` messages in
themes/*/i18n/<language>.po), one message per sentence with named placeholders;
what is filled in (names, promise texts, order ids) is the user's text,
unchanged. Every date goes through short_date().
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from itaoreport.analysis.approvals import Approvals, RequirementStatus
from itaoreport.analysis.facts import DELIVERY_CLAIMS, Facts, case_day, local_day
from itaoreport.analysis.promises import PromiseStatus
from itaoreport.case.model import Case, Entry

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
    """0 = essential; larger numbers are shortened, then dropped, first."""
    short: str | None = None
    """The same fact with less detail, tried before the sentence is dropped."""


def short_date(tr: Translator, day: date, as_of: date | None = None) -> str:
    """A date in the summary: Oct 20 (with the year when it differs from the as-of year)."""
    same_year = as_of is not None and day.year == as_of.year
    return tr.date(day, DATE_SAME_YEAR if same_year else DATE_OTHER_YEAR)


def join_list(tr: Translator, items: list[str]) -> str:
    """A, B and C, the language's way."""
    if len(items) < 2:
        return "".join(items)
    head = tr.text("summary.list_separator").join(items[:-1])
    return tr.text("summary.list_pair", first=head, last=items[-1])


def format_duration(minutes: int, tr: Translator) -> str:
    """45 min, 18 h 45 min, 11 days 6 h: a real elapsed time, for the report's key facts."""
    if minutes < 60:
        return tr.text("duration.minutes", minutes=minutes)
    if minutes < 48 * 60:
        return tr.text("duration.hours", hours=minutes // 60, minutes=minutes % 60)
    return tr.text("duration.days", days=minutes // 1440, hours=minutes % 1440 // 60)


def _count(tr: Translator, n: int) -> str:
    """n as a word where the catalog has one (summary.count_words: one two three ...)."""
    words = tr.text("summary.count_words").split()
    return words[n - 1] if 0 < n <= len(words) else tr.number(n)


class _Writer:
    """Shared state while writing one summary: the case, its as-of day, exhibit labels."""

    def __init__(self, case: Case, facts: Facts, exhibit_of: dict[str, str], tr: Translator,
                 exhibits_of_entry: dict[str, list[str]] | None = None):
        self.case, self.facts, self.exhibit_of, self.tr = case, facts, exhibit_of, tr
        self.exhibits_of_entry = exhibits_of_entry or {
            entry_id: [label] for entry_id, label in exhibit_of.items()}

    def date(self, day: date) -> str:
        return short_date(self.tr, day, self.facts.as_of)

    def day(self, entry: Entry) -> str:
        return self.date(case_day(self.case, entry))

    def days(self, entries: list[Entry]) -> str:
        return join_list(self.tr, list(dict.fromkeys(self.day(e) for e in entries)))

    def ref(self, entry: Entry) -> str:
        label = self.exhibit_of.get(entry.id)
        return self.tr.text("summary.ref", label=label) if label else ""

    def refs(self, entries: list[Entry]) -> str:
        labels = list(dict.fromkeys(self.exhibit_of[e.id] for e in entries
                                    if e.id in self.exhibit_of))
        separator = self.tr.text("summary.list_separator")
        return self.tr.text("summary.refs", labels=separator.join(labels)) if labels else ""

    def party(self, entry: Entry) -> str:
        """Who made a promise: the seller's or platform's name, else a word or the name given."""
        if entry.sender == "seller":
            return self.case.seller.name
        if entry.sender == "platform":
            return self.case.platform
        if entry.sender == "me":
            return self.tr.text("summary.party.me")
        if entry.sender_name:
            return entry.sender_name
        return self.tr.text("summary.party.carrier" if entry.sender == "carrier"
                            else "summary.party.other")


def summarise(case: Case, facts: Facts, promises: list[PromiseStatus],
              exhibit_of: dict[str, str], tr: Translator,
              approvals: Approvals | None = None,
              exhibits_of_entry: dict[str, list[str]] | None = None) -> list[Sentence]:
    """The claim summary as sentences; exhibit_of maps entry id to its first exhibit label,
    exhibits_of_entry to all of its own exhibit labels (default: the first one)."""
    w = _Writer(case, facts, exhibit_of, tr, exhibits_of_entry)
    sentences = [_opening(w)]
    sentences += _problem(w, approvals)
    sentences += _promises(w, promises)
    sentences += _delivery(w)
    sentences += [_approval(w, r) for r in (approvals.flagged if approvals else [])]
    sentences += _contacts(w)
    sentences.append(_request(w))
    return sentences


def _opening(w: _Writer) -> Sentence:
    o = w.case.order
    values = {"seller": w.case.seller.name, "date": w.date(o.date), "order": o.id}
    kind = "summary.unauthorized" if w.case.claim.type == "unauthorized" else "summary.ordered"
    if o.item:
        return Sentence(w.tr.text(f"{kind}_item", item=o.item.strip(), **values), 0,
                        w.tr.text(kind, **values))
    return Sentence(w.tr.text(kind, **values), 0)


def _problem(w: _Writer, approvals: Approvals | None) -> list[Sentence]:
    """Where the item itself is the problem: what is wrong, and what was ordered."""
    claim = w.case.claim.type
    if claim not in ("not_as_described", "damaged"):
        return []
    sentences = [_arrival(w, claim)]
    if claim == "not_as_described" and approvals and approvals.requirements:
        entries = [r.entry for r in approvals.requirements]
        sentences.append(Sentence(w.tr.text("summary.requirements", dates=w.days(entries),
                                            refs=w.refs(entries)), 2))
    return sentences


PHOTO_TAGS = ("photo", "photos", "picture", "pictures")
"""Tags that mark an entry of the claimant's as their photos of what arrived."""


def photo_exhibits(w: _Writer, since: date) -> list[str]:
    """The exhibits of the claimant's photos of what arrived: exhibits of their own entries
    (`sender: me`) from the delivery day on that are `kind: note` or tagged `photo`; if none
    is, the exhibits of all their entries from that day on."""
    mine = [e for e in w.case.entries if e.sender == "me" and case_day(w.case, e) >= since]
    marked = [e for e in mine
              if e.kind == "note" or any(t.lower() in PHOTO_TAGS for t in e.tags)]
    chosen = marked if any(w.exhibits_of_entry.get(e.id) for e in marked) else mine
    return list(dict.fromkeys(label for e in chosen for label in w.exhibits_of_entry.get(e.id, [])))


def _arrival(w: _Writer, claim: str) -> Sentence:
    """Damaged or not as described: when it arrived, in what condition, the photos."""
    delivery = w.case.delivery
    if delivery is None or delivery.delivered is None:
        if delivery is not None and delivery.condition:
            return Sentence(w.tr.text(f"summary.{claim}_condition",
                                      condition=delivery.condition.strip().rstrip(".")), 0,
                            w.tr.text(f"summary.{claim}"))
        return Sentence(w.tr.text(f"summary.{claim}"), 0)
    tr = w.tr
    labels = photo_exhibits(w, delivery.delivered)
    refs = tr.text("summary.photo_refs", labels=tr.text("summary.list_separator").join(labels)) \
        if labels else ""
    carrier = tr.text("summary.by_carrier", carrier=delivery.carrier.strip()) \
        if delivery.carrier else ""
    values = {"date": w.date(delivery.delivered), "carrier": carrier, "refs": refs}
    short = tr.text(f"summary.{claim}_delivered", **values)
    if delivery.condition:
        return Sentence(tr.text(f"summary.{claim}_delivered_condition",
                                condition=delivery.condition.strip().rstrip("."), **values),
                        0, short)
    return Sentence(short, 0)


def _delivery(w: _Writer) -> list[Sentence]:
    """Where delivery is the problem: how overdue it is, or that it has not arrived."""
    claim, expected = w.case.claim.type, w.case.order.expected_delivery
    delivery = w.case.delivery
    if delivery is not None and delivery.delivered is not None:
        if claim != "item_not_received":
            return []
        tracking = w.tr.text("summary.tracking_number", tracking=delivery.tracking.strip()) \
            if delivery.tracking else ""
        carrier = w.tr.text("summary.by_carrier", carrier=delivery.carrier.strip()) \
            if delivery.carrier else ""
        return [Sentence(w.tr.text("summary.delivered_not_received",
                                   date=w.date(delivery.delivered), tracking=tracking,
                                   carrier=carrier), 0)]
    if claim in DELIVERY_CLAIMS and w.facts.days_overdue and expected is not None:
        key = "summary.overdue_item" if claim == "item_not_received" else "summary.overdue_delivery"
        return [Sentence(w.tr.text(key, date=w.date(expected),
                                   days=w.tr.plural("summary.days", w.facts.days_overdue)), 0)]
    if claim == "item_not_received":
        return [Sentence(w.tr.text("summary.not_received"), 0)]
    return []


def _promises(w: _Writer, promises: list[PromiseStatus]) -> list[Sentence]:
    broken = [p for p in promises if p.status == "broken"]
    sentences = [_promise(w, p, essential=len(broken) == 1) for p in promises]
    if len(broken) > 1:
        sentences.append(Sentence(w.tr.text("summary.promises_broken_total",
                                            count=_count(w.tr, len(broken))), 0))
    return sentences


def _promise(w: _Writer, p: PromiseStatus, essential: bool) -> Sentence:
    due = w.date(local_day(p.due, w.case.timezone)) if p.due else None
    v = {"seller": w.party(p.entry), "made": w.day(p.entry), "ref": w.ref(p.entry),
         "text": p.text.strip().rstrip("."),
         "due": w.tr.text("summary.due", date=due) if due else ""}
    tr = w.tr
    if p.status == "broken" and p.kept_late and p.kept_by is not None:
        kept = w.day(p.kept_by)
        return Sentence(tr.text("summary.promise_kept_late", kept=kept, **v),
                        0 if essential else 2,
                        tr.text("summary.promise_kept_late_short", kept=kept, **v))
    if p.status == "broken":
        return Sentence(tr.text("summary.promise_broken", **v), 0 if essential else 1,
                        tr.text("summary.promise_broken_short", **v))
    if p.status == "pending":
        return Sentence(tr.text("summary.promise_pending", **v), 3)
    return Sentence(tr.text("summary.promise_kept", **v), 4)


def _approval(w: _Writer, r: RequirementStatus) -> Sentence:
    v = {"requirement": r.entry.summary.strip().rstrip("."), "date": w.day(r.entry),
         "ref": w.ref(r.entry)}
    late, change = r.approved_after_change_request, r.change_request
    if late is not None and change is not None:
        return Sentence(w.tr.text("summary.approved_after_changes", approved=w.day(late),
                                  changes=w.day(change), **v), 2)
    return Sentence(w.tr.text("summary.never_approved", **v), 2)


def _contacts(w: _Writer) -> list[Sentence]:
    tr, seller = w.tr, w.case.seller.name
    days = w.facts.buyer_contact_days
    sentences = []
    if days:
        count = _count(tr, len(days))
        listed = tr.text("summary.list_separator").join(w.date(d) for d in days)
        sentences.append(Sentence(
            tr.plural("summary.contact", len(days), seller=seller, count=count, dates=listed), 1,
            tr.plural("summary.contact_short", len(days), seller=seller, count=count)))
    unanswered = w.facts.unanswered
    if unanswered:
        n = len(unanswered)
        sentences.append(Sentence(
            tr.plural("summary.no_reply", n, seller=seller, dates=w.days(unanswered),
                      refs=w.refs(unanswered)), 1,
            tr.plural("summary.no_reply_short", n, seller=seller, count=_count(tr, n))))
    return sentences


def _request(w: _Writer) -> Sentence:
    claim, order, tr = w.case.claim, w.case.order, w.tr
    amount = claim.amount if claim.amount is not None else order.amount
    money = tr.text("summary.amount", amount=tr.money(amount, order.currency)) \
        if amount is not None else ""
    remedy = tr.text(f"summary.remedy.{claim.requested}")
    return Sentence(tr.text("summary.request", remedy=remedy, amount=money), 0)


def join_sentences(texts: Iterable[str], tr: Translator) -> str:
    """Sentences as one paragraph, spaced the language's way (summary.sentence)."""
    return "".join(tr.text("summary.sentence", sentence=t) for t in texts).strip()


def fit_text(sentences: list[Sentence], limit: int, tr: Translator) -> str:
    """Whole sentences within `limit` characters: shorten, then drop, the least important first.

    When only essential sentences are left, they are shortened latest first, then
    dropped from the middle (the opening and the request stay longest). A sentence
    is never cut.
    """
    texts = [s.text for s in sentences]
    shortened = [s.short is None for s in sentences]
    alive = list(range(len(sentences)))

    def joined() -> str:
        return join_sentences((texts[i] for i in alive), tr)

    while alive and len(joined()) > limit:
        optional = [i for i in alive if sentences[i].priority > 0]
        if optional:
            i = max(optional, key=lambda i: (sentences[i].priority, i))
        else:
            longer = [i for i in alive if not shortened[i]]
            middle = alive[1:-1]
            i = longer[-1] if longer else (middle[-1] if middle else alive[-1])
        if not shortened[i]:
            texts[i], shortened[i] = sentences[i].short or texts[i], True
        else:
            alive.remove(i)
    return joined()

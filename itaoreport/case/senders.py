"""Who sent an entry: the seed spreadsheet's Sender forms, shared by `import` and the validator.

`Me (Buyer)`, `Seller "GadgetWorld"`, `GadgetWorld (Seller)`, `ItaoBuy support`, in any
capitalisation, become a sender role (me | seller | platform | carrier | other) and,
where the text names someone, a display name.
"""

from __future__ import annotations

import re

_ROLE_WORDS = (
    ("platform", {"customer service", "customer support", "support team"}),
    ("me", {"me", "i", "myself", "buyer", "customer", "claimant", "self", "you"}),
    ("seller", {"seller", "vendor", "merchant", "store", "shop", "supplier"}),
    ("platform", {"platform", "marketplace", "support", "admin", "moderator", "mediator",
                  "agent"}),
    ("carrier", {"carrier", "courier", "shipping", "delivery", "logistics", "post", "postal"}),
    ("other", {"other"}),
)
"""Generic words for a role: a sender cell of only these words names no one."""
_BRANDS = {"itaobuy": "platform", "dhl": "carrier", "ups": "carrier", "fedex": "carrier",
           "usps": "carrier", "ems": "carrier"}
"""Names that tell the role and are also a display name."""
_GENERIC = set().union(*(words for _, words in _ROLE_WORDS))
_QUOTES = {'"': '"', "“": "”", "„": "“", "”": "”", "«": "»", "»": "«", "「": "」", "『": "』",
           "‘": "’", "‹": "›"}
_SENDER_SHAPES = (
    re.compile(r"^(?P<head>.*?)\s*[\"“„«「](?P<detail>.+?)[\"”“»」]\s*$"),
    re.compile(r"^(?P<head>.*?)\s*\((?P<detail>[^()]+)\)\s*$"),
    re.compile(r"^(?P<head>.*?)\s*\[(?P<detail>[^\[\]]+)\]\s*$"),
    re.compile(r"^(?P<head>[^:]+?)\s*:\s*(?P<detail>.+)$"),
    re.compile(r"^(?P<head>.+?)\s+[-–—]\s+(?P<detail>.+)$"),
)


def role_of(text: str) -> str | None:
    """me | seller | platform | carrier | other for a short sender text with a role word."""
    words = _words(text)
    name = " ".join(words)
    if len(words) > 3:
        return None
    padded = f" {name} "
    for role, phrases in _ROLE_WORDS:
        if any(f" {phrase} " in padded for phrase in phrases):
            return role
    return next((_BRANDS[w] for w in words if w in _BRANDS), None)


def parse_sender(text: str, names: dict[str, str] | None = None) -> tuple[str | None, str | None]:
    """(sender, sender_name) from a Sender cell: `Me (Buyer)` → (me, None),
    `Seller "GadgetWorld"` → (seller, GadgetWorld), `GadgetWorld (Seller)` → (seller, GadgetWorld).

    names maps casefolded party names from case.yaml to roles; an unknown sender
    gives (None, the text).
    """
    raw = " ".join(text.split())
    head, detail = raw, ""
    for shape in _SENDER_SHAPES:
        match = shape.match(raw)
        if match and match["head"].strip():
            head, detail = match["head"].strip(), match["detail"].strip()
            break
    names = names or {}
    if head.casefold() in names:
        return names[head.casefold()], head if not detail or _is_generic(detail) else detail
    head_role = role_of(head)
    if head_role and detail:
        return head_role, None if _is_generic(detail) else detail
    if head_role:
        return head_role, _name_part(head)
    detail_role = (role_of(detail) or names.get(detail.casefold())) if detail else None
    if detail_role:
        return detail_role, head
    return None, raw


def _words(text: str) -> list[str]:
    return re.sub(r"[^\w]+", " ", text.lower()).split()


def _is_generic(text: str) -> bool:
    return " ".join(_words(text)) in _GENERIC


def _name_part(head: str) -> str | None:
    """`GadgetWorld` from `Seller GadgetWorld`; None for a bare role word like `Seller`."""
    if _is_generic(head):
        return None
    first, _, rest = head.partition(" ")
    return rest.strip() if rest.strip() and _is_generic(first) else head

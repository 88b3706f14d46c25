"""The fields of case.yaml and of an entry file: the one source of truth.

The validator converts YAML by these specs and `itaoreport schema` turns them
into JSON Schema, so the two cannot drift apart; docs/case-format.md documents
every field here (tests/test_case_format_doc.py fails when one is missing). Field
names follow the agreed case format, version 1.1.
"""

from __future__ import annotations

from dataclasses import dataclass

SENDERS = ("me", "seller", "platform", "carrier", "other")
KINDS = ("message", "email", "call", "note", "requirement", "approval")
DECISIONS = ("approved", "changes_requested")
PROMISE_STATUSES = ("kept", "broken", "pending")
CLAIM_TYPES = ("item_not_received", "not_as_described", "damaged", "unauthorized", "other")
REMEDIES = ("full_refund", "partial_refund", "replacement", "return_and_refund", "other")
PAPER_SIZES = ("A4", "Letter")


@dataclass(frozen=True)
class Field:
    """One key of a YAML mapping.

    kind is one of: text (one or more lines), line (one line), enum, date,
    moment (date and time), due (a moment, or a duration after the entry's
    timestamp), bool, decimal, currency, timezone, language, url, entry_ref,
    tags, links, attachments, boxes (a list of [x0, y0, x1, y1]), map (with `fields`).
    """

    name: str
    kind: str
    doc: str
    required: bool = False
    choices: tuple[str, ...] = ()
    fields: tuple["Field", ...] = ()
    default: object = None


PARTY_CLAIMANT = (
    Field("name", "line", "The buyer's name as it should appear in the claim.", required=True),
    Field("account", "line", "The buyer's account name on the platform."),
    Field("email", "line", "Contact e-mail shown on the cover."),
    Field("address", "text", "Your postal address, one line per line. Never shown in the report: "
          "the privacy check warns wherever it appears in the evidence."),
)

PARTY_SELLER = (
    Field("name", "line", "The seller's or store's name.", required=True),
    Field("store", "url", "Store address; shown, never fetched."),
    Field("email", "line", "The seller's e-mail address, so their mail can be told apart."),
)

DISPUTE_FIELDS = (
    Field("id", "line", "The dispute or claim number exactly as the platform shows it.",
          required=True),
    Field("opened", "date", "The day the dispute was opened."),
    Field("reason", "line", "The platform's reason or reason code, as it shows it."),
    Field("respond_by", "date", "The platform's deadline for the claimant to respond."),
)

DELIVERY_FIELDS = (
    Field("carrier", "line", "Who delivered (or should deliver) the parcel."),
    Field("tracking", "line", "The tracking number."),
    Field("shipped", "date", "The day the parcel was shipped."),
    Field("delivered", "date", "The day it was delivered; set, the report counts no days overdue."),
    Field("condition", "text", "In what condition it arrived, in your words."),
)

ORDER_FIELDS = (
    Field("id", "line", "The order number exactly as the platform shows it.", required=True),
    Field("date", "date", "The day the order was placed.", required=True),
    Field("item", "line", "What was ordered."),
    Field("amount", "decimal", "What was paid."),
    Field("currency", "currency", "ISO 4217 code, e.g. USD, EUR, CNY."),
    Field("expected_delivery", "date", "The latest promised delivery day."),
)

CLAIM_FIELDS = (
    Field("type", "enum", "What went wrong.", choices=CLAIM_TYPES, default="other"),
    Field("requested", "enum", "What the claimant asks for.", choices=REMEDIES, default="full_refund"),
    Field("amount", "decimal", "The amount claimed."),
)

CASE_FIELDS = (
    Field("title", "line", "A one-line title for the claim.", required=True),
    Field("platform", "line", "The marketplace.", default="ItaoBuy"),
    Field("claimant", "map", "The buyer writing the claim.", required=True, fields=PARTY_CLAIMANT),
    Field("seller", "map", "The other party.", required=True, fields=PARTY_SELLER),
    Field("order", "map", "The order in dispute.", required=True, fields=ORDER_FIELDS),
    Field("claim", "map", "What is claimed.", fields=CLAIM_FIELDS),
    Field("as_of", "date", "The day the report speaks from (overdue days, pending promises)."),
    Field("timezone", "timezone", "IANA zone for timestamps without an offset.", default="UTC"),
    Field("statement", "text", "The claimant's own words, shown before the generated summary."),
    Field("theme", "line", "The report theme.", default="default"),
    Field("language", "language", "The language of the report's own words (en, zh-Hans).",
          default="en"),
    Field("paper", "enum", "Paper size of the PDF.", choices=PAPER_SIZES, default="A4"),
    Field("dispute", "map", "The platform's dispute or claim, when one is open.",
          fields=DISPUTE_FIELDS),
    Field("delivery", "map", "What happened to the parcel.", fields=DELIVERY_FIELDS),
    Field("declaration", "bool", "Close the report with a declaration, your name and the date.",
          default=True),
    Field("redact_text", "tags", "Texts every output shows as █████ (a card number, a name), "
          "wherever they appear in the case."),
)

PROMISE_FIELDS = (
    Field("text", "text", "What was promised.", required=True),
    Field("due", "due", "When it was due: a date, a date and time, or a duration after the "
          "entry's timestamp (48 hours, 2 days, 1 week)."),
    Field("status", "enum", "Override the derived status.", choices=PROMISE_STATUSES),
)

DEADLINE_FIELDS = (
    Field("text", "text", "What you were asked to do.", required=True),
    Field("due", "due", "By when: a date, a date and time, or a duration after the entry's "
          "timestamp (48 hours, 2 days, 1 week).", required=True),
)

ENTRY_FIELDS = (
    Field("timestamp", "moment", "When the communication happened.", required=True),
    Field("channel", "line", "ItaoBuy Messaging, Email, Phone, WhatsApp, ...", required=True),
    Field("sender", "enum", "Who said it.", required=True, choices=SENDERS),
    Field("sender_name", "line", "Display name of the sender."),
    Field("summary", "text", "A neutral summary in one or two sentences.", required=True),
    Field("quote", "text", "The key quote, verbatim."),
    Field("attachments", "attachments", "Screenshots and files, relative to the case folder."),
    Field("links", "links", "Links; shown as text, never fetched."),
    Field("action", "text", "The action asked for or taken."),
    Field("promise", "map", "A commitment of the other side, with a deadline.",
          fields=PROMISE_FIELDS),
    Field("deadline", "map", "A deadline set for you (the claimant), e.g. by the platform.",
          fields=DEADLINE_FIELDS),
    Field("fulfils", "entry_ref", "Id of an entry whose promise this entry shows kept, or whose "
          "deadline set for you this entry meets."),
    Field("kind", "enum", "What sort of record this is.", choices=KINDS, default="message"),
    Field("decision", "enum", "With kind: approval, the decision.", choices=DECISIONS),
    Field("refers_to", "entry_ref", "Id of the requirement an approval is about."),
    Field("tags", "tags", "Free labels."),
    Field("redact_text", "tags", "Texts every output shows as █████ (a card number, a name), "
          "wherever they appear in the case."),
)

ATTACHMENT_FIELDS = (
    Field("path", "line", "Path relative to the case folder.", required=True),
    Field("caption", "text", "What the attachment shows."),
    Field("highlight", "boxes", "Regions of the picture to point at, each [x0, y0, x1, y1] in "
          "the original's pixels after EXIF orientation (x0 < x1, y0 < y1, inside the image); "
          "drawn as a frame over the picture and shown enlarged as a detail in the report."),
    Field("redact", "boxes", "Regions every output shows solid black, [[x0, y0, x1, y1], ...] in "
          "the picture's pixels (after EXIF orientation); the original is then not embedded in "
          "the PDF."),
)

PLACEHOLDER_ORDER_ID = "IT-00000000-0000"
PLACEHOLDERS = {
    "title": PLACEHOLDER_ORDER_ID,
    "claimant.name": "Your Name",
    "claimant.account": "your_account",
    "seller.name": "Seller Name",
    "seller.store": "https://example.invalid/shop/seller",
    "order.id": PLACEHOLDER_ORDER_ID,
    "order.item": "What you ordered",
    "statement": "Write two or three sentences about what happened",
}
"""The example values `itaoreport init` writes into case.yaml (by dotted field): a case that
still holds one is not finished, and `validate --strict` fails (scaffold.py's template uses them)."""

"""The fields of case.yaml and of an entry file: the one source of truth.

The validator converts YAML by these specs and `itaoreport schema` turns them
into JSON Schema, so the two cannot drift apart. Field names follow
CASE_FORMAT.md (version 1).
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
    moment (date and time), decimal, currency, timezone, language, url,
    entry_ref, tags, links, attachments, boxes (a list of [x0, y0, x1, y1]),
    map (with `fields`).
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
    Field("redact_text", "tags", "Texts every output shows as █████ (a card number, a name), "
          "wherever they appear in the case."),
)

PROMISE_FIELDS = (
    Field("text", "text", "What was promised.", required=True),
    Field("due", "moment", "When it was due (date, or date and time)."),
    Field("status", "enum", "Override the derived status.", choices=PROMISE_STATUSES),
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
    Field("promise", "map", "A commitment with a deadline.", fields=PROMISE_FIELDS),
    Field("fulfils", "entry_ref", "Id of an entry whose promise this entry shows kept."),
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

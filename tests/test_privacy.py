"""The privacy check: what it finds in text and in OCR words, and redact_text (#19 part 3)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from itaoreport.errors import Loc
from itaoreport.privacy import (
    REDACTED_MARK,
    apply_redact_text,
    check_picture,
    find_private,
    iban_ok,
    luhn_ok,
    picture_findings,
    redact_patterns,
    without_redacted,
)


def kinds(text: str, **kw) -> list[tuple[str, str]]:
    return [(f.kind, f.shown) for f in find_private(text, **kw)]


@pytest.mark.parametrize("text,shown", [
    ("card 4111 1111 1111 1111 used", "4111 … 1111"),
    ("card 4111111111111111.", "4111 … 1111"),
    ("4111-1111-1111-1111", "4111 … 1111"),
    ("Amex 3782 822463 10005", "3782 … 0005"),
    ("MC 5500 0000 0000 0004", "5500 … 0004"),
    ("MC 2-series 2223000048400011", "2223 … 0011"),
    ("UnionPay 6212345678901232", "6212 … 1232"),
    ("Visa 13 digits 4222222222222", "4222 … 2222"),
])
def test_card_numbers_that_pass_luhn_are_found_and_masked(text, shown):
    assert kinds(text) == [("card", shown)]


@pytest.mark.parametrize("text", [
    "card 4111 1111 1111 1112",       # fails Luhn
    "4111111111111121",               # fails Luhn
    "order 9111111111111111",         # Luhn ok but no card issuer starts with 9
    "tracking 1234567812345670",      # Luhn ok, starts with 1
    "4111 1111-1111 1111",            # mixed separators: not how a card is written
    "4111111111111111111111",         # 22 digits
    "0000000000000000",
    "amount 4111.11 and 1111.11",
    "IT-20231020-8841",
])
def test_numbers_that_are_not_cards(text):
    assert [k for k, _ in kinds(text)] in ([], ["phone"]) and "card" not in dict(kinds(text))


def test_luhn():
    assert luhn_ok("79927398713") and not luhn_ok("79927398710")


@pytest.mark.parametrize("text,shown", [
    ("IBAN DE89 3704 0044 0532 0130 00 please", "DE89 … 3000"),
    ("iban: DE89370400440532013000", "DE89 … 3000"),
    ("GB82 WEST 1234 5698 7654 32", "GB82 … 5432"),
    ("NL91ABNA0417164300", "NL91 … 4300"),
    ("FR14 2004 1010 0505 0001 3M02 606 is mine", "FR14 … 2606"),
])
def test_ibans_with_a_valid_checksum(text, shown):
    assert ("iban", shown) in kinds(text)


@pytest.mark.parametrize("text", ["DE89 3704 0044 0532 0130 01", "DE8937040044053201300",
                                  "XX89370400440532013000", "ISBN DE12 nothing"])
def test_not_ibans(text):
    assert "iban" not in dict(kinds(text))


def test_iban_checksum():
    assert iban_ok("DE89370400440532013000") and not iban_ok("DE89370400440532013001")


def test_emails_phones_and_allowed_addresses():
    text = ("Write to alex.example+shop@mail.example.org or support@brightline.example, "
            "call +49 30 1234567 or (555) 010-0199; Tel: 030 1234567. 手机：13800138000")
    found = kinds(text, allowed_emails=["@brightline.example"])
    assert found == [("email", "alex.example+shop@mail.example.org"),
                     ("phone", "+49 30 1234567"), ("phone", "(555) 010-0199"),
                     ("phone", "030 1234567"), ("phone", "13800138000")]


@pytest.mark.parametrize("text", [
    "Order IT-20231020-8841 on 2024-05-10 at 10:03",
    "Paid 59.90 USD, 1,299.00 CNY",
    "tracking LP551204771CN",
    "see https://example.invalid/order/8841",
    "version 1.2.3, 12/05/2024",
])
def test_ordinary_claim_text_has_no_findings(text):
    assert kinds(text) == []


def test_address_lines_any_spacing_and_case():
    found = kinds("Please ship to 12  example street, Berlin", addresses=["12 Example Street",
                                                                          "Berlin"])
    assert found == [("address", "12 Example Street")]  # "Berlin" alone is too short


def test_a_card_is_not_also_a_phone():
    assert [k for k, _ in kinds("+4111111111111111")] == ["card"]


def word(text, x0, y0, x1, y1, line=0, block=0):
    return {"text": text, "box": [x0, y0, x1, y1], "line": line, "block": block}


def test_picture_findings_box_around_the_words():
    words = [word("Card", 10, 100, 60, 120), word("4111", 70, 100, 120, 120),
             word("1111", 130, 100, 180, 120), word("1111", 190, 100, 240, 120),
             word("1111", 250, 100, 300, 120),
             word("Hello", 10, 10, 60, 30, line=1), word("a@b.example", 70, 10, 200, 30, line=1)]
    found = picture_findings(words)
    assert [(f.kind, box) for f, box in found] == [("email", (70, 10, 200, 30)),
                                                   ("card", (70, 100, 300, 120))]
    [problem, _] = reversed(check_picture("shots/card.png", words))
    assert problem.format().startswith(
        "shots/card.png: warning: a payment card number (4111 … 1111) is visible at "
        "[70, 100, 300, 120]; add a redact box")
    assert "4111 1111 1111 1111" not in problem.format()


def test_a_redact_box_hides_what_it_covers():
    words = [word("4111", 70, 100, 120, 120), word("1111", 130, 100, 180, 120),
             word("1111", 190, 100, 240, 120), word("1111", 250, 100, 300, 120)]
    assert picture_findings(words, redact=[[60, 90, 310, 130]]) == []
    assert without_redacted(words, [[60, 90, 160, 130]]) == words[2:]
    # a box over half the number leaves too few digits to be a card
    assert picture_findings(words, redact=[[60, 90, 160, 130]]) == []


@dataclass
class _Party:
    name: str
    email: str | None = None


@dataclass
class _Promise:
    text: str


@dataclass
class _Entry:
    summary: str
    quote: str | None
    links: list[str]
    promise: _Promise | None
    path: str = "entries/x.yaml"
    redact_text: list[str] = field(default_factory=list)


@dataclass
class _Case:
    title: str
    claimant: _Party
    entries: list[_Entry]
    redact_text: list[str] = field(default_factory=list)


def test_redact_text_reaches_every_text_of_the_model():
    entry = _Entry("Paid with 4111 1111 1111 1111", "my card 4111111111111111 was charged",
                   ["https://x.example/?card=4111-1111-1111-1111"],
                   _Promise("Refund to 4111 1111 1111 1111"), redact_text=["4111 1111 1111 1111"])
    case = _Case("Card 4111 1111 1111 1111", _Party("Alex", "alex@example.org"), [entry],
                 redact_text=["alex@example.org"])
    pattern = apply_redact_text(case)
    assert pattern is not None
    assert case.title == f"Card {REDACTED_MARK}" and case.claimant.email == REDACTED_MARK
    assert entry.summary == f"Paid with {REDACTED_MARK}"
    assert entry.quote == f"my card {REDACTED_MARK} was charged"
    assert entry.links == [f"https://x.example/?card={REDACTED_MARK}"]
    assert entry.promise.text == f"Refund to {REDACTED_MARK}"
    assert entry.path == "entries/x.yaml" and entry.redact_text == ["4111 1111 1111 1111"]


def test_redact_patterns_ignore_case_and_spacing():
    pattern = redact_patterns(["Alex Example", ""])
    assert pattern.sub("#", "ALEX  example and alexexample") == "# and #"
    assert redact_patterns([" ", ""]) is None


def test_findings_are_located_in_entries():
    from itaoreport.privacy import _problems, find_private as fp

    [problem] = _problems(Loc("entries/x.yaml", 4, 8), "quote", fp("card 4111111111111111"))
    assert problem.format().startswith("entries/x.yaml:4:8: warning: quote: a payment card "
                                       "number (4111 … 1111)")


def test_case_texts_include_dispute_and_delivery(tmp_path):
    from conftest import write_case

    from itaoreport.case.validate import load_case
    from itaoreport.privacy import check_case_texts

    root = write_case(tmp_path / "c", """\
        title: t
        claimant: {name: Alex, address: "12 Example Street"}
        seller: {name: ShopCo}
        order: {id: T-1, date: 2023-10-20}
        dispute: {id: D-1, reason: "Call me at +49 30 1234567"}
        delivery: {condition: "Left at 12 example street, box open"}
        """)
    case = load_case(root).case
    found = [p.format() for p in check_case_texts(case)]
    assert any(m.startswith("case.yaml:5:") and "dispute.reason: a phone number (+49 30 1234567)"
               in m for m in found), found
    assert any("delivery.condition: a line of your address (12 Example Street)" in m
               for m in found), found

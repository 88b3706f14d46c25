"""`itaoreport import MAIL.eml|MAILBOX.mbox CASE` (#19 part 2).

Every fixture is built with email.message.EmailMessage, as a mail program would send it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import zipfile
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from itaoreport.case.validate import load_case
from itaoreport.cli import main
from itaoreport.mailimport import (
    MAX_MAILBOX_BYTES,
    archive_bomb,
    html_to_text,
    import_mail,
    own_text,
    parse_mail,
    quote_of,
    split_mbox,
)

CASE_YAML = """\
title: Broken lid
platform: ItaoBuy
claimant: {name: Alex Example, email: alex@example.org}
seller: {name: Brightline, email: support@brightline.example}
order: {id: IT-1, date: 2024-05-01}
timezone: Europe/Berlin
"""


def _png(colour=(10, 120, 200)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (20, 30), colour).save(buf, format="PNG")
    return buf.getvalue()


def mail(subject="Your refund request", sender="Brightline Support <support@brightline.example>",
         date="Fri, 10 May 2024 10:03:12 +0800", body="We will refund you within 5 days.\n",
         msgid: str | None = "auto", charset="utf-8") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "Alex Example <alex@example.org>"
    msg["Subject"] = subject
    if date:
        msg["Date"] = date
    if msgid:
        msg["Message-ID"] = make_msgid(domain="brightline.example") if msgid == "auto" else msgid
    msg.set_content(body, charset=charset)
    return msg


@pytest.fixture
def case(tmp_path: Path) -> Path:
    root = tmp_path / "case"
    root.mkdir()
    (root / "case.yaml").write_text(CASE_YAML)
    return root


def _write(tmp_path: Path, msg: EmailMessage, name="mail.eml") -> Path:
    path = tmp_path / name
    path.write_bytes(bytes(msg))
    return path


def _mbox(tmp_path: Path, messages: list[bytes], name="box.mbox") -> Path:
    out = b""
    for raw in messages:
        escaped = b"\n".join(b">" + line if line.startswith(b"From ") else line
                             for line in raw.replace(b"\r\n", b"\n").split(b"\n"))
        out += b"From someone@example Fri May 10 10:03:12 2024\n" + escaped.rstrip(b"\n") + b"\n\n"
    path = tmp_path / name
    path.write_bytes(out)
    return path


def _entry(case: Path, rel: str) -> str:
    return (case / rel).read_text()


def test_one_message_becomes_an_entry_with_the_mail_kept(case, tmp_path):
    msg = mail(body="We will refund you within 5 days.\nBest,\n\n-- \nBrightline Support\n+1 555\n")
    result = import_mail(_write(tmp_path, msg), case)
    assert not result.problems
    [rel] = result.written
    assert rel == "entries/2024-05-10-1003-your-refund-request.yaml"
    text = _entry(case, rel)
    assert "timestamp: 2024-05-10 10:03:12+08:00\n" in text
    assert "channel: Email\n" in text and "sender: seller\n" in text and "kind: email\n" in text
    assert "sender_name: Brightline Support\n" in text
    assert "summary: Your refund request\n" in text
    assert "quote: We will refund you within 5 days.\n" in text
    assert "Brightline Support\n  +1" not in text  # the signature is left out
    kept = case / "attachments/2024-05-10-1003-your-refund-request/message.eml"
    assert kept.read_bytes() == bytes(msg)
    loaded = load_case(case)
    assert not loaded.errors, loaded.problems
    [entry] = loaded.case.entries
    assert entry.kind == "email" and entry.attachments[0].path == kept.relative_to(case).as_posix()
    assert entry.timestamp.explicit_offset


@pytest.mark.parametrize("sender,role", [
    ("Alex <alex@example.org>", "me"),
    ("ALEX@Example.ORG", "me"),
    ("Orders <orders@brightline.example>", "seller"),
    ("ItaoBuy Service <noreply@service.itaobuy.com>", "platform"),
    ("Stranger <someone@gmail.com>", "other"),
])
def test_sender_by_address(case, tmp_path, sender, role):
    result = import_mail(_write(tmp_path, mail(sender=sender)), case)
    text = _entry(case, result.written[0])
    assert f"sender: {role}\n" in text
    if role == "other":
        assert "sender_name: Stranger\n" in text and "none of the case's parties" in text


def test_seller_at_a_free_mail_domain_matches_only_the_address(tmp_path):
    root = tmp_path / "c"
    root.mkdir()
    (root / "case.yaml").write_text(CASE_YAML.replace("support@brightline.example",
                                                      "brightline.shop@gmail.com"))
    first = import_mail(_write(tmp_path, mail(sender="brightline.shop@gmail.com"), "a.eml"), root)
    other = import_mail(_write(tmp_path, mail(sender="x@gmail.com", subject="Other"), "b.eml"),
                        root)
    assert "sender: seller\n" in _entry(root, first.written[0])
    assert "sender: other\n" in _entry(root, other.written[0])


def test_multipart_alternative_uses_the_plain_text_and_lists_links(case, tmp_path):
    msg = mail(body="Please see https://brightline.example/returns/8841.\n\nOn Thu, 9 May 2024, "
                    "Alex <alex@example.org> wrote:\n> Where is my refund?\n> https://old.example/x\n")
    msg.add_alternative("<p>Please see <a href='https://brightline.example/returns/8841'>"
                        "returns</a></p>", subtype="html")
    text = _entry(case, import_mail(_write(tmp_path, msg), case).written[0])
    assert "quote: Please see https://brightline.example/returns/8841.\n" in text
    assert "links:\n  - https://brightline.example/returns/8841\n" in text
    assert "Where is my refund" not in text and "old.example" not in text


def test_html_only_mail_is_turned_into_text(case, tmp_path):
    msg = mail(body="x")
    msg.set_content("<html><head><style>p{}</style><script>alert(1)</script></head><body>"
                    "<p>Hello Alex,</p><p>Your return is <b>approved</b>.</p>"
                    "<blockquote>old text</blockquote><a href='https://brightline.example/r'>"
                    "label</a></body></html>", subtype="html")
    text = _entry(case, import_mail(_write(tmp_path, msg), case).written[0])
    assert "quote: |-\n  Hello Alex,\n  Your return is approved.\n" in text
    assert "alert" not in text and "old text" not in text
    assert "  - https://brightline.example/r\n" in text


def test_inline_images_and_duplicate_attachments_are_kept_once(case, tmp_path):
    picture = _png()
    msg = mail(body="See the photo.\n")
    msg.add_alternative("<p>See <img src='cid:pic1'></p>", subtype="html")
    msg.get_payload()[1].add_related(picture, "image", "png", cid="<pic1>", filename="photo.png")
    msg.add_attachment(picture, maintype="image", subtype="png", filename="photo-copy.png")
    msg.add_attachment(b"%PDF-1.4 invoice", maintype="application", subtype="pdf",
                       filename="invoice.pdf")
    msg.add_attachment(b"%PDF-1.4 invoice", maintype="application", subtype="pdf",
                       filename="invoice (1).pdf")
    result = import_mail(_write(tmp_path, msg), case)
    folder = case / "attachments" / Path(result.written[0]).stem
    assert sorted(p.name for p in folder.iterdir()) == ["invoice.pdf", "message.eml", "photo.png"]
    assert (folder / "photo.png").read_bytes() == picture
    assert not load_case(case).errors


def test_the_same_attachment_in_two_messages_is_stored_once(case, tmp_path):
    first, second = mail(subject="One"), mail(subject="Two")
    for msg in (first, second):
        msg.add_attachment(b"%PDF-1.4 label", maintype="application", subtype="pdf",
                           filename="label.pdf")
    box = _mbox(tmp_path, [bytes(first), bytes(second)])
    result = import_mail(box, case)
    assert len(result.written) == 2
    pdfs = sorted(p.relative_to(case).as_posix() for p in case.rglob("label*.pdf"))
    assert len(pdfs) == 1
    assert pdfs[0] in _entry(case, result.written[1])


@pytest.mark.parametrize("charset,body", [
    ("iso-8859-1", "Rückerstattung: 59,90 € nicht möglich.\n".replace("€", "EUR")),
    ("gb2312", "我们会在五天内退款。\n"),
    ("shift_jis", "返金は5日以内に行います。\n"),
    ("koi8-r", "Возврат денег через 5 дней.\n"),
])
def test_non_utf8_charsets(case, tmp_path, charset, body):
    msg = mail(body=body, charset=charset)
    assert charset.encode() in bytes(msg).lower()
    text = _entry(case, import_mail(_write(tmp_path, msg), case).written[0])
    assert body.strip() in text


def test_an_unknown_charset_is_read_as_utf8_with_a_warning(case, tmp_path):
    raw = bytes(mail(body="Refund approved.\n")).replace(b'charset="utf-8"', b'charset="x-nope"')
    raw = raw.replace(b"charset=utf-8", b"charset=x-nope")
    assert b"x-nope" in raw
    path = tmp_path / "m.eml"
    path.write_bytes(raw)
    result = import_mail(path, case)
    assert result.written and "Refund approved." in _entry(case, result.written[0])
    assert any("unknown charset" in p.message and not p.is_error for p in result.problems)


def test_importing_twice_writes_nothing(case, tmp_path):
    path = _write(tmp_path, mail())
    first = import_mail(path, case)
    before = {p: p.read_bytes() for p in case.rglob("*") if p.is_file()}
    second = import_mail(path, case)
    assert second.written == [] and second.unchanged == first.written
    assert {p: p.read_bytes() for p in case.rglob("*") if p.is_file()} == before


def test_without_a_message_id_the_hash_makes_it_idempotent(case, tmp_path):
    path = _write(tmp_path, mail(msgid=None))
    assert import_mail(path, case).written
    assert import_mail(path, case).written == []


def test_same_message_id_in_another_export_is_the_same_message(case, tmp_path):
    msg = mail(msgid="<abc@brightline.example>")
    import_mail(_write(tmp_path, msg, "a.eml"), case)
    again = mail(msgid="<abc@brightline.example>", body="We will refund you within 5 days.\r\n")
    again["X-Exported-By"] = "another program"
    assert import_mail(_write(tmp_path, again, "b.eml"), case).written == []


def test_a_mailbox_imports_good_messages_and_names_the_bad(case, tmp_path):
    broken = (b"From: a@b.example\nSubject: broken\nDate: Fri, 10 May 2024 10:00:00 +0000\n"
              b"MIME-Version: 1.0\nContent-Type: multipart/mixed\n\nno boundary at all\n")
    bad_boundary = (b"From: a@b.example\nSubject: broken 2\nDate: Fri, 10 May 2024 10:00:00 +0000\n"
                    b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"XX\"\n\n"
                    b"the boundary never starts\n")
    no_date = bytes(mail(subject="No date", date=None))
    not_mail = b"just some words\nand more words\n"
    good = bytes(mail(subject="Good one", body="From now on we ship faster.\n"))
    box = _mbox(tmp_path, [broken, bad_boundary, no_date, not_mail, good])
    result = import_mail(box, case)
    assert [Path(r).name for r in result.written] == ["2024-05-10-1003-good-one.yaml"]
    assert "From now on we ship faster." in _entry(case, result.written[0])  # >From unescaped
    errors = [p for p in result.problems if p.is_error]
    assert [p.message.split(":")[0] for p in errors] == [
        "message 1", "message 2", "message 3", "message 4"]
    assert "broken MIME" in errors[0].message and "broken MIME" in errors[1].message
    assert "Date" in errors[2].message and "not an e-mail" in errors[3].message
    assert all(p.loc.path == "box.mbox" and p.loc.line for p in errors)


def test_a_huge_mailbox_is_refused_before_reading(case, tmp_path):
    path = tmp_path / "big.mbox"
    with open(path, "wb") as fh:
        fh.truncate(200_000_000)
    assert path.stat().st_size > MAX_MAILBOX_BYTES
    result = import_mail(path, case)
    assert result.problems[0].is_error and "limit" in result.problems[0].message
    assert not result.written


def test_a_zip_bomb_attachment_is_left_out_with_an_error(case, tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", b"\0" * 50_000_000)
    bomb = buf.getvalue()
    assert len(bomb) < 100_000
    msg = mail(body="Logs attached.\n")
    msg.add_attachment(bomb, maintype="application", subtype="zip", filename="logs.zip")
    msg.add_attachment(gzip.compress(b"\0" * 20_000_000), maintype="application",
                       subtype="gzip", filename="more.gz")
    result = import_mail(_write(tmp_path, msg), case)
    assert result.written
    errors = [p.message for p in result.problems if p.is_error]
    assert any("logs.zip" in m and "zip bomb" in m for m in errors)
    assert any("more.gz" in m and "gzip" in m for m in errors)
    assert not list(case.rglob("logs.zip")) and not list(case.rglob("more.gz"))


def test_archive_bomb_leaves_normal_archives_alone():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.txt", "hello " * 100)
    assert archive_bomb(buf.getvalue()) is None
    assert archive_bomb(gzip.compress(b"hello world " * 10)) is None
    assert archive_bomb(b"PK\x03\x04 damaged") is None


@pytest.mark.parametrize("name", ["../../etc/cron.d/x.pdf", "..\\..\\evil.pdf", "/etc/passwd",
                                  "a/../../b.pdf", ".."])
def test_attachment_names_with_paths_stay_in_their_folder(case, tmp_path, name):
    msg = mail()
    msg.add_attachment(b"%PDF-1.4 " + name.encode(), maintype="application", subtype="pdf",
                       filename=name)
    result = import_mail(_write(tmp_path, msg), case)
    assert result.written
    folder = case / "attachments" / Path(result.written[0]).stem
    files = sorted(p.name for p in folder.iterdir())
    assert len(files) == 2 and all(".." not in f and "/" not in f for f in files)
    assert all(p.resolve().is_relative_to(case.resolve()) for p in case.rglob("*"))
    assert not (tmp_path / "etc").exists() and not (tmp_path / "evil.pdf").exists()


def test_an_eml_that_is_not_a_mail(case, tmp_path):
    path = tmp_path / "x.eml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0binary")
    result = import_mail(path, case)
    assert result.problems[0].is_error and "not an e-mail" in result.problems[0].message


def test_mbox_splitting_only_at_from_lines_after_blank_lines():
    data = (b"From a Fri May 10 2024\nSubject: one\n\nbody\nFrom here on, text\n\n"
            b"From b Fri May 10 2024\nSubject: two\n\n>From escaped\n")
    messages = split_mbox(data)
    assert [line for line, _ in messages] == [1, 7]
    assert b"From here on" in messages[0][1] and messages[1][1].endswith(b"From escaped\n")


def test_own_text_and_quote():
    text = ("Hi Alex,\n\nwe approved it.\n\n> old\nSent from my iPhone\nmore\n")
    assert own_text(text) == "Hi Alex,\n\nwe approved it."
    assert quote_of("-- \nsig only") is None
    assert quote_of("\n".join(f"line {n}" for n in range(20))).count("\n") == 5
    german = "Danke.\n\nAm 10.05.2024 um 10:00 schrieb Alex <a@b>:\n> alt\n"
    assert own_text(german) == "Danke."
    assert own_text("Hello,\nit ships today.\n\nKind regards\nBrightline\n+1 555 0100") == \
        "Hello,\nit ships today."
    assert own_text("Thanks!\nWe got it.") == "Thanks!\nWe got it."


def test_html_to_text_links_are_only_http():
    text, links = html_to_text("<a href='javascript:alert(1)'>x</a><a href='https://a.example/'>"
                               "y</a><a href='file:///etc/passwd'>z</a>")
    assert links == ["https://a.example/"] and "x" in text


def test_parse_mail_dates_keep_their_offset():
    assert parse_mail(bytes(mail(date="Fri, 10 May 2024 10:03:12 -0430"))).timestamp == \
        "2024-05-10 10:03:12-04:30"
    assert parse_mail(bytes(mail(date="Fri, 10 May 2024 10:03:12 -0000"))).timestamp == \
        "2024-05-10 10:03:12+00:00"


def test_cli_import_dispatches_by_file_type(case, tmp_path):
    path = _write(tmp_path, mail())
    run = CliRunner().invoke(main, ["import", str(path), str(case)])
    assert run.exit_code == 0, run.output
    assert "wrote" in run.output and "1 new entries" in run.output
    again = CliRunner().invoke(main, ["import", str(path), str(case)])
    assert "nothing new: all 1 messages are already in" in again.output
    noext = tmp_path / "message"
    noext.write_bytes(bytes(mail(subject="No suffix")))
    assert CliRunner().invoke(main, ["import", str(noext), str(case)]).exit_code == 0
    bad = _mbox(tmp_path, [b"From: x@y\n\n", bytes(mail(subject="fine"))], "b.mbox")
    run = CliRunner().invoke(main, ["import", str(bad), str(case)])
    assert run.exit_code == 1 and "b.mbox:1:1: error: message 1" in run.output


def test_hashes_of_kept_mail_match_the_source(case, tmp_path):
    msg = mail()
    import_mail(_write(tmp_path, msg), case)
    [kept] = case.rglob("message.eml")
    assert hashlib.sha256(kept.read_bytes()).hexdigest() == hashlib.sha256(bytes(msg)).hexdigest()


def test_a_pipe_or_device_is_never_opened_as_mail(case, tmp_path):
    import os
    import sys

    if sys.platform == "win32":
        pytest.skip("needs POSIX pipes")
    fifo = tmp_path / "pipe.eml"
    os.mkfifo(fifo)
    result = import_mail(fifo, case)
    assert result.problems[0].is_error and "not a regular file" in result.problems[0].message
    run = CliRunner().invoke(main, ["import", str(fifo), str(case)])
    assert run.exit_code == 1 and "internal error" not in run.output

"""E-mails (.eml) and mailboxes (.mbox) → one entry per message, the message kept as evidence.

Parsing is the standard library's `email` package (policy `default`); a mailbox is
split at its `From ` lines (mboxo/mboxrd, `>From ` unescaped). Each message becomes
an entry (channel Email, kind email) with its timestamp from `Date:` (offset kept),
its sender from `From:` matched against case.yaml (claimant `email` → me, seller
`email` or its domain → seller, a domain naming the platform → platform, else other),
the subject as summary, the first lines of its own text as quote (quoted replies
and signatures left out; HTML-only mail turned into text) and its links (listed,
never fetched). The message itself is saved as `attachments/<entry id>/message.eml`
and attached, with its attachments and inline pictures (each distinct content once;
bytes already in the case are referenced where they are).

Importing is idempotent: a message whose Message-ID (or, without one, whose bytes'
SHA-256) is already in the case is reported as unchanged. Every bad message is a
named error and the others still import; nothing is ever overwritten.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import struct
import zipfile
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath

from itaoreport.add import CaseFiles, comment_text, safe_file_name
from itaoreport.case.files import ENTRIES_DIR, entry_files, read_case_mapping
from itaoreport.case.safety import CaseFileError, read_case_file, read_head, short_repr
from itaoreport.case.schema import write_schema_files
from itaoreport.case.yamlload import YMap, YScalar
from itaoreport.errors import ItaoError, Loc, Problem, error, warning
from itaoreport.importers import ImportResult, entry_stem, entry_yaml

MAIL_SUFFIXES = (".eml", ".mbox", ".mbx")
MAX_MAILBOX_BYTES = 100_000_000
"""Largest .mbox read (a mailbox exported for one dispute is a few MB)."""
MAX_MESSAGE_BYTES = 30_000_000
"""Largest single message (mail servers refuse more than 25 MB of attachments)."""
MAX_MESSAGES = 10_000
MAX_PARTS = 200
"""Most MIME parts in one message."""
MAX_DEPTH = 20
"""Deepest nesting of multiparts."""
MAX_ARCHIVE_RATIO = 100
MAX_ARCHIVE_BYTES = 500_000_000
"""A zip or gzip attachment that would unpack to more than this, or more than
MAX_ARCHIVE_RATIO times its size, is a zip bomb: left out, with an error."""
QUOTE_LINES = 6
QUOTE_CHARS = 600
MAX_LINKS = 30
ATTACHMENTS_DIR = "attachments"
MESSAGE_NAME = "message.eml"
_MESSAGE_ID_COMMENT = "# Message-ID: "
_HASH_COMMENT = "# Message SHA-256: "

FREE_MAIL = {
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
    "yahoo.com", "ymail.com", "icloud.com", "me.com", "mac.com", "aol.com", "gmx.com", "gmx.de",
    "gmx.net", "web.de", "proton.me", "protonmail.com", "mail.ru", "yandex.ru", "yandex.com",
    "qq.com", "163.com", "126.com", "sina.com", "naver.com", "zoho.com", "fastmail.com",
}
"""Domains shared by millions: only the exact address identifies someone there."""

_FATAL_DEFECTS = ("NoBoundaryInMultipartDefect", "StartBoundaryNotFoundDefect",
                  "MultipartInvariantViolationDefect", "MissingHeaderBodySeparatorDefect")


class MailError(Exception):
    """One message cannot be imported; the message says why."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.hint = hint


@dataclass
class Parties:
    """Who is who, from case.yaml."""

    claimant: set[str] = field(default_factory=set)
    seller: set[str] = field(default_factory=set)
    seller_domains: set[str] = field(default_factory=set)
    platform: str = ""

    def role(self, address: str) -> str | None:
        address = address.casefold()
        domain = address.rpartition("@")[2]
        if address in self.claimant:
            return "me"
        if address in self.seller or domain in self.seller_domains:
            return "seller"
        if self.platform and any(label == self.platform or label.startswith(self.platform)
                                 for label in domain.split(".")[:-1]):
            return "platform"
        return None


def parties_from_case(root: Path) -> Parties:
    node = read_case_mapping(root)
    parties = Parties()
    if node is None:
        return parties

    def text(mapping: object, key: str) -> str:
        value = mapping.items.get(key) if isinstance(mapping, YMap) else None
        return value.text.strip() if isinstance(value, YScalar) else ""

    for key, target in (("claimant", parties.claimant), ("seller", parties.seller)):
        for address in re.split(r"[,;\s]+", text(node.items.get(key), "email")):
            if "@" in address:
                target.add(address.casefold())
    for address in parties.seller:
        domain = address.rpartition("@")[2]
        if domain not in FREE_MAIL:
            parties.seller_domains.add(domain)
    platform = node.items.get("platform")
    name = platform.text if isinstance(platform, YScalar) else "ItaoBuy"
    parties.platform = re.sub(r"[^a-z0-9]", "", name.casefold())
    return parties


# -- reading the file ---------------------------------------------------------------------------


def read_messages(path: Path) -> list[tuple[int, bytes]]:
    """(line number, bytes) of each message in an .eml or .mbox; MailError if unreadable."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise MailError(f"cannot read the file: {exc.strerror or exc}") from None
    if not path.is_file():
        raise MailError("not a regular file")
    limit = MAX_MAILBOX_BYTES
    if size > limit:
        raise MailError(f"the file is {size:,} bytes; the limit is {limit:,}",
                        "export only the messages of this dispute")
    try:
        data = read_head(path, limit + 1)
    except OSError as exc:
        raise MailError(f"cannot read the file: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise MailError(f"the file is over {limit:,} bytes")
    if not data.strip():
        raise MailError("the file is empty")
    if data.startswith(b"From "):
        return split_mbox(data)
    if path.suffix.lower() in (".mbox", ".mbx"):
        raise MailError("not a mailbox: an .mbox file starts with a `From ` line",
                        "export the messages again as mbox, or as .eml files")
    return [(1, data)]


_FROM_LINE = re.compile(rb"^From ", re.MULTILINE)
_ESCAPED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)


def split_mbox(data: bytes) -> list[tuple[int, bytes]]:
    """Messages of an mbox: each starts at a `From ` line at the start or after a blank line."""
    starts = [m.start() for m in _FROM_LINE.finditer(data)
              if m.start() == 0 or data[max(0, m.start() - 2):m.start()] in (b"\n\n", b"\r\n")
              or data[max(0, m.start() - 4):m.start()] == b"\r\n\r\n"]
    messages = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(data)
        chunk = data[start:end]
        line = data.count(b"\n", 0, start) + 1
        body = chunk.split(b"\n", 1)[1] if b"\n" in chunk else b""
        messages.append((line, _ESCAPED_FROM.sub(rb"\1", body)))
    return messages


# -- one message --------------------------------------------------------------------------------


@dataclass
class MailPart:
    name: str
    data: bytes
    inline: bool


@dataclass
class Mail:
    """What an entry is made from."""

    timestamp: str
    message_id: str | None
    sha256: str
    raw: bytes
    from_addr: str
    from_name: str
    subject: str
    text: str
    links: list[str]
    parts: list[MailPart]
    notes: list[str] = field(default_factory=list)
    """Warnings about this message (renamed attachments, unknown charsets)."""
    left_out: list[str] = field(default_factory=list)
    """Errors about parts that were not kept (zip bombs)."""


def parse_mail(raw: bytes) -> Mail:
    """A message's fields; MailError when it is not a mail or its MIME is broken."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise MailError(f"the message is {len(raw):,} bytes; the limit is {MAX_MESSAGE_BYTES:,}")
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    if not any(msg.get(h) is not None for h in ("From", "Date", "Message-ID")) or not (
            msg.get("From") or msg.get("Subject")):
        raise MailError("not an e-mail (no From:, Date: or Message-ID: header)",
                        "save the message from the mail program as .eml")
    _check_structure(msg)
    date = _timestamp(msg)
    from_addr, from_name = _sender(msg)
    subject = " ".join(str(msg.get("Subject") or "").split())
    mail = Mail(date, _message_id(msg), hashlib.sha256(raw).hexdigest(), raw, from_addr,
                from_name, subject, "", [], [])
    plain, html = _bodies(msg, mail)
    if plain is None and html is not None:
        plain, html_links = html_to_text(html)
        mail.links.extend(html_links)
    mail.text = plain or ""
    mail.links = _links(mail.text, mail.links)
    mail.parts = _attachments(msg, mail)
    return mail


def _check_structure(msg: EmailMessage) -> None:
    stack = [(msg, 0)]
    parts = 0
    while stack:
        part, depth = stack.pop()
        parts += 1
        if parts > MAX_PARTS:
            raise MailError(f"more than {MAX_PARTS} MIME parts")
        if depth > MAX_DEPTH:
            raise MailError(f"MIME parts nested more than {MAX_DEPTH} deep")
        broken = [type(d).__name__ for d in part.defects if type(d).__name__ in _FATAL_DEFECTS]
        if broken:
            raise MailError(f"broken MIME structure ({', '.join(broken)})",
                            "the message was damaged when it was saved; save it again from "
                            "the mail program")
        if part.is_multipart():
            payload = part.get_payload()
            if isinstance(payload, list):
                stack.extend((p, depth + 1) for p in payload)


def _timestamp(msg: EmailMessage) -> str:
    try:
        header = msg.get("Date")
        moment = getattr(header, "datetime", None) if header is not None else None
    except (TypeError, ValueError, IndexError, AttributeError):
        moment = None
    if moment is None:
        raise MailError("no readable Date: header", "the entry's time comes from it")
    if not 1900 <= moment.year <= 2200:
        raise MailError(f"Date: {str(msg.get('Date'))[:60]!r} is out of range")
    stamp = moment.strftime("%Y-%m-%d %H:%M:%S")
    if moment.tzinfo is None:  # "-0000": the time is UTC, its zone unknown
        return stamp + "+00:00"
    offset = moment.strftime("%z")
    return f"{stamp}{offset[:3]}:{offset[3:5]}"


def _sender(msg: EmailMessage) -> tuple[str, str]:
    try:
        header = msg.get("From")
        addresses = getattr(header, "addresses", ()) if header is not None else ()
    except (TypeError, ValueError, IndexError, AttributeError):
        addresses = ()
    for address in addresses:
        if address.addr_spec and "@" in address.addr_spec:
            return address.addr_spec, " ".join((address.display_name or "").split())
    raw = " ".join(str(msg.get("From") or "").split())
    return "", raw[:120]


def _message_id(msg: EmailMessage) -> str | None:
    value = " ".join(str(msg.get("Message-ID") or "").split())
    return value[:300] or None


def _bodies(msg: EmailMessage, mail: Mail) -> tuple[str | None, str | None]:
    plain = html = None
    try:
        body = msg.get_body(preferencelist=("plain",))
    except (KeyError, TypeError, ValueError, AttributeError):
        body = None
    if body is not None:
        plain = _text_of(body, mail)
    if plain is None:
        try:
            body = msg.get_body(preferencelist=("html",))
        except (KeyError, TypeError, ValueError, AttributeError):
            body = None
        if body is not None:
            html = _text_of(body, mail)
    return plain, html


def _text_of(part: EmailMessage, mail: Mail) -> str:
    try:
        return part.get_content()
    except LookupError:
        charset = part.get_content_charset() or "?"
        mail.notes.append(f"unknown charset {charset[:40]!r}; the text is read as UTF-8 and "
                          "may show wrong characters")
    except (ValueError, TypeError, AssertionError, UnicodeError) as exc:
        mail.notes.append(f"the text could not be decoded as sent ({type(exc).__name__}); "
                          "read as UTF-8")
    data = part.get_payload(decode=True) or b""
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)


def _attachments(msg: EmailMessage, mail: Mail) -> list[MailPart]:
    found: list[MailPart] = []
    seen: set[str] = set()
    bodies = set()
    for kind in (("plain",), ("html",)):
        try:
            body = msg.get_body(preferencelist=kind)
        except (KeyError, TypeError, ValueError, AttributeError):
            body = None
        if body is not None:
            bodies.add(id(body))
    for n, part in enumerate(msg.walk(), start=1):
        is_message = part.get_content_type() == "message/rfc822"
        if (part.is_multipart() and not is_message) or id(part) in bodies:
            continue
        disposition = part.get_content_disposition()
        if part.get_content_maintype() == "text" and disposition is None:
            continue  # another body alternative
        if is_message:
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            data = inner.as_bytes(policy=policy.default) if isinstance(inner, EmailMessage) \
                else b""
        else:
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
        if not data:
            continue
        raw_name = _part_name(part)
        name = _attachment_name(raw_name, part, n, mail)
        digest = hashlib.sha256(data).hexdigest()
        if digest in seen:
            continue  # the same picture inline and attached, or attached twice
        seen.add(digest)
        bomb = archive_bomb(data)
        if bomb:
            mail.left_out.append(f"attachment {short_repr(raw_name or name)} left out: {bomb}")
            continue
        found.append(MailPart(name, data, disposition == "inline" or bool(part.get("Content-ID"))))
    return found


def _part_name(part: EmailMessage) -> str:
    try:
        return part.get_filename() or ""
    except (TypeError, ValueError, IndexError, AttributeError, LookupError):
        return ""


_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp",
               "application/pdf": "pdf", "message/rfc822": "eml", "text/plain": "txt",
               "text/html": "html", "application/zip": "zip"}


def _attachment_name(raw: str, part: EmailMessage, n: int, mail: Mail) -> str:
    fallback = f"part-{n}.{_EXTENSIONS.get(part.get_content_type(), 'bin')}"
    if not raw:
        return fallback
    name = safe_file_name(raw, default=f"part-{n}")
    if "." not in name:
        name = f"{name}.{_EXTENSIONS.get(part.get_content_type(), 'bin')}"
    if "/" in raw.replace("\\", "/") or ".." in raw:
        mail.notes.append(f"attachment name {short_repr(raw)} has a path in it; saved as {name}")
    return name if name != MESSAGE_NAME else f"attached-{name}"


def archive_bomb(data: bytes) -> str | None:
    """Why a zip or gzip attachment looks like a decompression bomb, or None."""
    limit = min(MAX_ARCHIVE_BYTES, max(len(data), 1) * MAX_ARCHIVE_RATIO)
    if data[:2] == b"\x1f\x8b" and len(data) >= 18:
        # ISIZE: the unpacked size mod 2**32; the ratio of a real gzip stays under ~1000
        unpacked = struct.unpack("<I", data[-4:])[0]
        if unpacked > limit or len(data) * 1032 < unpacked:
            return f"a gzip file that unpacks to {unpacked:,} bytes from {len(data):,}"
        return None
    if data[:4] != b"PK\x03\x04":
        return None
    import io

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            total = sum(i.file_size for i in infos)
            nested = sum(1 for i in infos if i.filename.lower().endswith((".zip", ".gz")))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return None  # a damaged zip is evidence as it is; nothing here unpacks it
    if total > limit:
        return (f"a zip file that unpacks to {total:,} bytes from {len(data):,} "
                "(a zip bomb)")
    if len(infos) > 10_000 or nested > 100:
        return f"a zip file of {len(infos):,} files ({nested} of them archives)"
    return None


# -- text ---------------------------------------------------------------------------------------


class _HtmlText(HTMLParser):
    """The text of an HTML mail as a reader sees it, and its links."""

    BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table",
              "blockquote", "pre", "hr", "section", "article", "header", "footer", "ul", "ol"}
    SKIP = {"script", "style", "head", "title", "template"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.links: list[str] = []
        self.skipping = 0
        self.quoted = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:  # noqa: ANN001
        if tag in self.SKIP:
            self.skipping += 1
        if tag == "blockquote":
            self.quoted += 1
        if tag in self.BLOCKS:
            self.out.append("\n")
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if href.lower().startswith(("http://", "https://")) and not self.quoted:
                self.links.append(href.strip())

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1
        if tag == "blockquote" and self.quoted:
            self.quoted -= 1
        if tag in self.BLOCKS:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping and not self.quoted:  # <blockquote>: the quoted earlier mail
            self.out.append(data)


def html_to_text(html: str) -> tuple[str, list[str]]:
    """Plain text (one line per block; quoted blocks left out) and the links."""
    parser = _HtmlText()
    try:
        parser.feed(html[:MAX_MESSAGE_BYTES])
        parser.close()
    except (AssertionError, ValueError):  # very broken markup: what was read so far
        pass
    lines = [" ".join(line.split()) for line in "".join(parser.out).split("\n")]
    return "\n".join(line for line in lines if line), parser.links


_REPLY_HEADER = re.compile(
    r"^(?:On .{4,200}wrote:?|Am .{4,200}schrieb .{0,200}|Le .{4,200}a écrit ?:|"
    r"El .{4,200}escribió:|Il .{4,200}ha scritto:|Op .{4,200}geschreven:|"
    r"-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Message d'origine|Forwarded message)"
    r"\s*-{2,}|_{10,}|在.{2,200}写道[:：]?|From:\s.+|Von:\s.+|De\s?:\s.+|发件人[:：].+)$",
    re.IGNORECASE)
_SIGNATURE = re.compile(
    r"^(?:--|-- |—|Sent from my .{1,40}|Get Outlook for .{1,40}|Von meinem .{1,40} gesendet|"
    r"Envoyé de mon .{1,40}|Enviado desde mi .{1,40}|发自我的.{1,20})$", re.IGNORECASE)


_CLOSING = re.compile(
    r"^(?:(?:kind|best|warm|many)?\s*regards|best(?: wishes)?|thanks?(?: you)?(?: again)?|cheers|"
    r"sincerely|yours(?: sincerely| truly)?|mit freundlichen grüßen|viele grüße|beste grüße|"
    r"cordialement|bien à vous|saludos(?: cordiales)?|atentamente|distinti saluti|cordiali saluti|"
    r"met vriendelijke groet(?:en)?|此致|敬礼|谢谢)[,.!]?$", re.IGNORECASE)
"""A closing on a line of its own: what follows is the signature."""


def own_text(text: str) -> str:
    """The message's own words: quoted replies, forwarded history and the signature left out."""
    lines: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        stripped = line.strip()
        if _REPLY_HEADER.match(stripped) or _SIGNATURE.match(line.rstrip()) or stripped == "--":
            break
        if stripped.startswith(">"):
            continue
        if _CLOSING.match(stripped) and any(x.strip() for x in lines):
            break
        lines.append(line.rstrip())
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines).strip()


def quote_of(text: str) -> str | None:
    """The first lines of the message's own text, for `quote:`."""
    lines = [" ".join(line.split()) for line in own_text(text).split("\n")]
    lines = [line for line in lines if line]
    kept: list[str] = []
    total = 0
    for line in lines[:QUOTE_LINES]:
        if kept and total + len(line) > QUOTE_CHARS:
            break
        kept.append(line[:QUOTE_CHARS])
        total += len(line)
    quote = "\n".join(kept).strip()
    return quote or None


_URL = re.compile(r"https?://[^\s<>\"'()\[\]{}]+", re.IGNORECASE)


def _links(text: str, extra: list[str]) -> list[str]:
    found: list[str] = []
    for url in [*_URL.findall(own_text(text)), *extra]:
        url = url.rstrip(".,;:!?")
        if url not in found and len(url) <= 2000:
            found.append(url)
    return found[:MAX_LINKS]


# -- the import ---------------------------------------------------------------------------------


def import_mail(mail_path: str | os.PathLike, case_dir: str | os.PathLike) -> ImportResult:
    """Import every message of an .eml or .mbox into the case; never raises for bad input."""
    source, root = Path(mail_path), Path(case_dir)
    result = ImportResult()
    where = Loc(source.name)
    try:
        messages = read_messages(source)
    except MailError as exc:
        result.problems.append(error(where, str(exc), exc.hint))
        return result
    if len(messages) > MAX_MESSAGES:
        result.problems.append(error(where, f"{len(messages):,} messages; the limit is "
                                     f"{MAX_MESSAGES:,}"))
        return result
    parties = parties_from_case(root)
    known = _known_messages(root)
    files = CaseFiles(root)
    taken = {PurePosixPath(rel).stem for rel in entry_files(root)}
    several = len(messages) > 1
    wrote = False
    for number, (line, raw) in enumerate(messages, start=1):
        label = f"message {number}: " if several else ""
        loc = Loc(source.name, line if several else 0)
        try:
            mail = parse_mail(raw)
        except MailError as exc:
            result.problems.append(error(loc, f"{label}{exc}", exc.hint))
            continue
        except Exception as exc:  # noqa: BLE001 - hostile MIME can upset the parser in many ways
            result.problems.append(error(loc, f"{label}cannot read this message "
                                          f"({type(exc).__name__})"))
            continue
        existing = known.get(_key(mail))
        if existing:
            result.unchanged.append(existing)
            continue
        try:
            rel = _write_message(mail, root, source.name, number if several else 0, parties,
                                 files, taken)
        except ItaoError as exc:  # CaseWriteError: a link or a file in the way
            problem = getattr(exc, "problem", None)
            result.problems.append(problem if isinstance(problem, Problem)
                                   else error(loc, f"{label}{exc}"))
            continue
        except OSError as exc:  # FileExistsError: something appeared at a chosen name
            result.problems.append(error(loc, f"{label}cannot write into the case: "
                                          f"{exc.strerror or exc}"))
            continue
        wrote = True
        known[_key(mail)] = rel
        result.written.append(rel)
        for note in mail.notes:
            result.problems.append(warning(loc, f"{label}{note}"))
        for note in mail.left_out:
            result.problems.append(error(loc, f"{label}{note}"))
    if wrote:
        write_schema_files(root)
    return result


def _key(mail: Mail) -> str:
    return f"id:{mail.message_id}" if mail.message_id else f"sha:{mail.sha256}"


def _known_messages(root: Path) -> dict[str, str]:
    """Message keys already in the case (from the comments import writes) -> entry file."""
    found: dict[str, str] = {}
    for rel in entry_files(root):
        try:
            text = read_case_file(root, rel).decode("utf-8", "replace")
        except CaseFileError:
            continue
        for line in text.splitlines()[:20]:
            if line.startswith(_MESSAGE_ID_COMMENT):
                found.setdefault("id:" + line[len(_MESSAGE_ID_COMMENT):].strip(), rel)
            elif line.startswith(_HASH_COMMENT):
                found.setdefault("sha:" + line[len(_HASH_COMMENT):].strip(), rel)
    return found


def _write_message(mail: Mail, root: Path, source: str, number: int, parties: Parties,
                   files: CaseFiles, taken: set[str]) -> str:
    from itaoreport.case.safety import write_new_file

    summary = mail.subject or f"E-mail from {mail.from_name or mail.from_addr or 'unknown'}"
    stem = entry_stem(mail.timestamp[:16], summary)
    entry_id, n = stem, 1
    while entry_id in taken or (root / ATTACHMENTS_DIR / entry_id).exists():
        n += 1
        entry_id = f"{stem}-{n}"
    taken.add(entry_id)
    folder = f"{ATTACHMENTS_DIR}/{entry_id}"
    attachments: list[dict | str] = []
    used: set[str] = set()
    for name, data, caption in [(MESSAGE_NAME, mail.raw, "The original e-mail message"),
                                *((p.name, p.data, None) for p in mail.parts)]:
        digest = hashlib.sha256(data).hexdigest()
        rel = files.find(root, digest, len(data))
        if rel is None:
            rel = _free_name(folder, name, used)
            write_new_file(root, rel, data)
            files.remember(rel, len(data), digest)
        used.add(rel)
        if rel not in [a if isinstance(a, str) else a["path"] for a in attachments]:
            attachments.append({"path": rel, "caption": caption} if caption else rel)
    role = parties.role(mail.from_addr) if mail.from_addr else None
    values: dict = {"channel": "Email", "sender": role or "other"}
    shown_name = mail.from_name or mail.from_addr
    if shown_name:
        values["sender_name"] = shown_name[:200]
    values["summary"] = summary[:500]
    quote = quote_of(mail.text)
    if quote:
        values["quote"] = quote
    values["attachments"] = attachments
    if mail.links:
        values["links"] = mail.links
    values["kind"] = "email"
    where = f"{source}, message {number}" if number else source
    comments = [f"Imported from {comment_text(where)}.",
                f"From: {comment_text(mail.from_addr or mail.from_name)}"]
    comments.append(f"Message-ID: {comment_text(mail.message_id, 300)}" if mail.message_id
                    else f"Message SHA-256: {mail.sha256}")
    if role is None:
        comments.append("The sender is none of the case's parties (set claimant/seller `email` "
                        "in case.yaml to match them); check `sender`.")
    rel = f"{ENTRIES_DIR}/{entry_id}.yaml"
    text = entry_yaml(rel, mail.timestamp, values, tuple(comments))
    write_new_file(root, rel, text.encode("utf-8"))
    return rel


def _free_name(folder: str, name: str, used: set[str]) -> str:
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    n = 1
    while True:
        candidate = name if n == 1 else (f"{stem}-{n}.{suffix}" if suffix else f"{stem}-{n}")
        rel = f"{folder}/{candidate}"
        if rel not in used:
            return rel
        n += 1


def is_mail_file(path: Path) -> bool:
    """An .eml/.mbox by name, or a file that starts like a mailbox or a message."""
    if path.suffix.lower() in MAIL_SUFFIXES:
        return True
    if path.suffix.lower() in (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls", ".ods"):
        return False
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False  # a pipe or device: the log importer names it (never opened here)
        head = read_head(path, 2048)
    except (OSError, ValueError):
        return False
    return head.startswith(b"From ") or bool(
        re.match(rb"(?:(?:Return-Path|Received|From|Date|Message-ID|MIME-Version|Subject|To|"
                 rb"Delivered-To|X-[A-Za-z-]+):[^\n]*\r?\n)+", head, re.IGNORECASE))


__all__ = ["import_mail", "is_mail_file", "parse_mail", "html_to_text", "own_text", "quote_of",
           "archive_bomb", "MailError"]

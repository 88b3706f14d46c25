"""Load and validate a case folder: all problems in one pass, each with its file and line."""

from __future__ import annotations

import os
import pickle
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from zoneinfo import ZoneInfo

from itaoreport.case import fields as F
from itaoreport.case.fields import Field
from itaoreport.case.files import CASE_FILE, ENTRIES_DIR, entry_files
from itaoreport.case.model import (
    Attachment,
    Case,
    Claim,
    Deadline,
    Delivery,
    Dispute,
    Entry,
    Moment,
    Order,
    Party,
    Promise,
)
from itaoreport.case.safety import (
    CaseFileError,
    RealPaths,
    is_inside,
    read_case_file,
    short_repr,
)
from itaoreport.case.senders import parse_sender
from itaoreport.case.values import (
    MAX_BOXES,
    BadValue,
    Duration,
    offset_text,
    parse_bool,
    parse_box,
    parse_currency,
    parse_date,
    parse_decimal,
    parse_due,
    parse_language,
    parse_moment,
    parse_timezone,
    resolve_due,
    zone,
)
from itaoreport.case.yamlload import YamlProblem, YMap, YNode, YScalar, YSeq, load_yaml_bytes
from itaoreport.errors import Loc, Problem, error, sort_problems, warning

MAX_ENTRIES = 10_000
MAX_ATTACHMENTS_PER_ENTRY = 100
MAX_ATTACHMENTS = 5_000
MAX_TEXT_CHARS = 20_000
MAX_PATH_CHARS = 1_000
MAX_ATTACHMENT_BYTES = 500_000_000
"""Largest single attachment: every one is read in full to hash it."""
MAX_CASE_BYTES = 2_000_000_000
"""Largest total size of all distinct attachments of a case."""
SAFE_LINK_SCHEMES = ("http://", "https://", "mailto:")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""Control characters (only reachable through escapes like "\\0" or "\\e" in double quotes)."""
THEME_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
FORMAT_DOC = "docs/case-format.md"
"""Where users read about every field (messages point here)."""
_NAME_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?!\d)")
PLACEHOLDER = "FILL IN"
"""A text value starting with this is a placeholder (`itaoreport add` drafts): a warning, so
`validate --strict` and `build --strict` refuse it; a `sender` placeholder reads as `other`."""


def _close_matches(word: str, choices, n: int, cutoff: float) -> list[str]:  # noqa: ANN001
    """difflib.get_close_matches, imported only when a message suggests a spelling."""
    import difflib

    return difflib.get_close_matches(word, choices, n=n, cutoff=cutoff)


def is_placeholder(text: str) -> bool:
    return text.lstrip().upper().startswith(PLACEHOLDER)


@dataclass
class LoadResult:
    """The case (None when it cannot be built at all) and every problem found."""

    case: Case | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    def failed(self, strict: bool = False) -> bool:
        return bool(self.errors) or (strict and bool(self.problems))


def load_case(case_dir: str | os.PathLike, parsed: dict | None = None,
              validated: dict | None = None) -> LoadResult:
    """Read case.yaml and every entry; never raises for bad input.

    parsed: file name -> (its bytes, their YAML tree), kept between loads by watch mode:
    a file whose bytes are the same is not parsed again (the trees are never changed).
    validated: entry file name -> what reading it gave (see _Reader.read_entry), also kept
    by watch mode: an entry whose bytes, zone and party names are the same, and whose
    attachments are still the same files, is not checked again."""
    root = Path(case_dir)
    problems: list[Problem] = []
    if not root.is_dir():
        return LoadResult(None, [error(Loc("."), "not a folder")])
    if not (root / CASE_FILE).is_file():
        shown = os.fspath(case_dir)
        command = "itaoreport init" + ("" if shown in ("", ".") else f" {_shell_word(shown)}")
        has_entries = bool(entry_files(root))
        problems.append(
            error(Loc(CASE_FILE), "case.yaml is missing: this folder is not a case yet",
                  f"run `{command}` to add it"
                  + ("; your entries stay as they are" if has_entries else "")
                  + f"; every field is explained in {FORMAT_DOC}")
        )
        return LoadResult(None, problems)
    reader = _Reader(root, problems)
    reader.parsed = parsed
    reader.validated = validated
    case_values = reader.read_case()
    tz = zone(case_values.get("timezone") or "UTC") if case_values is not None else ZoneInfo("UTC")
    reader.names = _party_names(case_values)
    entries = reader.read_entries(tz)
    _check_references(entries, problems)
    _check_theme_name(case_values, reader.case_locs, problems)
    if case_values is not None:
        _check_case_warnings(case_values, reader.case_locs, entries, problems)
    if not entry_files(root):
        problems.append(warning(Loc(ENTRIES_DIR), "the case has no entries yet",
                                "add one file per communication with `itaoreport new`, or "
                                "`itaoreport import LOG.csv`"))
    _check_entry_warnings(entries, problems, _names_in_capitals(case_values),
                          (case_values or {}).get("timezone") or "UTC")
    if case_values is None or any(p.is_error for p in problems):
        return LoadResult(None, sort_problems(problems))
    case = _make_case(root, case_values, entries, reader.case_locs)
    return LoadResult(case, sort_problems(problems))


def _names_in_capitals(values: dict | None) -> tuple[str, ...]:
    """Names from case.yaml that may be written in capitals without shouting."""
    values = values or {}
    found = [values.get("platform"), _dotted(values, "seller.name"),
             _dotted(values, "claimant.name"), _dotted(values, "delivery.carrier")]
    return tuple(n for n in found if isinstance(n, str))


def _shell_word(text: str) -> str:
    return text if re.fullmatch(r"[\w./-]+", text) else "'" + text.replace("'", "'\\''") + "'"


class _Reader:
    """Converts located YAML into plain values by the field specs, collecting problems."""

    def __init__(self, root: Path, problems: list[Problem]):
        self.root = root
        self.problems = problems
        self.case_locs: dict[str, Loc] = {}
        self.attachment_bytes: dict[str, int] = {}
        """Size of each distinct attachment file, by path."""
        self.tz = ZoneInfo("UTC")
        self._pending_sender_name: str | None = None
        self.names: dict[str, str] = {}
        """Party names from case.yaml (casefolded) -> sender role, for `sender: GadgetWorld`."""
        self._root_real: Path | None = None
        self.real_paths = RealPaths()
        """Folders resolved so far in this load (each entry file is then one lstat)."""
        self.parsed: dict | None = None
        """See load_case."""
        self.validated: dict | None = None
        """See load_case."""
        self._bytes: bytes | None = None
        """The bytes of the file _load read last."""

    def root_real(self) -> Path | None:
        """The case folder with links resolved, once per load (None: let each check fail)."""
        if self._root_real is None:
            try:
                self._root_real = self.root.resolve()
            except (OSError, RuntimeError, ValueError):
                return None
        return self._root_real

    # -- files -----------------------------------------------------------------
    def _load(self, rel: str) -> YNode | None | bool:
        try:
            data = read_case_file(self.root, rel, root_real=self.root_real(),
                                  real_paths=self.real_paths)
        except CaseFileError as exc:
            self.problems.append(error(Loc(rel), str(exc), exc.hint))
            return False
        self._bytes = data
        memo = self.parsed
        if memo is not None:
            known = memo.get(rel)
            if known is not None and known[0] == data:
                return known[1]
        try:
            node = load_yaml_bytes(data, rel)
        except YamlProblem as exc:
            self.problems.append(exc.problem)
            return False
        if memo is not None:
            if len(memo) > 4 * MAX_ENTRIES:  # files come and go in a long session
                memo.clear()
            memo[rel] = (data, node)
        return node

    def _top_mapping(self, rel: str) -> YMap | None:
        node = self._load(rel)
        if node is False:
            return None
        if not isinstance(node, YMap):
            where = node.loc if isinstance(node, (YScalar, YSeq)) else Loc(rel, 1, 1)
            self.problems.append(
                error(where, "the file must be a mapping of `field: value` lines",
                      f"see {FORMAT_DOC} for an example")
            )
            return None
        return node

    def read_case(self) -> dict | None:
        node = self._top_mapping(CASE_FILE)
        if node is None:
            return None
        return self.mapping(node, F.CASE_FIELDS, "", self.case_locs)

    def read_entries(self, tz: ZoneInfo) -> list[Entry]:
        if not is_inside(self.root, self.root / ENTRIES_DIR, self.root_real()):
            self.problems.append(
                error(Loc(ENTRIES_DIR), "entries/ is a link that points outside the case folder",
                      "entries must live inside the case folder")
            )
            return []
        files = entry_files(self.root, self.problems)  # skipped files reported (#14)
        if len(files) > MAX_ENTRIES:
            self.problems.append(
                error(Loc("entries"), f"{len(files):,} entry files; the limit is {MAX_ENTRIES:,}")
            )
            return []
        self.tz = tz
        seen: dict[str, str] = {}
        entries = []
        total_attachments = 0
        for rel in files:
            entry_id = PurePosixPath(rel).stem
            if entry_id in seen:
                self.problems.append(
                    error(Loc(rel, 1, 1), f"entry id {entry_id!r} is used twice",
                          f"also {seen[entry_id]}; entry file names must be unique")
                )
                continue
            seen[entry_id] = rel
            entry = self.read_entry(rel, entry_id)
            if entry is not None:
                total_attachments += len(entry.attachments)
                entries.append(entry)
        if total_attachments > MAX_ATTACHMENTS:
            self.problems.append(
                error(Loc("entries"),
                      f"{total_attachments:,} attachments; the limit is {MAX_ATTACHMENTS:,}")
            )
        total_bytes = sum(self.attachment_bytes.values())
        if total_bytes > MAX_CASE_BYTES:
            self.problems.append(
                error(Loc("entries"), f"the attachments total {total_bytes:,} bytes; "
                      f"the limit is {MAX_CASE_BYTES:,}", "is every file evidence of this claim?")
            )
        entries.sort(key=lambda e: (e.timestamp.instant, e.id))
        return entries

    def read_entry(self, rel: str, entry_id: str) -> Entry | None:
        self._bytes = None
        node = self._top_mapping(rel)
        if node is None:
            return None
        memo = self.validated
        if memo is None or self._bytes is None:
            return self._read_entry(rel, entry_id, node)
        key = (entry_id, self._bytes, self.tz.key, tuple(sorted(self.names.items())))
        known = memo.get(rel)
        if known is not None and known[0] == key:
            entry = self._reuse(*known[1:])
            if entry is not None:
                return entry
        first = len(self.problems)
        entry = self._read_entry(rel, entry_id, node)
        added = self.problems[first:]
        if entry is not None and not any(p.is_error for p in added):
            sizes = {a.path: self.attachment_bytes[a.path] for a in entry.attachments}
            if len(memo) > 4 * MAX_ENTRIES:  # files come and go in a long session
                memo.clear()
            memo[rel] = (key, pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL),
                         tuple(added), sizes)
        return entry

    def _reuse(self, pickled: bytes, problems: tuple[Problem, ...],
               sizes: dict[str, int]) -> Entry | None:
        """An entry read before from the same bytes, if its attachments are still the same
        usable files (each checked again); a fresh copy, since builds change theirs."""
        if not attachments_unchanged(self.root, sizes, self.root_real(), self.real_paths):
            return None
        self.problems.extend(problems)
        self.attachment_bytes.update(sizes)
        return pickle.loads(pickled)

    def _read_entry(self, rel: str, entry_id: str, node: YMap) -> Entry | None:
        locs: dict[str, Loc] = {"": node.loc}
        values = self.mapping(node, F.ENTRY_FIELDS, "", locs)
        if values is None:
            return None
        named = values.pop("_sender_name", None)
        if named and not values.get("sender_name"):
            values["sender_name"] = named
        promise = values.get("promise")
        deadline = values.get("deadline")
        start = values["timestamp"]
        for name, part in (("promise", promise), ("deadline", deadline)):
            if part and isinstance(part.get("due"), Duration):
                try:
                    part["due"] = resolve_due(part["due"], start, self.tz)
                except BadValue as exc:
                    self.problems.append(error(locs.get(f"{name}.due", node.loc),
                                               f"{name}.due: {exc}", exc.hint))
                    return None
            if part and isinstance(part.get("due"), Moment):
                self._check_ambiguous(part["due"], locs.get(f"{name}.due", node.loc))
        self._check_ambiguous(start, locs.get("timestamp", node.loc))
        if promise and deadline:
            self.problems.append(warning(
                locs["deadline"], "this entry holds both a `promise` and a `deadline`",
                "a promise is the other side's, a deadline is set for you: write them as "
                "two entries so `fulfils:` can point at each"))
        if values.get("decision") and values.get("kind") != "approval":
            self.problems.append(
                warning(locs["decision"], "`decision` only means something with `kind: approval`")
            )
        if values.get("kind") == "approval" and not values.get("decision"):
            self.problems.append(
                error(locs.get("kind", node.loc), "an approval needs `decision: approved` or "
                      "`decision: changes_requested`")
            )
        return Entry(
            id=entry_id,
            path=rel,
            timestamp=values["timestamp"],
            channel=values["channel"],
            sender=values["sender"],
            summary=values["summary"],
            sender_name=values.get("sender_name"),
            quote=values.get("quote"),
            attachments=values.get("attachments") or [],
            links=values.get("links") or [],
            action=values.get("action"),
            promise=Promise(promise["text"], promise.get("due"), promise.get("status"),
                            locs["promise"]) if promise else None,
            deadline=Deadline(deadline["text"], deadline["due"], locs["deadline"])
            if deadline else None,
            fulfils=values.get("fulfils"),
            kind=values.get("kind") or "message",
            decision=values.get("decision"),
            refers_to=values.get("refers_to"),
            tags=values.get("tags") or [],
            redact_text=values.get("redact_text") or [],
            locs=locs,
        )

    def _check_ambiguous(self, moment: Moment, loc: Loc) -> None:
        if not moment.ambiguous or moment.relative:
            return
        first = moment.local.replace(fold=0)
        second = moment.local.replace(fold=1)
        wall = moment.local.strftime("%Y-%m-%d %H:%M")
        self.problems.append(warning(
            loc, f"{moment.text} happens twice in {self.tz.key}: the clocks go back that night; "
            f"it is read as the first one (UTC{offset_text(first)})",
            f"write the offset to say which: {wall}{offset_text(first)} for the first, "
            f"{wall}{offset_text(second)} for the second"))

    # -- conversion ------------------------------------------------------------
    def mapping(self, node: YMap, specs: tuple[Field, ...], prefix: str,
                locs: dict[str, Loc]) -> dict | None:
        """Convert a mapping; None if a required field is missing or wrong (problems recorded)."""
        by_name = {f.name: f for f in specs}
        values: dict = {}
        ok = True
        for key in node.order:
            key_loc = node.key_locs[key]
            spec = by_name.get(key)
            if spec is None:
                self._unknown_key(key, key_loc, by_name, prefix)
                continue
            locs[prefix + key] = key_loc
            value_node = node.items[key]
            if isinstance(value_node, YScalar) and value_node.is_null:
                continue
            if (isinstance(value_node, YScalar) and spec.kind in ("text", "line", "enum")
                    and is_placeholder(value_node.text)):
                self.problems.append(warning(value_node.loc, f"`{prefix}{key}` is still a "
                                             f"`{PLACEHOLDER}` placeholder", spec.doc))
                if spec.kind != "enum":
                    values[key] = " ".join(value_node.text.split())
                elif "other" in spec.choices:
                    values[key] = "other"
                continue
            try:
                self._pending_sender_name = None
                value = self.value(value_node, spec, prefix + key + ".", locs)
                if spec is _SENDER and self._pending_sender_name:
                    values["_sender_name"] = self._pending_sender_name
            except BadValue as exc:
                where = value_node.loc
                self.problems.append(error(where, f"{prefix}{key}: {exc}", exc.hint))
                ok = False
                continue
            if value is None and spec.kind == "map":
                ok = False
                continue
            values[key] = value
        for spec in specs:
            if spec.required and spec.name not in values:
                if spec.name not in node.items or _is_null(node.items[spec.name]):
                    where = node.key_locs.get(spec.name, node.loc)
                    self.problems.append(
                        error(where, f"missing required field `{prefix}{spec.name}`", spec.doc)
                    )
                ok = False
            elif spec.name not in values and spec.default is not None:
                values[spec.name] = spec.default
        return values if ok else None

    def _unknown_key(self, key: str, loc: Loc, by_name: dict, prefix: str) -> None:
        close = _close_matches(key, list(by_name), n=1, cutoff=0.6)
        hint = f"did you mean `{prefix}{close[0]}`?" if close else (
            "known fields: " + ", ".join(by_name))
        self.problems.append(warning(loc, f"unknown field `{prefix}{key}`", hint))

    def value(self, node: YNode, spec: Field, prefix: str, locs: dict[str, Loc]):  # noqa: ANN201
        kind = spec.kind
        if kind == "map":
            if not isinstance(node, YMap):
                raise BadValue(f"expected a mapping of fields, got {_what(node)}")
            return self.mapping(node, spec.fields, prefix, locs)
        if kind == "attachments":
            return self.attachments(node)
        if kind == "boxes":
            return self.boxes(node)
        if kind in ("tags", "links"):
            items = node.items if isinstance(node, YSeq) else [node]
            texts = [self.scalar(item, "a text") for item in items]
            if kind == "links":
                return [t.strip() for t in texts]
            return [t.strip() for t in texts if t.strip()]
        text = self.scalar(node, _article(kind))
        if spec is _SENDER:
            return self.sender(text, locs)
        return _convert_scalar(text, spec, self.tz)

    def sender(self, text: str, locs: dict[str, Loc]) -> str:
        """`me`, or the seed spreadsheet's forms as `import` reads them (`Seller "GadgetWorld"`)."""
        value = text.strip()
        if value in F.SENDERS:
            return value
        role, name = parse_sender(value, self.names)
        if role is None:
            names = [n for n in self.names if n]
            raise BadValue(
                f"{value!r} is not me, seller, platform, carrier or other",
                "forms like `Me (Buyer)` or `Seller \"GadgetWorld\"` work too"
                + ("; so do the names in case.yaml" if names else "")
                + "; put a name in `sender_name:`")
        if name:
            self._pending_sender_name = name
        return role

    def scalar(self, node: YNode, what: str) -> str:
        if not isinstance(node, YScalar):
            raise BadValue(f"expected {what}, got {_what(node)}")
        if len(node.text) > MAX_TEXT_CHARS:
            raise BadValue(f"text is {len(node.text):,} characters; the limit is {MAX_TEXT_CHARS:,}")
        control = _CONTROL.search(node.text)
        if control:
            raise BadValue(f"text contains the control character U+{ord(control.group()):04X}",
                           "it cannot be shown in a report; remove the escape from the quotes")
        return node.text

    def attachments(self, node: YNode) -> list[Attachment]:
        items = node.items if isinstance(node, YSeq) else [node]
        if len(items) > MAX_ATTACHMENTS_PER_ENTRY:
            raise BadValue(
                f"{len(items)} attachments; the limit is {MAX_ATTACHMENTS_PER_ENTRY} per entry")
        result = []
        for item in items:
            if isinstance(item, YMap):
                locs: dict[str, Loc] = {}
                values = self.mapping(item, F.ATTACHMENT_FIELDS, "attachments.", locs)
                if not values:
                    continue
                path_loc = item.items["path"].loc if "path" in item.items else item.loc
                raw, caption = values["path"], values.get("caption")
                highlight = values.get("highlight") or []
                highlight_loc = item.items["highlight"].loc if "highlight" in item.items else None
                redact = values.get("redact") or []
            elif isinstance(item, YScalar):
                raw, caption, path_loc = item.text, None, item.loc
                highlight, highlight_loc, redact = [], None, []
            else:
                self.problems.append(error(item.loc, "an attachment is a path or `path:` + `caption:`"))
                continue
            rel = self.safe_path(raw, path_loc)
            if rel is not None:
                result.append(Attachment(rel, caption, path_loc, highlight, highlight_loc,
                                         redact))
        return result

    def boxes(self, node: YNode) -> list[tuple[int, int, int, int]]:
        """A list of [x0, y0, x1, y1] pixel boxes (a single box may be written without the
        outer list)."""
        if not isinstance(node, YSeq):
            raise BadValue(f"expected a list of [x0, y0, x1, y1] boxes, got {_what(node)}")
        items = node.items
        if items and all(isinstance(i, YScalar) for i in items):
            items = [node]  # one box written flat: [30, 420, 860, 560]
        if len(items) > MAX_BOXES:
            raise BadValue(f"{len(items)} boxes; the limit is {MAX_BOXES}")
        boxes = []
        for item in items:
            if not isinstance(item, YSeq) or not all(isinstance(i, YScalar) for i in item.items):
                raise BadValue("a box is [x0, y0, x1, y1]: four whole numbers of pixels")
            try:
                boxes.append(parse_box([i.text for i in item.items]))
            except BadValue as exc:
                raise BadValue(f"line {item.loc.line}: {exc}", exc.hint) from None
        return boxes

    def safe_path(self, raw: str, loc: Loc) -> str | None:
        """A path to a regular file inside the case folder, or None with the problem recorded."""
        problem = _attachment_problem(self.root, raw, self.root_real(), self.real_paths)
        if problem is not None:
            message, hint = problem
            self.problems.append(error(loc, message, hint))
            return None
        rel = PurePosixPath(raw).as_posix()  # exactly as written (#14): no strip, no `\` rewrite
        self.attachment_bytes[rel] = (self.root / rel).stat().st_size
        return rel


def attachments_unchanged(root: Path, sizes: dict[str, int], root_real: Path | None = None,
                          real_paths: RealPaths | None = None) -> bool:
    """Every attachment path in `sizes` is still usable (as a load checks it) and of that size:
    what reusing an entry or a whole case read earlier needs to be true."""
    for path, size in sizes.items():
        if _attachment_problem(root, path, root_real, real_paths) is not None:
            return False
        try:
            if os.stat(os.path.join(root, path)).st_size != size:
                return False
        except OSError:
            return False
    return True


def _attachment_problem(root: Path, raw: str, root_real: Path | None = None,
                        real_paths: RealPaths | None = None) -> tuple[str, str] | None:
    """Why `raw` cannot be used as an attachment path, or None when it can."""
    text = raw  # exactly as written (#14): "shot.png " is not shot.png, `a\\b` is not a/b
    shown = short_repr(raw)
    if not text.strip():
        return "empty attachment path", ""
    if "\\" in text and os.sep == "\\":
        return (f"attachment path {shown} has a backslash, which Windows reads as a folder "
                "separator", "write paths with / (screenshots/shot.png)")
    if "\x00" in text:
        return f"attachment path {shown} contains a NUL character", ""
    if text.startswith("/") or (len(text) > 1 and text[1] == ":") or "://" in text:
        return (f"attachment path {shown} must be relative to the case folder",
                "copy the file into the case folder, e.g. screenshots/")
    pure = PurePosixPath(text)
    if ".." in pure.parts or ".." in re.split(r"[\\/]", text):  # `..\\x` is `..` on Windows
        return f"attachment path {shown} uses `..`; evidence must be inside the case folder", ""
    if len(text) > MAX_PATH_CHARS:
        return f"attachment path {shown} is {len(text):,} characters long", "use a shorter name"
    full = root / pure
    try:
        if not is_inside(root, full, root_real, real_paths):
            return f"attachment {shown} is a link that points outside the case folder", ""
        st = full.stat()
    except (FileNotFoundError, NotADirectoryError):
        return f"attachment {shown} does not exist", _similar_file(root, pure, raw)
    except (OSError, RuntimeError) as exc:
        reason = getattr(exc, "strerror", None) or "a link loop"
        return f"attachment path {shown} cannot be resolved ({reason})", ""
    if stat.S_ISDIR(st.st_mode):
        return f"attachment {shown} is a folder, not a file", ""
    if not stat.S_ISREG(st.st_mode):
        return f"attachment {shown} is not a regular file (a device, pipe or socket)", ""
    if st.st_size > MAX_ATTACHMENT_BYTES:
        size = f"{st.st_size:,} bytes; the limit is {MAX_ATTACHMENT_BYTES:,}"
        return f"attachment {shown} is {size}", ""
    return None


def _convert_scalar(text: str, spec: Field, tz: ZoneInfo):  # noqa: ANN202
    kind = spec.kind
    if kind == "text":
        return text
    if kind in ("line", "entry_ref"):
        value = " ".join(text.split())
        if not value:
            raise BadValue("must not be empty")
        return value
    if kind == "url":
        return text.strip()
    if kind == "enum":
        value = text.strip()
        if value not in spec.choices:
            canonical = {c.casefold(): c for c in spec.choices}.get(value.casefold())
            if canonical is not None:  # any capitalisation: `Email`, `DAMAGED`, `a4`
                return canonical
            close = _close_matches(value.lower(), spec.choices, n=1, cutoff=0.5)
            hint = f"did you mean `{close[0]}`?" if close else ""
            raise BadValue(f"{value!r} is not one of {', '.join(spec.choices)}", hint)
        return value
    if kind == "date":
        return parse_date(text)
    if kind == "moment":
        return parse_moment(text, tz)
    if kind == "due":
        return parse_due(text, tz)
    if kind == "bool":
        return parse_bool(text)
    if kind == "decimal":
        return parse_decimal(text)
    if kind == "currency":
        return parse_currency(text)
    if kind == "timezone":
        return parse_timezone(text)
    if kind == "language":
        return parse_language(text)
    raise AssertionError(f"unknown field kind {kind}")


def _check_references(entries: list[Entry], problems: list[Problem]) -> None:
    by_id = {e.id: e for e in entries}
    for entry in entries:
        for name in ("fulfils", "refers_to"):
            target = getattr(entry, name)
            if target is None:
                continue
            if target not in by_id:
                close = _close_matches(target, list(by_id), n=1, cutoff=0.6)
                hint = f"did you mean `{close[0]}`?" if close else "use an entry's file name without .yaml"
                problems.append(error(entry.loc(name), f"{name}: no entry with id {target!r}", hint))
            elif target == entry.id:
                problems.append(error(entry.loc(name), f"{name}: an entry cannot refer to itself"))
        target_entry = by_id.get(entry.fulfils or "")
        if target_entry is not None and target_entry.promise is None:
            if target_entry.deadline is None:
                problems.append(warning(entry.loc("fulfils"),
                                        f"fulfils: entry {entry.fulfils!r} has no `promise` "
                                        "or `deadline`"))
            elif entry.sender != "me":
                problems.append(warning(
                    entry.loc("fulfils"),
                    f"fulfils: entry {entry.fulfils!r} sets a deadline for you, and only your "
                    "own entries (`sender: me`) meet it"))
        if entry.refers_to in by_id and entry.kind == "approval":
            if by_id[entry.refers_to].kind != "requirement":
                problems.append(
                    warning(entry.loc("refers_to"),
                            f"refers_to: entry {entry.refers_to!r} is not a `kind: requirement`")
                )
        for link in entry.links:
            if not link.lower().startswith(SAFE_LINK_SCHEMES):
                problems.append(
                    warning(entry.loc("links"), f"link {link!r} is shown as text only",
                            "only http, https and mailto links become clickable")
                )


def _party_names(values: dict | None) -> dict[str, str]:
    """Seller, claimant and platform names from case.yaml (casefolded) -> their sender role."""
    names: dict[str, str] = {}
    values = values or {}
    for key, role in (("seller", "seller"), ("claimant", "me")):
        party = values.get(key) or {}
        for name_key in ("name", "account"):
            if party.get(name_key):
                names[party[name_key].strip().casefold()] = role
    if values.get("platform"):
        names[values["platform"].strip().casefold()] = "platform"
    return names


def _dotted(values: dict, dotted: str) -> object:
    for part in dotted.split("."):
        if not isinstance(values, dict):
            return None
        values = values.get(part)  # type: ignore[assignment]
    return values


def _check_case_warnings(values: dict, locs: dict[str, Loc], entries: list[Entry],
                         problems: list[Problem]) -> None:
    """What a reviewer would catch in case.yaml: init's examples, dates after the report day."""
    for dotted, example in F.PLACEHOLDERS.items():
        value = _dotted(values, dotted)
        if isinstance(value, str) and example.casefold() in value.casefold():
            problems.append(warning(
                locs.get(dotted, Loc(CASE_FILE)),
                f"`{dotted}` is still init's example ({example!r})",
                "write your own; `--strict` refuses a case that holds init's examples"))
    tz_name = values.get("timezone") or "UTC"
    as_of = values.get("as_of")
    if as_of is not None:
        report_day, source = as_of, f"as_of ({as_of.isoformat()})"
        for entry in entries:
            day = _case_day(entry.timestamp, tz_name)
            if day > as_of:
                problems.append(warning(
                    entry.loc("timestamp"),
                    f"this entry ({day.isoformat()}) is later than as_of ({as_of.isoformat()}), "
                    "the day the report speaks from",
                    "move `as_of` in case.yaml to the latest day, or check the timestamp"))
    elif entries:
        report_day = max(_case_day(e.timestamp, tz_name) for e in entries)
        source = f"the newest entry ({report_day.isoformat()})"
    else:
        return
    for dotted in ("order.date", "dispute.opened", "delivery.shipped", "delivery.delivered"):
        day = _dotted(values, dotted)
        if day is not None and day > report_day:
            problems.append(warning(
                locs.get(dotted, Loc(CASE_FILE)),
                f"`{dotted}` ({day.isoformat()}) is later than {source}",
                "the report cannot speak of a day after its own; check the date"
                + ("" if as_of is not None else ", or set `as_of`")))
    shipped, delivered = (_dotted(values, "delivery.shipped"),
                          _dotted(values, "delivery.delivered"))
    if shipped is not None and delivered is not None and delivered < shipped:
        problems.append(warning(locs.get("delivery.delivered", Loc(CASE_FILE)),
                                f"`delivery.delivered` ({delivered.isoformat()}) is before "
                                f"`delivery.shipped` ({shipped.isoformat()})"))


def _case_day(moment: Moment, tz_name: str):  # noqa: ANN202 - a date
    if not moment.has_time:
        return moment.day()
    return moment.instant.astimezone(zone(tz_name)).date()


def _check_entry_warnings(entries: list[Entry], problems: list[Problem],
                          names: tuple[str, ...] = (), tz_name: str = "UTC") -> None:
    """What a reviewer would catch in an entry: a file name that disagrees with the timestamp
    (the day as written, or that day in the case timezone), a file attached twice, loaded
    language."""
    from itaoreport.case.wording import loaded_language

    for entry in entries:
        match = _NAME_DATE.match(entry.id)
        written = entry.timestamp.local.date()
        days = {written.isoformat(), _case_day(entry.timestamp, tz_name).isoformat()}
        if match and match.group() not in days:
            problems.append(warning(
                entry.loc("timestamp"),
                f"the file name says {match.group()} but the timestamp says {written.isoformat()}",
                "rename the file or correct the timestamp, so both name the same day"))
        seen: set[str] = set()
        for attachment in entry.attachments:
            if attachment.path in seen:
                problems.append(warning(attachment.loc,
                                        f"{attachment.path} is attached twice to this entry",
                                        "remove the second one"))
            seen.add(attachment.path)
        for name in ("summary", "action"):
            text = getattr(entry, name)
            found = loaded_language(text, names) if text else None
            if found:
                problems.append(warning(
                    entry.loc(name), f"{name}: loaded language: {found.describe()}",
                    "reviewers trust neutral words: say what happened (\"did not ship\", "
                    "\"did not reply\"); put the other side's exact words in `quote:`"))


def _check_theme_name(values: dict | None, locs: dict[str, Loc],
                      problems: list[Problem]) -> None:
    """A theme is chosen by name, never by path: `theme: ../elsewhere` must not load templates."""
    name = (values or {}).get("theme")
    if name is not None and not THEME_NAME.match(name):
        problems.append(error(locs.get("theme", Loc(CASE_FILE)),
                              f"theme: {short_repr(name)} is not a theme name",
                              "a theme is a name like `default`; to restyle one case, put "
                              "files in its theme/ folder"))


def _make_case(root: Path, v: dict, entries: list[Entry], locs: dict[str, Loc]) -> Case:
    claimant, seller, order = v["claimant"], v["seller"], v["order"]
    claim = v.get("claim") or {"type": "other", "requested": "full_refund"}
    return Case(
        root=root,
        title=v["title"],
        claimant=Party(claimant["name"], claimant.get("account"), claimant.get("email"),
                       address=claimant.get("address")),
        seller=Party(seller["name"], email=seller.get("email"), store=seller.get("store")),
        order=Order(order["id"], order["date"], order.get("item"), order.get("amount"),
                    order.get("currency"), order.get("expected_delivery")),
        claim=Claim(claim.get("type", "other"), claim.get("requested", "full_refund"),
                    claim.get("amount")),
        entries=entries,
        platform=v.get("platform", "ItaoBuy"),
        as_of=v.get("as_of"),
        timezone=v.get("timezone", "UTC"),
        statement=v.get("statement"),
        theme=v.get("theme", "default"),
        language=v.get("language", "en"),
        paper=v.get("paper", "A4"),
        dispute=Dispute(**v["dispute"]) if v.get("dispute") else None,
        delivery=Delivery(**v["delivery"]) if v.get("delivery") else None,
        declaration=v.get("declaration", True),
        redact_text=v.get("redact_text") or [],
        locs=locs,
    )


_SENDER = next(f for f in F.ENTRY_FIELDS if f.name == "sender")


def _is_null(node: YNode) -> bool:
    return isinstance(node, YScalar) and node.is_null


def _what(node: YNode) -> str:
    if isinstance(node, YMap):
        return "a mapping"
    if isinstance(node, YSeq):
        return "a list"
    return f"{node.text!r}"


def _article(kind: str) -> str:
    return {"date": "a date", "moment": "a date and time", "decimal": "a number",
            "enum": "one word"}.get(kind, "a text")


def _similar_file(root: Path, pure: PurePosixPath, raw: str = "") -> str:
    for near, why in ((raw.strip(), "without the spaces at its start or end"),
                      (raw.replace("\\", "/"), "with / between folders"),
                      (raw.strip().replace("\\", "/"), "trimmed, with / between folders")):
        if near and near != raw and ".." not in PurePosixPath(near).parts \
                and not near.startswith("/") and (root / near).is_file():
            return f"did you mean {near!r} ({why})?"
    folder = root / pure.parent
    if not folder.is_dir():
        return f"there is no folder {pure.parent.as_posix()!r}" if str(pure.parent) != "." else ""
    try:
        names = [p.name for p in folder.iterdir() if p.is_file()]
    except OSError:
        return ""
    close = _close_matches(pure.name, names, n=1, cutoff=0.6)
    return f"did you mean {(pure.parent / close[0]).as_posix()!r}?" if close else ""

"""The case as read last time, reused when nothing it was read from has changed.

Reading a case is parsing and checking every entry: about a third of a second for 1,000
entries, the largest part of a warm build. `load_case_cached` still reads every file the
case is made of and checks the folder; it skips the parsing and checking when all of
these are exactly what they were when the kept result was made:

- the code that reads cases (the source of itaoreport/case/, errors.py and privacy.py, the
  wording lists, the versions of itaoreport, Python and PyYAML);
- the case folder as given and as an absolute path, and the list of entry files with
  what that listing reported (skipped editor files, names that are not UTF-8);
- the bytes of case.yaml and of every entry file (their SHA-256), each read as a normal
  load reads it (inside the case, a regular file of bounded size);
- the time-zone rules of the case's zone (the SHA-256 of its TZif file);
- for every attachment: that it is still a regular file inside the case, not a link out,
  and of the same size (each is checked again as a load checks it).

With `derive`, what the build computes from the case alone (the privacy check of its
texts, after redaction) is kept beside it, keyed by that code too.

Only a load without errors is kept (a case with errors stops the build anyway and is cheap
to read again). One file, `case-v1.pickle` in the user's own cache folder
(`.itaoreport/cache/<owner>/`, evidence/owner.py). It is signed: an HMAC-SHA256 under a key
derived from this user's cache secret covers the key and the data, and nothing is
unpickled unless the signature is right, so a file planted by anyone without that secret
is ignored, never run. The unpickler accepts only the classes a case is made of.
"""

from __future__ import annotations

import hashlib
import importlib.util
import hmac
import io
import os
import pickle
import sys
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from itaoreport.case.files import CASE_FILE, ENTRIES_DIR, entry_files
from itaoreport.case.model import Case
from itaoreport.case.safety import CaseFileError, RealPaths, is_inside, read_case_file
from itaoreport.case.validate import LoadResult, attachments_unchanged, load_case

NAME = "case-v1.pickle"
MAGIC = b"itaoreport case v1\n"
MAX_BYTES = 256 * 1024 * 1024
"""Largest kept case read back (1,000 entries take under 1 MB)."""


def load_case_cached(case_dir: str | os.PathLike, cache_folder: Path | None,
                     derive: Callable[[Case], object] | None = None
                     ) -> tuple[LoadResult, object]:
    """(load_case(case_dir), derive(a copy of its case)), or the same pair kept from an earlier
    load of the same inputs. `derive` may change the copy it gets (the build's privacy check
    runs after redaction); it must depend on the case alone, and its module's code is part of
    the key. The second value is None when nothing is kept (no cache folder, a case with
    errors): the caller then derives it itself."""
    if cache_folder is None:
        return load_case(case_dir), None
    root = Path(case_dir)
    try:
        key = _inputs_key(root, derive)
    except (OSError, CaseFileError, RuntimeError, ValueError):
        key = None
    if key is None:
        return load_case(case_dir), None
    path = Path(cache_folder) / NAME
    kept = _read(path, key)
    if kept is not None:
        reused = _still_true(root, kept)
        if reused is not None:
            return reused, kept[3]
    result = load_case(case_dir)
    if result.case is None or result.errors:
        return result, None
    sizes = _attachment_sizes(root, result)
    body = _pickled(result) if sizes is not None else None
    if body is None:
        return result, None
    derived = derive(_unpickled(body).case) if derive else None  # on a copy of the case
    _write_kept(path, key, (result, sizes, _zone_rules(result.case.timezone), derived))
    return result, derived


def _inputs_key(root: Path, derive: Callable[[Case], object] | None = None) -> bytes | None:
    """SHA-256 of everything a load reads besides the attachments; None if a case file
    cannot be read (the full load then reports it)."""
    if not (root / CASE_FILE).is_file():
        return None
    root_real = root.resolve()
    if not is_inside(root, root / ENTRIES_DIR, root_real):
        return None
    reported: list = []
    files = entry_files(root, reported)
    digest = hashlib.sha256()
    digest.update(_code_version().encode())
    if derive is not None:
        digest.update(_module_version(derive.__module__).encode())
    digest.update(os.path.abspath(root).encode("utf-8", "surrogateescape") + b"\0")
    digest.update(os.fspath(root).encode("utf-8", "surrogateescape") + b"\0")
    digest.update(repr([(str(p.loc), p.message, p.hint) for p in reported]).encode(
        "utf-8", "surrogateescape"))
    real_paths = RealPaths()
    for rel in [CASE_FILE, *files]:
        data = read_case_file(root, rel, root_real=root_real, real_paths=real_paths)
        digest.update(rel.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(hashlib.sha256(data).digest())
    return digest.digest()


def _zone_rules(name: str) -> bytes:
    """SHA-256 of the TZif file of zone `name` (its rules change with tzdata), b"" if none."""
    import zoneinfo

    if not name or name == "UTC" or ".." in name or name.startswith("/"):
        return b""
    for base in zoneinfo.TZPATH:
        try:
            with open(os.path.join(base, name), "rb") as fh:
                return hashlib.sha256(fh.read(1 << 20)).digest()
        except (OSError, ValueError):
            continue
    return b""


def _attachment_sizes(root: Path, result: LoadResult) -> dict[str, int] | None:
    sizes: dict[str, int] = {}
    assert result.case is not None
    for entry in result.case.entries:
        for att in entry.attachments:
            if att.path not in sizes:
                try:
                    sizes[att.path] = os.stat(root / att.path).st_size
                except OSError:
                    return None
    return sizes


def _still_true(root: Path, kept: tuple) -> LoadResult | None:
    """The kept result, if every attachment of the kept case is still a usable file of the
    size it had and the zone rules are the same; else None."""
    result, sizes, zone_rules, _derived = kept
    case = result.case
    if case is None or case.root != root:  # as given: a relative path is relative to the cwd
        return None
    if _zone_rules(case.timezone) != zone_rules:
        return None
    return result if attachments_unchanged(root, sizes, root.resolve(), RealPaths()) else None


@lru_cache(maxsize=8)
def _module_version(module: str) -> str:
    """A hash of one module's source (what `derive` comes from)."""
    source = getattr(sys.modules.get(module), "__file__", None)
    try:
        return module + hashlib.sha256(Path(source).read_bytes()).hexdigest() if source \
            else module + "?"
    except OSError:
        return module + "?"


@lru_cache(maxsize=1)
def _code_version() -> str:
    """A hash of the code that reads cases: any change to it is a miss."""
    from itaoreport import __version__

    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256(f"{__version__} {sys.version} ".encode() + _pyyaml_identity())
    names = sorted(p.relative_to(package).as_posix() for p in (package / "case").rglob("*")
                   if p.is_file() and p.suffix in (".py", ".txt"))
    for name in [*names, "errors.py", "privacy.py"]:
        try:
            digest.update(name.encode() + b"\0" + (package / name).read_bytes())
        except OSError:
            digest.update(b"?" + name.encode())
    return digest.hexdigest()


def _pyyaml_identity() -> bytes:
    """Which PyYAML parses cases, without importing it (a warm build never does): its
    __init__.py (which states its version) and the names and sizes of its files (whether
    the libyaml-based C parser is there, and which build of it)."""
    spec = importlib.util.find_spec("yaml")
    folders = list(spec.submodule_search_locations or []) if spec else []
    if spec is None or spec.origin is None or not folders:
        return b"PyYAML ?"
    digest = hashlib.sha256()
    try:
        digest.update(Path(spec.origin).read_bytes())
        with os.scandir(folders[0]) as found:
            for entry in sorted(found, key=lambda e: e.name):
                if entry.is_file():
                    digest.update(f"\0{entry.name} {entry.stat().st_size}".encode())
    except OSError:
        return b"PyYAML ?"
    return b"PyYAML " + digest.hexdigest().encode()


def _signing_key() -> bytes | None:
    from itaoreport.evidence.owner import signing_key

    return signing_key()


def _read(path: Path, key: bytes) -> tuple | None:
    signing = _signing_key()
    if signing is None:
        return None
    from itaoreport.evidence.cache import read_cache_file

    try:
        data = read_cache_file(str(path))
    except OSError:
        return None
    head = len(MAGIC) + 32
    if len(data) < head or len(data) > MAX_BYTES or not data.startswith(MAGIC):
        return None
    signature, body = data[len(MAGIC):head], data[head:]
    expected = hmac.new(signing, key + body, hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        return None  # another key (inputs changed), another user, or damaged
    try:
        result = _unpickled(body)
    except Exception:  # noqa: BLE001 - a kept result that cannot be read is a miss
        return None
    if not (isinstance(result, tuple) and len(result) == 4
            and isinstance(result[0], LoadResult) and isinstance(result[1], dict)
            and isinstance(result[2], bytes)):
        return None
    return result


def _pickled(value: object) -> bytes | None:
    buffer = io.BytesIO()
    try:
        _CasePickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    except (pickle.PicklingError, TypeError, AttributeError, RecursionError):
        return None
    return buffer.getvalue()


def _unpickled(body: bytes):  # noqa: ANN202 - what _pickled was given
    return _CaseUnpickler(io.BytesIO(body)).load()


def _write_kept(path: Path, key: bytes, result: tuple) -> None:
    signing = _signing_key()
    if signing is None:
        return
    from itaoreport.evidence.cache import _write, no_links_below

    if not no_links_below(str(path.parent.parent), str(path)):
        return
    body = _pickled(result)
    if body is None:
        return
    signature = hmac.new(signing, key + body, hashlib.sha256).digest()
    _write(str(path), MAGIC + signature + body)


_ALLOWED_MODULES = ("itaoreport.case.", "itaoreport.errors")
_ALLOWED = {("datetime", "datetime"), ("datetime", "date"), ("datetime", "timedelta"),
            ("datetime", "timezone"), ("datetime", "time"), ("zoneinfo", "ZoneInfo"),
            ("zoneinfo._zoneinfo", "ZoneInfo"), ("decimal", "Decimal"),
            ("pathlib", "PosixPath"), ("pathlib", "WindowsPath"), ("pathlib", "Path"),
            ("pathlib", "PurePosixPath"), ("builtins", "set"), ("builtins", "frozenset"),
            ("copyreg", "_reconstructor"), ("builtins", "object")}


def zone_named(key: str):  # noqa: ANN201 - a ZoneInfo
    """A time zone by name: how a kept case stores its zones (no getattr in the pickle)."""
    from zoneinfo import ZoneInfo

    return ZoneInfo(key)


class _CasePickler(pickle.Pickler):
    def reducer_override(self, obj):  # noqa: ANN001, ANN201
        from zoneinfo import ZoneInfo

        if type(obj) is ZoneInfo and obj.key:
            return zone_named, (obj.key,)
        return NotImplemented


class _CaseUnpickler(pickle.Unpickler):
    """Only the classes a case is made of (on top of the signature)."""

    def find_class(self, module: str, name: str):  # noqa: ANN201
        if (module, name) in _ALLOWED or (
                module.startswith(_ALLOWED_MODULES) and not name.startswith("_")):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a case")

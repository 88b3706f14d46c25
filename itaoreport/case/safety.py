"""Reading case files without leaving the case folder, blocking, or reading without bound.

Case folders may come from someone else, so every file the loader reads must be
a regular file whose real path (after following links) is inside the case
folder, and no bigger than the YAML limit.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from itaoreport.case.yamlload import MAX_YAML_BYTES

SHOWN_CHARS = 80
"""Longest user-given path or value quoted back in a message."""


class CaseFileError(Exception):
    """A case file cannot be read; the message says why in plain words."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.hint = hint


def short_repr(text: str, limit: int = SHOWN_CHARS) -> str:
    """repr() of user text, cut to `limit` characters so a hostile value cannot flood a message."""
    if len(text) <= limit:
        return repr(text)
    return repr(text[:limit]) + f"... ({len(text):,} characters)"


class RealPaths:
    """Real paths (every link followed) of many files in a few folders, for one pass: each
    folder is resolved once, then a file is one lstat. Same answers as
    `Path.resolve(strict=False)`: a file that is a link (or cannot be looked at) is resolved
    in full."""

    def __init__(self) -> None:
        self._folders: dict[str, str] = {}

    def resolve(self, path: Path) -> Path:
        text = self.resolve_text(path)
        return text if isinstance(text, Path) else Path(text)

    def resolve_text(self, path: str | os.PathLike) -> str | Path:
        """resolve() as a string where it is one lstat (no pathlib on the way: a load checks
        a thousand files); a Path where the file is a link and is resolved in full."""
        text = os.fspath(path)
        folder, name = os.path.split(text)
        if not folder or name in ("", ".", ".."):
            return Path(text).resolve(strict=False)
        real_folder = self._folders.get(folder)
        if real_folder is None:
            real_folder = self._folders[folder] = os.path.realpath(folder)
        try:
            if stat.S_ISLNK(os.lstat(text).st_mode):
                return Path(text).resolve(strict=False)
        except FileNotFoundError:
            pass  # resolved as a name in its real folder, as resolve(strict=False) does
        except OSError:
            return Path(text).resolve(strict=False)
        return os.path.join(real_folder, name)


def is_inside(root: Path, path: Path, root_real: Path | None = None,
              real_paths: RealPaths | None = None) -> bool:
    """True if `path`, with every link followed, is `root` or inside it.

    root_real: `root` already resolved, and real_paths: folders resolved so far, when
    checking many paths in one pass.
    Raises OSError, RuntimeError (link loops on older Pythons) or ValueError (NUL
    in the path) when the path cannot be resolved at all.
    """
    root_real = root_real or root.resolve()
    if real_paths is not None:
        real = real_paths.resolve_text(path)
        if isinstance(real, str):
            base = os.fspath(root_real)
            return real == base or real.startswith(base if base.endswith(os.sep)
                                                   else base + os.sep)
    else:
        real = path.resolve(strict=False)
    real = Path(real)
    return real == root_real or real.is_relative_to(root_real)


def read_open_file(fd: int, limit: int, size_hint: int) -> bytes:
    """At most limit + 1 bytes from open file `fd` (so a caller can tell a file over `limit`),
    read to its end. `size_hint` is its size as fstat gave it: the first read asks for just
    that much. (A buffered `read(limit + 1)` allocates limit + 1 bytes up front: for a 1 MB
    limit a fresh memory mapping per file, ~25 us each, a noticeable part of a warm build
    that reads ~2,000 small files.)"""
    chunks = []
    total = 0
    want = min(max(size_hint, 0), limit) + 1
    while total <= limit:
        data = os.read(fd, min(max(want - total, 1 << 16), limit + 1 - total))
        if not data:
            break
        chunks.append(data)
        total += len(data)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def read_head(path: str | os.PathLike, limit: int) -> bytes:
    """At most `limit` bytes of a file given on the command line, opened without waiting on a
    named pipe (O_NONBLOCK); OSError as raised. Callers check the file's type first."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as fh:
        return fh.read(limit)


def read_case_file(root: Path, rel: str, limit: int = MAX_YAML_BYTES, *,
                   root_real: Path | None = None, real_paths: RealPaths | None = None) -> bytes:
    """The bytes of case file `rel`; CaseFileError unless it is a safe, small, regular file."""
    full = os.path.join(root, rel) if real_paths is not None else root / rel
    try:
        if not is_inside(root, full, root_real, real_paths):
            raise CaseFileError(f"{rel} is a link that points outside the case folder",
                                "case files must live inside the case folder")
        # O_NONBLOCK: opening a named pipe must not wait for a writer
        fd = os.open(full, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except (OSError, RuntimeError, ValueError) as exc:
        raise CaseFileError(f"cannot read file: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise CaseFileError("not a regular file (a device, pipe or socket)")
        if st.st_size > limit:
            raise CaseFileError(f"file is {st.st_size:,} bytes; the limit is {limit:,}",
                                "an entry is a few lines; is this really a case file?")
        try:
            return read_open_file(fd, limit, st.st_size)
        except OSError as exc:
            raise CaseFileError(f"cannot read file: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


# -- writing inside a case ------------------------------------------------------------------------
#
# Every command that writes into a case folder (new, import, init into an existing folder, add,
# e-mail import, the generated .schema files) goes through safe_case_dir / write_new_file /
# replace_case_file. The case folder itself is the user's choice (it may be reached through a
# link the user made); every folder and file *below* it must be a real folder or file of the
# case: no link is followed, whether it points out of the case or not, and nothing existing is
# overwritten. Where the platform supports it the walk is done with folder descriptors
# (openat, O_NOFOLLOW), so a folder swapped for a link between the check and the write cannot
# redirect it either.

_DIR_FD = os.open in os.supports_dir_fd and os.mkdir in os.supports_dir_fd and hasattr(
    os, "O_NOFOLLOW") and hasattr(os, "O_DIRECTORY")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)


def _case_write_error(rel: str, message: str, hint: str = ""):  # noqa: ANN202 - see below
    from itaoreport.errors import CaseWriteError, Loc

    return CaseWriteError(Loc(rel), message, hint)


def _parts(rel: str | os.PathLike) -> tuple[str, list[str]]:
    """`rel` as posix text and its components; refuses anything but a plain relative path."""
    text = os.fspath(rel)
    shown = text.replace("\\", "/") if os.sep == "\\" else text
    parts = shown.split("/") if shown else []
    if (not parts or shown.startswith("/") or "\0" in shown
            or any(p in ("", ".", "..") for p in parts)
            or (os.name == "nt" and (":" in shown or "\\" in text))):
        raise _case_write_error(short_repr(text)[1:-1] or ".",
                                "not a plain path inside the case folder",
                                "write to a relative path without `..`")
    return "/".join(parts), parts


def _case_root(case_dir: Path, create: bool) -> Path:
    root = Path(case_dir)
    if not root.is_dir():
        if not create or os.path.lexists(root):
            raise _case_write_error(str(root), "no such case folder" if not os.path.lexists(root)
                                    else "not a folder")
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _case_write_error(str(root), f"cannot create the case folder: "
                                    f"{exc.strerror or exc}") from None
    return root


def _open_dir_at(root: Path, parent_fd: int, name: str, shown: str, create: bool) -> int:
    """A descriptor of folder `name` in `parent_fd`, made if missing; refuses links and files."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    try:
        return os.open(name, flags, dir_fd=parent_fd)
    except FileNotFoundError:
        if not create:
            raise _case_write_error(shown, "no such folder in the case") from None
    except OSError as exc:
        raise _folder_refusal(root, parent_fd, name, shown, exc) from None
    try:
        os.mkdir(name, 0o777, dir_fd=parent_fd)
    except FileExistsError:
        pass  # made meanwhile (or a link planted meanwhile: the open below refuses it)
    except OSError as exc:
        raise _case_write_error(shown, f"cannot create the folder: {exc.strerror or exc}") from None
    try:
        return os.open(name, flags, dir_fd=parent_fd)
    except OSError as exc:
        raise _folder_refusal(root, parent_fd, name, shown, exc) from None


def _link_refusal(root: Path, shown: str):  # noqa: ANN202
    try:
        where = "outside the case folder" if not is_inside(root, root / shown) else \
            "elsewhere in the case"
    except (OSError, RuntimeError, ValueError):
        where = "nowhere (a broken link)"
    return _case_write_error(shown, f"is a link that points {where}; nothing is written "
                             "through a link", "replace the link with a real folder and run "
                             "the command again")


def _folder_refusal(root: Path, parent_fd: int, name: str, shown: str,
                    exc: OSError):  # noqa: ANN202
    try:
        st = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
    except OSError:
        return _case_write_error(shown, f"cannot open the folder: {exc.strerror or exc}")
    if stat.S_ISLNK(st.st_mode):
        return _link_refusal(root, shown)
    if not stat.S_ISDIR(st.st_mode):
        return _case_write_error(shown, "is not a folder")
    return _case_write_error(shown, f"cannot open the folder: {exc.strerror or exc}")


def _walk_dirs(root: Path, parts: list[str], create: bool) -> int:
    """A descriptor of folder root/parts..., each component checked (descriptor-based walk)."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for n, name in enumerate(parts, start=1):
            next_fd = _open_dir_at(root, fd, name, "/".join(parts[:n]), create)
            os.close(fd)
            fd = next_fd
    except BaseException:
        os.close(fd)
        raise
    return fd


def _check_dirs_by_path(root: Path, parts: list[str], create: bool) -> Path:
    """The same walk by path, for platforms without openat (Windows)."""
    folder = root
    for n, name in enumerate(parts, start=1):
        folder = folder / name
        shown = "/".join(parts[:n])
        if not os.path.lexists(folder):
            if not create:
                raise _case_write_error(shown, "no such folder in the case")
            try:
                folder.mkdir()
            except FileExistsError:
                pass
            except OSError as exc:
                raise _case_write_error(shown, f"cannot create the folder: "
                                        f"{exc.strerror or exc}") from None
        st = os.lstat(folder)
        if stat.S_ISLNK(st.st_mode) or getattr(st, "st_reparse_tag", 0):
            raise _link_refusal(root, shown)
        if not stat.S_ISDIR(st.st_mode):
            raise _case_write_error(shown, "is not a folder")
    return folder


def safe_case_dir(case_dir: str | os.PathLike, rel: str | os.PathLike, create: bool = True) -> Path:
    """Folder `rel` of the case (posix, relative), every component a real folder, made as needed.

    Raises CaseWriteError (located at the offending component) when a component is
    a link (even one that stays inside the case), a file, a device, or cannot be
    made, or when `rel` is absolute or has `..`. `rel` "." or "" is the case folder.
    The case folder itself is made when missing and `create` is true.
    """
    root = _case_root(Path(case_dir), create)
    text = os.fspath(rel)
    if text in ("", "."):
        return root
    _, parts = _parts(text)
    if _DIR_FD:
        try:
            os.close(_walk_dirs(root, parts, create))
        except OSError as exc:
            raise _case_write_error(str(root), f"cannot open the case folder: "
                                    f"{exc.strerror or exc}") from None
        return root.joinpath(*parts)
    return _check_dirs_by_path(root, parts, create)


def write_new_file(case_dir: str | os.PathLike, rel: str | os.PathLike, data: bytes) -> Path:
    """Create case file `rel` holding `data`; never overwrites, never follows a link.

    The folders on the way are checked (and made) as safe_case_dir does; the file is
    created with O_CREAT|O_EXCL|O_NOFOLLOW, so an existing file, a dangling link or a
    link to anything is refused with FileExistsError (a subclass of OSError; callers
    that pick names choose another, as `new` does with -2, -3, ...). Every other
    failure is CaseWriteError. A file whose write fails half way is removed.
    """
    text, parts = _parts(rel)
    root = _case_root(Path(case_dir), True)
    with _Folder(root, parts[:-1]) as folder:
        folder.create(parts[-1], data, text)
    return root.joinpath(*parts)


def replace_case_file(case_dir: str | os.PathLike, rel: str | os.PathLike, data: bytes) -> Path:
    """Write generated case file `rel` (e.g. .schema/*.json): a new file renamed over the old.

    For files itaoreport owns and refreshes. The folders are checked as
    safe_case_dir does; the old file, even a link, is replaced, never written
    through. A folder or device at `rel` is refused.
    """
    import secrets

    text, parts = _parts(rel)
    root = _case_root(Path(case_dir), True)
    with _Folder(root, parts[:-1]) as folder:
        st = folder.lstat(parts[-1], text)
        if st is not None and not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
            raise _case_write_error(text, "is not a regular file")
        while True:
            tmp = f"{TEMP_PREFIX}{parts[-1]}.{os.getpid()}-{secrets.token_hex(4)}{TEMP_SUFFIX}"
            try:
                folder.create(tmp, data, text)
                break
            except FileExistsError:
                continue
        folder.replace(tmp, parts[-1], text)
    return root.joinpath(*parts)


TEMP_PREFIX = ".itaoreport-"
TEMP_SUFFIX = ".tmp"
"""Temporary files itaoreport makes: `.itaoreport-<name>.<pid>-<8 random>.tmp` (write.py cleans
those a killed process left)."""


class _Folder:
    """A checked folder of the case: a descriptor where openat exists, else a checked path."""

    def __init__(self, root: Path, parts: list[str]):
        self.root, self.parts = root, parts

    def __enter__(self) -> "_Folder":
        if _DIR_FD:
            try:
                self.fd = _walk_dirs(self.root, self.parts, True)
            except OSError as exc:
                raise _case_write_error(str(self.root), f"cannot open the case folder: "
                                        f"{exc.strerror or exc}") from None
            self.path = None
        else:
            self.fd = None
            self.path = _check_dirs_by_path(self.root, self.parts, True)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)

    def _at(self, name: str) -> tuple[str, dict]:
        if self.fd is not None:
            return name, {"dir_fd": self.fd}
        return os.path.join(self.path, name), {}

    def lstat(self, name: str, shown: str) -> os.stat_result | None:
        path, kw = self._at(name)
        try:
            return os.stat(path, follow_symlinks=False, **kw)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise _case_write_error(shown, f"cannot write the file: {exc.strerror or exc}") \
                from None

    def create(self, name: str, data: bytes, shown: str) -> None:
        path, kw = self._at(name)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY
        try:
            fd = os.open(path, flags, 0o666, **kw)
        except FileExistsError:
            raise
        except OSError as exc:
            raise _case_write_error(shown, f"cannot create the file: {exc.strerror or exc}") \
                from None
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        except OSError as exc:
            self.remove(name)
            raise _case_write_error(shown, f"cannot write the file: {exc.strerror or exc}") \
                from None

    def remove(self, name: str) -> None:
        path, kw = self._at(name)
        try:
            os.unlink(path, **kw)
        except OSError:
            pass

    def replace(self, src: str, dst: str, shown: str) -> None:
        (src_path, kw), (dst_path, _) = self._at(src), self._at(dst)
        extra = {"src_dir_fd": self.fd, "dst_dir_fd": self.fd} if kw else {}
        try:
            os.replace(src_path, dst_path, **extra)
        except OSError as exc:
            self.remove(src)
            raise _case_write_error(shown, f"cannot write the file: {exc.strerror or exc}") \
                from None

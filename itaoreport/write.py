"""The only stage that touches the output folder: atomic writes after everything succeeded."""

from __future__ import annotations

import os
import re
import stat
import tempfile
from pathlib import Path, PurePosixPath

from itaoreport.case.safety import RealPaths
from itaoreport.errors import ItaoError


class OutputError(ItaoError):
    """The output folder cannot be used or written."""


TEMP_PREFIX = ".itaoreport-"
TEMP_SUFFIX = ".tmp"
_OUR_TEMP = re.compile(r"^\.itaoreport-.+\.(\d{1,10})-[A-Za-z0-9_]{8}\.tmp$")
"""Our temporary files only: `.itaoreport-<target name>.<pid>-<8 random>.tmp`."""
STALE_SECONDS = 3600
"""A temporary file of a process that may still be alive is left alone this long."""
MAX_CLEAN_FILES = 200_000


def temp_prefix(name: str) -> str:
    """The start of a temporary file name for target `name` (mkstemp adds 8 random characters)."""
    return f"{TEMP_PREFIX}{name}.{os.getpid()}-"


def clean_stale_temps(folder: Path) -> list[Path]:
    """Delete temporary files a killed itaoreport left in `folder` (recursively); return them.

    Only names of our own pattern (`.itaoreport-NAME.PID-XXXXXXXX.tmp`), only
    regular files (never a link, never through a folder link), and only when the
    process that made it is gone (or the file is over an hour old where that
    cannot be told), so a build running beside this one keeps its files.
    """
    removed: list[Path] = []
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return removed
    except OSError:
        return removed
    seen = 0
    for here, dirs, files in os.walk(folder):  # os.walk does not follow folder links
        for name in files:
            seen += 1
            if seen > MAX_CLEAN_FILES:
                return removed
            match = _OUR_TEMP.match(name)
            if not match:
                continue
            path = Path(here) / name
            try:
                st = os.lstat(path)
                if stat.S_ISREG(st.st_mode) and _stale(int(match.group(1)), st.st_mtime):
                    os.unlink(path)
                    removed.append(path)
            except OSError:
                continue
    return removed


def _stale(pid: int, mtime: float) -> bool:
    import time

    if time.time() - mtime > STALE_SECONDS:
        return True
    if pid == os.getpid() or os.name == "nt":  # Windows: os.kill would end the process
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _stage(path: Path, data: bytes) -> str:
    """Write `data` to a new temporary file beside `path`, synced to disk; return its name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path.name), suffix=TEMP_SUFFIX,
                               dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        _discard(tmp)
        raise
    return tmp


def _discard(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename it into place."""
    tmp = _stage(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        _discard(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_outputs(out_dir: Path, files: dict[str, bytes]) -> list[Path]:
    """Write every file (relative posix name -> bytes) as one set.

    Every new file is first written completely beside its target; only when all
    of them are on disk are they renamed over the previous ones. A failure while
    writing (disk full, permissions) therefore leaves the last report as it was.
    """
    staged: list[tuple[str, Path]] = []
    written: list[Path] = []
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        clean_stale_temps(out_dir)  # left by a build that was killed while writing
        checked: dict[Path, Path] = {}
        for name in sorted(files):
            rel = PurePosixPath(name)
            if rel.is_absolute() or ".." in rel.parts:
                raise OutputError(f"refusing to write outside the output folder: {name}")
            target = out_dir.joinpath(*rel.parts)
            _check_no_link_out(out_dir, target, checked)
            if _same_content(target, files[name]):
                written.append(target)
                continue
            staged.append((_stage(target, files[name]), target))
        for tmp, target in staged:
            os.replace(tmp, target)
            written.append(target)
    except OSError as exc:
        raise OutputError(f"cannot write to {out_dir}: {exc.strerror or exc}") from None
    finally:
        for tmp, _target in staged:
            if os.path.lexists(tmp):
                _discard(tmp)
    return sorted(written)


def _same_content(target: Path, data: bytes) -> bool:
    """True if `target` is a regular file (not a link) already holding exactly `data`."""
    try:
        st = target.lstat()
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode) or st.st_size != len(data):
        return False
    return target.read_bytes() == data


def _check_no_link_out(out_dir: Path, target: Path, checked: dict[Path, Path] | None = None
                       ) -> None:
    """Refuse to write through a folder link (e.g. build/assets) that leads out of `out_dir`.

    checked: folders already found safe in this write (folder -> out_dir resolved)."""
    if checked is not None and target.parent in checked:
        return
    parent = target.parent
    while parent != out_dir and not parent.exists():
        parent = parent.parent
    root = checked.get(out_dir) if checked else None
    if root is None:
        root = out_dir.resolve()
    real = parent.resolve()
    if real != root and root not in real.parents:
        raise OutputError(f"refusing to write {target}: {parent} is a link that points outside "
                          f"the output folder {out_dir}")
    if checked is not None and parent == target.parent:
        checked[parent] = root
        checked.setdefault(out_dir, root)


def check_output_dir(case_root: Path, out_dir: Path, evidence_paths: list[str]) -> None:
    """Refuse an output folder that is the case folder, or that holds evidence or entries.

    A folder inside the case (such as the default build/) must also really be
    inside it: a case may ship `build` as a link to somewhere else.
    """
    root = case_root.resolve()
    out = out_dir.resolve()
    lexical = Path(os.path.abspath(out_dir))
    lexical_root = Path(os.path.abspath(case_root))
    if lexical_root in lexical.parents and out != root and root not in out.parents:
        raise OutputError(f"the output folder {out_dir} is a link that points outside the case "
                          "folder; delete the link or choose another folder with -o")
    if out == root:
        raise OutputError("the output folder cannot be the case folder itself; use e.g. -o build")
    if out in root.parents:
        raise OutputError(f"the output folder {out_dir} contains the case folder; choose another")
    real_paths = RealPaths()
    inside_out = os.path.join(out, "")  # a path inside `out` starts with this
    base = os.fspath(root)
    for rel in evidence_paths:
        target = real_paths.resolve_text(os.path.join(base, rel))
        if os.fspath(target).startswith(inside_out):
            raise OutputError(
                f"the output folder {out_dir} contains evidence ({rel}); choose another folder"
            )
    if (out / "case.yaml").exists() or (out / "entries").is_dir() and out != root / "build":
        raise OutputError(f"the output folder {out_dir} looks like a case folder; choose another")

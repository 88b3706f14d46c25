"""The only stage that touches the output folder: atomic writes after everything succeeded."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path, PurePosixPath

from itaoreport.errors import ItaoError


class OutputError(ItaoError):
    """The output folder cannot be used or written."""


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_outputs(out_dir: Path, files: dict[str, bytes]) -> list[Path]:
    """Write every file (relative posix name -> bytes); each one appears whole or not at all."""
    written = []
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in sorted(files):
            rel = PurePosixPath(name)
            if rel.is_absolute() or ".." in rel.parts:
                raise OutputError(f"refusing to write outside the output folder: {name}")
            target = out_dir.joinpath(*rel.parts)
            if target.is_file() and target.read_bytes() == files[name]:
                written.append(target)
                continue
            write_atomic(target, files[name])
            written.append(target)
    except OSError as exc:
        raise OutputError(f"cannot write to {out_dir}: {exc.strerror or exc}") from None
    return written


def check_output_dir(case_root: Path, out_dir: Path, evidence_paths: list[str]) -> None:
    """Refuse an output folder that is the case folder, or that holds evidence or entries."""
    root = case_root.resolve()
    out = out_dir.resolve()
    if out == root:
        raise OutputError("the output folder cannot be the case folder itself; use e.g. -o build")
    if out in root.parents:
        raise OutputError(f"the output folder {out_dir} contains the case folder; choose another")
    for rel in evidence_paths:
        target = (root / rel).resolve()
        if out == target.parent or out in target.parents:
            raise OutputError(
                f"the output folder {out_dir} contains evidence ({rel}); choose another folder"
            )
    if (out / "case.yaml").exists() or (out / "entries").is_dir() and out != root / "build":
        raise OutputError(f"the output folder {out_dir} looks like a case folder; choose another")

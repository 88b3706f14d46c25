"""Helpers for the hostile-input tests: run the CLI, check a failure is clean, hash folders."""

from __future__ import annotations

import hashlib
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

from click.testing import CliRunner, Result

from itaoreport.cli import main

HOSTILE = Path(__file__).resolve().parent / "hostile"
HANG_GUARD_SECONDS = 60
"""A pathological case must end long before this; the timeout only stops a hang."""


def run_cli(*args: object) -> Result:
    """Invoke the CLI in-process, the way a user would type it."""
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_clean_failure(result: Result, *expected: str) -> str:
    """Exit 1 through the tool's own error path, no traceback, every expected text shown."""
    output = result.output
    assert result.exit_code == 1, output
    # CliRunner turns an escaped exception into exit 1 too; only SystemExit is a clean exit
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in output, output
    assert "internal error" not in output, output
    for text in expected:
        assert text in output, f"{text!r} not in:\n{output}"
    return output


def run_subprocess(*args: object, timeout: float = HANG_GUARD_SECONDS,
                   cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run `python -m itaoreport ...` in a child process, so a crash or hang cannot take pytest."""
    env = {**os.environ, "PYTHONFAULTHANDLER": "1"}
    env.pop("ITAOREPORT_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "itaoreport", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env,
                          check=False)


def assert_clean_subprocess_failure(proc: subprocess.CompletedProcess, *expected: str) -> None:
    """Exit status 1 (not a signal, not 2), no traceback, every expected text on stderr."""
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr and "Fatal Python error" not in proc.stderr
    for text in expected:
        assert text in proc.stderr, f"{text!r} not in:\n{proc.stderr[-2000:]}"


def file_outside(tmp_path: Path, name: str, text: str) -> Path:
    """A file beside the case folder (never inside it) that no command may read or change."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def digest_tree(root: Path) -> dict[str, str]:
    """SHA-256 of every file under root (links followed), by relative path.

    The analysis cache (.itaoreport/) is not evidence and may change; it is left out.
    """
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))
            if p.is_file() and ".itaoreport" not in p.relative_to(root).parts}


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(width: int, height: int) -> bytes:
    """A well-formed PNG of about 60 bytes whose header claims width x height pixels.

    The image data is a single empty zlib stream: decoding it would allocate the
    full claimed size first, which is what a decompression bomb relies on.
    """
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
            + _png_chunk(b"IDAT", zlib.compress(b"")) + _png_chunk(b"IEND", b""))


def expectation(path: Path) -> tuple[int, int, str]:
    """The `# expect: LINE:COL: message` first line of a corpus file."""
    first = path.read_bytes().split(b"\n", 1)[0].decode("utf-8")
    assert first.startswith("# expect: "), path
    where, message = first[len("# expect: "):].split(": ", 1)
    line, col = where.split(":")
    return int(line), int(col), message

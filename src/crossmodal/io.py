"""Atomic file writing: a reader (or Snakemake) never sees a half-written output."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _umask_file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _umask_file_mode()


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    On any exception the temporary file is removed and ``target`` is left untouched,
    so an interrupted or failing job never leaves a partial output behind.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Keep the real suffix last so writers that pick a format from it (np.save) still work.
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".part{target.suffix}", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, _FILE_MODE)  # mkstemp creates 0600; outputs should be readable like any file
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text_atomic(target: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


@contextlib.contextmanager
def log_to(log_path: str | os.PathLike[str]) -> Iterator[None]:
    """Send stderr (progress bars, messages) to a rule's log file.

    An exception is written to the log in full and reported as ONE line on the real stderr,
    followed by exit status 1, so the terminal shows the cause rather than a traceback.
    """
    import sys
    import traceback

    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    real_stderr = sys.stderr
    with open(log_path, "w", encoding="utf-8") as log:
        sys.stderr = log
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - reported, then the job fails
            traceback.print_exc(file=log)
            sys.stderr = real_stderr
            print(f"error: {type(exc).__name__}: {exc} (details: {log_path})", file=real_stderr)
            raise SystemExit(1) from None
        finally:
            sys.stderr = real_stderr

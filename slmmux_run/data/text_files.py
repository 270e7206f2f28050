"""Open a data file, plain or gzip-compressed by its suffix: the one place that knows ``.gz``.

Data layer of the runner (``slmmux_run.data``). Raw record files may be stored compressed
(``records.jsonl.gz``); every loader reads them through :func:`read_bytes` or :func:`open_text`
so that compression is transparent. Writing stays with the stores (an append-only store refuses
a compressed file: appending to gzip would need rewriting it).

Example:
  >>> import gzip, os, tempfile
  >>> path = os.path.join(tempfile.mkdtemp(), "rows.jsonl.gz")
  >>> with gzip.open(path, "wt", encoding="utf-8") as handle:
  ...     _ = handle.write('{"a": 1}\\n')
  >>> with open_text(path) as handle:
  ...     handle.read()
  '{"a": 1}\\n'
"""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path
from typing import TextIO

from slmmux_run.errors import UserError

__all__ = ["is_compressed", "open_text", "read_bytes", "read_text"]


def is_compressed(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a gzip file (by its ``.gz`` suffix)."""
    return Path(path).suffix == ".gz"


def read_bytes(path: str | os.PathLike) -> bytes:
    """The file's content, decompressed when its name ends in ``.gz``.

    Raises:
      OSError: as :func:`open`; ``gzip.BadGzipFile`` (an OSError) for a broken ``.gz`` file.
    """
    if is_compressed(path):
        with gzip.open(path, "rb") as handle:
            return handle.read()
    return Path(path).read_bytes()


def read_text(path: str | os.PathLike, flag: str | None = None) -> str:
    """The whole file as UTF-8 text (decompressed by its suffix), every failure a UserError.

    Args:
      path: the file.
      flag: the flag that named it (``--config``), for the message; None names the file alone.

    Raises:
      UserError: the file is missing, a folder, unreadable, a broken ``.gz`` or not UTF-8.
    """
    where = f"{path}" if flag is None else f"{flag} {path}"
    if not os.path.exists(path):
        raise UserError(f"{where}: file does not exist")
    if os.path.isdir(path):
        raise UserError(f"{where}: is a folder, not a file")
    try:
        return read_bytes(path).decode("utf-8")
    except UnicodeDecodeError as error:
        raise UserError(f"{where}: not UTF-8 text ({error.reason} at byte "
                        f"{error.start})") from None
    except (OSError, EOFError) as error:
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise UserError(f"{where}: cannot be read ({reason})") from None


def open_text(path: str | os.PathLike) -> TextIO:
    """Open for reading as UTF-8 text, decompressing a ``.gz`` file on the fly."""
    if is_compressed(path):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return open(path, encoding="utf-8")

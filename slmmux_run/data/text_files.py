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

__all__ = ["is_compressed", "open_text", "read_bytes"]


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


def open_text(path: str | os.PathLike) -> TextIO:
    """Open for reading as UTF-8 text, decompressing a ``.gz`` file on the fly."""
    if is_compressed(path):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return open(path, encoding="utf-8")

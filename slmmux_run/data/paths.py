"""Where the shared real data lives: a flag, then ``SLMMUX_DATA_DIR``, then ``../shared/data``.

The data files are never copied into the project (see README, "Data"). Every loader resolves
its file through :func:`data_dir` so one flag or one environment variable moves all of them.
"""

from __future__ import annotations

import os
from pathlib import Path

from slmmux_run.errors import UserError

__all__ = ["DATA_DIR_ENV", "data_dir", "data_file"]

DATA_DIR_ENV = "SLMMUX_DATA_DIR"


def _default_candidates() -> list[Path]:
    here = Path(__file__).resolve().parents[2]
    return [Path.cwd() / ".." / "shared" / "data", here / ".." / "shared" / "data"]


def data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """Resolve the data directory.

    Args:
      explicit: a directory given on the command line; wins over everything else.

    Returns:
      The directory, which exists.

    Raises:
      UserError: if no candidate directory exists.
    """
    if explicit is not None:
        path = Path(explicit)
        if not path.is_dir():
            raise UserError(f"data directory {path} (from --data-dir) does not exist")
        return path
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        path = Path(env)
        if not path.is_dir():
            raise UserError(f"data directory {path} (from ${DATA_DIR_ENV}) does not exist")
        return path
    for candidate in _default_candidates():
        if candidate.is_dir():
            return candidate.resolve()
    raise UserError(
        f"no data directory: pass --data-dir or set ${DATA_DIR_ENV} "
        "(the README's 'Data' section says where each file comes from)"
    )


def data_file(relative: str, explicit_dir: str | os.PathLike | None = None) -> Path:
    """Path of one shared data file, e.g. ``samples/gsm8k_train_250x10_13models.jsonl``.

    Raises:
      UserError: naming the file when it is missing.
    """
    path = data_dir(explicit_dir) / relative
    if not path.is_file():
        raise UserError(f"data file {path} does not exist (see the README's 'Data' section)")
    return path

"""Where a study's raw JSONL store is: compressed (``<stem>.jsonl.gz``) once committed, else plain.

Shared by the study scripts; the loaders read either (``slmmux_run.data.text_files``).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["stored_jsonl"]


def stored_jsonl(folder, stem: str) -> Path:
    """``folder/<stem>.jsonl.gz`` when it exists, else ``folder/<stem>.jsonl``."""
    compressed = Path(folder) / f"{stem}.jsonl.gz"
    return compressed if compressed.is_file() else Path(folder) / f"{stem}.jsonl"

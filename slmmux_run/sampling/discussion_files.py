"""Read a discussion transcript file strictly: every bad line is a :class:`UserError` naming
``FILE:LINE`` (only a torn last line, the trace of a killed writer, is passed over).

Runner layer (``slmmux_run.sampling``): the reader behind
:meth:`TranscriptStore.turns` (the append-only transcript store, here too) and the analyses of
:mod:`slmmux_run.debate_study`, which need at least one turn (:func:`load_turns`).

Example:
  >>> import tempfile
  >>> from pathlib import Path
  >>> path = Path(tempfile.mkdtemp()) / "t.jsonl"
  >>> _ = path.write_text('{"schema": "slmmux-discussion/1", "method": "de')  # torn
  >>> read_turns(path)
  []
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from slmmux_run.data.text_files import is_compressed, read_text
from slmmux_run.errors import UserError
from slmmux_run.sampling.discussion import SCHEMA, Turn
from slmmux_run.sampling.spent import Spent

__all__ = ["TranscriptStore", "load_turns", "read_turns", "spent_in_turns"]


def read_turns(path: str | os.PathLike) -> list:
    """The :class:`~slmmux_run.sampling.discussion.Turn` lines of ``path`` in file order (none
    for a missing or empty file); lines of other schemas are skipped.

    Raises:
      UserError: for a folder, an unreadable or non-UTF-8 file, a complete line that is not a
        JSON object, or a turn line with wrong fields (naming ``FILE:LINE``).
    """
    path = Path(path)
    if not path.exists():
        return []
    if path.is_dir():
        raise UserError(f"transcript file {path} is a folder; give a file")
    lines = read_text(path).split("\n")
    turns = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or (number == len(lines) and not _parses(line)):
            continue  # blank, or the torn tail of a killed writer (no newline at the end)
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            raise UserError(f"{path}:{number}: invalid JSON ({error.msg})") from None
        if not isinstance(data, dict):
            raise UserError(f"{path}:{number}: expected a JSON object, got {type(data).__name__}")
        if data.get("schema") == SCHEMA:
            try:
                turns.append(Turn.from_dict(data))
            except TypeError as error:
                raise UserError(f"{path}:{number}: not a transcript turn ({error})") from None
    return turns


def _parses(line: str) -> bool:
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True


def load_turns(path: str | os.PathLike, flag: str = "--transcripts") -> list:
    """:func:`read_turns` of a file that must exist and hold at least one turn.

    Raises:
      UserError: naming the flag and the file.
    """
    path = Path(path)
    if not path.exists():
        raise UserError(f"{flag} {path} does not exist")
    turns = read_turns(path)
    if not turns:
        raise UserError(f"{flag} {path}: no discussion turns in it (lines with "
                        f"\"schema\": \"slmmux-discussion/1\")")
    return turns


def spent_in_turns(turns: Sequence[Turn], config=None) -> Spent:
    """What a transcript file has spent, for the caps of ``debate run`` (they are for the file,
    as ``collect``'s are for its records file: what it already holds counts).

    Requests are the turns' ``calls`` (HTTP attempts, failed ones included; 0 for a turn the
    budget refused). Money is priced from each turn's stored tokens with the config's prices
    (:class:`~slmmux_run.sampling.spending.Price`, a per-call price per attempt): a transcript
    keeps tokens, not the client's charges, so an attempt whose bill was unknown (a timeout) is
    counted at its per-call price only. No send times are kept (the rate limit starts afresh).

    Args:
      turns: every stored turn (:meth:`TranscriptStore.turns`).
      config: the :class:`~slmmux_run.sampling.config.RunnerConfig` (None: everything costs 0).

    >>> from slmmux_run.sampling.discussion import Turn
    >>> turn = Turn("debate", "d", "q", 1, 0, "a", "m", "p", (), "7", "7", True, "7", 10, 2, 3, 0)
    >>> spent = spent_in_turns([turn, turn])
    >>> spent.requests, spent.cost, spent.completion
    (6, 0.0, {'m': (4, 2)})
    """
    prices = {name: model.price for name, model in config.models.items()} if config else {}
    requests, cost = 0, 0.0
    completion: dict[str, tuple[int, int]] = {}
    for turn in turns:
        calls = turn.calls if isinstance(turn.calls, int) and turn.calls > 0 else 0
        requests += calls
        price = prices.get(turn.model)
        if price is not None and calls:
            cost += price.cost(turn.prompt_tokens or 0, turn.completion_tokens or 0, calls)
        if turn.error is None and turn.text is not None:
            tokens, count = completion.get(turn.model, (0, 0))
            completion[turn.model] = (tokens + int(turn.completion_tokens or 0), count + 1)
    return Spent(requests, cost, {}, completion)


class TranscriptStore:
    """Append-only JSONL of :class:`Turn` lines; one write per whole discussion.

    Args:
      path: the file (created on first append).

    >>> import tempfile
    >>> store = TranscriptStore(Path(tempfile.mkdtemp()) / "t.jsonl")
    >>> store.done_ids()
    set()
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"TranscriptStore({str(self.path)!r})"

    def turns(self) -> list[Turn]:
        """Every stored turn, in file order; a torn last line (killed writer) is ignored, any
        other bad line is an error naming it (see
        :func:`read_turns`; ``.jsonl.gz`` is read too)."""
        return read_turns(self.path)

    def done_ids(self) -> set[str]:
        """Discussion ids already stored."""
        return {turn.discussion_id for turn in self.turns()}

    def append_discussion(self, turns: Sequence[Turn]) -> None:
        """Append all turns of one discussion in a single write (atomic for our sizes).

        Raises:
          ValueError: if the file is compressed (``.gz`` files are read-only archives).
        """
        if is_compressed(self.path):
            raise ValueError(f"{self.path}: a compressed transcript file cannot be appended to")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = b"".join(
            json.dumps(t.to_dict(), sort_keys=True, ensure_ascii=False).encode() + b"\n"
            for t in turns
        )
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, payload)
            os.fsync(fd)
        finally:
            os.close(fd)

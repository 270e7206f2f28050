"""Append-only JSONL store of samples: the cache of every real run, and what ``--resume`` reads.

Floor 1 of the runner. One line per (task, question_id, model, prompt_version, sample_index)
holds the request settings, raw text, extracted answer (filled by the caller), usage and timing;
everything downstream is recomputed from these lines (STYLE.md §6).

Crash safety: every append is one ``os.write`` of complete lines on an ``O_APPEND`` descriptor,
followed by ``fsync``. A process killed mid-write can therefore leave at most a torn last line
(no trailing newline, or not JSON); loading ignores it and the next append truncates it away, so
the file stays valid JSONL. A bad line anywhere else is corruption, reported as a UserError
naming the file and line. A failed sample (``error`` set) does not count as done, so a resumed
run retries it; a later success supersedes it.

A store whose name ends in ``.gz`` is read transparently (raw records are kept compressed in the
repository) and refuses appends.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, NamedTuple, Sequence

from slmmux_run.data.text_files import is_compressed, read_bytes
from slmmux_run.errors import UserError

__all__ = ["Record", "RecordKey", "RecordStore"]


class RecordKey(NamedTuple):
    """Identity of one sample; the store holds at most one successful record per key.

    Attributes:
      task: task name, e.g. ``"addition-1digit"``.
      question_id: question identifier within the task.
      model: model name from the config.
      prompt_version: version of the prompt template.
      sample_index: index in ``0..k-1``.
    """

    task: str
    question_id: str
    model: str
    prompt_version: str
    sample_index: int


@dataclass(frozen=True)
class Record:
    """One stored sample.

    Attributes:
      task, question_id, model, prompt_version, sample_index: the key (see :class:`RecordKey`).
      request: request settings (model id, api, temperature, max_tokens, seed sent, n sent, ...).
      text: raw completion text, or None when the sample failed.
      answer: extracted answer, filled by the caller (None when nothing was extracted).
      usage: token counts (see :class:`slmmux_run.sampling.client.Usage`), or None.
      timing: latency and wall-clock time of the request.
      error: None, or a short redacted error.
      extra: anything else the caller wants kept (finish_reason, fingerprint, grading, ...).
    """

    task: str
    question_id: str
    model: str
    prompt_version: str
    sample_index: int
    request: dict[str, Any] = field(default_factory=dict)
    text: str | None = None
    answer: str | None = None
    usage: dict[str, Any] | None = None
    timing: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> RecordKey:
        """The record's identity."""
        return RecordKey(
            self.task, self.question_id, self.model, self.prompt_version, self.sample_index
        )

    def to_line(self) -> bytes:
        """One JSONL line, newline included."""
        return (json.dumps(asdict(self), ensure_ascii=False, sort_keys=True) + "\n").encode()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Record":
        """Inverse of :meth:`to_line` (after ``json.loads``)."""
        return cls(**data)


class RecordStore:
    """An append-only JSONL file of :class:`Record` lines.

    Args:
      path: the JSONL file; created on first append.

    >>> import tempfile, os
    >>> store = RecordStore(os.path.join(tempfile.mkdtemp(), "r.jsonl"))
    >>> store.append(Record("t", "q1", "m", "v1", 0, text="7"))
    >>> store.missing([RecordKey("t", "q1", "m", "v1", i) for i in range(2)])
    [RecordKey(task='t', question_id='q1', model='m', prompt_version='v1', sample_index=1)]
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._records: list[Record] = []
        self._done: set[RecordKey] = set()
        self._valid_bytes = 0  # length of the file's valid prefix
        self._load()

    def __repr__(self) -> str:
        return f"RecordStore({str(self.path)!r}, records={len(self._records)})"

    def _load(self) -> None:
        if not self.path.exists():
            return
        records, self._valid_bytes = self._parse(read_bytes(self.path), first_line=1)
        self._records = records
        self._done = {r.key for r in records if r.error is None}

    def _parse(self, data: bytes, first_line: int) -> tuple[list[Record], int]:
        """Records in ``data`` and the length of its valid prefix (a torn tail excluded)."""
        lines = data.split(b"\n")
        # After the last newline there is either nothing or a torn line.
        complete, tail = lines[:-1], lines[-1]
        offset = 0
        records = []
        for number, raw in enumerate(complete, start=first_line):
            end = offset + len(raw) + 1
            try:
                record = Record.from_dict(json.loads(raw))
            except (ValueError, TypeError) as error:
                if number == first_line + len(complete) - 1 and not tail:
                    break  # torn last line that happens to end in a newline byte
                raise UserError(
                    f"record file {self.path}, line {number}: not a valid record ({error})"
                ) from None
            records.append(record)
            offset = end
        return records, offset

    @property
    def records(self) -> list[Record]:
        """All stored records in file order (failed ones included)."""
        return list(self._records)

    def latest(self) -> dict[RecordKey, Record]:
        """One record per key: the successful one if any, else the last failure."""
        chosen: dict[RecordKey, Record] = {}
        for record in self._records:
            current = chosen.get(record.key)
            if current is None or current.error is not None:
                chosen[record.key] = record
        return chosen

    def done_keys(self) -> set[RecordKey]:
        """Keys with a successful record."""
        return set(self._done)

    def missing(self, requested: Iterable[RecordKey]) -> list[RecordKey]:
        """The requested keys without a successful record, in the order given."""
        return [key for key in requested if key not in self._done]

    def append(self, record: Record) -> None:
        """Append one record durably (see :meth:`append_many`)."""
        self.append_many([record])

    def append_many(self, records: Sequence[Record]) -> None:
        """Append records in ONE write, then fsync: after a crash all or none are present.

        Raises:
          ValueError: if a successful record's key is already done (it would be paid twice).
          UserError: if the store is a compressed (``.gz``) file.
        """
        if not records:
            return
        if is_compressed(self.path):
            raise UserError(
                f"record file {self.path} is compressed (.gz) and read-only; decompress it "
                f"(gunzip) to append to it"
            )
        with self._lock:
            keys = [r.key for r in records if r.error is None]
            duplicates = (set(keys) & self._done) or (len(set(keys)) < len(keys))
            if duplicates:
                raise ValueError(f"{self.path}: duplicate successful record key(s)")
            payload = b"".join(r.to_line() for r in records)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                self._catch_up(fd)
                size = os.fstat(fd).st_size
                if size > self._valid_bytes:
                    # A torn tail left by a killed writer: cut it so the file stays valid JSONL.
                    os.ftruncate(fd, self._valid_bytes)
                keys = [r.key for r in records if r.error is None]
                if set(keys) & self._done:
                    raise ValueError(f"{self.path}: duplicate successful record key(s)")
                written = os.write(fd, payload)
                if written != len(payload):
                    raise OSError(f"{self.path}: short write ({written} of {len(payload)} bytes)")
                os.fsync(fd)
            finally:
                os.close(fd)
            self._valid_bytes += len(payload)
            self._records.extend(records)
            self._done.update(keys)

    def _catch_up(self, fd: int) -> None:
        """Index lines another process appended since we last looked (we hold the flock)."""
        size = os.fstat(fd).st_size
        if size <= self._valid_bytes:
            return
        data = os.pread(fd, size - self._valid_bytes, self._valid_bytes)
        first_line = len(self._records) + 1
        records, valid = self._parse(data, first_line)
        self._records.extend(records)
        self._done.update(r.key for r in records if r.error is None)
        self._valid_bytes += valid

    async def append_many_async(self, records: Sequence[Record]) -> None:
        """:meth:`append_many` in a worker thread, so fsync does not stall the event loop."""
        await asyncio.to_thread(self.append_many, records)

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

Ours or not: a store creates its file with the header line :data:`RECORD_HEADER`
(``{"format": "slmmux-records/1"}``), which every reader skips. A file is ours when it is empty,
starts with that header (or with a torn piece of it), or, written before the header existed,
holds at least one record line. Any other file (a ``results.json`` of one line, say) is refused
with a UserError and never touched: a torn last line is only repaired in a file that is ours.

One writer: :meth:`RecordStore.exclusive` holds an exclusive ``flock`` on the sidecar
``<file>.lock`` (holding the writer's pid) for a whole run and checks that the file can be
written before anything is paid for; a second writer fails at once naming the file and the pid.
The lock dies with its process.

A store whose name ends in ``.gz`` is read transparently (raw records are kept compressed in the
repository) and refuses appends.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, NamedTuple, Sequence

from slmmux_run.data.text_files import is_compressed, read_bytes
from slmmux_run.errors import UserError

__all__ = [
    "RECORD_FORMAT", "RECORD_HEADER", "Record", "RecordKey", "RecordStore", "is_record_header",
]

RECORD_FORMAT = "slmmux-records/1"
"""Format version written in the header line of every record file a store creates."""
RECORD_HEADER = (json.dumps({"format": RECORD_FORMAT}) + "\n").encode()
"""The first line of a record file: ``{"format": "slmmux-records/1"}`` and a newline."""
_FORMAT_PREFIX = "slmmux-records/"


def is_record_header(row: Any) -> bool:
    """Whether a parsed JSON line is a record file's format header (any version).

    >>> is_record_header({"format": "slmmux-records/1"}), is_record_header({"task": "t"})
    (True, False)
    """
    return (isinstance(row, dict) and isinstance(row.get("format"), str)
            and row["format"].startswith(_FORMAT_PREFIX))  # fmt: skip


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
    """An append-only JSONL file of :class:`Record` lines, after a :data:`RECORD_HEADER` line.

    Args:
      path: the JSONL file; created (with its header) on first append.

    Raises:
      UserError: if the file exists but is not a record file of ours (see the module docstring),
        or holds a bad line before its last.

    >>> import tempfile, os
    >>> store = RecordStore(os.path.join(tempfile.mkdtemp(), "r.jsonl"))
    >>> store.append(Record("t", "q1", "m", "v1", 0, text="7"))
    >>> store.missing([RecordKey("t", "q1", "m", "v1", i) for i in range(2)])
    [RecordKey(task='t', question_id='q1', model='m', prompt_version='v1', sample_index=1)]
    >>> open(store.path, "rb").readline() == RECORD_HEADER
    True
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._records: list[Record] = []
        self._done: set[RecordKey] = set()
        self._valid_bytes = 0  # length of the file's valid prefix (header included)
        self._header_lines = 0  # 1 when the file starts with a complete header line
        self._load()

    def __repr__(self) -> str:
        return f"RecordStore({str(self.path)!r}, records={len(self._records)})"

    @property
    def first_record_line(self) -> int:
        """The file line number of ``records[0]`` (2 after a header line, else 1)."""
        return self._header_lines + 1

    def _load(self) -> None:
        if not self.path.exists():
            return
        if self.path.is_dir():
            raise UserError(f"record file {self.path} is a directory; give a file name")
        try:
            data = read_bytes(self.path)
        except OSError as error:
            raise UserError(f"record file {self.path} cannot be read ({error})") from None
        self._index(data)

    def _index(self, data: bytes) -> None:
        """Index a whole file's content (we start from nothing)."""
        if RECORD_HEADER.startswith(data):
            return  # empty, or a header torn by a crash: ours, and no record yet
        first, newline, _ = data.partition(b"\n")
        row = None
        if newline:
            try:
                row = json.loads(first)
            except ValueError:
                pass
        if is_record_header(row):
            if row["format"] != RECORD_FORMAT:
                raise UserError(
                    f"record file {self.path} has format {row['format']!r}; this version of "
                    f"slmmux reads {RECORD_FORMAT!r}"
                )
            self._header_lines = 1
            self._valid_bytes = len(first) + 1
        records, valid = self._parse(data[self._valid_bytes:], self._header_lines + 1,
                                     ours=bool(self._header_lines))  # fmt: skip
        self._records = records
        self._done = {r.key for r in records if r.error is None}
        self._valid_bytes += valid

    def _parse(self, data: bytes, first_line: int, ours: bool) -> tuple[list[Record], int]:
        """Records in ``data`` and the length of its valid prefix (a torn tail excluded).

        A torn tail is accepted only when the file is known to be ours (``ours``: it has a
        header or earlier records) or a record line precedes it here; otherwise the file is
        somebody else's and is refused.
        """
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
                if not (ours or records):
                    raise self._not_ours() from None
                if number == first_line + len(complete) - 1 and not tail:
                    break  # torn last line that happens to end in a newline byte
                raise UserError(
                    f"record file {self.path}, line {number}: not a valid record ({error})"
                ) from None
            records.append(record)
            offset = end
        if tail and not (ours or records):
            raise self._not_ours()
        return records, offset

    def _not_ours(self) -> UserError:
        return UserError(
            f"{self.path} is not a slmmux record file (its first line is neither the header "
            f"{RECORD_HEADER.decode().strip()} nor a record); it is left untouched: choose "
            f"another file"
        )

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

    def _refuse_compressed(self) -> None:
        if is_compressed(self.path):
            raise UserError(
                f"record file {self.path} is compressed (.gz) and read-only; decompress it "
                f"(gunzip) to append to it"
            )

    def append_many(self, records: Sequence[Record]) -> None:
        """Append records in ONE write, then fsync: after a crash all or none are present.

        A new (or empty) file gets the :data:`RECORD_HEADER` line in the same write.

        Raises:
          ValueError: if a successful record's key is already done (it would be paid twice).
          UserError: if the store is a compressed (``.gz``) file.
        """
        if not records:
            return
        self._refuse_compressed()
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
                if set(keys) & self._done:
                    raise ValueError(f"{self.path}: duplicate successful record key(s)")
                header = b"" if self._header_lines or self._records else RECORD_HEADER
                self._write(fd, header + payload)
            finally:
                os.close(fd)
            if header:
                self._header_lines, self._valid_bytes = 1, len(header)
            self._valid_bytes += len(payload)
            self._records.extend(records)
            self._done.update(keys)

    def _write(self, fd: int, payload: bytes) -> None:
        """Cut a torn tail, write ``payload`` in one write and fsync (we hold the flock)."""
        if os.fstat(fd).st_size > self._valid_bytes:
            # A torn tail left by a killed writer (the file is ours: _catch_up checked it).
            os.ftruncate(fd, self._valid_bytes)
        written = os.write(fd, payload)
        if written != len(payload):
            raise OSError(f"{self.path}: short write ({written} of {len(payload)} bytes)")
        os.fsync(fd)

    def _catch_up(self, fd: int) -> None:
        """Index lines another process appended since we last looked (we hold the flock)."""
        size = os.fstat(fd).st_size
        if size <= self._valid_bytes:
            return
        data = os.pread(fd, size - self._valid_bytes, self._valid_bytes)
        if self._valid_bytes == 0:
            self._index(data)  # the file was empty or absent when we loaded it
            return
        first_line = self._header_lines + len(self._records) + 1
        records, valid = self._parse(data, first_line, ours=True)
        self._records.extend(records)
        self._done.update(r.key for r in records if r.error is None)
        self._valid_bytes += valid

    async def append_many_async(self, records: Sequence[Record]) -> None:
        """:meth:`append_many` in a worker thread, so fsync does not stall the event loop."""
        await asyncio.to_thread(self.append_many, records)

    @contextlib.contextmanager
    def exclusive(self) -> Iterator["RecordStore"]:
        """Be the file's only writer for a whole run, and check it can be written first.

        Takes a non-blocking exclusive ``flock`` on the sidecar ``<file>.lock`` (writing our pid
        in it), creates the file with its header if it is new (a real write, so a read-only
        folder fails here, before any request is paid for), and indexes what earlier writers
        appended. The lock is released (and the sidecar removed) on exit, and by the kernel
        when the process dies.

        Raises:
          UserError: naming the file: compressed, not writable, or held by another process
            (its pid named).
        """
        self._refuse_compressed()
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock_fd = _lock_sidecar(self.path, lock_path)
        except OSError as error:
            raise UserError(f"cannot write record file {self.path}: {_reason(error)}") from None
        try:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            except OSError as error:
                raise UserError(
                    f"cannot write record file {self.path}: {_reason(error)}"
                ) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                with self._lock:
                    self._catch_up(fd)
                    if not (self._header_lines or self._records):
                        try:
                            self._write(fd, RECORD_HEADER)
                        except OSError as error:
                            raise UserError(
                                f"cannot write record file {self.path}: {_reason(error)}"
                            ) from None
                        self._header_lines, self._valid_bytes = 1, len(RECORD_HEADER)
            finally:
                os.close(fd)
            yield self
        finally:
            with contextlib.suppress(OSError):
                os.unlink(lock_path)  # while holding the lock: see _lock_sidecar
            os.close(lock_fd)


def _reason(error: OSError) -> str:
    return error.strerror or type(error).__name__


def _lock_sidecar(path: Path, lock_path: Path) -> int:
    """An fd holding the exclusive flock of ``lock_path``, with our pid written in it.

    A holder removes the sidecar before releasing it, so after locking we check that the file
    we hold is still the one at ``lock_path`` (else somebody removed it meanwhile: retry).

    Raises:
      UserError: if another process holds the lock (its pid named).
      OSError: if the sidecar cannot be created.
    """
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise UserError(
                f"record file {path} is being written by another process (pid {holder}, lock "
                f"{lock_path}); wait for it to finish or choose another file"
            ) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(lock_path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            return fd
        os.close(fd)

"""The main job's steps in worker processes, two (or ``jobs``) at a time: ``reproduce --jobs``.

Runner layer. The steps are independent (each writes its own folder and draws its randomness
from its own explicit keys), so they can run at once; on a quiet 2-core machine the job used
130 % of one core run by run, the idle share being the single-threaded parts of each step.

* Workers are a :class:`concurrent.futures.ProcessPoolExecutor` started with **spawn** (JAX
  runs threads: a forked copy of a process that imported it can deadlock). Each worker, once,
  switches JAX to 64-bit and points it at the parent's compilation cache folder, as
  :func:`~slmmux_run.reproduce.run_steps` does in one process, so compiled programs are shared.
* Longest steps first (:data:`LONGEST_FIRST`, from measured times), so the short ones fill the
  gaps; the results come back in the order asked, so ``summary.json`` is that of ``--jobs 1``.
* Progress: a worker's lines go to the parent through a queue
  (:func:`slmmux_run.progress.configure` with a sink), and the parent's one line shows the
  steps done, each running step with its elapsed time, and its own latest line. A worker's
  ``print`` and warnings come to the parent as notes prefixed by the step's name.
* A step that raises: the other workers are stopped, the error is raised in the parent as it
  would be in one process (a :class:`~slmmux_run.errors.UserError` is one line; anything else
  a traceback, the worker's attached). Ctrl-C stops the workers and reaches the command line as
  a :class:`KeyboardInterrupt` (one line, exit 130). Workers ignore Ctrl-C themselves: the
  parent ends them; a local model server a worker started exits with it (``--parent-pid``).
"""

from __future__ import annotations

import io
import os
import queue as queue_module
import signal
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Mapping

from slmmux_run.reproduce.context import Context, StepResult

__all__ = ["LONGEST_FIRST", "MAX_USEFUL_JOBS", "default_jobs", "run_parallel", "schedule"]

LONGEST_FIRST = ("groupthink", "local-live", "heldout", "plan", "local-run", "theory", "replay",
                 "model-switch", "search")
"""The steps by their measured wall time, longest first (quiet 2-core machine, cold cache, at
ce0714f: 111.0, 58.3, 54.0, 46.5, 12.7, 10.4, 3.6, 1.4, 0.2 s)."""

MAX_USEFUL_JOBS = 3
"""With three workers the longest step (groupthink, 111 s) already runs alone while the others
share two workers (58.3 + 46.5 and 54.0 + 12.7 + 10.4 + ... s, both under 111 s): a fourth
worker would only cost memory and a JAX start."""

_POLL_SECONDS = 0.2

# ---- the worker's side ------------------------------------------------------------------------

_context: Context | None = None
_queue = None
_step = ""


def _send(kind: str, text: str) -> None:
    _queue.put((kind, _step, text))


class _Lines(io.TextIOBase):
    """A worker's stdout / stderr: each whole line goes to the parent as a note (``fileno``:
    the stream's own descriptor, for code that writes below Python, which cannot be routed)."""

    def __init__(self, fileno: int):
        self._pending, self._fileno = "", fileno

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fileno

    def write(self, text: str) -> int:
        lines = (self._pending + text).split("\n")
        self._pending = lines.pop()
        for line in lines:
            if line.strip():
                _send("note", line)
        return len(text)

    def flush(self) -> None:
        if self._pending.strip():
            _send("note", self._pending)
        self._pending = ""


def _start_worker(context: Context, messages, quiet: bool, cache) -> None:
    """Once per worker process: Ctrl-C left to the parent, progress to the parent, 64-bit JAX
    and the compilation cache as :func:`~slmmux_run.reproduce.run_steps` sets it, from the
    environment the worker inherits, or ``cache``: the folder a parent that imported JAX uses
    (its own ``jax.config`` is not inherited)."""
    global _context, _queue
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent ends the workers on Ctrl-C
    _context, _queue = context, messages
    # A worker that exits (or is ended) never waits to flush its queue: its result comes back
    # through the executor, and a lost progress line does not matter.
    messages.cancel_join_thread()
    from slmmux_run.progress import configure

    configure(quiet=quiet, sink=_send)
    sys.stdout, sys.stderr = _Lines(1), _Lines(2)
    from slmmux_run.jax_cache import CACHE_ENV, enable_compilation_cache
    from slmmux_theory.precision import enable_x64

    enable_x64()
    if cache is not None:
        os.environ[CACHE_ENV] = str(cache)
    enable_compilation_cache(keep_existing=True)


def _run_step(name: str, step: Callable[[Context], StepResult]) -> StepResult:
    """One step in a worker, timed there (the worker's own context, so its cache is reused)."""
    global _step
    _step = name
    _send("start", "")
    start = time.perf_counter()
    try:
        result = step(_context)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    result.seconds = time.perf_counter() - start
    return result


# ---- the parent's side ------------------------------------------------------------------------


def default_jobs() -> int:
    """Workers by default: the cores this process may use, at most :data:`MAX_USEFUL_JOBS`.

    >>> 1 <= default_jobs() <= MAX_USEFUL_JOBS
    True
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(MAX_USEFUL_JOBS, cores))


def schedule(names) -> list[str]:
    """The steps in the order they are started: :data:`LONGEST_FIRST`, then any other step (one
    added at run time) in the order given.

    >>> schedule(["search", "theory", "groupthink", "mine"])
    ['groupthink', 'theory', 'search', 'mine']
    """
    names = list(names)
    return [n for n in LONGEST_FIRST if n in names] + [n for n in names if n not in LONGEST_FIRST]


class _Running:
    """The parent's view of the running steps: when each started and its latest line."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.started: dict[str, float] = {}
        self.lines: dict[str, str] = {}
        self.clock = clock
        self.any_started = False  # before the first step starts, the workers are starting

    def status(self) -> str:
        """``groupthink 1:02 [debates · fit ...] · local-live 31 s`` (read at each draw).

        >>> running = _Running(clock=lambda: 70.0)
        >>> running.status()
        'starting workers'
        >>> running.started.update(groupthink=8.0, search=69.6)
        >>> running.lines["groupthink"] = "debates · fit · 1:01"
        >>> running.status()
        'groupthink 1:02 [debates · fit · 1:01] · search 0 s'
        """
        from slmmux_run.progress import format_duration

        now, lines, started = self.clock(), dict(self.lines), list(self.started.items())
        self.any_started = self.any_started or bool(started)
        parts = []
        for name, start in started:
            line = lines.get(name)
            parts.append(f"{name} {format_duration(now - start)}" + (f" [{line}]" if line else ""))
        return " · ".join(parts) if self.any_started else "starting workers"


def run_parallel(context: Context, names: list[str],
                 steps: Mapping[str, Callable[[Context], StepResult]], jobs: int,
                 cache=None) -> list[StepResult]:  # fmt: skip
    """Run ``names`` on ``jobs`` worker processes; the results in the order of ``names``.

    Args:
      context: the run's context (each worker gets a copy).
      names: the steps to run.
      steps: step functions by name (module-level functions: a worker imports them).
      jobs: worker processes (at most one per step is started).
      cache: JAX's compilation cache folder the workers use (None: the one the environment
        says, as in this process).

    Returns:
      each step's :class:`StepResult`, its ``seconds`` measured in the worker.

    Raises:
      the first exception a step raised (the other steps stopped); KeyboardInterrupt on Ctrl-C.
    """
    import multiprocessing

    from slmmux_run.progress import Progress, is_quiet

    spawn = multiprocessing.get_context("spawn")
    messages = spawn.Queue()
    running = _Running()
    results: dict[str, StepResult] = {}
    executor = ProcessPoolExecutor(max_workers=min(jobs, len(names)), mp_context=spawn,
                                   initializer=_start_worker,
                                   initargs=(context, messages, is_quiet(), cache))
    try:
        with Progress("reproduce", len(names), unit="steps", eta=False) as progress:
            progress.advance(0, status=running.status)
            futures = {executor.submit(_run_step, name, steps[name]): name
                       for name in schedule(names)}
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=_POLL_SECONDS, return_when=FIRST_COMPLETED)
                _drain(messages, running, progress)
                for future in done:
                    name = futures[future]
                    error = future.exception()
                    if error is not None:
                        stopped = sorted(set(running.started) - {name})
                        progress.note(f"reproduce: {name} failed"
                                      + (f"; stopping {', '.join(stopped)}" if stopped else ""))
                        if isinstance(error, BrokenProcessPool):
                            raise RuntimeError(
                                f"reproduce: a worker process died while {name} was running or "
                                "waiting (killed, out of memory, or it could not start); "
                                "--jobs 1 runs the steps in this process") from error
                        raise error
                    result = results[name] = future.result()
                    running.started.pop(name, None)
                    running.lines.pop(name, None)
                    progress.note(f"reproduce: {name} took {result.seconds:.1f} s"
                                  + (f" (skipped: {result.note})" if result.note else ""))
                    progress.advance(1)
            _drain(messages, running, progress)
    except BaseException:
        _stop(executor)
        raise
    executor.shutdown(wait=True)
    return [results[name] for name in names]


def _drain(messages, running: _Running, progress) -> None:
    """Show what the workers sent since the last look."""
    changed = False
    while True:
        try:
            kind, name, text = messages.get_nowait()
        except queue_module.Empty:
            break
        if kind == "start":
            running.started[name] = running.clock()
            changed = True
        elif kind == "line":
            if name in running.started:  # a late line of a finished step is dropped
                changed = changed or name not in running.lines  # a log shows what it does
                running.lines[name] = text
        elif kind == "note":
            progress.note(f"{name}: {text}" if name else text)
    if changed:
        progress.refresh()


def _stop(executor: ProcessPoolExecutor) -> None:
    """End every worker now (a step failed, or Ctrl-C) and wait for them to be gone."""
    # Steps already handed to a worker cannot be cancelled, only ended with their process;
    # Python 3.14 says so publicly (terminate_workers), before it the executor's own table.
    processes = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=30)

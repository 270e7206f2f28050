"""Stand-in steps for the main job's worker processes (tests/run/test_reproduce.py).

They live in a module of their own because a worker started with ``spawn`` imports a step by
its module and name (a function defined inside a test cannot be sent to it).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from slmmux_run.errors import UserError
from slmmux_run.reproduce.context import StepResult, SummaryRow


def talking_step(context) -> StepResult:
    """Prints, opens a progress line, and reports its process id in its summary row."""
    from slmmux_run.progress import Progress

    print("hello from the talking step")
    with Progress("inner", 2, unit="units") as progress:
        time.sleep(2.5)  # long enough for the worker to send a status line (each second)
        progress.advance(2)
    return StepResult("talking", summary=[SummaryRow("talking", "—", "—", str(os.getpid()))])


def failing_step(context) -> StepResult:
    raise RuntimeError("the failing step failed on purpose")


def user_error_step(context) -> StepResult:
    raise UserError("bad.jsonl line 3: field 'x' is not a number")


def slow_step(context) -> StepResult:
    """Announces itself (a file named after its process in the output folder) and waits."""
    (Path(context.out) / f"started-{os.getpid()}").write_text("")
    time.sleep(120)
    return StepResult("slow")

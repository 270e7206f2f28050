"""The book builds strictly (Sphinx warnings are errors, nitpicky) with every page executed.

Two builds into temporary folders: one with the shared data folder (real-data cells run and
their figures appear) and one with ``$SLMMUX_DATA_DIR`` pointing at an empty folder (every page
must say the data is absent and skip those cells without failing). Nothing is written into the
checkout: ``--path-output`` puts ``_build`` under the temporary folder and pages are executed
with ``execute_notebooks: force`` (no jupyter-cache).

The two builds run side by side: the build without data starts in the background (a
module-scoped fixture, requested by both tests) while the build with data runs in the
foreground. Each build executes one page at a time in one single-threaded kernel, so on a 2-core
machine the pair takes about as long as the longer build rather than the sum of both (measured
on a shared 2-core machine: 195 s + 73 s one after the other, 170 s side by side).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
# Pages with code cells that read the shared data folder.
REAL_DATA_PAGES = (
    "01-categorical-model",
    "02-mux-vs-agent-forest",
    "03-model-switch",
    "04-tie-break-rules",
    "11-hard-regime",
)
# Pages that must show at least one figure rendered as an image in every build.
FIGURE_PAGES = REAL_DATA_PAGES + ("09-groupthink",)
ABSENT_NOTICE = "The shared data folder is not available here"
# Generous: a quiet 2-core machine builds in about 2.5 minutes; a busy one needs more.
BUILD_TIMEOUT_SECONDS = 600

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("jupyter_book") is None, reason="jupyter-book is not installed"
    ),
]


def _command(output: Path, env_overrides: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, **env_overrides}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    # The CLI module has no ``__main__`` guard, so call its click entry point directly.
    entry_point = "from jupyter_book.cli.main import main; main()"
    command = [sys.executable, "-c", entry_point, "build", str(BOOK),
               "--path-output", str(output), "-W", "-n", "--keep-going"]
    return command, env


def _build(output: Path, env_overrides: dict[str, str]) -> subprocess.CompletedProcess:
    command, env = _command(output, env_overrides)
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=BUILD_TIMEOUT_SECONDS)


@pytest.fixture(scope="module")
def build_without_data(tmp_path_factory):
    """The build with ``$SLMMUX_DATA_DIR`` at an empty folder, started in the background.

    Yields a function that waits for the build and returns its ``CompletedProcess`` and output
    folder. The build's output goes to files, not pipes, so that nobody has to read it while it
    runs; the process is killed at teardown if a test stopped before waiting for it.
    """
    root = tmp_path_factory.mktemp("book-no-data")
    empty = root / "no-data"
    empty.mkdir()
    output = root / "out"
    command, env = _command(output, {"SLMMUX_DATA_DIR": str(empty)})
    started = time.monotonic()
    with (root / "stdout.txt").open("w") as stdout, (root / "stderr.txt").open("w") as stderr:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=stdout, stderr=stderr,
                                   text=True)

    def wait() -> tuple[subprocess.CompletedProcess, Path]:
        # The same limit as a build in the foreground, counted from the start of this build.
        remaining = BUILD_TIMEOUT_SECONDS - (time.monotonic() - started)
        try:
            returncode = process.wait(timeout=max(remaining, 1.0))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
        done = subprocess.CompletedProcess(command, returncode,
                                           (root / "stdout.txt").read_text(encoding="utf-8"),
                                           (root / "stderr.txt").read_text(encoding="utf-8"))
        return done, output

    yield wait
    if process.poll() is None:
        process.kill()
        process.wait()


def _html(output: Path, page: str) -> str:
    return (output / "_build" / "html" / f"{page}.html").read_text(encoding="utf-8")


def _images(html: str) -> int:
    return len(re.findall(r"<img[^>]+src=\"_images/", html))


def _notice_shown(html: str) -> bool:
    # The notice also appears in the page's code (the string literal); count rendered output only,
    # which myst-nb wraps in a cell_output block.
    outputs = re.findall(r'<div class="cell_output docutils container">(.*?)</div>\s*</div>',
                         html, flags=re.S)
    return any(ABSENT_NOTICE in block for block in outputs)


def _data_available() -> bool:
    from slmmux_run.errors import UserError
    from slmmux_run.data.paths import data_file

    try:
        data_file("samples/gsm8k_train_250x10_13models.jsonl")
    except UserError:
        return False
    return True


def test_book_builds_strictly_with_real_data(tmp_path, build_without_data):
    # ``build_without_data`` is requested here only so that it runs beside this build.
    if not _data_available():
        pytest.skip("the shared data folder is not available")
    had_build_folder = (BOOK / "_build").exists()
    result = _build(tmp_path, {})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for page in FIGURE_PAGES:
        html = _html(tmp_path, page)
        assert _images(html) >= 2, f"{page}: expected rendered figures"
        assert not _notice_shown(html), f"{page}: says the data is absent although it is present"
    assert had_build_folder or not (BOOK / "_build").exists(), "the build wrote into book/"
    assert not any(tmp_path.rglob(".jupyter_cache")), "a jupyter-cache folder was written"


def test_book_builds_without_the_data_folder(build_without_data):
    result, output = build_without_data()
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for page in REAL_DATA_PAGES:
        assert _notice_shown(_html(output, page)), f"{page}: does not say the data is absent"

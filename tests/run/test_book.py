"""The book builds strictly (Sphinx warnings are errors, nitpicky) with every page executed.

Two builds into temporary folders: one with the shared data folder (real-data cells run and
their figures appear) and one with ``$SLMMUX_DATA_DIR`` pointing at an empty folder (every page
must say the data is absent and skip those cells without failing). Nothing is written into the
checkout: ``--path-output`` puts ``_build`` under the temporary folder and pages are executed
with ``execute_notebooks: force`` (no jupyter-cache).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
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


def _build(output: Path, env_overrides: dict[str, str]) -> subprocess.CompletedProcess:
    env = {**os.environ, **env_overrides}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    # The CLI module has no ``__main__`` guard, so call its click entry point directly.
    entry_point = "from jupyter_book.cli.main import main; main()"
    command = [sys.executable, "-c", entry_point, "build", str(BOOK),
               "--path-output", str(output), "-W", "-n", "--keep-going"]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=BUILD_TIMEOUT_SECONDS)


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
    from slmmux_run.paths import data_file

    try:
        data_file("samples/gsm8k_train_250x10_13models.jsonl")
    except UserError:
        return False
    return True


def test_book_builds_strictly_with_real_data(tmp_path):
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


def test_book_builds_without_the_data_folder(tmp_path):
    empty = tmp_path / "no-data"
    empty.mkdir()
    output = tmp_path / "out"
    result = _build(output, {"SLMMUX_DATA_DIR": str(empty)})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for page in REAL_DATA_PAGES:
        assert _notice_shown(_html(output, page)), f"{page}: does not say the data is absent"

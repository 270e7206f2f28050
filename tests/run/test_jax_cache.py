"""The persistent compilation cache: where it lives, that it is written and read, how it is off.

Writing and reading are checked in fresh processes (JAX opens its cache at a process's first
compile, so this test process, which has compiled already, cannot show it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from slmmux_run.errors import UserError
from slmmux_run.jax_cache import CACHE_ENV, cache_folder, enable_compilation_cache

ROOT = Path(__file__).resolve().parents[2]
# One small program, compiled in a fresh process with the cache configured as the env says.
CHILD = """
import jax, jax.numpy as jnp
from slmmux_run.jax_cache import enable_compilation_cache
folder = enable_compilation_cache()
print(folder, jax.config.jax_compilation_cache_dir)
jax.block_until_ready(jax.jit(lambda x: jnp.sin(x) * 3.0 + x.sum())(jnp.arange(7.0)))
"""


def _child(env_value, tmp_path):
    env = {key: value for key, value in os.environ.items() if key != CACHE_ENV}
    env.update(PYTHONPATH=str(ROOT), XDG_CACHE_HOME=str(tmp_path / "xdg"))
    if env_value is not None:
        env[CACHE_ENV] = env_value
    done = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()


def _files(folder: Path) -> set:
    return {p.relative_to(folder) for p in folder.rglob("*") if p.is_file()}


def test_folder_from_environment(tmp_path):
    assert cache_folder({CACHE_ENV: str(tmp_path / "c")}) == tmp_path / "c"
    assert cache_folder({CACHE_ENV: "  "}) is None
    assert cache_folder({CACHE_ENV: "", "XDG_CACHE_HOME": "/x"}) is None
    assert cache_folder({"XDG_CACHE_HOME": "/x"}) == Path("/x/slmmux/jax")
    assert cache_folder({}) == Path.home() / ".cache" / "slmmux" / "jax"


def test_written_then_read_by_a_second_process(tmp_path):
    folder = tmp_path / "cache"
    printed = _child(str(folder), tmp_path)
    assert printed == [str(folder), str(folder)]
    written = _files(folder)
    assert written, "the first process wrote no cache entry"
    _child(str(folder), tmp_path)
    # The second process found every program it compiled: nothing new was written.
    assert _files(folder) == written


def test_default_folder_is_the_user_cache(tmp_path):
    printed = _child(None, tmp_path)
    assert printed[0] == str(tmp_path / "xdg" / "slmmux" / "jax")
    assert _files(tmp_path / "xdg" / "slmmux" / "jax")


def test_empty_value_switches_it_off(tmp_path):
    assert _child("", tmp_path) == ["None", "None"]
    assert not (tmp_path / "xdg").exists()


def test_a_file_is_refused_naming_the_variable(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UserError, match=CACHE_ENV):
        enable_compilation_cache({CACHE_ENV: str(blocker)})

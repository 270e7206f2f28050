"""Build hook (everything else is in ``pyproject.toml``): ship the papers' tables in the wheel.

The papers' reported numbers live once, in ``papers/*.csv`` at the top of the checkout (with
``papers/README.md``). Building a wheel copies them into the package as
``slmmux_run/data/paper_tables/`` (package data, never committed there, so the copy cannot
drift), where :func:`slmmux_run.data.papers.papers_dir` finds them in an installed package
without ``$SLMMUX_PAPERS_DIR``. An editable install reads ``papers/`` from the checkout.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

PAPERS = Path(__file__).resolve().parent / "papers"
TARGET = ("slmmux_run", "data", "paper_tables")


class BuildPyWithPaperTables(build_py):
    """``build_py`` that also copies ``papers/*.csv`` and its README into the built package."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib).joinpath(*TARGET)
        target.mkdir(parents=True, exist_ok=True)
        for path in sorted([*PAPERS.glob("*.csv"), PAPERS / "README.md"]):
            shutil.copy2(path, target / path.name)


setup(cmdclass={"build_py": BuildPyWithPaperTables})

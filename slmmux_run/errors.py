"""User-facing errors of the runner: one clear sentence naming the file, line or field at fault."""

from __future__ import annotations

__all__ = ["UserError"]


class UserError(Exception):
    """Bad input from the user (file, flag, field). The CLI prints it on one line, exit code 2."""

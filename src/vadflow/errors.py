"""Errors that reach users: each names the offending file or key and says how to fix it."""

from __future__ import annotations


class VadflowError(Exception):
    """Base class of errors a user can act on.

    The message says what is wrong and names the file or config key; ``hint``
    says what to do about it. Both are shown together by ``str()``.
    """

    def __init__(self, message: str, hint: str | None = None):
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message}\n  fix: {hint}")


class ConfigError(VadflowError):
    """The configuration has an unknown key, a wrong type or an inconsistent value."""


class DataError(VadflowError):
    """An input video, frame folder or annotation file is missing, corrupt or inconsistent."""


class CheckpointError(VadflowError):
    """A model or weights checkpoint is missing or does not match the architecture."""

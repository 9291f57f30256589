"""The reader's one error: a file it found but could not read."""

from __future__ import annotations


class RepositoryError(ValueError):
    """A repository file exists but cannot be read (bad TOML, JSON, YAML or encoding).

    The message names the file relative to the repository root and says what is wrong in
    one line; it never quotes the file's content beyond the offending line number.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")

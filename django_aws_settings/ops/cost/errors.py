"""The cost estimate's one error: an answer, a tfvars value or a region it cannot price."""

from __future__ import annotations


class CostError(ValueError):
    """``name`` is the answer or variable at fault (with its file when it came from one);
    ``reason`` says what was expected. Never quotes more than the offending value."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"{name}: {reason}")

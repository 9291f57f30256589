"""Time that tests of the ECS commands control: sleeps advance a clock, log lines lose it."""

from __future__ import annotations

import re


class FakeTime:
    """`clock` and `sleep` for the ECS commands: sleeping advances the clock, instantly."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def timeless(lines: list[str]) -> list[str]:
    """Real-clock durations (moto runs for real) replaced by Ns, so load cannot flake them."""
    return [re.sub(r" in \d+s$", " in Ns", re.sub(r"\(\d+s\)", "(Ns)", line)) for line in lines]

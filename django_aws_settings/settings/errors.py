"""One error type that lists every problem found in the environment at once."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class Problem:
    """A single thing wrong with the environment: the variable at fault and what was expected.

    ``message`` must never contain a secret value; it may name references and variables.
    """

    name: str
    message: str

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"


class ConfigError(ImproperlyConfigured):
    """Raised once, after every builder has run, with all problems found."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        if len(self.problems) == 1:
            return f"django-aws-settings: {self.problems[0]}"
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        return f"django-aws-settings found {len(self.problems)} problems:\n{lines}"


class Problems:
    """Collects problems so callers can report all of them in one ConfigError."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, name: str, message: str) -> None:
        problem = Problem(name, message)
        # Two builders reading one variable (REDIS_URL for cache and broker) report it once.
        if problem not in self.items:
            self.items.append(problem)

    def extend(self, error: ConfigError) -> None:
        for problem in error.problems:
            self.add(problem.name, problem.message)

    def raise_if_any(self) -> None:
        if self.items:
            print_uncaught_config_errors_quietly()
            raise ConfigError(self.items)


def print_uncaught_config_errors_quietly() -> None:
    """Make an uncaught ConfigError print its message alone, without a traceback.

    A bad environment raises while the settings module is imported (``manage.py``,
    gunicorn, Celery): the message already names every variable at fault, and a
    traceback through Django's settings machinery only buries it. Other exceptions
    reach the hook that was installed before.
    """
    if getattr(sys.excepthook, "_django_aws_settings", False):
        return
    previous = sys.excepthook

    def hook(
        kind: type[BaseException], error: BaseException, traceback: TracebackType | None
    ) -> None:
        if isinstance(error, ConfigError):
            print(error, file=sys.stderr)
        else:
            previous(kind, error, traceback)

    hook._django_aws_settings = True  # type: ignore[attr-defined]
    sys.excepthook = hook

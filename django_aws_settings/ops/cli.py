"""``django-aws``: operator and CI tasks that run outside a Django process.

Each command group lives in its own module and adds its parsers through ``register``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from ..cutover import source_check
from ..settings.errors import ConfigError
from . import config_import, cost_cli, ecs_cli, inspect_cli, media_cli, queue_metrics

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]
COMMAND_GROUPS: tuple[Register, ...] = (
    ecs_cli.register,
    config_import.register,
    source_check.register,
    queue_metrics.register,
    inspect_cli.register,
    media_cli.register,
    cost_cli.register,
)


EXIT_BAD_INPUT = 2  # bad input, or AWS / the broker / the database refused or did not answer
EXIT_INTERNAL = 3  # a bug: the message names the exception type only
TRACEBACK_VARIABLE = "DJANGO_AWS_TRACEBACK"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (argparse prints the whole usage first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def problems_of(error: ConfigError) -> str:
    """The problems without the settings' "django-aws-settings" prefix: the line already
    starts with the command's name."""
    if len(error.problems) == 1:
        return str(error.problems[0])
    lines = "\n".join(f"  - {problem}" for problem in error.problems)
    return f"found {len(error.problems)} problems:\n{lines}"


def parser() -> argparse.ArgumentParser:
    root: argparse.ArgumentParser = _Parser(prog="django-aws", description=__doc__.splitlines()[0])
    commands = root.add_subparsers(dest="command", required=True)
    for register in COMMAND_GROUPS:
        register(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; bad input exits 2 with one clear message, never a traceback."""
    arguments = parser().parse_args(argv)
    try:
        code: int = arguments.handler(arguments)
    except ConfigError as error:
        print(f"django-aws: {problems_of(error)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as error:
        where = f": {error.filename}" if error.filename is not None else ""
        print(f"django-aws: {error.strerror or type(error).__name__}{where}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("django-aws: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        # Never a traceback on an operator's terminal (a message may quote a value);
        # DJANGO_AWS_TRACEBACK=1 shows it when reporting the bug.
        if os.environ.get(TRACEBACK_VARIABLE):
            raise
        print(
            f"django-aws: internal error ({type(error).__name__}); run again with "
            f"{TRACEBACK_VARIABLE}=1 to see the traceback",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    return code


if __name__ == "__main__":
    sys.exit(main())

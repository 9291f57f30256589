"""``django-aws``: operator and CI tasks that run outside a Django process.

Each command group lives in its own module and adds its parsers through ``register``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from ..cutover import source_check
from ..settings.errors import ConfigError
from . import config_import, ecs_cli, queue_metrics

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]
COMMAND_GROUPS: tuple[Register, ...] = (
    ecs_cli.register,
    config_import.register,
    source_check.register,
    queue_metrics.register,
)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="django-aws", description=__doc__.splitlines()[0])
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
        print(f"django-aws: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"django-aws: {error.strerror}: {error.filename}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())

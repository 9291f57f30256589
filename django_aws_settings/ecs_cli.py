"""``django-aws ecs ...``: task definition rendering (and, for CI, running one-off tasks)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .ecs import render_task_definition, validation_errors


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ecs = commands.add_parser("ecs", help="ECS task definitions and tasks")
    ecs_commands = ecs.add_subparsers(dest="ecs_command", required=True)
    render = ecs_commands.add_parser(
        "render", help="fill a task definition file's placeholders and validate it"
    )
    render.add_argument("file", help="e.g. deploy/ecs/web.json")
    render.add_argument("--image", required=True, help="the image URI, tagged with the commit")
    render.add_argument("--environment", required=True, help="e.g. staging")
    render.add_argument("--queue", help="the Celery queue (worker.json only)")
    render.set_defaults(handler=_render)


def _render(arguments: argparse.Namespace) -> int:
    values = {"image": arguments.image, "environment": arguments.environment}
    if arguments.queue:
        values["queue"] = arguments.queue
    request = render_task_definition(Path(arguments.file), values)
    errors = validation_errors(request)
    if errors:
        print(f"{arguments.file}: not a valid RegisterTaskDefinition request:", file=sys.stderr)
        for error in errors:
            print(f"  {error}", file=sys.stderr)
        return 1
    json.dump(request, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0

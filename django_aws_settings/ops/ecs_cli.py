"""``django-aws ecs ...``: task definitions (render, register), one-off tasks, service deploys."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from . import app_config, ecs_deploy, express_deploy
from .aws import operator_client, operator_session
from .ecs import render_task_definition, validation_errors
from .run_task import (
    DEFAULT_LOG_LINES,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_TIMEOUT,
    STARTED_BY,
    EcsCommandError,
    FromService,
    GateError,
    GateOptions,
    Subnets,
    aws_clients,
    aws_errors,
    run_gate,
)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ecs = commands.add_parser("ecs", help="ECS task definitions and tasks")
    ecs_commands = ecs.add_subparsers(dest="ecs_command", required=True)
    render = ecs_commands.add_parser(
        "render", help="fill a task definition file's placeholders and validate it"
    )
    _add_placeholder_arguments(render)
    render.set_defaults(handler=_render)
    _register_run_task(ecs_commands)
    _register_deploy_commands(ecs_commands)


def _add_placeholder_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="e.g. deploy/ecs/web.json")
    parser.add_argument("--image", required=True, help="the image URI, tagged with the commit")
    parser.add_argument("--environment", required=True, help="e.g. staging")
    parser.add_argument("--queue", help="the Celery queue (worker.json only)")
    parser.add_argument(
        "--account", help="the environment's AWS account id (files that use ${account} only)"
    )


def _placeholder_values(arguments: argparse.Namespace) -> dict[str, str]:
    values = {"image": arguments.image, "environment": arguments.environment}
    if arguments.queue:
        values["queue"] = arguments.queue
    if arguments.account:
        values["account"] = arguments.account
    return values


def _register_deploy_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    register = commands.add_parser(
        "register",
        help="render, validate and register a task definition; print only its ARN",
        description="Prints the new task definition ARN on stdout (arn=$(django-aws ecs "
        "register ...)), messages on stderr. Exit status: 0 registered; 2 bad input or an "
        "AWS API error.",
    )
    _add_placeholder_arguments(register)
    register.add_argument("--region", help="default: AWS_REGION / AWS_DEFAULT_REGION")
    register.set_defaults(handler=_register_task_definition)

    deploy = commands.add_parser(
        "deploy",
        help="roll services to task definitions and wait until those deployments completed",
        description="Give --service and --task-definition once per service (pairs in order); "
        "several services roll together. Exit status: 0 every deployment's rollout "
        "COMPLETED; 1 one failed, was rolled back or replaced, or timed out; 2 bad input or "
        "an AWS API error.",
    )
    deploy.add_argument("--cluster", required=True)
    deploy.add_argument("--service", required=True, action="append", help="repeatable")
    deploy.add_argument(
        "--task-definition",
        required=True,
        action="append",
        help="ARN or FAMILY[:REVISION], one per --service",
    )
    _add_wait_arguments(deploy, ecs_deploy.DEFAULT_TIMEOUT, ecs_deploy.DEFAULT_POLL_INTERVAL)
    deploy.set_defaults(handler=_deploy)
    _register_express_deploy(commands)


def _register_express_deploy(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    express = commands.add_parser(
        "express-deploy",
        help="send web.json's web container to an ECS Express Mode service and wait for it",
        description="Renders the file as `register` does (with the app's config parameters "
        "as secrets), then UpdateExpressGatewayService. Exit status: 0 the deployment is "
        "SUCCESSFUL; 1 it was rolled back, stopped or timed out; 2 bad input or an AWS API "
        "error.",
    )
    _add_placeholder_arguments(express)
    express.add_argument("--cluster", required=True)
    express.add_argument("--service", required=True, help="the Express service's name or ARN")
    _add_wait_arguments(
        express, express_deploy.DEFAULT_TIMEOUT, express_deploy.DEFAULT_POLL_INTERVAL
    )
    express.set_defaults(handler=_express_deploy)


def _add_wait_arguments(
    parser: argparse.ArgumentParser, timeout: float, poll_interval: float
) -> None:
    """--timeout, --poll-interval and --region of the commands that wait for a deployment."""
    parser.add_argument(
        "--timeout", type=_positive, default=timeout, help="seconds (default: %(default)g)"
    )
    parser.add_argument(
        "--poll-interval",
        type=_positive,
        default=poll_interval,
        help="seconds (default: %(default)g)",
    )
    parser.add_argument("--region", help="default: AWS_REGION / AWS_DEFAULT_REGION")


def _register_run_task(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = commands.add_parser(
        "run-task",
        help="run a one-off task (the migrate gate) and exit 0 only if its container exited 0",
        description="Exit status: 0 the container exited 0; 1 it failed, never started or "
        "timed out; 2 bad input or an AWS API error.",
    )
    run.add_argument("--cluster", required=True)
    run.add_argument("--task-definition", required=True, help="FAMILY[:REVISION] or ARN")
    network = run.add_mutually_exclusive_group(required=True)
    network.add_argument(
        "--network-from-service",
        metavar="SERVICE",
        help="copy subnets, security groups and public IP setting from this service",
    )
    network.add_argument("--subnets", type=_names, help="comma-separated subnet ids")
    run.add_argument("--security-groups", type=_names, help="with --subnets: comma-separated ids")
    run.add_argument("--assign-public-ip", action="store_true", help="with --subnets")
    run.add_argument("--container", help="whose exit code decides (default: first essential)")
    run.add_argument(
        "--command",
        type=shlex.split,
        help='override the container command, shell-quoted: "python manage.py migrate --noinput"',
    )
    run.add_argument(
        "--timeout", type=_positive, default=DEFAULT_TIMEOUT, help="seconds (default: %(default)g)"
    )
    run.add_argument(
        "--poll-interval",
        type=_positive,
        default=DEFAULT_POLL_INTERVAL,
        help="seconds (default: %(default)g)",
    )
    run.add_argument(
        "--log-lines", type=_count, default=DEFAULT_LOG_LINES, help="0: none (default: %(default)s)"
    )
    run.add_argument("--region", help="default: AWS_REGION / AWS_DEFAULT_REGION")
    run.add_argument("--started-by", default=STARTED_BY, help="default: %(default)s")
    run.add_argument(
        "--stop-on-timeout",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="stop the task when the wait times out or is interrupted (default: yes)",
    )
    run.set_defaults(handler=_run_task)


def _names(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not names:
        raise argparse.ArgumentTypeError("expected comma-separated ids")
    return names


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 10_000:  # GetLogEvents' limit
        raise argparse.ArgumentTypeError(f"expected 0 to 10000, got {text}")
    return value


def _gate_options(arguments: argparse.Namespace) -> GateOptions:
    network: FromService | Subnets
    if arguments.subnets is not None:
        if not arguments.security_groups:
            raise GateError("--subnets needs --security-groups (the VPC default is rarely right)")
        network = Subnets(arguments.subnets, arguments.security_groups, arguments.assign_public_ip)
    elif arguments.security_groups or arguments.assign_public_ip:
        raise GateError(
            "--security-groups and --assign-public-ip go with --subnets, "
            "not with --network-from-service"
        )
    else:
        network = FromService(arguments.network_from_service)
    return GateOptions(
        cluster=arguments.cluster,
        task_definition=arguments.task_definition,
        network=network,
        container=arguments.container,
        command=arguments.command,
        timeout=arguments.timeout,
        poll_interval=arguments.poll_interval,
        log_lines=arguments.log_lines,
        started_by=arguments.started_by,
        stop_on_timeout=arguments.stop_on_timeout,
    )


def _run_task(arguments: argparse.Namespace) -> int:
    """0 success, 1 the task failed or timed out, 2 bad input or an AWS API error."""
    try:
        options = _gate_options(arguments)
        ecs, logs = aws_clients(arguments.region)
        result = run_gate(options, ecs=ecs, logs=logs)
    except GateError as error:
        print(f"django-aws ecs run-task: {error}", file=sys.stderr)
        return 2
    return result.exit_status


def _register_task_definition(arguments: argparse.Namespace) -> int:
    """Only the ARN goes to stdout, so a workflow can capture it."""
    try:
        # The file first: bad input is reported before any AWS configuration is needed.
        request = ecs_deploy.task_definition_request(
            Path(arguments.file), _placeholder_values(arguments)
        )
        ecs, _ = aws_clients(arguments.region)
        request = _with_app_config(request, arguments.region)
        registered = ecs_deploy.register_request(request, ecs=ecs)
    except EcsCommandError as error:
        print(f"django-aws ecs register: {error}", file=sys.stderr)
        return 2
    revision = f"{registered['family']}:{registered['revision']}"
    print(f"registered {revision} from {arguments.file}", file=sys.stderr)
    print(registered["taskDefinitionArn"], flush=True)
    return 0


def _with_app_config(request: dict[str, Any], region: str | None) -> dict[str, Any]:
    """The config parameters under each container's DJANGO_AWS_CONFIG_PATH as secrets."""
    paths = app_config.config_paths(request)
    if not paths:
        return request
    ssm = operator_client(operator_session(region), "ssm")
    found = {}
    for path in paths:
        with aws_errors(f"GetParametersByPath {path}"):
            found[path] = app_config.parameters_under(ssm, path)
    return app_config.with_config_secrets(request, found)


def _deploy(arguments: argparse.Namespace) -> int:
    """0 every deployment completed, 1 one failed or timed out, 2 bad input or an API error."""
    services, task_definitions = arguments.service, arguments.task_definition
    try:
        if len(services) != len(task_definitions):
            raise EcsCommandError(
                f"expected one --task-definition per --service, got {len(services)} --service "
                f"and {len(task_definitions)} --task-definition"
            )
        pairs = zip(services, task_definitions, strict=True)
        rollouts = [ecs_deploy.Rollout(service, arn) for service, arn in pairs]
        ecs, _ = aws_clients(arguments.region)
        results = ecs_deploy.deploy_services(
            arguments.cluster,
            rollouts,
            timeout=arguments.timeout,
            poll_interval=arguments.poll_interval,
            ecs=ecs,
        )
    except EcsCommandError as error:
        print(f"django-aws ecs deploy: {error}", file=sys.stderr)
        return 2
    return max(result.exit_status for result in results)


def _express_deploy(arguments: argparse.Namespace) -> int:
    """0 the deployment succeeded, 1 it failed or timed out, 2 bad input or an API error."""
    try:
        # The file first: bad input is reported before any AWS configuration is needed.
        request = ecs_deploy.task_definition_request(
            Path(arguments.file), _placeholder_values(arguments)
        )
        ecs, _ = aws_clients(arguments.region)
        request = _with_app_config(request, arguments.region)
        result = express_deploy.deploy_express_service(
            arguments.cluster,
            arguments.service,
            request,
            timeout=arguments.timeout,
            poll_interval=arguments.poll_interval,
            ecs=ecs,
        )
    except EcsCommandError as error:
        print(f"django-aws ecs express-deploy: {error}", file=sys.stderr)
        return 2
    return result.exit_status


def _render(arguments: argparse.Namespace) -> int:
    request = render_task_definition(Path(arguments.file), _placeholder_values(arguments))
    errors = validation_errors(request)
    if errors:
        print(
            f"django-aws ecs render: {arguments.file}: not a valid RegisterTaskDefinition "
            f"request: {'; '.join(errors)}",
            file=sys.stderr,
        )
        return 2
    json.dump(request, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0

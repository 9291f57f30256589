"""The migrate gate: run a one-off ECS task, wait for it, and say whether it succeeded.

A deploy may roll the web service only after the migrate task exited 0. ``RunTask``
returning a task proves nothing: the container may never start (``CannotPullContainerError``,
``ResourceInitializationError`` while fetching secrets), and then it has no exit code
at all. So the gate succeeds only when the decisive container reports ``exitCode == 0``;
everything else (a non-zero code, no code, ``RunTask`` failures, a timeout) fails, with
the task's ``stoppedReason`` and the tail of its CloudWatch log stream printed either way.

The ECS and CloudWatch Logs clients are passed in, as are the clock and ``sleep``, so
tests drive every path with botocore's Stubber and without waiting.
"""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from .aws import operator_client, operator_session

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_ecs.type_defs import (
        AwsVpcConfigurationTypeDef,
        ContainerDefinitionOutputTypeDef,
        ContainerTypeDef,
        FailureTypeDef,
        RunTaskRequestTypeDef,
        TaskDefinitionTypeDef,
        TaskTypeDef,
    )
    from mypy_boto3_logs import CloudWatchLogsClient

VERDICT = "migrate gate"
STARTED_BY = "django-aws-gate"
DEFAULT_TIMEOUT = 1800.0
DEFAULT_POLL_INTERVAL = 6.0  # what botocore's tasks_stopped waiter uses
DEFAULT_LOG_LINES = 50
# DELETED follows STOPPED in the task lifecycle; either means nothing will change any more.
FINAL_STATUSES = frozenset({"STOPPED", "DELETED"})


class EcsCommandError(Exception):
    """Bad input or an AWS API error: an ``ecs`` command could not do its job (exit status 2).

    Shared by the migrate gate and ``ecs register`` / ``ecs deploy`` (ecs_deploy.py).
    """


GateError = EcsCommandError  # the name the gate, ecs_cli and the gate tests use


@dataclass(frozen=True)
class FromService:
    """Copy the awsvpc network configuration of an existing service (e.g. the web service)."""

    service: str


@dataclass(frozen=True)
class Subnets:
    """An explicit awsvpc network configuration."""

    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    assign_public_ip: bool = False


@dataclass(frozen=True)
class GateOptions:
    cluster: str
    task_definition: str  # family, family:revision or ARN
    network: FromService | Subnets
    container: str | None = None  # default: the first essential container
    command: Sequence[str] | None = None  # overrides the container's command
    timeout: float = DEFAULT_TIMEOUT
    poll_interval: float = DEFAULT_POLL_INTERVAL
    log_lines: int = DEFAULT_LOG_LINES
    started_by: str = STARTED_BY
    stop_on_timeout: bool = True


@dataclass(frozen=True)
class CommandResult:
    """What an ``ecs`` command that waits (run-task, deploy, express-deploy) decided."""

    ok: bool
    verdict: str  # the last line printed

    @property
    def exit_status(self) -> int:
        return 0 if self.ok else 1


@dataclass(frozen=True)
class GateResult(CommandResult):
    task_arn: str | None = None
    exit_code: int | None = None


LogsClientFactory = Callable[[str], "CloudWatchLogsClient"]


def aws_clients(region: str | None = None) -> tuple[ECSClient, LogsClientFactory]:
    """ECS and CloudWatch Logs clients from boto3's default credential chain, in the region
    of ``--region``, AWS_REGION or AWS_DEFAULT_REGION (ops/aws.py), each call bounded to
    LONGEST_CALL_SECONDS: the gate's own ``--timeout`` is the one long wait."""
    session = operator_session(region)
    try:
        with aws_errors("creating the ECS client"):
            ecs: ECSClient = operator_client(session, "ecs")
    except ValueError as error:
        # An endpoint botocore cannot build a URL from (AWS_ENDPOINT_URL_ECS=nonsense).
        raise EcsCommandError(f"creating the ECS client failed: {error}") from None

    def logs(log_region: str) -> CloudWatchLogsClient:
        client: CloudWatchLogsClient = operator_client(session, "logs", log_region)
        return client

    return ecs, logs


def run_gate(
    options: GateOptions,
    *,
    ecs: ECSClient,
    logs: LogsClientFactory,
    out: TextIO | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> GateResult:
    """Run the task once, wait until it stops, and decide; prints progress to ``out``.

    ``logs(region)`` returns a CloudWatch Logs client for the region the container logs
    to. Raises GateError for bad input and AWS API errors; a task that ran and failed,
    or did not stop in time, is a GateResult with ``ok=False``.
    """
    return _Gate(options, ecs, logs, out or sys.stdout, clock, sleep).run()


class _Gate:
    def __init__(
        self,
        options: GateOptions,
        ecs: ECSClient,
        logs: LogsClientFactory,
        out: TextIO,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self.options = options
        self.ecs = ecs
        self.logs = logs
        self.out = out
        self.clock = clock
        self.sleep = sleep
        self.started = clock()

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def elapsed(self) -> str:
        return f"{round(self.clock() - self.started)}s"

    def succeed(self, arn: str) -> GateResult:
        line = f"{VERDICT}: ok (exit code 0) in {self.elapsed()}"
        self.say(line)
        return GateResult(True, line, arn, 0)

    def fail(self, why: str, arn: str | None = None, exit_code: int | None = None) -> GateResult:
        line = f"{VERDICT}: FAILED: {why}"
        self.say(line)
        return GateResult(False, line, arn, exit_code)

    def run(self) -> GateResult:
        options = self.options
        task_definition = self.task_definition()
        container = self.container(task_definition)
        name = container["name"]
        network = self.network()
        revision = f"{task_definition['family']}:{task_definition['revision']}"
        self.say(f"{VERDICT}: running {revision} (container {name}) on cluster {options.cluster}")
        self.say(f"network: {_describe_network(network)} ({self.network_origin()})")
        if options.command is not None:
            self.say(f"command: {shlex.join(options.command)}")

        self.started = self.clock()
        request: RunTaskRequestTypeDef = {
            "cluster": options.cluster,
            "taskDefinition": task_definition["taskDefinitionArn"],
            "count": 1,
            # Always on-demand Fargate: copying a service's capacity provider strategy could
            # put the migration on FARGATE_SPOT, where a reclaim interrupts it halfway.
            "launchType": "FARGATE",
            "networkConfiguration": {"awsvpcConfiguration": network},
            "startedBy": options.started_by,
            "enableExecuteCommand": False,
            "propagateTags": "TASK_DEFINITION",
            # clientToken is left to botocore, which fills in a fresh idempotency token
            # once per call: a retried RunTask then cannot start a second migration.
        }
        if options.command is not None:
            request["overrides"] = {
                "containerOverrides": [{"name": name, "command": list(options.command)}]
            }
        with aws_errors(f"RunTask on cluster {options.cluster}"):
            response = self.ecs.run_task(**request)
        failures = response.get("failures", [])
        if failures or not response.get("tasks"):
            for failure in failures:
                self.say(f"failure: {_describe_failure(failure)}")
            reasons = "; ".join(map(_describe_failure, failures)) or "it returned no task"
            return self.fail(f"ECS did not start the task: {reasons}")

        arn = response["tasks"][0]["taskArn"]
        self.say(f"task: {arn}")
        try:
            stopped = self.wait(response["tasks"][0])
        except _Abandoned as abandoned:
            self.log_tail(container, arn)
            return self.fail(abandoned.verdict, arn)
        return self.decide(stopped, container, arn)

    # ------------------------------------------------------------------ before the run

    def task_definition(self) -> TaskDefinitionTypeDef:
        with aws_errors(f"DescribeTaskDefinition {self.options.task_definition}"):
            response = self.ecs.describe_task_definition(
                taskDefinition=self.options.task_definition
            )
        return response["taskDefinition"]

    def container(self, task_definition: TaskDefinitionTypeDef) -> ContainerDefinitionOutputTypeDef:
        """The container whose exit code decides: named, or the first essential one."""
        definitions = task_definition.get("containerDefinitions", [])
        wanted = self.options.container
        for definition in definitions:
            if wanted is not None and definition.get("name") == wanted:
                return definition
        if wanted is None:
            # ECS treats a container without "essential" as essential.
            essential = [d for d in definitions if d.get("essential", True)]
            if essential:
                return essential[0]
        names = ", ".join(d.get("name", "?") for d in definitions) or "none"
        family = f"{task_definition.get('family')}:{task_definition.get('revision')}"
        missing = f"no container named {wanted}" if wanted else "no essential container"
        raise GateError(f"task definition {family} has {missing} (containers: {names})")

    def network(self) -> AwsVpcConfigurationTypeDef:
        source = self.options.network
        if isinstance(source, Subnets):
            return {
                "subnets": list(source.subnets),
                "securityGroups": list(source.security_groups),
                "assignPublicIp": "ENABLED" if source.assign_public_ip else "DISABLED",
            }
        cluster = self.options.cluster
        with aws_errors(f"DescribeServices {source.service} in cluster {cluster}"):
            response = self.ecs.describe_services(cluster=cluster, services=[source.service])
        if response.get("failures") or not response.get("services"):
            reason = "; ".join(f.get("reason", "?") for f in response.get("failures", []))
            raise GateError(
                f"service {source.service} not found in cluster {cluster} ({reason or 'no answer'})"
            )
        awsvpc = response["services"][0].get("networkConfiguration", {}).get("awsvpcConfiguration")
        if not awsvpc:
            raise GateError(
                f"service {source.service} has no awsvpc network configuration to copy; "
                "pass --subnets and --security-groups instead"
            )
        copied: AwsVpcConfigurationTypeDef = {"subnets": awsvpc["subnets"]}
        if "securityGroups" in awsvpc:
            copied["securityGroups"] = awsvpc["securityGroups"]
        if "assignPublicIp" in awsvpc:
            copied["assignPublicIp"] = awsvpc["assignPublicIp"]
        return copied

    def network_origin(self) -> str:
        source = self.options.network
        return f"from service {source.service}" if isinstance(source, FromService) else "given"

    # ------------------------------------------------------------------------- waiting

    def wait(self, task: TaskTypeDef) -> TaskTypeDef:
        """Poll DescribeTasks until the task stopped; raises _Abandoned on timeout or SIGINT."""
        arn = task["taskArn"]
        deadline = self.started + self.options.timeout
        status = task.get("lastStatus", "")
        self.say(f"status: {status or 'unknown'} ({self.elapsed()})")
        try:
            while status not in FINAL_STATUSES:
                remaining = deadline - self.clock()
                if remaining <= 0:
                    raise self.abandon(
                        arn, status, f"timed out after {round(self.options.timeout)}s"
                    )
                self.sleep(min(self.options.poll_interval, remaining))
                described = self.describe(arn)
                if described is None:
                    continue  # eventual consistency: a new task can be briefly MISSING
                task = described
                if task.get("lastStatus", "") != status:
                    status = task.get("lastStatus", "")
                    self.say(f"status: {status} ({self.elapsed()})")
        except KeyboardInterrupt:
            # A cancelled workflow run gets SIGINT: do not leave a migration running unwatched.
            raise self.abandon(arn, status, f"interrupted after {self.elapsed()}") from None
        return task

    def describe(self, arn: str) -> TaskTypeDef | None:
        with aws_errors("DescribeTasks", note=f"task {arn} was started and may still be running"):
            response = self.ecs.describe_tasks(cluster=self.options.cluster, tasks=[arn])
        return next((t for t in response.get("tasks", []) if t.get("taskArn") == arn), None)

    def abandon(self, arn: str, status: str, when: str) -> _Abandoned:
        """Stop the task (unless told not to); the failure verdict to raise."""
        verdict = f"{when} with the task still {status or 'unknown'}"
        if not self.options.stop_on_timeout:
            return _Abandoned(f"{verdict}; left it running (--no-stop-on-timeout)")
        try:
            self.ecs.stop_task(
                cluster=self.options.cluster, task=arn, reason=f"{VERDICT}: {when}"[:255]
            )
        except (ClientError, BotoCoreError) as error:
            return _Abandoned(f"{verdict}; stopping it failed: {describe_error(error)}")
        self.say(f"stop: asked ECS to stop {arn}")
        return _Abandoned(f"{verdict}; asked ECS to stop it")

    # ------------------------------------------------------------------------ deciding

    def decide(
        self, task: TaskTypeDef, definition: ContainerDefinitionOutputTypeDef, arn: str
    ) -> GateResult:
        name = definition["name"]
        stop_code = task.get("stopCode")
        self.say(f"stopped reason: {task.get('stoppedReason') or '(none)'}")
        self.say(f"stop code: {stop_code or '(none)'}")
        container = _container_named(task, name)
        exit_code = container.get("exitCode") if container is not None else None
        reason = container.get("reason") if container is not None else None
        if exit_code is not None:
            self.say(
                f"container {name}: exit code {exit_code}" + (f" ({reason})" if reason else "")
            )
        else:
            self.say(f"container {name}: no exit code" + (f" ({reason})" if reason else ""))
        self.log_tail(definition, arn)

        if container is None:
            return self.fail(f"the stopped task has no container named {name}", arn)
        if exit_code == 0:
            return self.succeed(arn)
        if exit_code is not None:
            why = f" ({reason})" if reason else ""
            return self.fail(f"container {name} exited with code {exit_code}{why}", arn, exit_code)
        why = reason or task.get("stoppedReason") or "no reason given"
        code = f" (stop code {stop_code})" if stop_code else ""
        return self.fail(f"container {name} has no exit code{code}: {why}", arn)

    # ------------------------------------------------------------------------ log tail

    def log_tail(self, definition: ContainerDefinitionOutputTypeDef, arn: str) -> None:
        """Print the last lines of the container's awslogs stream; never raises."""
        lines = self.options.log_lines
        if lines <= 0:
            return
        configuration = definition.get("logConfiguration")
        name = definition["name"]
        if configuration is None or configuration.get("logDriver") != "awslogs":
            driver = configuration.get("logDriver") if configuration else "no log driver"
            self.say(f"log tail: unavailable: container {name} logs with {driver}, not awslogs")
            return
        settings = configuration.get("options", {})
        group = settings.get("awslogs-group")
        prefix = settings.get("awslogs-stream-prefix")
        if not group or not prefix:
            self.say(
                f"log tail: unavailable: the awslogs options of container {name} lack "
                "awslogs-group or awslogs-stream-prefix, so the stream name is unknown"
            )
            return
        # The awslogs driver names the stream <prefix>/<container name>/<task id>.
        stream = f"{prefix}/{name}/{arn.rsplit('/', 1)[-1]}"
        region = settings.get("awslogs-region") or self.ecs.meta.region_name
        try:
            response = self.logs(region).get_log_events(
                logGroupName=group, logStreamName=stream, startFromHead=False, limit=lines
            )
        except (ClientError, BotoCoreError) as error:
            self.say(f"log tail: unavailable: {group} {stream}: {describe_error(error)}")
            return
        events = response.get("events", [])
        if not events:
            self.say(f"log tail: {group} {stream} has no log events")
            return
        self.say(f"log tail: {group} {stream} (last {len(events)} lines)")
        for event in events:
            for line in event.get("message", "").rstrip("\n").splitlines() or [""]:
                self.say(f"  {line}")


class _Abandoned(Exception):
    """The wait ended without the task stopping (timeout or interruption)."""

    def __init__(self, verdict: str) -> None:
        super().__init__(verdict)
        self.verdict = verdict


def _container_named(task: TaskTypeDef, name: str) -> ContainerTypeDef | None:
    return next((c for c in task.get("containers", []) if c.get("name") == name), None)


def _describe_network(network: AwsVpcConfigurationTypeDef) -> str:
    groups = ", ".join(network.get("securityGroups", [])) or "(VPC default)"
    public_ip = network.get("assignPublicIp", "DISABLED")
    return (
        f"subnets {', '.join(network['subnets'])}; security groups {groups}; public IP {public_ip}"
    )


def _describe_failure(failure: FailureTypeDef) -> str:
    parts = [failure.get("reason", "no reason"), failure.get("arn"), failure.get("detail")]
    return " ".join(p for p in parts if p)


def describe_error(error: ClientError | BotoCoreError) -> str:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'Error')}: {details.get('Message', str(error))}"
    return str(error)


@contextmanager
def aws_errors(what: str, *, note: str | None = None) -> Iterator[None]:
    """Turn an AWS API error into one EcsCommandError line naming the call that failed.

    ``note`` is added in parentheses, e.g. to say what was already started.
    """
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        message = f"{what} failed: {describe_error(error)}"
        if note is not None:
            message += f" ({note})"
        raise EcsCommandError(message) from None

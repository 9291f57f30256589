"""Register a rendered task definition, roll a service to it, and wait for that deployment.

``aws ecs wait services-stable`` is the usual way to wait for a deploy, and it lies in
the case that matters: it waits until the service has one deployment whose runningCount
equals its desiredCount. When the deployment circuit breaker rolls a failing revision
back, the service becomes exactly that again, on the *old* revision, and the waiter
reports success. So ``deploy`` remembers the id of the deployment its ``UpdateService``
started and succeeds only when ECS says that very deployment's ``rolloutState`` is
``COMPLETED``; a ``FAILED`` rollout, a rollback or any other deployment taking over fails.

The ECS client, the clock and ``sleep`` are passed in, so tests drive every path with
botocore's Stubber and without waiting.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .ecs import render_task_definition, validation_errors
from .errors import ConfigError
from .run_task import EcsCommandError, aws_errors

if TYPE_CHECKING:
    import datetime

    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_ecs.type_defs import (
        DeploymentTypeDef,
        ServiceEventTypeDef,
        ServiceTypeDef,
        TaskDefinitionTypeDef,
    )

DEFAULT_TIMEOUT = 900.0
DEFAULT_POLL_INTERVAL = 10.0


def register_task_definition(
    path: Path, values: Mapping[str, str], *, ecs: ECSClient
) -> TaskDefinitionTypeDef:
    """Render ``path`` with ``values``, check it against botocore's model, register it.

    Raises EcsCommandError (one line) for an unreadable file, a bad placeholder value,
    a request the model rejects, or an API error; nothing is sent unless it is valid.
    """
    try:
        request = render_task_definition(path, values)
    except ConfigError as error:
        raise EcsCommandError("; ".join(map(str, error.problems))) from None
    except OSError as error:
        raise EcsCommandError(f"{path}: {error.strerror}") from None
    errors = validation_errors(request)
    if errors:
        raise EcsCommandError(
            f"{path}: not a valid RegisterTaskDefinition request: {'; '.join(errors)}"
        )
    with aws_errors(f"RegisterTaskDefinition {request['family']}"):
        response = ecs.register_task_definition(**request)
    return response["taskDefinition"]


@dataclass(frozen=True)
class DeployOptions:
    cluster: str
    service: str
    task_definition: str  # family, family:revision or ARN
    timeout: float = DEFAULT_TIMEOUT
    poll_interval: float = DEFAULT_POLL_INTERVAL


@dataclass(frozen=True)
class DeployResult:
    ok: bool
    verdict: str  # the last line printed
    deployment_id: str

    @property
    def exit_status(self) -> int:
        return 0 if self.ok else 1


def deploy_service(
    options: DeployOptions,
    *,
    ecs: ECSClient,
    out: TextIO | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> DeployResult:
    """Point the service at the task definition and wait until that deployment completed.

    Prints the deployment's counts when they change and every new service event to
    ``out``. Raises EcsCommandError for bad input and API errors; a deployment that
    failed, was rolled back or did not finish in time is a DeployResult with ``ok=False``.
    """
    return _Deploy(options, ecs, out or sys.stdout, clock, sleep).run()


class _Deploy:
    def __init__(
        self,
        options: DeployOptions,
        ecs: ECSClient,
        out: TextIO,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self.options = options
        self.ecs = ecs
        self.out = out
        self.clock = clock
        self.sleep = sleep
        self.started = clock()
        self.name = options.service
        self.deployment_id = ""
        self.revision = options.task_definition
        self.replaced_task_definitions: frozenset[str] = frozenset()
        self.seen_events: set[str] = set()
        self.since: datetime.datetime | None = None  # when our deployment was created
        self.last_status = ""

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def elapsed(self) -> str:
        return f"{round(self.clock() - self.started)}s"

    def succeed(self) -> DeployResult:
        number = self.revision.rpartition(":")[2]
        line = f"deploy {self.name}: ok (rev {number}) in {self.elapsed()}"
        self.say(line)
        return DeployResult(True, line, self.deployment_id)

    def fail(self, why: str) -> DeployResult:
        line = f"deploy {self.name}: FAILED: {why}"
        self.say(line)
        return DeployResult(False, line, self.deployment_id)

    def run(self) -> DeployResult:
        options = self.options
        self.started = self.clock()
        with aws_errors(f"UpdateService {options.service} in cluster {options.cluster}"):
            service = self.ecs.update_service(
                cluster=options.cluster,
                service=options.service,
                taskDefinition=options.task_definition,
            )["service"]
        self.name = service.get("serviceName", options.service)
        self.revision = _revision(service.get("taskDefinition", options.task_definition))
        deployments = service.get("deployments", [])
        primary = _primary(deployments)
        if primary is None or "id" not in primary:
            controller = service.get("deploymentController", {}).get("type", "ECS")
            raise EcsCommandError(
                f"UpdateService {self.name} set {self.revision} but returned no PRIMARY "
                f"deployment to follow (deployment controller {controller})"
            )
        # UpdateService answers with the new deployment already PRIMARY; everything else
        # in the list is what it replaces, i.e. what a rollback would return to.
        self.deployment_id = primary["id"]
        self.replaced_task_definitions = frozenset(
            d["taskDefinition"] for d in deployments if d is not primary and "taskDefinition" in d
        )
        # Events already there are history; events older than our deployment too.
        self.seen_events = {_event_key(event) for event in service.get("events", [])}
        self.since = primary.get("createdAt")

        replacing = ", ".join(sorted(map(_revision, self.replaced_task_definitions)))
        self.say(
            f"deploy {self.name}: rolling out {self.revision} on cluster {options.cluster}"
            + (f" (replacing {replacing})" if replacing else "")
        )
        self.say(f"deployment: {self.deployment_id}")
        try:
            return self.wait(service)
        except KeyboardInterrupt:
            # A cancelled workflow run: ECS carries on (and the circuit breaker still
            # guards it); only the watching stops.
            return self.fail(f"interrupted after {self.elapsed()} {self.still()}")

    def wait(self, service: ServiceTypeDef) -> DeployResult:
        deadline = self.started + self.options.timeout
        while True:
            self.report(service)
            verdict = self.decide(service)
            if verdict is not None:
                return verdict
            remaining = deadline - self.clock()
            if remaining <= 0:
                return self.fail(f"timed out after {round(self.options.timeout)}s {self.still()}")
            self.sleep(min(self.options.poll_interval, remaining))
            service = self.describe()

    def still(self) -> str:
        state = f"at {self.last_status}" if self.last_status else "in progress"
        return f"with deployment {self.deployment_id} {state}; the service may still be deploying"

    def describe(self) -> ServiceTypeDef:
        options = self.options
        started = f"deployment {self.deployment_id} was started and may still be in progress"
        with aws_errors(
            f"DescribeServices {options.service} in cluster {options.cluster}", note=started
        ):
            response = self.ecs.describe_services(
                cluster=options.cluster, services=[options.service]
            )
        services = response.get("services", [])
        if not services:
            reason = "; ".join(f.get("reason", "?") for f in response.get("failures", []))
            raise EcsCommandError(
                f"service {options.service} not found in cluster {options.cluster} "
                f"({reason or 'no answer'}); {started}"
            )
        return services[0]

    # ------------------------------------------------------------------------ progress

    def report(self, service: ServiceTypeDef) -> None:
        """Print the events not seen before (oldest first) and the status if it changed."""
        fresh = [
            event
            for event in service.get("events", [])
            if _event_key(event) not in self.seen_events
            and (self.since is None or event.get("createdAt", self.since) >= self.since)
        ]
        self.seen_events.update(map(_event_key, fresh))
        for event in reversed(fresh):  # ECS lists events newest first
            self.say(f"event: {event.get('message', '')}")
        ours = self.ours(service)
        if ours is None:
            return
        status = _describe_deployment(ours, len(service.get("deployments", [])))
        if status != self.last_status:
            self.last_status = status
            self.say(f"status: {status} ({self.elapsed()})")

    # ------------------------------------------------------------------------ deciding

    def ours(self, service: ServiceTypeDef) -> DeploymentTypeDef | None:
        deployments = service.get("deployments", [])
        return next((d for d in deployments if d.get("id") == self.deployment_id), None)

    def decide(self, service: ServiceTypeDef) -> DeployResult | None:
        """The verdict once this deployment is over, else None."""
        deployments = service.get("deployments", [])
        ours = self.ours(service)
        primary = _primary(deployments)
        state = ours.get("rolloutState") if ours is not None else None
        if state == "COMPLETED":
            return self.succeed()
        if ours is None or (primary is not None and primary is not ours):
            return self.fail(self.taken_over(ours, primary))
        if state == "FAILED":
            return self.fail(ours.get("rolloutStateReason") or "the rollout FAILED (no reason)")
        # No rolloutState (older services, some emulators): what services-stable checks,
        # but for our deployment: it is PRIMARY, alone, and at its desired count.
        if (
            state is None
            and len(deployments) == 1
            and ours.get("runningCount") == ours.get("desiredCount")
        ):
            return self.succeed()
        return None

    def taken_over(self, ours: DeploymentTypeDef | None, primary: DeploymentTypeDef | None) -> str:
        """Why it failed when our deployment is gone or another one is PRIMARY."""
        failed = ours is not None and ours.get("rolloutState") == "FAILED"
        reason = ours.get("rolloutStateReason") if ours is not None and failed else None
        why = f" ({reason})" if reason else ""
        if primary is None:
            return f"deployment {self.deployment_id} disappeared and no deployment is PRIMARY{why}"
        target = primary.get("taskDefinition", "")
        if (ours is None or failed) and target in self.replaced_task_definitions:
            return f"circuit breaker rolled back to {_revision(target)}{why}"
        return (
            f"deployment {self.deployment_id} was replaced by {primary.get('id', '?')} "
            f"({_revision(target) or 'unknown task definition'}) before it completed{why}"
        )


def _primary(deployments: list[DeploymentTypeDef]) -> DeploymentTypeDef | None:
    return next((d for d in deployments if d.get("status") == "PRIMARY"), None)


def _revision(task_definition: str) -> str:
    """``family:revision`` from a task definition ARN (other forms pass through)."""
    return task_definition.rpartition("/")[2]


def _event_key(event: ServiceEventTypeDef) -> str:
    return event.get("id") or f"{event.get('createdAt')} {event.get('message')}"


def _describe_deployment(deployment: DeploymentTypeDef, deployments: int) -> str:
    counts = (
        f"running {deployment.get('runningCount', 0)}/{deployment.get('desiredCount', 0)}, "
        f"pending {deployment.get('pendingCount', 0)}, "
        f"failed tasks {deployment.get('failedTasks', 0)}, deployments {deployments}"
    )
    state = deployment.get("rolloutState")
    return f"{state}, {counts}" if state else counts

"""Register a rendered task definition, roll services to it, and wait for those deployments.

``aws ecs wait services-stable`` is the usual way to wait for a deploy, and it lies in
the case that matters: it waits until the service has one deployment whose runningCount
equals its desiredCount. When the deployment circuit breaker rolls a failing revision
back, the service becomes exactly that again, on the *old* revision, and the waiter
reports success. So ``deploy`` remembers the id of the deployment its ``UpdateService``
started and succeeds only when ECS says that very deployment's ``rolloutState`` is
``COMPLETED``; a ``FAILED`` rollout, a rollback or any other deployment taking over fails.

Several services (the Celery workers of every queue) roll together: all UpdateService
calls first, then one wait that follows every deployment and fails if any of them does.

A service whose deployment strategy is ``BLUE_GREEN`` (the web service with the template's
``deploy_strategy: blue_green``) is followed through ECS's service deployments instead
(ListServiceDeployments / DescribeServiceDeployments): each lifecycle stage is printed
(scale-up, test traffic, production traffic, bake time...), ``SUCCESSFUL`` succeeds, and a
rollback is followed to its end and fails the deploy.

The ECS client, the clock and ``sleep`` are passed in, so tests drive every path with
botocore's Stubber and without waiting.
"""

from __future__ import annotations

import datetime
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..settings.errors import ConfigError
from .ecs import render_task_definition, validation_errors
from .run_task import CommandResult, EcsCommandError, aws_errors

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_ecs.type_defs import (
        DeploymentTypeDef,
        ServiceDeploymentTypeDef,
        ServiceEventTypeDef,
        ServiceTypeDef,
        TaskDefinitionTypeDef,
    )

DEFAULT_TIMEOUT = 900.0
DEFAULT_POLL_INTERVAL = 10.0
BLUE_GREEN = "BLUE_GREEN"
# Service deployment statuses that end a blue/green deployment without it succeeding.
ROLLED_BACK = ("ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")
# How far before our UpdateService's deployment a listed service deployment may start and
# still be ours (ECS stamps both at the same moment, give or take clock skew).
SAME_DEPLOYMENT_SKEW = datetime.timedelta(seconds=60)


def register_task_definition(
    path: Path, values: Mapping[str, str], *, ecs: ECSClient
) -> TaskDefinitionTypeDef:
    """Render ``path`` with ``values``, check it against botocore's model, register it.

    Raises EcsCommandError (one line) for an unreadable file, a bad placeholder value,
    a request the model rejects, or an API error; nothing is sent unless it is valid.
    """
    return register_request(task_definition_request(path, values), ecs=ecs)


def task_definition_request(path: Path, values: Mapping[str, str]) -> dict[str, Any]:
    """The rendered request in ``path``, checked against botocore's model; EcsCommandError
    (one line) for an unreadable file, a bad placeholder value or a request the model
    rejects."""
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
    return request


def register_request(request: Mapping[str, Any], *, ecs: ECSClient) -> TaskDefinitionTypeDef:
    """RegisterTaskDefinition; EcsCommandError (one line) for an API error."""
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
class Rollout:
    """One service and the task definition to point it at."""

    service: str
    task_definition: str  # family, family:revision or ARN


@dataclass(frozen=True)
class DeployResult(CommandResult):
    """One service's verdict (the last line printed for it) and its deployment's id."""

    deployment_id: str


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
    (result,) = deploy_services(
        options.cluster,
        [Rollout(options.service, options.task_definition)],
        timeout=options.timeout,
        poll_interval=options.poll_interval,
        ecs=ecs,
        out=out,
        clock=clock,
        sleep=sleep,
    )
    return result


def deploy_services(
    cluster: str,
    rollouts: Sequence[Rollout],
    *,
    ecs: ECSClient,
    timeout: float = DEFAULT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    out: TextIO | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> list[DeployResult]:
    """Start every service's deployment, then wait for all of them together.

    One UpdateService per service, in order, then one DescribeServices per poll for the
    services still undecided; ``timeout`` counts from the first UpdateService. Each
    service gets the verdict ``deploy_service`` would give it; one failing does not stop
    the wait for the others (ECS carries on with them anyway). With several services
    every progress line starts with the service's name and a last line sums up.
    Returns the results in the order of ``rollouts``.
    """
    if not rollouts:
        raise EcsCommandError("no service to deploy")
    repeated = sorted(name for name, n in Counter(r.service for r in rollouts).items() if n > 1)
    if repeated:
        raise EcsCommandError(f"service {', '.join(repeated)} given more than once")
    deploy = _Deploy(cluster, rollouts, timeout, poll_interval, ecs, out or sys.stdout, clock)
    return deploy.run(sleep)


class _Deploy:
    """The services rolled together: starts them, polls them, sums up."""

    def __init__(
        self,
        cluster: str,
        rollouts: Sequence[Rollout],
        timeout: float,
        poll_interval: float,
        ecs: ECSClient,
        out: TextIO,
        clock: Callable[[], float],
    ) -> None:
        self.cluster = cluster
        self.rollouts = rollouts
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.ecs = ecs
        self.out = out
        self.clock = clock
        self.watches: list[_Watch] = []

    def run(self, sleep: Callable[[float], None]) -> list[DeployResult]:
        started = self.clock()
        latest: dict[_Watch, ServiceTypeDef] = {}
        tagged = len(self.rollouts) > 1
        for rollout in self.rollouts:
            watch = _Watch(rollout, self.cluster, self.out, self.clock, tagged=tagged)
            try:
                latest[watch] = watch.start(self.ecs)
            except EcsCommandError as error:
                if not self.watches:
                    raise
                raise EcsCommandError(f"{error} ({_in_progress(self.watches)})") from None
            self.watches.append(watch)
        try:
            self.wait(latest, started + self.timeout, sleep)
        except KeyboardInterrupt:
            # A cancelled workflow run: ECS carries on (and the circuit breaker still
            # guards it); only the watching stops.
            for watch in self.pending():
                watch.fail(f"interrupted after {watch.elapsed()} {watch.still()}")
        results = [watch.result for watch in self.watches if watch.result is not None]
        if tagged:
            self.sum_up(started)
        return results

    def pending(self) -> list[_Watch]:
        return [watch for watch in self.watches if watch.result is None]

    def wait(
        self,
        latest: dict[_Watch, ServiceTypeDef],
        deadline: float,
        sleep: Callable[[float], None],
    ) -> None:
        while True:
            for watch in self.pending():
                watch.observe(latest[watch])
            pending = self.pending()
            if not pending:
                return
            remaining = deadline - self.clock()
            if remaining <= 0:
                for watch in pending:
                    watch.fail(f"timed out after {round(self.timeout)}s {watch.still()}")
                return
            sleep(min(self.poll_interval, remaining))
            latest = self.describe(pending)

    def describe(self, watches: list[_Watch]) -> dict[_Watch, ServiceTypeDef]:
        """The services' current state, in one call per ten (DescribeServices' limit)."""
        note = _in_progress(watches)
        latest: dict[_Watch, ServiceTypeDef] = {}
        for first in range(0, len(watches), 10):
            chunk = watches[first : first + 10]
            names = [watch.rollout.service for watch in chunk]
            with aws_errors(
                f"DescribeServices {', '.join(names)} in cluster {self.cluster}", note=note
            ):
                response = self.ecs.describe_services(cluster=self.cluster, services=names)
            answers = response.get("services", [])
            for watch in chunk:
                service = next((s for s in answers if watch.is_about(s)), None)
                if service is None:
                    failures = response.get("failures", [])
                    reason = "; ".join(f.get("reason", "?") for f in failures)
                    raise EcsCommandError(
                        f"service {watch.rollout.service} not found in cluster {self.cluster} "
                        f"({reason or 'no answer'}); {note}"
                    )
                latest[watch] = service
        return latest

    def sum_up(self, started: float) -> None:
        failed = [watch.name for watch in self.watches if watch.result and not watch.result.ok]
        total = len(self.watches)
        if failed:
            line = f"deploy: FAILED: {', '.join(failed)} ({len(failed)} of {total} services)"
        else:
            line = f"deploy: all {total} services ok in {round(self.clock() - started)}s"
        print(line, file=self.out, flush=True)


def _in_progress(watches: Sequence[_Watch]) -> str:
    if len(watches) == 1:
        return f"deployment {watches[0].deployment_id} was started and may still be in progress"
    listed = ", ".join(f"{watch.deployment_id} ({watch.name})" for watch in watches)
    return f"deployments {listed} were started and may still be in progress"


class _Watch:
    """One service's deployment: the one its UpdateService started, followed by id."""

    def __init__(
        self,
        rollout: Rollout,
        cluster: str,
        out: TextIO,
        clock: Callable[[], float],
        *,
        tagged: bool,
    ) -> None:
        self.rollout = rollout
        self.cluster = cluster
        self.out = out
        self.clock = clock
        self.tagged = tagged  # several services: progress lines start with the name
        self.started = clock()
        self.name = rollout.service
        self.deployment_id = ""
        self.revision = rollout.task_definition
        self.replaced_task_definitions: frozenset[str] = frozenset()
        self.seen_events: set[str] = set()
        self.since: datetime.datetime | None = None  # when our deployment was created
        self.last_status = ""
        self.result: DeployResult | None = None
        # Blue/green: followed through its service deployment (start() learns the strategy).
        self.ecs: ECSClient | None = None
        self.blue_green = False
        self.service_deployment_arn: str | None = None
        self.last_stage = ""

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def progress(self, line: str) -> None:
        self.say(f"{self.name}: {line}" if self.tagged else line)

    def elapsed(self) -> str:
        return f"{round(self.clock() - self.started)}s"

    def succeed(self) -> None:
        number = self.revision.rpartition(":")[2]
        line = f"deploy {self.name}: ok (rev {number}) in {self.elapsed()}"
        self.say(line)
        self.result = DeployResult(True, line, self.deployment_id)

    def fail(self, why: str) -> None:
        line = f"deploy {self.name}: FAILED: {why}"
        self.say(line)
        self.result = DeployResult(False, line, self.deployment_id)

    def is_about(self, service: ServiceTypeDef) -> bool:
        asked = self.rollout.service
        return asked in (service.get("serviceArn"), service.get("serviceName")) or (
            service.get("serviceName") == self.name
        )

    def start(self, ecs: ECSClient) -> ServiceTypeDef:
        """UpdateService; remember the deployment it started and what it replaces."""
        cluster, rollout = self.cluster, self.rollout
        self.started = self.clock()
        with aws_errors(f"UpdateService {rollout.service} in cluster {cluster}"):
            service = ecs.update_service(
                cluster=cluster,
                service=rollout.service,
                taskDefinition=rollout.task_definition,
            )["service"]
        self.name = service.get("serviceName", rollout.service)
        self.revision = _revision(service.get("taskDefinition", rollout.task_definition))
        self.ecs = ecs
        strategy = service.get("deploymentConfiguration", {}).get("strategy")
        self.blue_green = strategy == BLUE_GREEN
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
        how = "blue/green: " if self.blue_green else ""
        self.say(
            f"deploy {self.name}: {how}rolling out {self.revision} on cluster {cluster}"
            + (f" (replacing {replacing})" if replacing else "")
        )
        self.progress(f"deployment: {self.deployment_id}")
        return service

    def observe(self, service: ServiceTypeDef) -> None:
        """Print what is new; set ``result`` once this deployment is over."""
        self.report(service)
        self.decide(service)

    def still(self) -> str:
        state = f"at {self.last_status}" if self.last_status else "in progress"
        return f"with deployment {self.deployment_id} {state}; the service may still be deploying"

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
            self.progress(f"event: {event.get('message', '')}")
        ours = self.ours(service)
        if ours is None:
            return
        status = _describe_deployment(ours, len(service.get("deployments", [])))
        if status != self.last_status:
            self.last_status = status
            self.progress(f"status: {status} ({self.elapsed()})")

    # ------------------------------------------------------------------------ deciding

    def ours(self, service: ServiceTypeDef) -> DeploymentTypeDef | None:
        deployments = service.get("deployments", [])
        return next((d for d in deployments if d.get("id") == self.deployment_id), None)

    def decide(self, service: ServiceTypeDef) -> None:
        """Set the verdict once this deployment is over."""
        if self.blue_green:
            self.decide_blue_green()
            return
        deployments = service.get("deployments", [])
        ours = self.ours(service)
        primary = _primary(deployments)
        state = ours.get("rolloutState") if ours is not None else None
        if state == "COMPLETED":
            self.succeed()
        elif ours is None or (primary is not None and primary is not ours):
            self.fail(self.taken_over(ours, primary))
        elif state == "FAILED":
            self.fail(ours.get("rolloutStateReason") or "the rollout FAILED (no reason)")
        # No rolloutState (older services, some emulators): what services-stable checks,
        # but for our deployment: it is PRIMARY, alone, and at its desired count.
        elif (
            state is None
            and len(deployments) == 1
            and ours.get("runningCount") == ours.get("desiredCount")
        ):
            self.succeed()

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

    # --------------------------------------------------------------------- blue/green

    def decide_blue_green(self) -> None:
        """Follow our service deployment's status and lifecycle stage until it ends."""
        deployment = self.service_deployment()
        if deployment is None:
            return  # not listed yet: ECS lists it moments after UpdateService
        status = deployment.get("status", "")
        stage = deployment.get("lifecycleStage")
        line = f"{status}, stage {stage}" if stage else status
        if line != self.last_stage:
            self.last_stage = line
            self.progress(f"blue/green: {line} ({self.elapsed()})")
        reason = deployment.get("rollback", {}).get("reason") or deployment.get("statusReason")
        why = f": {reason}" if reason else ""
        replaced = ", ".join(sorted(map(_revision, self.replaced_task_definitions)))
        if status == "SUCCESSFUL":
            self.succeed()
        elif status == "ROLLBACK_SUCCESSFUL":
            stays = f"; production traffic stays on {replaced}" if replaced else ""
            self.fail(f"blue/green deployment rolled back{why}{stays}")
        elif status == "ROLLBACK_FAILED":
            self.fail(f"blue/green rollback FAILED{why}; check the service's target groups")
        elif status == "STOPPED":
            self.fail(f"blue/green deployment stopped{why}")
        # PENDING, IN_PROGRESS, STOP_REQUESTED, ROLLBACK_REQUESTED, ROLLBACK_IN_PROGRESS:
        # not over yet (a rollback is followed to its end, so the last line says how it
        # ended).

    def service_deployment(self) -> ServiceDeploymentTypeDef | None:
        """Our UpdateService's service deployment (found by its start time), described."""
        assert self.ecs is not None
        if self.service_deployment_arn is None:
            after = (self.since or datetime.datetime.now(datetime.timezone.utc)) - (
                SAME_DEPLOYMENT_SKEW
            )
            with aws_errors(
                f"ListServiceDeployments {self.name} in cluster {self.cluster}",
                note=_in_progress([self]),
            ):
                listed = self.ecs.list_service_deployments(
                    cluster=self.cluster, service=self.name, createdAt={"after": after}
                ).get("serviceDeployments", [])
            newest = max(listed, key=lambda d: d.get("createdAt", after), default=None)
            if newest is None or "serviceDeploymentArn" not in newest:
                return None
            self.service_deployment_arn = newest["serviceDeploymentArn"]
            self.progress(f"service deployment: {self.service_deployment_arn}")
        with aws_errors(f"DescribeServiceDeployments {self.name}", note=_in_progress([self])):
            described = self.ecs.describe_service_deployments(
                serviceDeploymentArns=[self.service_deployment_arn]
            ).get("serviceDeployments", [])
        return described[0] if described else None


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

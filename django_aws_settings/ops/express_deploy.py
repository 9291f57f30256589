"""Roll the web service of an ECS Express Mode stack and wait for that deployment.

An Express Mode service has no task definition the pipeline points it at: it takes a
*primary container*. ``express-deploy`` builds that container from the web container of the
rendered deploy/ecs/web.json (the file the ECS stack registers, so the image, command,
environment and secrets are the same ones), sends it with UpdateExpressGatewayService, and
follows the service deployment that call started until ECS says SUCCESSFUL. A rollback
(Express Mode watches its deployments with an alarm), a stop or a timeout fails.

Express services are followed through ListServiceDeployments / DescribeServiceDeployments,
not DescribeServices' deployment list. The ECS client, the clock and ``sleep`` are passed
in, so tests drive every path with botocore's Stubber (moto has neither API).
"""

from __future__ import annotations

import datetime
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from .run_task import CommandResult, EcsCommandError, aws_errors

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient

DEFAULT_TIMEOUT = 900.0
DEFAULT_POLL_INTERVAL = 10.0
WEB_CONTAINER = "web"
# DescribeServiceDeployments' statuses: the deploy is over at one of these.
SUCCEEDED = "SUCCESSFUL"
FAILED = frozenset({"STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"})


def primary_container(request: Mapping[str, Any]) -> dict[str, Any]:
    """The Express Mode primary container of a rendered web task definition request.

    What Express Mode takes of the web container: image, command, port, environment,
    secrets and log destination (it runs the rest with its own defaults)."""
    containers = request.get("containerDefinitions", [])
    web = next((c for c in containers if c.get("name") == WEB_CONTAINER), None)
    if web is None:
        raise EcsCommandError(f"{request.get('family', '?')}: no container named {WEB_CONTAINER}")
    mappings = web.get("portMappings", [])
    if not mappings or "containerPort" not in mappings[0]:
        raise EcsCommandError(f"{request.get('family', '?')}: the web container maps no port")
    container: dict[str, Any] = {
        "image": web["image"],
        "containerPort": mappings[0]["containerPort"],
        "environment": list(web.get("environment", [])),
        "secrets": list(web.get("secrets", [])),
    }
    if "command" in web:
        container["command"] = list(web["command"])
    options = web.get("logConfiguration", {}).get("options", {})
    if "awslogs-group" in options:
        container["awsLogsConfiguration"] = {
            "logGroup": options["awslogs-group"],
            "logStreamPrefix": options.get("awslogs-stream-prefix", WEB_CONTAINER),
        }
    return container


def update_request(service_arn: str, request: Mapping[str, Any]) -> dict[str, Any]:
    """The UpdateExpressGatewayService request, checked against botocore's model."""
    update = {"serviceArn": service_arn, "primaryContainer": primary_container(request)}
    errors = _validation_errors("UpdateExpressGatewayService", update)
    if errors:
        raise EcsCommandError(
            f"not a valid UpdateExpressGatewayService request: {'; '.join(errors)}"
        )
    return update


@dataclass(frozen=True)
class ExpressDeployResult(CommandResult):
    deployment_arn: str


def deploy_express_service(
    cluster: str,
    service: str,
    request: Mapping[str, Any],
    *,
    ecs: ECSClient,
    timeout: float = DEFAULT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    out: TextIO | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
) -> ExpressDeployResult:
    """Send the web container of ``request`` to the Express service and wait for the
    deployment it started. EcsCommandError (one line) for bad input and API errors."""
    say = _printer(out or sys.stdout)
    started, since = clock(), now()
    with aws_errors(f"DescribeServices {service} in cluster {cluster}"):
        found = ecs.describe_services(cluster=cluster, services=[service]).get("services", [])
    if not found or "serviceArn" not in found[0]:
        raise EcsCommandError(f"service {service} not found in cluster {cluster}")
    arn = found[0]["serviceArn"]
    update = update_request(arn, request)
    with aws_errors(f"UpdateExpressGatewayService {service}"):
        ecs.update_express_gateway_service(**update)
    say(f"express-deploy {service}: rolling out {update['primaryContainer']['image']}")
    note = "the update was sent and may still be deploying"
    deployment = ""
    while True:
        if not deployment:
            deployment = _started_deployment(ecs, cluster, service, since, note)
            if deployment:
                say(f"deployment: {deployment}")
        status, reason = _status(ecs, deployment, note) if deployment else ("", "")
        elapsed = f"{round(clock() - started)}s"
        if status == SUCCEEDED:
            return _verdict(say, True, f"express-deploy {service}: ok in {elapsed}", deployment)
        if status in FAILED:
            why = f"{status}{f' ({reason})' if reason else ''}"
            return _verdict(say, False, f"express-deploy {service}: FAILED: {why}", deployment)
        remaining = started + timeout - clock()
        if remaining <= 0:
            state = f"at {status}" if status else "not started"
            line = (
                f"express-deploy {service}: FAILED: timed out after {round(timeout)}s"
                f" with the deployment {state}; {note}"
            )
            return _verdict(say, False, line, deployment)
        sleep(min(poll_interval, remaining))


def _started_deployment(
    ecs: ECSClient, cluster: str, service: str, since: datetime.datetime, note: str
) -> str:
    """The newest service deployment created since the update, or "" (not there yet)."""
    with aws_errors(f"ListServiceDeployments {service}", note=note):
        listed = ecs.list_service_deployments(
            cluster=cluster, service=service, createdAt={"after": since}
        ).get("serviceDeployments", [])
    newest = max(listed, key=lambda d: d.get("createdAt", since), default=None)
    return str(newest.get("serviceDeploymentArn", "")) if newest else ""


def _status(ecs: ECSClient, deployment: str, note: str) -> tuple[str, str]:
    with aws_errors(f"DescribeServiceDeployments {deployment}", note=note):
        described = ecs.describe_service_deployments(serviceDeploymentArns=[deployment])
    for ours in described.get("serviceDeployments", []):
        return str(ours.get("status", "")), str(ours.get("statusReason", ""))
    return "", ""


def _verdict(
    say: Callable[[str], None], ok: bool, line: str, deployment: str
) -> ExpressDeployResult:
    say(line)
    return ExpressDeployResult(ok, line, deployment)


def _printer(out: TextIO) -> Callable[[str], None]:
    def say(line: str) -> None:
        print(line, file=out, flush=True)

    return say


def _validation_errors(operation: str, params: Mapping[str, Any]) -> list[str]:
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("ecs")
    shape = model.operation_model(operation).input_shape
    assert shape is not None
    report = ParamValidator().validate(dict(params), shape)
    return report.generate_report().splitlines() if report.has_errors() else []

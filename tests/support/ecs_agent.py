"""A fake ECS agent: task metadata v4 and the task-protection endpoint, on loopback."""

from __future__ import annotations

import datetime
import http.client
import http.server
import ipaddress
import json
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Literal

from .processes import LOOPBACK

EcsMode = Literal["ok", "hang", "error"]
# How the agent answers task protection requests: "denied" is the task role lacking
# ecs:UpdateTaskProtection, "not-in-service" a task started by RunTask (TASK_NOT_VALID).
ProtectionMode = Literal["ok", "denied", "not-in-service", "hang"]
PROTECTION_PATH = "/task-protection/v1/state"


@dataclass(frozen=True)
class ProtectionCall:
    """One PUT to ${ECS_AGENT_URI}/task-protection/v1/state, as the agent decoded it."""

    enabled: bool
    minutes: int | None
    at: float  # time.monotonic() on arrival


def _timestamp(moment: datetime.datetime) -> str:
    """The agent's format: RFC 3339 UTC with nanoseconds, e.g. 2020-10-02T00:15:07.620912337Z."""
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}417Z"


@dataclass
class EcsMetadataEndpoint:
    """A stand-in for the ECS agent's task metadata endpoint v4 (Fargate, awsvpc).

    Shapes follow the documented Fargate examples and the agent's TMDS v4 structs.
    Tests change `private_ip` or `mode` at any time: "hang" never answers (timeouts),
    "error" answers 500. `requests` lists the paths asked for.

    The same server is the agent's task scale-in protection endpoint at `agent_uri`
    (ECS_AGENT_URI): PUT and GET .../task-protection/v1/state, answered as the agent's
    taskprotection/v1 handlers do; `protection_calls` records every valid PUT and
    `protection_mode` chooses the answer.
    """

    private_ip: str = "10.0.1.23"
    mode: EcsMode = "ok"
    region: str = "us-east-1"
    account_id: str = "123456789012"
    cluster: str = "app"
    service_name: str | None = "app-web"
    family: str = "app-web"
    revision: str = "7"
    container_name: str = "web"
    availability_zone: str = "us-east-1a"
    task_id: str = field(default_factory=lambda: secrets.token_hex(16))
    requests: list[str] = field(default_factory=list)
    protection_mode: ProtectionMode = "ok"
    protection_calls: list[ProtectionCall] = field(default_factory=list)
    _protected_until: float | None = field(default=None, repr=False)  # monotonic
    _release: threading.Event = field(default_factory=threading.Event, repr=False)
    _server: _EcsHttpServer | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _docker_id: str = field(default="", repr=False)

    @property
    def uri(self) -> str:
        """What ECS puts in ECS_CONTAINER_METADATA_URI_V4 (note: a path, no trailing slash)."""
        if self._server is None:
            raise RuntimeError("endpoint not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v4/{self._docker_id}"

    def environ(self) -> dict[str, str]:
        return {"ECS_CONTAINER_METADATA_URI_V4": self.uri}

    @property
    def agent_uri(self) -> str:
        """What ECS puts in ECS_AGENT_URI: http://169.254.170.2/api/<container id> on Fargate."""
        if self._server is None:
            raise RuntimeError("endpoint not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/api/{self._docker_id}"

    def agent_environ(self) -> dict[str, str]:
        return {"ECS_AGENT_URI": self.agent_uri}

    @property
    def protected(self) -> bool:
        """Whether the task is protected now, as ECS would answer GetTaskProtection."""
        return self._protected_until is not None and time.monotonic() < self._protected_until

    @property
    def cluster_arn(self) -> str:
        return f"arn:aws:ecs:{self.region}:{self.account_id}:cluster/{self.cluster}"

    @property
    def task_arn(self) -> str:
        return f"arn:aws:ecs:{self.region}:{self.account_id}:task/{self.cluster}/{self.task_id}"

    def _network(self) -> dict[str, Any]:
        subnet = ipaddress.ip_network(f"{self.private_ip}/24", strict=False)
        internal = (
            "ec2.internal" if self.region == "us-east-1" else f"{self.region}.compute.internal"
        )
        return {
            "NetworkMode": "awsvpc",
            "IPv4Addresses": [self.private_ip],
            "AttachmentIndex": 0,
            "MACAddress": "0a:de:f6:10:51:e5",
            "IPv4SubnetCIDRBlock": str(subnet),
            "DomainNameServers": [str(subnet.network_address + 2)],
            "DomainNameSearchList": [internal],
            "PrivateDNSName": f"ip-{self.private_ip.replace('.', '-')}.{internal}",
            "SubnetGatewayIpv4Address": f"{subnet.network_address + 1}/{subnet.prefixlen}",
        }

    def container_metadata(self) -> dict[str, Any]:
        """Body of GET ${ECS_CONTAINER_METADATA_URI_V4}."""
        started = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
        return {
            "DockerId": self._docker_id,
            "Name": self.container_name,
            "DockerName": self.container_name,
            "Image": f"{self.account_id}.dkr.ecr.{self.region}.amazonaws.com/{self.family}:latest",
            "ImageID": "sha256:" + "ab" * 32,
            "Labels": {
                "com.amazonaws.ecs.cluster": self.cluster_arn,
                "com.amazonaws.ecs.container-name": self.container_name,
                "com.amazonaws.ecs.task-arn": self.task_arn,
                "com.amazonaws.ecs.task-definition-family": self.family,
                "com.amazonaws.ecs.task-definition-version": self.revision,
            },
            "DesiredStatus": "RUNNING",
            "KnownStatus": "RUNNING",
            "Limits": {"CPU": 2, "Memory": 512},
            "CreatedAt": _timestamp(started),
            "StartedAt": _timestamp(started),
            "Type": "NORMAL",
            "LogDriver": "awslogs",
            "LogOptions": {
                "awslogs-create-group": "true",
                "awslogs-group": f"/ecs/{self.family}",
                "awslogs-region": self.region,
                "awslogs-stream": f"{self.container_name}/{self.container_name}/{self.task_id}",
            },
            "ContainerARN": (
                f"arn:aws:ecs:{self.region}:{self.account_id}:container/"
                f"{self.cluster}/{self.task_id}/{secrets.token_hex(4)}-0000-4000-8000-{'0' * 12}"
            ),
            "Networks": [self._network()],
            "Snapshotter": "overlayfs",
        }

    def task_metadata(self) -> dict[str, Any]:
        """Body of GET ${ECS_CONTAINER_METADATA_URI_V4}/task."""
        now = datetime.datetime.now(datetime.timezone.utc)
        body: dict[str, Any] = {
            "Cluster": self.cluster_arn,
            "TaskARN": self.task_arn,
            "Family": self.family,
            "Revision": self.revision,
            "DesiredStatus": "RUNNING",
            "KnownStatus": "RUNNING",
            "Limits": {"CPU": 0.25, "Memory": 512},
            "PullStartedAt": _timestamp(now - datetime.timedelta(minutes=6)),
            "PullStoppedAt": _timestamp(now - datetime.timedelta(minutes=5)),
            "AvailabilityZone": self.availability_zone,
            "LaunchType": "FARGATE",
            "Containers": [self.container_metadata()],
            "ClockDrift": {
                "ClockErrorBound": 0.4,
                "ReferenceTimestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "ClockSynchronizationStatus": "SYNCHRONIZED",
            },
            "EphemeralStorageMetrics": {"Utilized": 261, "Reserved": 20496},
        }
        if self.service_name is not None:
            body["ServiceName"] = self.service_name
        return body

    def start(self) -> None:
        self._docker_id = f"{self.task_id}-{secrets.randbelow(10**10):010d}"
        self._server = _EcsHttpServer((LOOPBACK, 0), _EcsHandler)
        self._server.endpoint = self
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # shutdown() waits up to one poll interval
            name="ecs-metadata",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self._release.set()  # let "hang" handlers return
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _answer(self, path: str) -> tuple[int, dict[str, Any] | None]:
        self.requests.append(path)
        if self.mode == "hang":
            self._release.wait(timeout=60)
            return 0, None
        if self.mode == "error":
            return 500, None
        base = urllib.parse.urlsplit(self.uri).path
        if path == base:
            return 200, self.container_metadata()
        if path == f"{base}/task":
            return 200, self.task_metadata()
        return 404, None

    def _protection(self, method: str, path: str, raw: bytes) -> tuple[int, dict[str, Any] | None]:
        """The agent's UpdateTaskProtection (PUT) and GetTaskProtection (GET) handlers."""
        if path != urllib.parse.urlsplit(self.agent_uri).path + PROTECTION_PATH:
            return 404, None
        if method == "GET":
            return 200, self._protection_state()
        try:
            request = json.loads(raw)
        except ValueError:
            request = None
        # The agent decodes with DisallowUnknownFields and requires ProtectionEnabled.
        known = isinstance(request, dict) and set(request) <= {
            "ProtectionEnabled",
            "ExpiresInMinutes",
        }
        enabled = request.get("ProtectionEnabled") if known else None
        minutes = request.get("ExpiresInMinutes") if known else None
        if not isinstance(enabled, bool) or not (
            minutes is None or (type(minutes) is int and 1 <= minutes <= 2880)
        ):
            return 400, self._protection_error(
                "InvalidParameterException",
                "Invalid request: expected ProtectionEnabled"
                " (boolean) and optionally ExpiresInMinutes (1 to 2880)",
            )
        self.protection_calls.append(ProtectionCall(enabled, minutes, time.monotonic()))
        if self.protection_mode == "hang":
            self._release.wait(timeout=60)
            return 0, None
        if self.protection_mode == "denied":
            return 400, self._protection_error(
                "AccessDeniedException",
                f"User: arn:aws:sts::{self.account_id}:assumed-role/{self.cluster}-task/"
                f"{self.task_id} is not authorized to perform: ecs:UpdateTaskProtection on "
                f"resource: {self.task_arn} because no identity-based policy allows the "
                "ecs:UpdateTaskProtection action",
            )
        if self.protection_mode == "not-in-service":
            # UpdateTaskProtection's failures reach the container with a 200.
            return 200, {
                "failure": {"Arn": self.task_arn, "Detail": None, "Reason": "TASK_NOT_VALID"}
            }
        if enabled:
            self._protected_until = time.monotonic() + 60 * (minutes or 120)
        else:
            self._protected_until = None
        return 200, self._protection_state()

    def _protection_state(self) -> dict[str, Any]:
        expiration = None
        if self.protected:
            assert self._protected_until is not None
            left = datetime.timedelta(seconds=self._protected_until - time.monotonic())
            moment = datetime.datetime.now(datetime.timezone.utc) + left
            expiration = f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"
        return {
            "protection": {
                "ExpirationDate": expiration,
                "ProtectionEnabled": self.protected,
                "TaskArn": self.task_arn,
            }
        }

    def _protection_error(self, code: str, message: str) -> dict[str, Any]:
        return {
            "requestID": secrets.token_hex(8),
            "error": {"Arn": self.task_arn, "Code": code, "Message": message},
        }


class _EcsHttpServer(http.server.ThreadingHTTPServer):
    daemon_threads = True  # a "hang" handler must not block interpreter exit
    endpoint: EcsMetadataEndpoint


class _EcsHandler(http.server.BaseHTTPRequestHandler):
    server: _EcsHttpServer

    def do_GET(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        if path.startswith("/api/"):
            self._send(*self.server.endpoint._protection("GET", path, b""))
        else:
            self._send(*self.server.endpoint._answer(path))

    def do_PUT(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        path = urllib.parse.urlsplit(self.path).path
        self._send(*self.server.endpoint._protection("PUT", path, raw))

    def _send(self, status: int, body: dict[str, Any] | None) -> None:
        if status == 0:
            self.close_connection = True
            return
        payload = json.dumps(body).encode() if body is not None else b"internal server error"
        if status == 404:
            payload = b"404 page not found"
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if body is not None else "text/plain")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr line."""

"""moto in server mode on loopback, with a log of every AWS request it served."""

from __future__ import annotations

import contextlib
import http.client
import http.server
import io
import json
import os
import re
import threading
import urllib.parse
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast, overload

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from botocore.config import Config
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_sts import STSClient
    from werkzeug.serving import BaseWSGIServer
from .processes import LOOPBACK


@dataclass(frozen=True)
class AwsRequest:
    """One request moto received, reduced to what tests assert on.

    `service` is the SigV4 signing name ("secretsmanager", "ssm", "s3", "ecs", "sqs",
    "monitoring" for CloudWatch, "sts"). `operation` is the API name ("GetParameters")
    for JSON, query and RPCv2-CBOR protocols, and "<METHOD> <path>" for S3.
    `params` is the decoded JSON or form body (e.g. params["SecretIdList"]), else {}.
    """

    service: str
    operation: str
    method: str
    path: str
    query: str
    params: Mapping[str, Any]


class RequestLog:
    """Thread-safe list of the AWS requests moto served, in arrival order.

    Typical assertion (exact, so an unexpected extra call fails the test):
        assert aws.requests.operations() == Counter(BatchGetSecretValue=2, GetParameters=1)
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[AwsRequest] = []

    def record(self, request: AwsRequest) -> None:
        with self._lock:
            self._calls.append(request)

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()

    def all(self) -> list[AwsRequest]:
        with self._lock:
            return list(self._calls)

    def __iter__(self) -> Iterator[AwsRequest]:
        return iter(self.all())

    def __len__(self) -> int:
        with self._lock:
            return len(self._calls)

    def operations(self, service: str | None = None) -> Counter[str]:
        """Operation name -> number of calls (optionally for one service only)."""
        return Counter(r.operation for r in self.all() if service is None or r.service == service)

    def calls(self, operation: str, *, service: str | None = None) -> list[AwsRequest]:
        return [
            r
            for r in self.all()
            if r.operation == operation and (service is None or r.service == service)
        ]

    def count(self, operation: str, *, service: str | None = None) -> int:
        return len(self.calls(operation, service=service))

    def __repr__(self) -> str:
        return f"RequestLog({dict(self.operations())!r})"


_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_RPC_V2_PATH = re.compile(r"^/service/[^/]+/operation/([^/]+)$")
_DECODED_BODIES = (
    "application/x-amz-json",
    "application/json",
    "application/x-www-form-urlencoded",
)


def _read_body(environ: WSGIEnvironment) -> bytes:
    """Read the body and put it back, so moto still sees it."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return b""
    if length <= 0:
        return b""
    body = cast("io.BufferedReader", environ["wsgi.input"]).read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def describe_request(environ: WSGIEnvironment) -> AwsRequest:
    """Work out service and operation the way AWS does: header, path or Action parameter."""
    method = str(environ.get("REQUEST_METHOD", "GET"))
    path = str(environ.get("PATH_INFO", ""))
    query = str(environ.get("QUERY_STRING", ""))
    content_type = str(environ.get("CONTENT_TYPE", ""))
    body = _read_body(environ) if content_type.startswith(_DECODED_BODIES) else b""

    params: dict[str, Any] = dict(urllib.parse.parse_qsl(query))
    if content_type.startswith("application/x-www-form-urlencoded"):
        params.update(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
    elif body:
        with contextlib.suppress(ValueError):
            decoded = json.loads(body)
            if isinstance(decoded, dict):
                params.update(decoded)

    authorization = str(environ.get("HTTP_AUTHORIZATION", "")) or urllib.parse.unquote(query)
    scope = _CREDENTIAL_SCOPE.search(authorization.replace("X-Amz-Credential=", "Credential="))
    service = scope.group(1) if scope else "unknown"

    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    rpc_v2 = _RPC_V2_PATH.match(path)
    if target:
        operation = target.rpartition(".")[2]
    elif rpc_v2:
        operation = rpc_v2.group(1)
    elif "Action" in params:
        operation = str(params["Action"])
    else:
        operation = f"{method} {path}"
    return AwsRequest(service, operation, method, path, query, params)


class RequestCountingMiddleware:
    """WSGI middleware in front of moto that records every AWS call (not /moto-api ones)."""

    def __init__(self, app: WSGIApplication, log: RequestLog) -> None:
        self.app = app
        self.log = log

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if not str(environ.get("PATH_INFO", "")).startswith("/moto-api"):
            self.log.record(describe_request(environ))
        return self.app(environ, start_response)


class MotoServer:
    """moto in server mode on a loopback port, in a thread, behind the counting middleware.

    Like `moto.server.ThreadedMotoServer`, but we build the WSGI server ourselves so the
    app can be wrapped (ThreadedMotoServer creates its app inside the thread).
    """

    def __init__(self) -> None:
        # Imported here: moto is only needed by tests that use AWS.
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        class QuietHandler(MotoRequestHandler):
            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                """No access log line per request: failing assertions show the RequestLog."""

        self.requests = RequestLog()
        app = RequestCountingMiddleware(
            DomainDispatcherApplication(create_backend_app), self.requests
        )
        self._server: BaseWSGIServer = make_server(
            LOOPBACK, 0, app, threaded=True, request_handler=QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="moto-server", daemon=True
        )

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def reset(self) -> None:
        """Forget every resource (all services, all regions) and every recorded request."""
        host, port = self._server.server_address[:2]
        conn = http.client.HTTPConnection(str(host), int(port), timeout=10)
        try:
            conn.request("POST", "/moto-api/reset")
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"moto reset failed: HTTP {response.status}")
        finally:
            conn.close()
        self.requests.reset()


FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@dataclass
class Aws:
    """What a test needs to talk to moto and to hand our package an environment."""

    endpoint_url: str
    region: str
    requests: RequestLog

    def environ(self, **extra: str) -> dict[str, str]:
        """The mapping to pass to the package: region and endpoint point at moto."""
        return {"AWS_REGION": self.region, "AWS_ENDPOINT_URL": self.endpoint_url, **extra}

    @overload
    def client(self, service_name: Literal["s3"], config: Config | None = None) -> S3Client: ...
    @overload
    def client(
        self, service_name: Literal["secretsmanager"], config: Config | None = None
    ) -> SecretsManagerClient: ...
    @overload
    def client(self, service_name: Literal["ssm"], config: Config | None = None) -> SSMClient: ...
    @overload
    def client(self, service_name: Literal["ecs"], config: Config | None = None) -> ECSClient: ...
    @overload
    def client(self, service_name: Literal["sqs"], config: Config | None = None) -> SQSClient: ...
    @overload
    def client(
        self, service_name: Literal["cloudwatch"], config: Config | None = None
    ) -> CloudWatchClient: ...
    @overload
    def client(self, service_name: Literal["sts"], config: Config | None = None) -> STSClient: ...
    def client(self, service_name: str, config: Config | None = None) -> Any:
        """A real boto3 client on moto, with its own session (no shared credential cache)."""
        import boto3

        session = boto3.session.Session(
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
            region_name=self.region,
        )
        return session.client(  # type: ignore[call-overload]
            service_name, endpoint_url=self.endpoint_url, config=config
        )


# Anything that ignores the mapping it was given and falls back to os.environ lands here:
# a closed loopback port, so the mistake fails fast instead of reaching real AWS.
TRAP_ENDPOINT_URL = "http://127.0.0.1:9"


def aws_environment(region: str) -> dict[str, str | None]:
    """os.environ changes for the `aws` fixture (None = delete)."""
    changes: dict[str, str | None] = {
        **FAKE_CREDENTIALS,
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": None,
        "AWS_PROFILE": None,
        "AWS_DEFAULT_PROFILE": None,
        "AWS_ROLE_ARN": None,
        "AWS_WEB_IDENTITY_TOKEN_FILE": None,
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": None,
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": None,
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": None,
        "ECS_CONTAINER_METADATA_URI_V4": None,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_ENDPOINT_URL": TRAP_ENDPOINT_URL,
    }
    for name in os.environ:
        if name.startswith("AWS_ENDPOINT_URL_"):
            changes[name] = None
    return changes

"""What every benchmark shares: sizes, statistics, the summary line and JSON result, the
processes it starts, moto with injected latency, and the sample project rendered and
given the environment its ECS task definitions describe.

The services (moto, PostgreSQL clusters, the sample project's git copy and Copier render)
come from the test suite's helpers in tests/services.py and tests/template_support.py, so
a benchmark runs exactly what the end-to-end tests run.
"""

from __future__ import annotations

import contextlib
import datetime
import http.client
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "tests"))  # services.py, template_support.py

from services import FAKE_CREDENTIALS, LOOPBACK, MotoServer, free_port  # noqa: E402
from template_support import (  # noqa: E402
    IMAGE,
    REQUIRED_ANSWERS,
    Dockerfile,
    container_environment,
    fake_aws,
    host_plumbing,
    media_signing,
    only_container,
    render,
    sample_copy,
    task_definition_files,
    without_image_paths,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

Size = Literal["tiny", "small", "full"]
SIZES: tuple[Size, ...] = ("tiny", "small", "full")
PYTHON = sys.executable
DEFAULT_OUT = REPO_ROOT / "bench" / "results"


# ------------------------------------------------------------------------- options


@dataclass(frozen=True)
class Options:
    """What the command line chose; ``runs`` None means each benchmark's default."""

    size: Size = "small"
    runs: int | None = None
    out: Path = DEFAULT_OUT
    latency_ms: float = 20.0

    def runs_for(self, defaults: Mapping[str, int]) -> int:
        return self.runs if self.runs is not None else defaults[self.size]

    @property
    def latency(self) -> float:
        """Seconds moto waits before answering each AWS request."""
        return self.latency_ms / 1000


# ----------------------------------------------------------------------- statistics


@dataclass(frozen=True)
class Sample:
    """Repeated measurements of one thing."""

    values: tuple[float, ...]

    @classmethod
    def of(cls, values: Iterable[float]) -> Sample:
        collected = tuple(values)
        if not collected:
            raise ValueError("a sample needs at least one value")
        return cls(collected)

    @property
    def median(self) -> float:
        return float(statistics.median(self.values))

    @property
    def spread(self) -> float:
        """(max - min) / median: how far apart the runs were, relative to the median."""
        if self.median == 0:
            return 0.0
        return (max(self.values) - min(self.values)) / self.median

    def as_dict(self) -> dict[str, Any]:
        return {
            "median": round(self.median, 6),
            "min": round(min(self.values), 6),
            "max": round(max(self.values), 6),
            "spread": round(self.spread, 4),
            "values": [round(v, 6) for v in self.values],
        }


def timed(action: Any, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    """(seconds, result) of one call, on the monotonic high-resolution clock."""
    start = time.perf_counter()
    result = action(*args, **kwargs)
    return time.perf_counter() - start, result


def number(value: float) -> str:
    """Four significant digits, no exponent for the magnitudes we print."""
    return f"{value:.4g}"


# -------------------------------------------------------------------------- results


def machine() -> dict[str, Any]:
    """Where the numbers came from; absolute times only compare on the same machine."""
    load = os.getloadavg()
    return {
        "arch": platform.machine(),
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "system": platform.platform(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "loadavg": [round(value, 2) for value in load],
    }


@dataclass
class Result:
    """One benchmark's outcome: ours and the baseline measured side by side in one run."""

    name: str
    size: Size
    runs: int
    ours: float
    baseline: float
    unit: str
    note: str  # what was measured, e.g. "seconds to the first 200, median of 5; lower is better"
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        """ours / baseline."""
        return self.ours / self.baseline if self.baseline else float("inf")

    def summary(self) -> str:
        return (
            f"{self.name}: ours={number(self.ours)} baseline={number(self.baseline)}"
            f" ratio={self.ratio:.3g} ({self.note})"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "size": self.size,
            "runs": self.runs,
            "ours": self.ours,
            "baseline": self.baseline,
            "ratio": round(self.ratio, 4),
            "unit": self.unit,
            "details": {"note": self.note, **self.details},
            "machine": machine(),
        }

    def write(self, out: Path) -> Path:
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{self.name}.json"
        path.write_text(json.dumps(self.as_dict(), indent=2, sort_keys=False) + "\n")
        return path


def log(message: str) -> None:
    """Progress on stderr, so stdout carries only the summary lines."""
    print(message, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------ processes


@contextlib.contextmanager
def running(
    command: Sequence[str], *, cwd: Path, env: Mapping[str, str], log_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a command (no shell, as ECS execs it); always stop it and its children.

    The process leads its own process group, so the gunicorn workers it forks go with it.
    """
    with log_path.open("ab") as output:
        popen = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield popen
    finally:
        stop(popen)


def stop(popen: subprocess.Popen[bytes], *, grace: float = 15) -> None:
    """SIGTERM the process, then SIGKILL whatever is left of its own process group."""
    if popen.poll() is None:
        popen.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(popen.pid, signal.SIGKILL)
    popen.wait(timeout=30)


def http_status(port: int, path: str, headers: Mapping[str, str], *, timeout: float = 2) -> int:
    """The status of a GET on loopback, or 0 when nothing answers yet."""
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        conn.request("GET", path, headers=dict(headers))
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError:
        return 0
    finally:
        conn.close()


def wait_for_ok(
    port: int,
    path: str,
    headers: Mapping[str, str],
    *,
    process: subprocess.Popen[bytes],
    log_path: Path,
    timeout: float = 60,
    interval: float = 0.005,
) -> float:
    """Poll until GET answers 200; return perf_counter() at that moment.

    Raises with the process log when it exits or the timeout passes first.
    """
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if http_status(port, path, headers) == 200:
            return time.perf_counter()
        if process.poll() is not None:
            break
        time.sleep(interval)
    output = log_path.read_text(errors="replace")[-4000:]
    raise RuntimeError(f"{path} on port {port} did not answer 200 in time:\n{output}")


# ---------------------------------------------------------------- moto with latency


class _Latency:
    """WSGI middleware that holds every AWS request for ``server.latency`` seconds."""

    def __init__(self, app: WSGIApplication, server: LatentMotoServer) -> None:
        self.app = app
        self.server = server

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if self.server.latency > 0 and not str(environ.get("PATH_INFO", "")).startswith(
            "/moto-api"
        ):
            time.sleep(self.server.latency)
        return self.app(environ, start_response)


class LatentMotoServer(MotoServer):
    """The test suite's moto server (counting requests), answering after ``latency`` s.

    Real Secrets Manager and SSM answer in tens of milliseconds; on loopback moto answers
    in one or two, which would hide what batching saves. The server is threaded, so
    concurrent requests wait in parallel, as they would against AWS.
    """

    def __init__(self, latency: float = 0.0) -> None:
        super().__init__()
        self.latency = latency
        # The counting app stays inside: a request is counted whether or not it waited.
        self._server.app = _Latency(self._server.app, self)


@contextlib.contextmanager
def moto(latency: float) -> Iterator[LatentMotoServer]:
    server = LatentMotoServer(latency)
    server.start()
    try:
        server.reset()  # moto's backends live in this process: start from nothing
        yield server
    finally:
        server.reset()
        server.stop()


def aws_client(endpoint_url: str, service: str, region: str) -> Any:
    """A boto3 client on moto with the fake credentials."""
    import boto3

    session = boto3.session.Session(
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
        region_name=region,
    )
    return session.client(service, endpoint_url=endpoint_url)  # type: ignore[call-overload]


# ---------------------------------------------------------------- delayed TCP link


class DelayedLink:
    """A loopback TCP proxy that delivers every chunk ``rtt / 2`` seconds late each way.

    Stands in for the network between an operator's machine and a database in another
    place (a PaaS source database): each request/response round trip costs ``rtt``
    more, while bandwidth stays loopback's. Chunks are queued with their arrival time, so
    a burst is delayed once, not once per chunk.
    """

    def __init__(self, upstream_host: str, upstream_port: int, rtt: float) -> None:
        import socket
        import threading

        self.upstream = (upstream_host, upstream_port)
        self.delay = rtt / 2
        self._listener = socket.create_server((LOOPBACK, 0))
        self.port = int(self._listener.getsockname()[1])
        self._closed = threading.Event()
        self._sockets: list[Any] = []
        self._thread = threading.Thread(target=self._accept, name="delayed-link", daemon=True)

    def __enter__(self) -> DelayedLink:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._closed.set()
        self._thread.join(timeout=5)
        self._listener.close()
        for sock in list(self._sockets):
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        import socket
        import threading

        self._listener.settimeout(0.1)  # closing a socket does not wake accept()
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._sockets.append(sock)
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: Any, sink: Any) -> None:
        import queue
        import threading

        chunks: queue.Queue[tuple[float, bytes]] = queue.Queue()

        def deliver() -> None:
            while True:
                arrived, data = chunks.get()
                wait = arrived + self.delay - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                try:
                    if not data:
                        sink.shutdown(2)  # SHUT_RDWR: the other side closed
                        return
                    sink.sendall(data)
                except OSError:
                    return

        threading.Thread(target=deliver, daemon=True).start()
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            chunks.put((time.perf_counter(), data))
            if not data:
                return


# ------------------------------------------------------------------- sample project

ENVIRONMENT = "production"
REGION = "eu-west-1"  # the template's default aws_region, so every ARN names it
DOMAIN = REQUIRED_ANSWERS["domain"]
ALB_HEALTH_CHECK = {"Host": "10.0.1.23:8000"}  # an ALB health check: the task's private IP
BEHIND_ALB = {"Host": DOMAIN, "X-Forwarded-Proto": "https"}  # what the ALB forwards for users
# The answer set the end-to-end tests run: pip, WSGI, Celery on Redis, WhiteNoise, media on S3.
SAMPLE_ANSWERS = {
    **REQUIRED_ANSWERS,
    "dependency_manager": "pip",
    "server": "wsgi",
    "celery": True,
    "celery_queues": "default,emails",
    "celery_beat": True,
    "static_backend": "whitenoise",
    "media_on_s3": True,
}
SYSTEM_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


@dataclass(frozen=True)
class DatabaseTarget:
    """Where the sample project's web task finds PostgreSQL (RDS-managed secret shape)."""

    host: str
    port: int
    name: str
    user: str
    password: str
    ca_path: Path


@dataclass
class SampleProject:
    """The sample project with the template rendered, and the values ECS would inject."""

    root: Path
    secret_values: dict[str, str]
    plumbing: dict[str, str]

    @property
    def dockerfile(self) -> Dockerfile:
        return Dockerfile.read(self.root / "Dockerfile")

    def container(self, role: str) -> dict[str, Any]:
        from django_aws_settings.ecs import render_task_definition

        values = {"image": IMAGE, "environment": ENVIRONMENT}
        return only_container(
            render_task_definition(task_definition_files(self.root)[role], values)
        )

    def command(self, role: str) -> list[str]:
        command: list[str] = self.container(role)["command"]
        return command

    def environ(self, role: str, **extra: str) -> dict[str, str]:
        """The image's ENV, the task definition's environment and secrets, then plumbing."""
        image_env = without_image_paths(self.dockerfile.runtime_environment())
        env = container_environment(image_env, self.container(role), self.secret_values)
        return {**env, **self.plumbing, **extra}

    def build(self) -> None:
        """The Dockerfile's collectstatic step, with the image's ENV and nothing else."""
        dockerfile = self.dockerfile
        (step,) = [
            run
            for run in dockerfile.arguments("RUN", dockerfile.last_stage)
            if "collectstatic" in run
        ]
        env = {
            **without_image_paths(dockerfile.runtime_environment()),
            **host_plumbing(Path(self.plumbing["HOME"])),
        }
        _check(
            ["/bin/sh", "-c", step.replace(dockerfile.workdir(), str(self.root))],
            cwd=self.root,
            env=env,
        )

    def run(self, role: str) -> None:
        """A one-off task's command (migrate), to completion."""
        _check(self.command(role), cwd=self.root, env=self.environ(role))


def _check(command: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> None:
    done = subprocess.run(
        list(command), cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        raise RuntimeError(f"{command} failed:\n{done.stdout}{done.stderr}")


def sample_project(base: Path, moto_server: MotoServer, database: DatabaseTarget) -> SampleProject:
    """Render the template into a fresh copy of the sample project and create in moto what
    its task definitions read: the media bucket, the RDS-managed secret and the
    maintenance parameter. DATABASE_SECRET holds a ``secretsmanager:`` reference, so every
    process start resolves it (one BatchGetSecretValue), as in production.
    """
    root = sample_copy(base)
    render(root, SAMPLE_ANSWERS)
    home = base / "home"
    home.mkdir(exist_ok=True)

    bucket = "shop-production-assets"
    s3 = aws_client(moto_server.endpoint_url, "s3", REGION)
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    secret = json.dumps({"username": database.user, "password": database.password})
    secretsmanager = aws_client(moto_server.endpoint_url, "secretsmanager", REGION)
    arn = secretsmanager.create_secret(
        Name="rds!cluster-3f9c2a1b-0d4e-4c1a-9a57-2b1c0f6e8d42", SecretString=secret
    )["ARN"]
    project = SampleProject(
        root=root,
        secret_values={
            "SECRET_KEY": "bench-" + "k" * 50,
            "REDIS_URL": "redis://127.0.0.1:6379/5",
            "DATABASE_SECRET": f"secretsmanager:{arn}",
            "DATABASE_HOST": database.host,
            "DATABASE_NAME": database.name,
            "AWS_STORAGE_BUCKET_NAME": bucket,
            "ALLOWED_HOSTS": DOMAIN,
            **media_signing(),
        },
        plumbing={
            **host_plumbing(home),
            **fake_aws(moto_server.endpoint_url),
            "DATABASE_PORT": str(database.port),
            "DATABASE_CA_BUNDLE": str(database.ca_path),
        },
    )
    parameter = project.environ("web").get("MAINTENANCE_PARAMETER")
    if parameter:
        ssm = aws_client(moto_server.endpoint_url, "ssm", REGION)
        ssm.put_parameter(Name=parameter, Value="off", Type="String")
    return project


def free_ports(count: int) -> list[int]:
    return [free_port() for _ in range(count)]


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


__all__ = [
    "ALB_HEALTH_CHECK",
    "BEHIND_ALB",
    "DEFAULT_OUT",
    "PYTHON",
    "REPO_ROOT",
    "SIZES",
    "SYSTEM_CA_BUNDLE",
    "DatabaseTarget",
    "LatentMotoServer",
    "Options",
    "Result",
    "Sample",
    "SampleProject",
    "Size",
    "aws_client",
    "fake_aws",
    "free_port",
    "host_plumbing",
    "http_status",
    "log",
    "machine",
    "moto",
    "running",
    "sample_project",
    "stop",
    "timed",
    "wait_for_ok",
]

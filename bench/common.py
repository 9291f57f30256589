"""What every benchmark shares: sizes, statistics, the summary line and JSON result,
waiting for a started process to answer, moto with injected latency, a delayed TCP link,
and the sample project rendered and given the environment its ECS task definitions
describe.

The services (moto, PostgreSQL clusters), the sample project's git copy and Copier
render, the rendered project's containers and the processes that run their commands come
from the test suite's harnesses in tests/support/, so a benchmark runs exactly what the
end-to-end tests run.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "tests"))  # the support package

from support.moto_server import Aws, MotoServer  # noqa: E402
from support.processes import LOOPBACK, Process, free_port, http_request, running  # noqa: E402
from support.template import (  # noqa: E402
    ALB_HEALTH_CHECK,
    BEHIND_ALB,
    REQUIRED_ANSWERS,
    RUN_ANSWERS,
    RUN_REGION,
    RenderedProject,
    fake_aws,
    host_plumbing,
    media_signing,
    render,
    sample_copy,
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


def http_status(port: int, path: str, headers: Mapping[str, str], *, timeout: float = 2) -> int:
    """The status of a GET on loopback, or 0 when nothing answers yet."""
    try:
        return http_request(port, path, headers, timeout=timeout).status
    except OSError:
        return 0


def wait_for_ok(
    port: int,
    path: str,
    headers: Mapping[str, str],
    *,
    process: Process,
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
        if process.popen.poll() is not None:
            break
        time.sleep(interval)
    output = process.log.read_text(errors="replace")[-4000:]
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


def moto_aws(server: MotoServer, region: str = RUN_REGION) -> Aws:
    """The test suite's handle on moto: ``moto_aws(server).client("s3")``, fake credentials."""
    return Aws(server.endpoint_url, region, server.requests)


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

DOMAIN = REQUIRED_ANSWERS["domain"]
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
class SampleProject(RenderedProject):
    """The sample project with the template rendered, and the values ECS would inject."""

    def build(self) -> None:
        """The Dockerfile's collectstatic step, with the image's ENV and nothing else."""
        _check(self.build_step())

    def run(self, role: str) -> None:
        """A one-off task's command (migrate), to completion."""
        done = subprocess.run(
            self.command(role),
            cwd=self.root,
            env=self.environ(role),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        _check(done)


def _check(done: subprocess.CompletedProcess[str]) -> None:
    if done.returncode != 0:
        raise RuntimeError(f"{done.args} failed:\n{done.stdout}{done.stderr}")


def sample_project(base: Path, moto_server: MotoServer, database: DatabaseTarget) -> SampleProject:
    """Render the template into a fresh copy of the sample project and create in moto what
    its task definitions read: the media bucket, the database secret and the maintenance
    parameter. DATABASE_SECRET holds the secret's JSON, as ECS injects it into the web,
    worker and beat tasks (valueFrom the secret); DATABASE_SECRET_REFERENCE (not a
    container variable) is the ``secretsmanager:`` reference the migrate task resolves.
    """
    root = sample_copy(base)
    render(root, RUN_ANSWERS)
    home = base / "home"
    home.mkdir(exist_ok=True)

    bucket = "shop-production-assets"
    s3 = moto_aws(moto_server).client("s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": RUN_REGION})
    secret = json.dumps({"username": database.user, "password": database.password})
    secretsmanager = moto_aws(moto_server).client("secretsmanager")
    arn = secretsmanager.create_secret(
        Name="rds!cluster-3f9c2a1b-0d4e-4c1a-9a57-2b1c0f6e8d42", SecretString=secret
    )["ARN"]
    # The app role's secret (Terraform's db-app): the migrate task's ensure_app_role creates
    # the role with it; web, worker and beat would get it whole as DATABASE_SECRET.
    app_role = secretsmanager.create_secret(
        Name="shop/production/db-app",
        SecretString=json.dumps({"username": "shop_app", "password": "bench-app-role-pw"}),
    )["ARN"]
    app_secret = {"SECRET_KEY": "bench-" + "k" * 50, "REDIS_URL": "redis://127.0.0.1:6379/5"}
    project = SampleProject(
        root=root,
        secret_values={
            **app_secret,
            "DJANGO_AWS_APP_SECRET": json.dumps(app_secret),
            "DATABASE_PROXY": "false",  # the SSM parameter Terraform writes per environment
            "DATABASE_SECRET": secret,
            "DATABASE_SECRET_REFERENCE": f"secretsmanager:{arn}",
            "DATABASE_APP_SECRET": f"secretsmanager:{app_role}",
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
        ssm = moto_aws(moto_server).client("ssm")
        ssm.put_parameter(Name=parameter, Value="off", Type="String")
    return project


__all__ = [
    "ALB_HEALTH_CHECK",
    "BEHIND_ALB",
    "DEFAULT_OUT",
    "PYTHON",
    "REPO_ROOT",
    "RUN_ANSWERS",
    "SIZES",
    "SYSTEM_CA_BUNDLE",
    "DatabaseTarget",
    "LatentMotoServer",
    "Options",
    "Result",
    "Sample",
    "SampleProject",
    "Size",
    "fake_aws",
    "free_port",
    "host_plumbing",
    "http_status",
    "log",
    "machine",
    "moto",
    "moto_aws",
    "running",
    "sample_project",
    "timed",
    "wait_for_ok",
]

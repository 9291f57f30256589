"""Connection budget under load: requests/s, latency and PostgreSQL connections held.

The generated web command (gunicorn with deploy/gunicorn.conf.py, WEB_CONCURRENCY from
web.json, GUNICORN_THREADS=8 so gthread workers run requests concurrently) serves the
sample project's home page, which counts a table, against a PostgreSQL 15 cluster of
its own that accepts only TLS + SCRAM (sslmode=verify-full, like RDS). A load generator
in a second process (wrk when installed, else a small Python client) keeps a fixed
number of keep-alive connections busy on loopback for a bounded time, while a side
connection samples ``pg_stat_activity`` for the app's database every 20 ms.

Three configurations of the same task, started in turn (order rotated every run):

* ``pooled`` (ours, the default): psycopg pool per process, sized
  DATABASE_CONNECTION_BUDGET // WEB_CONCURRENCY, CONN_MAX_AGE=0;
* ``conn_max_age_0``: DATABASE_POOL=false, DATABASE_CONN_MAX_AGE=0, a new (TLS)
  connection per request;
* ``conn_max_age_600``: DATABASE_POOL=false, DATABASE_CONN_MAX_AGE=600, the naive
  persistent connection, one per thread that ever served a request.

The summary compares the peak connection count of ``pooled`` with ``conn_max_age_600``;
requests/s and p50/p99 of all three are in the details.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from support.postgres import TlsPostgres

    from .common import Options, Result, SampleProject

NAME = "connections"
RUNS = {"tiny": 1, "small": 2, "full": 3}
DURATION = {"tiny": 2, "small": 10, "full": 30}  # seconds of measured load per start
CLIENTS = {"tiny": 8, "small": 32, "full": 64}  # concurrent keep-alive connections
WARMUP_SECONDS = 1
THREADS = 8
BUDGET = 4
COMMON = {"GUNICORN_THREADS": str(THREADS), "DATABASE_CONNECTION_BUDGET": str(BUDGET)}
CONFIGURATIONS: dict[str, dict[str, str]] = {
    "pooled": {},
    "conn_max_age_0": {"DATABASE_POOL": "false", "DATABASE_CONN_MAX_AGE": "0"},
    "conn_max_age_600": {"DATABASE_POOL": "false", "DATABASE_CONN_MAX_AGE": "600"},
}
OURS, BASELINE = "pooled", "conn_max_age_600"
PRODUCTS = 100
SAMPLE_INTERVAL = 0.02


@dataclass(frozen=True)
class Load:
    """What the load generator saw."""

    requests: int
    errors: int  # non-2xx answers plus socket errors
    requests_per_second: float
    p50_ms: float
    p99_ms: float


def run(options: Options) -> Result:
    from support.certificates import CertificateAuthority
    from support.postgres import start_tls_postgres

    from .common import DatabaseTarget, Result, log, moto, sample_project

    runs = options.runs_for(RUNS)
    duration, clients = DURATION[options.size], CLIENTS[options.size]
    generator = "wrk" if shutil.which("wrk") else "python"
    loads: dict[str, list[Load]] = {name: [] for name in CONFIGURATIONS}
    peaks: dict[str, list[int]] = {name: [] for name in CONFIGURATIONS}
    with contextlib.ExitStack() as stack:
        base = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-connections-")))
        aws = stack.enter_context(moto(options.latency))
        (base / "ca").mkdir()
        database = start_tls_postgres(CertificateAuthority(base / "ca"))
        stack.callback(database.stop)
        # The RDS master user may create roles (rds_superuser): the migrate task's
        # ensure_app_role creates the app's own role.
        with database.admin_connect() as conn:
            conn.execute(f'ALTER ROLE "{database.user}" CREATEROLE')
        target = DatabaseTarget(
            database.host,
            database.port,
            database.dbname,
            database.user,
            database.password,
            database.ca_path,
        )
        log(f"{NAME}: rendering the template, collecting static files, migrating")
        project = sample_project(base / "project", aws, target)
        project.build()
        project.run("migrate")
        seed(database)
        workers = int(project.environ("web")["WEB_CONCURRENCY"])
        names = list(CONFIGURATIONS)
        for index in range(runs):
            offset = index % len(names)
            for name in names[offset:] + names[:offset]:
                load, peak = measure(project, database, name, duration, clients, generator, base)
                loads[name].append(load)
                peaks[name].append(peak)
                log(
                    f"{NAME}: run {index + 1}/{runs} {name}: {load.requests_per_second:.0f} req/s,"
                    f" p50 {load.p50_ms:.1f} ms, p99 {load.p99_ms:.1f} ms, {load.errors} errors,"
                    f" peak {peak} connections"
                )
    results = {name: summarize(loads[name], peaks[name]) for name in CONFIGURATIONS}
    ours_peak, baseline_peak = max(peaks[OURS]), max(peaks[BASELINE])
    return Result(
        name=NAME,
        size=options.size,
        runs=runs,
        ours=ours_peak,
        baseline=baseline_peak,
        unit="connections",
        note=f"peak PostgreSQL connections of one web task under load, pooled vs"
        f" CONN_MAX_AGE=600 (budget {BUDGET}, {workers} processes x {THREADS} threads,"
        f" {clients} clients, {duration} s); req/s pooled"
        f" {results[OURS]['requests_per_second']['median']:.0f}, CONN_MAX_AGE=0"
        f" {results['conn_max_age_0']['requests_per_second']['median']:.0f}, CONN_MAX_AGE=600"
        f" {results[BASELINE]['requests_per_second']['median']:.0f}; lower is better",
        details={
            "budget": BUDGET,
            "workers": workers,
            "threads": THREADS,
            "clients": clients,
            "duration_seconds": duration,
            "load_generator": generator,
            "configurations": {
                name: {"environment": {**COMMON, **CONFIGURATIONS[name]}, **results[name]}
                for name in CONFIGURATIONS
            },
            "postgresql": "15, TLS verify-full + SCRAM, loopback",
            "peak_samples_every_ms": SAMPLE_INTERVAL * 1000,
        },
    )


def summarize(loads: list[Load], peaks: list[int]) -> dict[str, Any]:
    from .common import Sample

    return {
        "requests_per_second": Sample.of(load.requests_per_second for load in loads).as_dict(),
        "p50_ms": Sample.of(load.p50_ms for load in loads).as_dict(),
        "p99_ms": Sample.of(load.p99_ms for load in loads).as_dict(),
        "errors": sum(load.errors for load in loads),
        "requests": sum(load.requests for load in loads),
        "peak_connections": max(peaks),
        "peak_connections_per_run": peaks,
    }


def seed(database: TlsPostgres) -> None:
    """Products for the home page to count."""
    with database.admin_connect(database.dbname) as conn:
        conn.execute(
            "INSERT INTO catalog_product (name, price, image, created)"
            " SELECT 'product ' || n, n * 1.5, '', now() FROM generate_series(1, %s) AS n",
            [PRODUCTS],
        )


def measure(
    project: SampleProject,
    database: TlsPostgres,
    name: str,
    duration: int,
    clients: int,
    generator: str,
    base: Path,
) -> tuple[Load, int]:
    """Start the web task in one configuration, load it, return the load and peak."""
    from .common import ALB_HEALTH_CHECK, free_port, running, wait_for_ok

    port = free_port()
    env = project.environ("web", PORT=str(port), **COMMON, **CONFIGURATIONS[name])
    log_path = base / f"web-{name}.log"
    with (
        running(project.command("web"), cwd=project.root, env=env, log=log_path) as process,
        sampling(database) as peak,
    ):
        wait_for_ok(port, "/healthz", ALB_HEALTH_CHECK, process=process)
        generate(generator, port, WARMUP_SECONDS, clients)
        load = generate(generator, port, duration, clients)
    if load.requests == 0:
        raise RuntimeError(f"{name}: no request answered\n{log_path.read_text()[-4000:]}")
    return load, peak[0]


@contextlib.contextmanager
def sampling(database: TlsPostgres) -> Iterator[list[int]]:
    """Sample the app's client connections until the block ends; yields [peak]."""
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        with database.admin_connect() as conn:  # unix socket, the postgres database
            while not done.is_set():
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = %s AND usename = %s AND backend_type = 'client backend'",
                    [database.dbname, database.user],
                ).fetchone()
                peak[0] = max(peak[0], int(row[0]) if row else 0)
                done.wait(SAMPLE_INTERVAL)

    thread = threading.Thread(target=sample, name="pg-stat-activity", daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        done.set()
        thread.join(timeout=10)


# --------------------------------------------------------------------- load generators


def generate(generator: str, port: int, duration: int, clients: int) -> Load:
    if generator == "wrk":
        return wrk(port, duration, clients)
    from .common import PYTHON, REPO_ROOT

    done = subprocess.run(
        [PYTHON, "-m", "bench.connections", str(port), str(duration), str(clients)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 60,
    )
    return Load(**json.loads(done.stdout))


def wrk(port: int, duration: int, clients: int) -> Load:
    from .common import BEHIND_ALB

    headers = [arg for name, value in BEHIND_ALB.items() for arg in ("-H", f"{name}: {value}")]
    done = subprocess.run(
        ["wrk", f"-t{min(2, clients)}", f"-c{clients}", f"-d{duration}s", "--latency",
         "--timeout", "10s", *headers, f"http://127.0.0.1:{port}/"],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 60,
    )  # fmt: skip
    return parse_wrk(done.stdout)


_WRK_TOTAL = re.compile(r"^\s*(\d+) requests in ", re.MULTILINE)
_WRK_RATE = re.compile(r"^Requests/sec:\s*([\d.]+)", re.MULTILINE)
_WRK_PERCENTILE = re.compile(r"^\s*(50|99)%\s+([\d.]+)(us|ms|s)\b", re.MULTILINE)
_WRK_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_WRK_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_MILLISECONDS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_wrk(output: str) -> Load:
    total, rate = _WRK_TOTAL.search(output), _WRK_RATE.search(output)
    if total is None or rate is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    percentiles = {
        int(match.group(1)): float(match.group(2)) * _MILLISECONDS[match.group(3)]
        for match in _WRK_PERCENTILE.finditer(output)
    }
    non_2xx = _WRK_NON_2XX.search(output)
    sockets = _WRK_SOCKET.search(output)
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (
        sum(int(n) for n in sockets.groups()) if sockets else 0
    )
    return Load(
        requests=int(total.group(1)),
        errors=errors,
        requests_per_second=float(rate.group(1)),
        p50_ms=percentiles[50],
        p99_ms=percentiles[99],
    )


def python_load(port: int, duration: float, clients: int) -> Load:
    """wrk's job with threads: ``clients`` keep-alive connections, GET / until time is up."""
    from .common import BEHIND_ALB

    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    stop_at = time.perf_counter() + duration

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.perf_counter() < stop_at:
            start = time.perf_counter()
            try:
                conn.request("GET", "/", headers=dict(BEHIND_ALB))
                response = conn.getresponse()
                response.read()
            except OSError:
                errors[index] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                continue
            latencies[index].append((time.perf_counter() - start) * 1000)
            if response.status != 200:
                errors[index] += 1
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    every = sorted(value for values in latencies for value in values)
    if not every:
        return Load(0, sum(errors), 0.0, 0.0, 0.0)
    cuts = statistics.quantiles(every, n=100, method="inclusive") if len(every) > 1 else every * 99
    return Load(len(every), sum(errors), len(every) / elapsed, cuts[49], cuts[98])


def _load_as_json(load: Load) -> str:
    return json.dumps(load.__dict__)


if __name__ == "__main__":
    port_text, duration_text, clients_text = sys.argv[1:4]
    print(_load_as_json(python_load(int(port_text), float(duration_text), int(clients_text))))

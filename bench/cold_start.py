"""Cold start: from exec to the first 200 on /healthz.

Ours: the sample project with the template rendered, started with the exact ``command``
of the generated deploy/ecs/web.json and the environment that task definition gives it
(DJANGO_ENV=production, secrets as env vars, DATABASE_SECRET a ``secretsmanager:``
reference resolved at start through moto with the injected latency). The health check
comes with an ALB's Host (the task's private IP), as on ECS.

Baseline: ``django-admin startproject`` plus a one-line /healthz view, under plain
``gunicorn --workers N`` (same N as WEB_CONCURRENCY in web.json, sync workers).

Also measured, in the details: ours with DATABASE_SECRET injected by ECS as the JSON
itself (no reference to resolve, no AWS call, boto3 never imported at start).

All read the same Python installation; one untimed start of each warms the page cache
and bytecode. The order rotates every run so drift in the machine's load falls on all.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path

from .common import (
    ALB_HEALTH_CHECK,
    PYTHON,
    SYSTEM_CA_BUNDLE,
    DatabaseTarget,
    Options,
    Result,
    Sample,
    SampleProject,
    free_port,
    host_plumbing,
    log,
    moto,
    running,
    sample_project,
    wait_for_ok,
)

NAME = "cold_start"
RUNS = {"tiny": 2, "small": 7, "full": 15}
BASELINE_HEALTHZ = """
from django.http import HttpResponse

urlpatterns.append(path("healthz", lambda request: HttpResponse("ok")))
"""


def run(options: Options) -> Result:
    runs = options.runs_for(RUNS)
    with (
        tempfile.TemporaryDirectory(prefix="bench-cold-start-") as directory,
        moto(options.latency) as aws,
    ):
        base = Path(directory)
        # /healthz touches no database (liveness only), so none is started; the settings
        # still validate every value, including the CA bundle path for verify-full.
        database = DatabaseTarget("127.0.0.1", 5432, "shop", "app", "unused", SYSTEM_CA_BUNDLE)
        log(f"{NAME}: rendering the template into the sample project")
        project = sample_project(base / "ours", aws, database)
        project.build()
        workers = int(project.environ("web")["WEB_CONCURRENCY"])
        command = project.command("web")
        baseline_root = startproject(base / "baseline")
        home = Path(project.plumbing["HOME"])

        # ECS can inject the secret's JSON itself (valueFrom the secret): no reference to
        # resolve at start. Measured too, to show what resolving one reference costs.
        injected = {"DATABASE_SECRET": json.dumps({"username": "app", "password": "unused"})}

        def ours() -> float:
            return start_ours(project, base / "ours.log")

        def ours_injected() -> float:
            return start_ours(project, base / "ours.log", **injected)

        def baseline() -> float:
            return start_baseline(baseline_root, workers, home, base / "baseline.log")

        starts = {"ours": ours, "ours_injected": ours_injected, "baseline": baseline}
        log(f"{NAME}: warm-up starts")
        aws.requests.reset()
        ours()
        calls = dict(aws.requests.operations())
        ours_injected()
        baseline()
        times: dict[str, list[float]] = {name: [] for name in starts}
        names = list(starts)
        for index in range(runs):
            offset = index % len(names)  # rotate who goes first
            for name in names[offset:] + names[:offset]:
                times[name].append(starts[name]())
            log(
                f"{NAME}: run {index + 1}/{runs}: "
                + ", ".join(f"{name} {times[name][-1]:.3f} s" for name in names)
            )
    ours_times, baseline_times = times["ours"], times["baseline"]
    ours_sample, baseline_sample = Sample.of(ours_times), Sample.of(baseline_times)
    return Result(
        name=NAME,
        size=options.size,
        runs=runs,
        ours=round(ours_sample.median, 4),
        baseline=round(baseline_sample.median, 4),
        unit="seconds",
        note=f"seconds from exec to the first 200 on /healthz, median of {runs}; lower is better",
        details={
            "ours": ours_sample.as_dict(),
            "baseline": baseline_sample.as_dict(),
            "ours_without_references": Sample.of(times["ours_injected"]).as_dict(),
            "workers": workers,
            "aws_latency_ms": options.latency_ms,
            "aws_calls_at_start": calls,
            "ours_command": command,
            "baseline_command": baseline_command(workers, 0),
        },
    )


def start_ours(project: SampleProject, log_path: Path, **extra: str) -> float:
    port = free_port()
    env = project.environ("web", PORT=str(port), **extra)
    started = time.perf_counter()
    with running(project.command("web"), cwd=project.root, env=env, log=log_path) as process:
        answered = wait_for_ok(port, "/healthz", ALB_HEALTH_CHECK, process=process)
    return answered - started


def startproject(destination: Path) -> Path:
    """A bare ``django-admin startproject`` app with a /healthz view added."""
    destination.mkdir(parents=True)
    subprocess.run(
        [PYTHON, "-m", "django", "startproject", "baseline", str(destination)],
        check=True,
        capture_output=True,
    )
    urls = destination / "baseline" / "urls.py"
    urls.write_text(urls.read_text() + BASELINE_HEALTHZ)
    return destination


def baseline_command(workers: int, port: int) -> list[str]:
    return [
        "gunicorn",
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "baseline.wsgi:application",
    ]


def start_baseline(root: Path, workers: int, home: Path, log_path: Path) -> float:
    port = free_port()
    started = time.perf_counter()
    with running(
        baseline_command(workers, port), cwd=root, env=host_plumbing(home), log=log_path
    ) as process:
        answered = wait_for_ok(port, "/healthz", {"Host": "127.0.0.1"}, process=process)
    return answered - started

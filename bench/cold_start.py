"""Cold start: from exec to the first 200 on /healthz.

Ours: the sample project with the template rendered, started with the exact ``command``
of the generated deploy/ecs/web.json and the environment that task definition gives it
(DJANGO_ENV=production, secrets as env vars: the database secret's JSON and the app
secret's as ECS injects them, the config parameters as ``ecs register`` expands them), so
no AWS call is made at start. The health check comes with an ALB's Host (the task's
private IP), as on ECS.

Baseline: *the same app* started the way its Procfile starts it on the PaaS: the
``web:`` line (``gunicorn shop.wsgi``), WEB_CONCURRENCY and PORT as the platform sets
them, its settings with the three lines every Heroku Django app has (DATABASE_URL,
DEBUG off, ALLOWED_HOSTS: see PAAS_SETTINGS), first 200 on a view that touches no
database. The ratio is what the package and the generated command add.

Also measured, in the details: the floor (``django-admin startproject`` plus a one-line
/healthz view under plain ``gunicorn --workers N``), and ours with DATABASE_SECRET as a
``secretsmanager:`` reference resolved at start (what the migrate task still does).

All read the same Python installation; one untimed start of each warms the page cache
and bytecode. The order rotates every run so drift in the machine's load falls on all.
"""

from __future__ import annotations

import shlex
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
# A view of the sample app that touches no database, as /healthz does not.
PAAS_PATH = "/slow?seconds=0"
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

        # The migrate task still resolves its secret as a reference at start: measured
        # too, to show what one reference (boto3 imported, one call) costs.
        reference = {"DATABASE_SECRET": project.secret_values["DATABASE_SECRET_REFERENCE"]}
        procfile = paas_command(project.root)
        paas_environ = {
            "DJANGO_SETTINGS_MODULE": paas_settings(project.root),
            "DATABASE_URL": f"postgres://{database.user}:{database.password}@"
            f"{database.host}:{database.port}/{database.name}",
        }

        def ours() -> float:
            return start_ours(project, base / "ours.log")

        def ours_reference() -> float:
            return start_ours(project, base / "ours.log", **reference)

        def paas() -> float:
            return start_paas(
                project.root, procfile, workers, home, base / "paas.log", **paas_environ
            )

        def floor() -> float:
            return start_baseline(baseline_root, workers, home, base / "baseline.log")

        starts = {"ours": ours, "paas": paas, "ours_reference": ours_reference, "floor": floor}
        log(f"{NAME}: warm-up starts")
        aws.requests.reset()
        ours()
        calls = dict(aws.requests.operations())
        aws.requests.reset()
        ours_reference()
        calls_with_reference = dict(aws.requests.operations())
        paas()
        floor()
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
    ours_times, baseline_times = times["ours"], times["paas"]
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
            "floor_startproject": Sample.of(times["floor"]).as_dict(),
            "ours_with_a_reference": Sample.of(times["ours_reference"]).as_dict(),
            "workers": workers,
            "aws_latency_ms": options.latency_ms,
            "aws_calls_at_start": calls,
            "aws_calls_at_start_with_a_reference": calls_with_reference,
            "ours_command": command,
            "baseline_command": procfile,
            "floor_command": baseline_command(workers, 0),
        },
    )


def start_ours(project: SampleProject, log_path: Path, **extra: str) -> float:
    port = free_port()
    env = project.environ("web", PORT=str(port), **extra)
    started = time.perf_counter()
    with running(project.command("web"), cwd=project.root, env=env, log=log_path) as process:
        answered = wait_for_ok(port, "/healthz", ALB_HEALTH_CHECK, process=process)
    return answered - started


# The sample's settings module is startproject's (SQLite), which no PaaS can run: on
# Heroku it had the lines every Heroku Django app has. Written beside it, used by the
# baseline only, so both starts load the same database driver.
PAAS_SETTINGS = """
import environ

from .settings import *  # noqa: F403

env = environ.Env()
DEBUG = False
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1"])
DATABASES = {"default": env.db("DATABASE_URL")}
"""


def paas_settings(root: Path) -> str:
    (root / "shop" / "settings_paas.py").write_text(PAAS_SETTINGS)
    return "shop.settings_paas"


def paas_command(root: Path) -> list[str]:
    """The Procfile's ``web:`` command, as the PaaS runs it."""
    for line in (root / "Procfile").read_text().splitlines():
        kind, _, command = line.partition(":")
        if kind.strip() == "web":
            return shlex.split(command)
    raise RuntimeError(f"{root}/Procfile has no web: line")


def start_paas(
    root: Path, command: list[str], workers: int, home: Path, log_path: Path, **extra: str
) -> float:
    """gunicorn binds $PORT and runs $WEB_CONCURRENCY workers when the command says
    neither, which is how Heroku and Render start it; the app's own settings."""
    port = free_port()
    env = {**host_plumbing(home), "PORT": str(port), "WEB_CONCURRENCY": str(workers), **extra}
    started = time.perf_counter()
    with running(command, cwd=root, env=env, log=log_path) as process:
        answered = wait_for_ok(port, PAAS_PATH, {"Host": "127.0.0.1"}, process=process)
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

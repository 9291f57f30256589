"""The generated image of the sample repositories (tests/sample_repos), built for real and
run as ECS runs it.

Each repository gets the template as a new user lands it (a non-interactive `copier
copy`), then the one step the copy's message asks for, with the extras the message names
(the wheel of this checkout, served on loopback, stands in for the release): pip users
append the package to the requirements file the Dockerfile installs, uv users (async_service)
run `uv add`, which records it in pyproject.toml and uv.lock, the lock the Dockerfile's
`uv sync --locked` installs from. Untracked secrets and local state are planted next to the
code, as a developer's working tree has them. buildah builds deploy/Dockerfile with its own
ignore file (tests/support/oci.py: the python:3.11-slim-bookworm stand-in, or the 3.13 one
for async_service, which requires Python >=3.12; the RDS CA bundle URL pointed at a
loopback file). Then, from the built image: its user, its files (nothing any ignore file
excludes), and the exact `command` of each task definition in a container (host network,
read-only root, /tmp only): migrate against a TLS-only PostgreSQL verified with the bundle
the image holds, gunicorn answering the ALB's health check and the app's page (WSGI, or
ASGI through uvicorn-worker for async_service), a Celery worker consuming from the real
Redis and running the app's task, beat with django-celery-beat's DatabaseScheduler.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from psycopg import sql
from support.moto_server import Aws, MotoServer
from support.oci import BASE_PYTHON, Container, Oci
from support.postgres import TlsPostgres
from support.processes import free_port, http_request, unique_name
from support.sample_repos import find_python, land
from support.template import (
    ALB_HEALTH_CHECK,
    ANSWERS_FILE,
    REPO_ROOT,
    RUN_ENVIRONMENT,
    RUN_REGION,
    RenderedProject,
    commit_all,
    container_environment,
    fake_aws,
    git,
    media_signing,
)

from django_aws_settings.ops.repository.derived import package_extras

pytestmark = pytest.mark.slow  # builds three images (minutes cold, seconds cached)

IMAGE_REPOSITORIES = ("api_platform", "cms_site", "async_service")
# cms_site's runtime.txt asks for Python 3.12, and async_service's requires-python (>=3.12)
# records 3.12 too; there is no 3.12 stand-in base image here (no registry is reachable:
# support/oci.py fakes bookworm's 3.11 and trixie's 3.13). So both build with the
# Dockerfile's own build argument PYTHON_VERSION: cms_site 3.11 (its dependencies allow
# it), async_service 3.13 (the only stand-in >=3.12). Everything else about the build is
# what the user runs.
BUILD_ARGS: dict[str, dict[str, str]] = {
    "api_platform": {},
    "cms_site": {"PYTHON_VERSION": "3.11"},
    "async_service": {"PYTHON_VERSION": "3.13"},
}
DOMAIN = "app.example.com"  # the sample repositories' `domain` answer (support.sample_repos)
USERS = {"Host": DOMAIN, "X-Forwarded-Proto": "https"}  # a user's request behind the ALB
# What each app serves to a user, and what the migrate task must leave in the database.
PAGES = {
    "api_platform": ("/api/ping/", b'{"status": "ok"}'),
    "cms_site": ("/", b"<h1>Welcome</h1>"),
    "async_service": ("/status/", b'{"status": "ok"}'),  # an async view, under uvicorn
}
TABLES = {
    "api_platform": {"django_celery_beat_periodictask", "django_celery_beat_intervalschedule"},
    # heroku.yml's createcachetable runs too, with nothing to create: the overlay's CACHES
    # is the environment's Redis (REDIS_URL), not the app's database cache.
    "cms_site": {"django_content_type", "django_migrations"},
    "async_service": {"django_content_type", "django_migrations"},
}
KEY = "-----BEGIN PRIVATE KEY-----\nnot-a-real-key\n-----END PRIVATE KEY-----\n"
# Files a developer's working tree holds and no image may: untracked secrets and local state.
PLANTED = {
    ".env": "DJANGO_SECRET_KEY=local-only-secret\n",
    ".env.production": "DJANGO_SECRET_KEY=production-secret-on-a-laptop\n",
    ".envs/.production/.django": "DJANGO_SECRET_KEY=cookiecutter-style-production-secret\n",
    "server.key": KEY,
    "db.sqlite3": "SQLite format 3\0",
    "staticfiles/stale-from-a-local-collectstatic.css": "body {}\n",
    "media/uploads/someone.png": "\x89PNG",
    # The same, one folder down: .gitignore patterns without a slash match at any depth.
    "local/.env": "DJANGO_SECRET_KEY=another-local-secret\n",
    "certs/dev-server.key": KEY,
    "certs/dev-ca.pem": "-----BEGIN CERTIFICATE-----\nnot-a-real-cert\n-----END CERTIFICATE-----\n",
    "tools/__pycache__/build.cpython-312.pyc": "\x00stale bytecode of the laptop's Python",
}
START_TIMEOUT = 90.0


# --------------------------------------------------------------------------- landing


def add_package(root: Path, requirement_url: str, uv: Path | None) -> str:
    """What the message after `copier copy` says, the pin replaced by the served wheel:
    `echo 'django-aws-settings[<extras>] @ <url>' >> <requirements_file>` for pip,
    `uv add 'django-aws-settings[<extras>] @ <url>'` for uv."""
    answers = yaml.safe_load((root / ANSWERS_FILE).read_text())
    line = f"django-aws-settings[{package_extras(answers)}] @ {requirement_url}"
    if answers["dependency_manager"] == "uv":
        assert uv is not None
        uv_add(root, uv, answers, line)
        return line
    assert answers["dependency_manager"] == "pip"
    with (root / answers["requirements_file"]).open("a") as requirements:
        requirements.write(line + "\n")
    return line


def uv_add(root: Path, uv: Path, answers: Mapping[str, Any], requirement: str) -> None:
    """`uv add <requirement>` in the repository, as its developer runs it: the lock is
    resolved against PyPI and the project's .venv synced, with the Python the answers
    record (this machine's pyenv one; uv downloads none)."""
    if answers["server"] == "asgi":  # the message's "Also add uvicorn-worker": it has it
        assert "uvicorn-worker" in (root / "pyproject.toml").read_text()
    env = {
        **os.environ,
        "UV_PYTHON": str(find_python(answers["python_version"])),
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NATIVE_TLS": "1",  # the machine's CAs (an egress proxy's), as pip trusts them
        "UV_CACHE_DIR": str(REPO_ROOT / ".cache" / "uv"),
    }
    env.pop("VIRTUAL_ENV", None)
    done = subprocess.run(
        [str(uv), "add", requirement],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert requirement.split(" @ ")[1] in (root / "uv.lock").read_text()


@pytest.fixture(scope="module")
def uv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """uv, pip-installed into a virtualenv of its own: the version the generated
    Dockerfile installs (its `uv==` pin), so the lock it writes is the one the build reads."""
    dockerfile = (REPO_ROOT / "template" / "deploy" / "Dockerfile.jinja").read_text()
    match = re.search(r"\buv==([0-9][0-9.]*)", dockerfile)
    assert match is not None
    venv = tmp_path_factory.mktemp("uv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", f"uv=={match.group(1)}"],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return venv / "bin" / "uv"


def plant(root: Path) -> None:
    for relative, content in PLANTED.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


def ignored_by_git(root: Path) -> set[str]:
    """Untracked files the repository's own .gitignore excludes, as git itself says."""
    listed = git(root, "ls-files", "--others", "--ignored", "--exclude-standard")
    return set(listed.split("\n")) - {""}


# ------------------------------------------------------------------------------ image


@dataclass
class Image:
    name: str
    root: Path
    tag: str
    requirement: str
    ca_bundle: bytes
    files: set[str]
    build_seconds: float


@pytest.fixture(scope="module", params=IMAGE_REPOSITORIES)
def image(
    request: pytest.FixtureRequest,
    oci: Oci,
    tls_postgres: TlsPostgres,
    tmp_path_factory: pytest.TempPathFactory,
) -> Image:
    name: str = request.param
    root = land(tmp_path_factory.mktemp("image"), name)
    tag = f"localhost/dastest/{name.replace('_', '-')}:latest"
    # The stand-in its FROM names (the conftest fixture made only the default one).
    oci.base_image(BUILD_ARGS[name].get("PYTHON_VERSION", BASE_PYTHON))
    answers = yaml.safe_load((root / ANSWERS_FILE).read_text())
    uv = request.getfixturevalue("uv") if answers["dependency_manager"] == "uv" else None
    # The RDS CA bundle stand-in is the CA that signed the TLS-only PostgreSQL's
    # certificate, so the database is verified exactly as on RDS: the image's own bundle.
    ca_bundle = tls_postgres.ca_path.read_bytes()
    with oci.wheel_server({"global-bundle.pem": ca_bundle}) as served:
        requirement = add_package(root, served.wheel_url, uv)
        commit_all(root, "Add django-aws-settings")
        plant(root)
        started = time.monotonic()
        oci.build_image(
            root,
            root / "deploy" / "Dockerfile",
            tag,
            ignorefile=root / "deploy" / "Dockerfile.dockerignore",
            build_args={**BUILD_ARGS[name], "RDS_CA_BUNDLE_URL": served.url("global-bundle.pem")},
        )
        seconds = time.monotonic() - started
    print(f"\n{name}: image built in {seconds:.1f} s")
    return Image(name, root, tag, requirement, ca_bundle, oci.image_files(tag), seconds)


def image_file(oci: Oci, tag: str, path: str) -> bytes:
    mount = Path(oci.podman("image", "mount", tag).output.strip().splitlines()[-1])
    try:
        return (mount / path.lstrip("/")).read_bytes()
    finally:
        oci.podman("image", "unmount", tag, check=False)


def test_the_image_runs_as_the_app_user(oci: Oci, image: Image) -> None:
    assert oci.image_config(image.tag, "{{.Config.User}}") == "10001:10001"
    assert oci.run_container(image.tag, ["id", "-u"]) == (0, "10001\n")


# What each extra of the package brings, by the module the settings import.
EXTRA_MODULES = {
    "postgres": "psycopg",
    "redis": "redis",
    "celery": "celery",
    "s3": "storages",
    "whitenoise": "whitenoise",
}


def test_the_image_holds_the_app_its_server_and_the_rds_bundle(oci: Oci, image: Image) -> None:
    assert {"/app/manage.py", "/app/deploy/gunicorn.conf.py"} <= image.files
    assert image_file(oci, image.tag, "/etc/ssl/certs/rds-global-bundle.pem") == image.ca_bundle
    extras = image.requirement.split("[", 1)[1].split("]", 1)[0].split(",")
    modules = ["gunicorn", "django_aws_settings", *(EXTRA_MODULES[extra] for extra in extras)]
    script = f"import {', '.join(modules)}; print('importable')"
    assert oci.run_container(image.tag, ["python", "-c", script]) == (0, "importable\n")


def test_static_files_are_collected_at_build_when_whitenoise_serves_them(
    oci: Oci, image: Image
) -> None:
    answers = yaml.safe_load((image.root / ANSWERS_FILE).read_text())
    if answers["static_backend"] != "whitenoise":  # S3 serves them: collected at deploy
        assert "/app/staticfiles/staticfiles.json" not in image.files
        return
    manifest = json.loads(image_file(oci, image.tag, "/app/staticfiles/staticfiles.json"))
    assert "paths" in manifest


def test_nothing_an_ignore_file_excludes_is_in_the_image(image: Image) -> None:
    in_app = {path.removeprefix("/app/") for path in image.files if path.startswith("/app/")}
    # The repository's own .gitignore (git's own reading of it) and what we planted.
    excluded = ignored_by_git(image.root) | set(PLANTED)
    # Ours: VCS history, CI, infrastructure, the build's own files.
    tracked_or_not = git(image.root, "ls-files", "--cached", "--others").split("\n")
    excluded |= {
        path
        for path in tracked_or_not
        if path.startswith((".github/", "infra/"))
        or path in ("deploy/Dockerfile", "deploy/Dockerfile.dockerignore", ".dockerignore")
    }
    assert excluded & in_app == set()
    assert not {path for path in in_app if path == ".git" or path.startswith(".git/")}
    assert not {path for path in in_app if path.startswith((".envs", ".env"))}
    # The only certificate or key in the image's /app: none (the RDS bundle is in /etc).
    assert not {path for path in in_app if path.endswith((".pem", ".key"))}
    # A local collectstatic's leftovers stay out; the build's own collection is there.
    assert "staticfiles/stale-from-a-local-collectstatic.css" not in in_app
    assert "staticfiles/staticfiles.json" in in_app


# ------------------------------------------------------------------------- deployment


@dataclass
class Deployment(RenderedProject):
    """The image and what one environment gives its containers (per role: the database
    secret differs between migrate and the long-running roles)."""

    image: Image = field(kw_only=True)
    database: TlsPostgres = field(kw_only=True)
    dbname: str = field(kw_only=True)
    role_secrets: dict[str, dict[str, str]] = field(kw_only=True)

    def env(self, role: str, queue: str | None = None, **extra: str) -> dict[str, str]:
        """What ECS puts in the container beyond the image's ENV: the task definition's
        environment and secrets, then the test plumbing (moto, the database's port)."""
        values = {**self.secret_values, **self.role_secrets.get(role, {})}
        env = container_environment({}, self.container(role, queue), values)
        return {**env, **self.plumbing, **extra}

    def tables(self) -> set[str]:
        with self.database.admin_connect(self.dbname) as conn:
            rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            return {str(row[0]) for row in rows}


@pytest.fixture(scope="module")
def deployment(
    image: Image, tls_postgres: TlsPostgres, redis_url: str, moto_server: MotoServer
) -> Iterator[Deployment]:
    slug = image.name.replace("_", "-")
    aws = Aws(moto_server.endpoint_url, RUN_REGION, moto_server.requests)
    bucket = f"{slug}-{RUN_ENVIRONMENT}-assets"
    aws.client("s3").create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": RUN_REGION}
    )
    secretsmanager = aws.client("secretsmanager")
    # The RDS-managed master secret (username and password only) and Terraform's db-app
    # secret: migrate logs in as the master user and creates the app role with the latter.
    master_arn = secretsmanager.create_secret(
        Name=f"rds!cluster-{unique_name(image.name)}",
        SecretString=json.dumps({"username": tls_postgres.user, "password": tls_postgres.password}),
    )["ARN"]
    app_role = {"username": f"{image.name}_app", "password": secrets.token_hex(20)}
    app_role_arn = secretsmanager.create_secret(
        Name=f"{slug}/{RUN_ENVIRONMENT}/db-app", SecretString=json.dumps(app_role)
    )["ARN"]
    with tls_postgres.admin_connect() as conn:  # rds_superuser may create roles
        conn.execute(sql.SQL("ALTER ROLE {} CREATEROLE").format(sql.Identifier(tls_postgres.user)))
        dbname = unique_name(f"image_{image.name}")
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(dbname), sql.Identifier(tls_postgres.user)
            )
        )
    app_secret = {"SECRET_KEY": secrets.token_urlsafe(50), "REDIS_URL": redis_url}
    try:
        yield Deployment(
            root=image.root,
            secret_values={
                **app_secret,
                "DJANGO_AWS_APP_SECRET": json.dumps(app_secret),
                "DATABASE_PROXY": "false",
                "DATABASE_HOST": tls_postgres.host,
                "DATABASE_NAME": dbname,
                "AWS_STORAGE_BUCKET_NAME": bucket,
                "ALLOWED_HOSTS": DOMAIN,
                **media_signing(),
                "AWS_S3_CUSTOM_DOMAIN": DOMAIN,
            },
            # The long-running roles get the db-app secret's JSON, as ECS injects it; the
            # migrate task gets the SSM parameters that name the two secrets.
            role_secrets={
                "migrate": {
                    "DATABASE_SECRET": f"secretsmanager:{master_arn}",
                    "DATABASE_APP_SECRET": f"secretsmanager:{app_role_arn}",
                },
                **{
                    role: {"DATABASE_SECRET": json.dumps(app_role)}
                    for role in ("web", "worker", "beat")
                },
            },
            # No DATABASE_CA_BUNDLE: the image's default bundle is the one that verifies.
            plumbing={
                **fake_aws(moto_server.endpoint_url),
                "DATABASE_PORT": str(tls_postgres.port),
            },
            image=image,
            database=tls_postgres,
            dbname=dbname,
        )
    finally:
        with tls_postgres.admin_connect() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
            )


@pytest.fixture(scope="module")
def migrated(oci: Oci, deployment: Deployment) -> str:
    """deploy/ecs/migrate.json's command in a container; its output (exit 0 asserted)."""
    exit_code, output = oci.run_container(
        deployment.image.tag, deployment.command("migrate"), deployment.env("migrate")
    )
    assert exit_code == 0, output
    return output


def wait_for(
    check: Callable[[], bool], container: Container, *, what: str, timeout: float = START_TIMEOUT
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if not container.running():
            pytest.fail(f"the container exited before {what}:\n{container.logs()}")
        time.sleep(0.25)
    pytest.fail(f"no {what} within {timeout:.0f} s:\n{container.logs()}")


@contextlib.contextmanager
def ready_worker(oci: Oci, deployment: Deployment) -> Iterator[Container]:
    """The default queue's worker, started from its task definition and ready."""
    with oci.run_container(
        deployment.image.tag,
        deployment.command("worker", "default"),
        deployment.env("worker", "default"),
        detach=True,
    ) as worker:
        wait_for(lambda: "ready." in worker.logs(), worker, what="the worker ready")
        yield worker


def django_shell(oci: Oci, deployment: Deployment, role: str, code: str) -> None:
    """`manage.py shell -c code` in a one-off container of the image with `role`'s
    environment: what `ecs run-task` or `ecs execute-command` would do."""
    queue = "default" if role == "worker" else None
    exit_code, output = oci.run_container(
        deployment.image.tag,
        ["python", "manage.py", "shell", "-c", code],
        deployment.env(role, queue),
    )
    assert exit_code == 0, output


def status(port: int, path: str, headers: Mapping[str, str]) -> int:
    try:
        return http_request(port, path, headers, timeout=5).status
    except OSError:
        return 0


def test_migrate_creates_the_tables_over_verified_tls(
    deployment: Deployment, migrated: str
) -> None:
    assert TABLES[deployment.image.name] <= deployment.tables()
    assert f"app role {deployment.image.name}_app" in migrated


def test_web_answers_the_alb_and_users_then_stops_gracefully(
    oci: Oci, deployment: Deployment, migrated: str
) -> None:
    port = free_port()
    env = deployment.env("web", PORT=str(port))
    with oci.run_container(
        deployment.image.tag, deployment.command("web"), env, detach=True
    ) as web:
        wait_for(
            lambda: status(port, "/healthz", ALB_HEALTH_CHECK) == 200,
            web,
            what="200 on /healthz for the ALB's health check",
        )
        path, body = PAGES[deployment.image.name]
        response = http_request(port, path, USERS)
        assert (response.status, response.body) == (200, body), web.logs()
        plain = http_request(port, path, {"Host": DOMAIN, "X-Forwarded-Proto": "http"})
        assert plain.status == 301  # the overlay's HTTPS redirect
        assert web.stop(grace=30) == 0, web.logs()
        assert "Shutting down: Master" in web.logs()


# ----------------------------------------------------------------------------- Celery


@pytest.mark.parametrize("image", ["api_platform"], indirect=True)  # the one with Celery
def test_worker_runs_the_apps_task_and_beat_schedules_it_from_the_database(
    oci: Oci, deployment: Deployment, migrated: str
) -> None:
    tag = deployment.image.tag
    note = secrets.token_hex(4)
    with ready_worker(oci, deployment) as worker:
        # Enqueued as the app enqueues it (its own Celery app, its settings).
        django_shell(
            oci, deployment, "worker", f"from api.tasks import heartbeat; heartbeat.delay({note!r})"
        )
        wait_for(
            lambda: "succeeded in" in worker.logs() and f"'alive: {note}'" in worker.logs(),
            worker,
            what="the worker running the task",
        )

        # A schedule in the database (django-celery-beat's admin writes the same rows).
        schedule = (
            "from django_celery_beat.models import IntervalSchedule, PeriodicTask;"
            "every, _ = IntervalSchedule.objects.get_or_create(every=1, period='seconds');"
            "PeriodicTask.objects.create(name='heartbeat', task='api.tasks.heartbeat',"
            " interval=every, args='[\"beat\"]')"
        )
        django_shell(oci, deployment, "beat", schedule)
        with oci.run_container(
            tag, deployment.command("beat"), deployment.env("beat"), detach=True
        ) as beat:
            wait_for(
                lambda: "Sending due task heartbeat (api.tasks.heartbeat)" in beat.logs(),
                beat,
                what="beat sending the database's periodic task",
            )
            wait_for(
                lambda: "'alive: beat'" in worker.logs(), worker, what="the scheduled task run"
            )
            assert "DatabaseScheduler" in beat.logs()
            assert beat.stop(grace=30) == 0, beat.logs()
        assert worker.stop(grace=60) == 0, worker.logs()


@pytest.mark.parametrize("image", ["async_service"], indirect=True)  # Celery, no beat
def test_worker_runs_the_async_apps_task(oci: Oci, deployment: Deployment, migrated: str) -> None:
    left, right = secrets.randbelow(10**6), secrets.randbelow(10**6)
    with ready_worker(oci, deployment) as worker:
        django_shell(
            oci, deployment, "worker", f"from service.tasks import add; add.delay({left}, {right})"
        )
        done = re.compile(rf"Task service\.tasks\.add\[[^\]]+\] succeeded in \S+: {left + right}\b")
        wait_for(
            lambda: done.search(worker.logs()) is not None,
            worker,
            what="the worker running the task",
        )
        assert worker.stop(grace=60) == 0, worker.logs()

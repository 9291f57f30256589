"""Run what the template generated, as ECS would run it, against real services.

The pip / WSGI / Celery / WhiteNoise / media-on-S3 answer set is rendered into a copy of
the sample project. Each process gets the environment ECS would give its container: the
image's ENV, the task definition's `environment`, a value for every name in its
`secrets`, plus test-only plumbing (moto endpoints, the throwaway TLS cluster's port and
CA, this machine's venv on PATH). Then the Dockerfile's build step and the task
definitions' exact `command` arrays run with the project as working directory:
PostgreSQL is a TLS-only cluster verified with sslmode=verify-full, Redis is real, S3
and Secrets Manager are moto.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import urllib3
from psycopg import sql
from support.moto_server import Aws, MotoServer
from support.postgres import TlsPostgres
from support.processes import Process, Response, free_port, http_request, running, unique_name
from support.template import (
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
    run_command,
    sample_copy,
)

pytestmark = pytest.mark.slow

DOMAIN = REQUIRED_ANSWERS["domain"]
# The app role's password in the db-app secret (ensure_app_role creates the role with it).
APP_ROLE_PASSWORD = secrets.token_hex(20)
START_TIMEOUT = 60.0
ROW_TIMEOUT = 30.0


# ------------------------------------------------------------------------- helpers


def moto(moto_server: MotoServer) -> Aws:
    return Aws(moto_server.endpoint_url, RUN_REGION, moto_server.requests)


def wait_for(check: Callable[[], bool], *, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    pytest.fail(f"{what} within {timeout} s\n--- log ---\n{log.read_text(errors='replace')}")


def responds(port: int, process: Process) -> Callable[[], bool]:
    def check() -> bool:
        if process.popen.poll() is not None:
            pytest.fail(f"exited with {process.popen.returncode}\n{process.log.read_text()}")
        try:
            return http_request(port, "/healthz", ALB_HEALTH_CHECK, timeout=2).status == 200
        except OSError:
            return False

    return check


# ---------------------------------------------------------------------- deployment


@dataclass
class Deployment(RenderedProject):
    """A rendered project plus the AWS and database state one environment would have."""

    database: TlsPostgres
    dbname: str
    bucket: str
    logs: Path

    def rows(self, kind: str) -> list[tuple[str, str]]:
        with self.database.admin_connect(self.dbname) as conn:
            query = "SELECT kind, note FROM catalog_taskrun WHERE kind = %s ORDER BY id"
            return [(str(k), str(n)) for k, n in conn.execute(query, (kind,))]


def create_database(server: TlsPostgres) -> str:
    name = unique_name("template_run")
    with server.admin_connect() as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(server.user)
            )
        )
    return name


def drop_database(server: TlsPostgres, name: str) -> None:
    with server.admin_connect() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory: pytest.TempPathFactory,
    tls_postgres: TlsPostgres,
    redis_url: str,
    moto_server: MotoServer,
) -> Iterator[Deployment]:
    base = tmp_path_factory.mktemp("template-run")
    root = sample_copy(base)
    render(root, RUN_ANSWERS)

    moto_server.reset()
    bucket = "shop-production-assets"
    s3 = moto(moto_server).client("s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": RUN_REGION})
    # The RDS-managed master secret: username and password only; the host and database
    # name come from SSM parameters, and the SSM parameter DATABASE_SECRET holds this
    # reference so the app re-reads the secret after a rotation.
    secretsmanager = moto(moto_server).client("secretsmanager")
    arn = secretsmanager.create_secret(
        Name="rds!cluster-3f9c2a1b-0d4e-4c1a-9a57-2b1c0f6e8d42",
        SecretString=json.dumps({"username": tls_postgres.user, "password": tls_postgres.password}),
    )["ARN"]
    # The app role's secret (Terraform's db-app): the migrate task creates the role after
    # migrate (ensure_app_role); web, workers and beat would read it as their DATABASE_SECRET.
    app_role_arn = secretsmanager.create_secret(
        Name="shop/production/db-app",
        SecretString=json.dumps({"username": "shop_app", "password": APP_ROLE_PASSWORD}),
    )["ARN"]
    # The RDS master user may create roles (rds_superuser has CREATEROLE).
    with tls_postgres.admin_connect() as conn:
        conn.execute(sql.SQL("ALTER ROLE {} CREATEROLE").format(sql.Identifier(tls_postgres.user)))

    dbname = create_database(tls_postgres)
    app_secret = {"SECRET_KEY": secrets.token_urlsafe(50), "REDIS_URL": redis_url}
    home = base / "home"
    home.mkdir()
    logs = base / "logs"
    logs.mkdir()
    try:
        yield Deployment(
            root=root,
            database=tls_postgres,
            dbname=dbname,
            bucket=bucket,
            secret_values={
                **app_secret,
                "DJANGO_AWS_APP_SECRET": json.dumps(app_secret),
                "DATABASE_SECRET": f"secretsmanager:{arn}",
                "DATABASE_APP_SECRET": f"secretsmanager:{app_role_arn}",
                "DATABASE_PROXY": "false",
                "DATABASE_HOST": tls_postgres.host,
                "DATABASE_NAME": dbname,
                "AWS_STORAGE_BUCKET_NAME": bucket,
                "ALLOWED_HOSTS": DOMAIN,
                **media_signing(),
            },
            plumbing={
                **host_plumbing(home),
                **fake_aws(moto_server.endpoint_url),
                "DATABASE_PORT": str(tls_postgres.port),
                "DATABASE_CA_BUNDLE": str(tls_postgres.ca_path),
            },
            logs=logs,
        )
    finally:
        drop_database(tls_postgres, dbname)


@dataclass
class Built:
    collectstatic: subprocess.CompletedProcess[str]
    migrate: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def built(deployment: Deployment) -> Built:
    collectstatic = deployment.build_step()
    migrate = run_command(
        deployment.command("migrate"), cwd=deployment.root, env=deployment.environ("migrate")
    )
    return Built(collectstatic, migrate)


def outcome(done: subprocess.CompletedProcess[str]) -> tuple[int, str]:
    return done.returncode, done.stdout + done.stderr


@dataclass
class Web:
    port: int
    process: Process


@pytest.fixture(scope="module")
def web(deployment: Deployment, built: Built) -> Iterator[Web]:
    for step in (built.collectstatic, built.migrate):
        if step.returncode != 0:
            pytest.fail(f"{step.args} failed:\n{step.stdout}{step.stderr}")
    port = free_port()
    env = deployment.environ("web", PORT=str(port))
    log = deployment.logs / "web.log"
    with running(deployment.command("web"), cwd=deployment.root, env=env, log=log) as process:
        wait_for(responds(port, process), timeout=START_TIMEOUT, what="gunicorn answers", log=log)
        yield Web(port, process)


# --------------------------------------------------------------------- build + migrate


def test_build_step_collects_static_files_without_secrets(
    deployment: Deployment, built: Built
) -> None:
    manifest = deployment.root / "staticfiles" / "staticfiles.json"
    assert outcome(built.collectstatic)[0] == 0, outcome(built.collectstatic)[1]
    assert "catalog/site.css" in json.loads(manifest.read_text())["paths"]


def test_migrate_task_migrates_over_verified_tls(deployment: Deployment, built: Built) -> None:
    assert outcome(built.migrate)[0] == 0, outcome(built.migrate)[1]
    with deployment.database.admin_connect(deployment.dbname) as conn:
        applied = conn.execute(
            "SELECT name FROM django_migrations WHERE app = 'catalog'"
        ).fetchall()
    assert applied == [("0001_initial",)]


def test_migrate_task_leaves_an_app_role_that_logs_in_and_cannot_change_the_schema(
    deployment: Deployment, built: Built
) -> None:
    """ensure_app_role ran after migrate: the role logs in over TLS with SCRAM, with the
    db-app secret's password, and may use the migrated tables but not alter them."""
    import psycopg

    assert outcome(built.migrate)[0] == 0, outcome(built.migrate)[1]
    assert "app role shop_app" in built.migrate.stdout
    assert APP_ROLE_PASSWORD not in built.migrate.stdout + built.migrate.stderr
    database = deployment.database
    with psycopg.connect(
        host=database.host,
        port=database.port,
        dbname=deployment.dbname,
        user="shop_app",
        password=APP_ROLE_PASSWORD,
        sslmode="verify-full",
        sslrootcert=str(database.ca_path),
        autocommit=True,
    ) as app:
        assert app.execute("SELECT count(*) FROM django_migrations").fetchone() is not None
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app.execute("DROP TABLE django_migrations")


# -------------------------------------------------------------------------------- web


def test_alb_health_check_by_private_ip_is_answered(web: Web) -> None:
    response = http_request(web.port, "/healthz", ALB_HEALTH_CHECK)
    assert (response.status, response.body) == (200, b"ok")


def test_container_health_check_command_passes(web: Web, deployment: Deployment) -> None:
    kind, *command = deployment.container("web")["healthCheck"]["command"]
    env = deployment.environ("web", PORT=str(web.port))
    checked = run_command(command, cwd=deployment.root, env=env, timeout=30)
    assert (kind, checked.returncode, checked.stderr) == ("CMD", 0, "")


def test_home_page_is_served_behind_the_alb(web: Web) -> None:
    response = http_request(web.port, "/", BEHIND_ALB)
    assert response.status == 200
    assert b'<p id="product-count">Products: ' in response.body


def test_plain_http_is_redirected_to_https(web: Web) -> None:
    response = http_request(web.port, "/", {"Host": DOMAIN, "X-Forwarded-Proto": "http"})
    assert (response.status, response.headers["location"]) == (301, f"https://{DOMAIN}/")


def test_static_file_is_served_with_far_future_caching(web: Web) -> None:
    page = http_request(web.port, "/", BEHIND_ALB).body.decode()
    match = re.search(r'href="(/static/catalog/site\.[0-9a-f]{12}\.css)"', page)
    assert match is not None, page
    response = http_request(web.port, match.group(1), BEHIND_ALB)
    assert (response.status, response.headers["cache-control"]) == (
        200,
        "max-age=315360000, public, immutable",
    )
    assert b"catalog/site.css" in response.body


def test_upload_is_stored_in_the_media_bucket(
    web: Web, deployment: Deployment, moto_server: MotoServer
) -> None:
    body, content_type = urllib3.encode_multipart_formdata(
        {"name": "Mug", "price": "9.50", "image": ("mug.png", b"\x89PNG mug", "image/png")}
    )
    response = http_request(
        web.port,
        "/products/new",
        {**BEHIND_ALB, "Content-Type": content_type},
        method="POST",
        body=body,
    )
    assert response.status == 201, response.body
    s3 = moto(moto_server).client("s3")
    listed = s3.list_objects_v2(Bucket=deployment.bucket, Prefix="media/")
    (key,) = [item["Key"] for item in listed.get("Contents", [])]
    assert re.fullmatch(r"media/products/mug(_\w+)?\.png", key)
    assert s3.get_object(Bucket=deployment.bucket, Key=key)["Body"].read() == b"\x89PNG mug"


# ---------------------------------------------------------------------------- celery


def test_visit_is_queued_then_run_by_the_queue_worker(
    web: Web, deployment: Deployment, redis_url: str
) -> None:
    queue = redis.Redis.from_url(redis_url)
    waiting = queue.llen("default")
    note = f"visit-{secrets.token_hex(4)}"
    response = http_request(web.port, f"/visit?note={note}", BEHIND_ALB)
    assert response.status == 202, response.body
    assert queue.llen("default") == waiting + 1
    queue.close()

    log = deployment.logs / "worker.log"
    env = deployment.environ("worker", "default")
    with running(deployment.command("worker", "default"), cwd=deployment.root, env=env, log=log):
        wait_for(
            lambda: ("visit", note) in deployment.rows("visit"),
            timeout=ROW_TIMEOUT,
            what="the worker records the visit",
            log=log,
        )


def test_beat_schedules_the_periodic_task(deployment: Deployment, built: Built) -> None:
    assert built.migrate.returncode == 0
    worker_log, beat_log = deployment.logs / "worker-beat.log", deployment.logs / "beat.log"
    schedules_before = set(glob.glob("/tmp/celerybeat-schedule*"))
    worker_env = deployment.environ("worker", "default")
    try:
        with (
            running(
                deployment.command("worker", "default"),
                cwd=deployment.root,
                env=worker_env,
                log=worker_log,
            ),
            running(
                deployment.command("beat"),
                cwd=deployment.root,
                # The sample's heartbeat runs every minute; beat's own test cannot wait that.
                env={**deployment.environ("beat"), "HEARTBEAT_SECONDS": "5"},
                log=beat_log,
            ),
        ):
            wait_for(
                lambda: len(deployment.rows("beat")) >= 1,
                timeout=ROW_TIMEOUT,
                what="beat's heartbeat task runs",
                log=beat_log,
            )
    finally:
        for leftover in set(glob.glob("/tmp/celerybeat-schedule*")) - schedules_before:
            os.unlink(leftover)


# ECS stops a container with SIGTERM to its init process (initProcessEnabled: it passes the
# signal to the command's process), then SIGKILLs everything at stopTimeout. Scaled down
# for the test: a 2 s soft shutdown (100 s in production) inside a 6 s stop (120 s).
TEST_SOFT_SHUTDOWN = 2
TEST_STOP_TIMEOUT = 6.0
LONG_JOB_SECONDS = 6


def stop_like_ecs(process: Process, stop_timeout: float) -> tuple[bool, float]:
    """SIGTERM, then SIGKILL to the whole group after ``stop_timeout``; returns whether it
    exited by itself and how long the stop took."""
    started = time.monotonic()
    process.popen.send_signal(signal.SIGTERM)
    try:
        process.popen.wait(timeout=stop_timeout)
        by_itself = True
    except subprocess.TimeoutExpired:
        by_itself = False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.popen.pid, signal.SIGKILL)  # pool children left behind, as ECS would
    process.popen.wait(timeout=10)
    return by_itself, time.monotonic() - started


def test_a_worker_stopped_mid_task_requeues_it_for_the_next_worker_within_seconds(
    deployment: Deployment, built: Built, redis_url: str
) -> None:
    """The generated worker command and environment, stopped the way ECS stops it while a
    task runs: the task goes back to the queue at once (not after the broker's one-hour
    visibility timeout) and the next worker runs it to the end, exactly once."""
    from celery import Celery

    assert built.migrate.returncode == 0
    container = deployment.container("worker", "default")
    assert container["stopTimeout"] / TEST_STOP_TIMEOUT == 20  # the scale of this test
    env = deployment.environ(
        "worker", "default", CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT=str(TEST_SOFT_SHUTDOWN)
    )
    note = f"stop-{secrets.token_hex(4)}"
    sender = Celery("sender", broker=redis_url, set_as_current=False)
    command = deployment.command("worker", "default")
    first_log, second_log = (
        deployment.logs / "worker-stopped.log",
        deployment.logs / "worker-next.log",
    )
    try:
        with running(command, cwd=deployment.root, env=env, log=first_log) as first:
            sender.send_task(
                "catalog.tasks.long_job", args=(note, LONG_JOB_SECONDS), queue="default"
            )
            wait_for(
                lambda: ("long-job-started", note) in deployment.rows("long-job-started"),
                timeout=ROW_TIMEOUT,
                what="the first worker starts the task",
                log=first_log,
            )
            by_itself, took = stop_like_ecs(first, TEST_STOP_TIMEOUT)
        assert by_itself, first_log.read_text()
        assert took < TEST_STOP_TIMEOUT
        assert deployment.rows("long-job-finished").count(("long-job-finished", note)) == 0
        restarted = time.monotonic()
        with running(command, cwd=deployment.root, env=env, log=second_log):
            wait_for(
                lambda: ("long-job-finished", note) in deployment.rows("long-job-finished"),
                timeout=LONG_JOB_SECONDS + ROW_TIMEOUT,
                what="the next worker runs the requeued task",
                log=second_log,
            )
            finished_after = time.monotonic() - restarted
            time.sleep(2)  # a second delivery would show up as another start
        rows = deployment.rows("long-job-started") + deployment.rows("long-job-finished")
    finally:
        sender.close()
    assert [row for row in rows if row[1] == note] == [
        ("long-job-started", note),
        ("long-job-started", note),
        ("long-job-finished", note),
    ]
    assert finished_after < LONG_JOB_SECONDS + ROW_TIMEOUT


# ------------------------------------------------------------------------- shutdown


def test_sigterm_lets_the_in_flight_request_finish(deployment: Deployment, web: Web) -> None:
    # A second web task of its own: this test stops it.
    port = free_port()
    env = deployment.environ("web", PORT=str(port))
    log = deployment.logs / "web-sigterm.log"
    with running(deployment.command("web"), cwd=deployment.root, env=env, log=log) as process:
        wait_for(responds(port, process), timeout=START_TIMEOUT, what="gunicorn answers", log=log)
        answers: list[Response] = []
        request = threading.Thread(
            target=lambda: answers.append(http_request(port, "/slow?seconds=3", BEHIND_ALB))
        )
        request.start()
        time.sleep(1)  # the request is now sleeping inside the view
        process.popen.send_signal(signal.SIGTERM)
        request.join(timeout=30)
        exit_code = process.popen.wait(timeout=40)
    assert [(a.status, a.body) for a in answers] == [(200, b"done")]
    assert exit_code == 0


# ----------------------------------------------------------------------------- ASGI


def test_asgi_web_command_serves_health_checks_and_pages(
    tmp_path: Path, deployment: Deployment, built: Built
) -> None:
    assert built.migrate.returncode == 0  # the shared database holds the tables
    root = sample_copy(tmp_path)
    render(root, {**RUN_ANSWERS, "server": "asgi"})
    asgi = Deployment(
        root=root,
        database=deployment.database,
        dbname=deployment.dbname,
        bucket=deployment.bucket,
        secret_values=deployment.secret_values,
        plumbing=deployment.plumbing,
        logs=tmp_path,
    )
    collected = asgi.build_step()
    assert collected.returncode == 0, outcome(collected)[1]
    port = free_port()
    env = asgi.environ("web", PORT=str(port))
    log = tmp_path / "asgi.log"
    with running(asgi.command("web"), cwd=root, env=env, log=log) as process:
        wait_for(responds(port, process), timeout=START_TIMEOUT, what="uvicorn answers", log=log)
        health = http_request(port, "/healthz", ALB_HEALTH_CHECK)
        page = http_request(port, "/", BEHIND_ALB)
    assert env["DJANGO_ASGI"] == "true"
    assert (health.status, health.body) == (200, b"ok")
    assert page.status == 200
    assert b'<p id="product-count">Products: ' in page.body
    assert "uvicorn_worker.UvicornWorker" in log.read_text()

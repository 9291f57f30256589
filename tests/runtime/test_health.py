"""Health endpoints through a full middleware chain, with real PostgreSQL and Redis.

Each configuration runs once in a subprocess (the suite has no global Django settings):
a project with ALLOWED_HOSTS=['app.example.com'] and SECURE_SSL_REDIRECT=True, the health
middleware first, then SecurityMiddleware and CommonMiddleware. Requests go through
Django's test Client (WSGI handler) and AsyncClient (ASGI handler); tests assert on the
recorded responses.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

from django_aws_settings.runtime import healthcheck
from django_aws_settings.runtime.health import (
    HEALTH_PATH,
    MIDDLEWARE,
    READINESS_PATH,
    HealthCheckMiddleware,
)

SLOW = pytest.mark.slow  # runs Django in a subprocess

REPOSITORY = Path(__file__).resolve().parents[2]
ALB_HOST = "10.0.1.23:8000"  # what an ALB health check sends: the task's IP and port
APP_HOST = "app.example.com"

SETTINGS = """
import os

import environ

SECRET_KEY = "health-tests-" + "x" * 50
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS = ["app.example.com"]
SECURE_SSL_REDIRECT = True
ROOT_URLCONF = "test_urls"
INSTALLED_APPS = []
MIDDLEWARE = [
    "django_aws_settings.runtime.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
DATABASES = {
    alias: environ.Env.db_url_config(url)
    for alias, url in json.loads(os.environ["TEST_DATABASES"]).items()
}
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["TEST_CACHE_URL"],
    }
}
"""

URLS = """
from django.http import HttpResponse
from django.urls import path

urlpatterns = [path("", lambda request: HttpResponse("home"))]
"""

RUNNER = """
import asyncio
import json
import sys

import django

django.setup()
from django.test import AsyncClient, Client


def record(response):
    return {
        "status": response.status_code,
        "body": response.content.decode(),
        "cache_control": response.get("Cache-Control"),
        "location": response.get("Location"),
    }


async def run_async(requests):
    # AsyncClient.get() always sends "host: testserver" too; build the scope ourselves.
    client = AsyncClient()
    return {
        name: record(
            await client.request(
                method=method,
                path=path,
                query_string="",
                server=("10.0.1.23", "8000"),
                headers=[(b"host", host.encode())],
            )
        )
        for name, (method, path, host) in requests.items()
    }


def run_sync(requests):
    client = Client()
    return {
        name: record(getattr(client, method.lower())(path, headers={"host": host}))
        for name, (method, path, host) in requests.items()
    }


requests = json.load(sys.stdin)
print(json.dumps({"wsgi": run_sync(requests), "asgi": asyncio.run(run_async(requests))}))
"""

REQUESTS = {
    "liveness_from_alb": ("GET", HEALTH_PATH, ALB_HOST),
    "liveness_head": ("HEAD", HEALTH_PATH, ALB_HOST),
    "liveness_post": ("POST", HEALTH_PATH, ALB_HOST),
    "readiness_from_alb": ("GET", READINESS_PATH, ALB_HOST),
    "page_from_alb": ("GET", "/", ALB_HOST),
    "page_from_app": ("GET", "/", APP_HOST),
}

Responses = dict[str, dict[str, dict[str, Any]]]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(project: Path, databases: dict[str, str], cache_url: str) -> Responses:
    project.mkdir(parents=True, exist_ok=True)
    (project / "test_settings.py").write_text("import json\n" + SETTINGS)
    (project / "test_urls.py").write_text(URLS)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(project), str(REPOSITORY)]),
        "DJANGO_SETTINGS_MODULE": "test_settings",
        "TEST_DATABASES": json.dumps(databases),
        "TEST_CACHE_URL": cache_url,
    }
    completed = subprocess.run(
        [sys.executable, "-c", RUNNER],
        input=json.dumps(REQUESTS),
        env=env,
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    responses: Responses = json.loads(completed.stdout)
    return responses


@pytest.fixture(scope="module")
def healthy(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str, redis_url: str
) -> Responses:
    return serve(tmp_path_factory.mktemp("healthy"), {"default": postgres_url}, redis_url)


@pytest.fixture(scope="module")
def cache_down(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> Responses:
    cache_url = f"redis://127.0.0.1:{closed_port()}/0"
    return serve(tmp_path_factory.mktemp("cache_down"), {"default": postgres_url}, cache_url)


@pytest.fixture(scope="module")
def database_down(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str, redis_url: str
) -> Responses:
    missing = "postgres://postgres:secret-password@127.0.0.1:5432/health_missing_database"
    databases = {"default": missing, "replica": postgres_url}
    return serve(tmp_path_factory.mktemp("database_down"), databases, redis_url)


HANDLERS = pytest.mark.parametrize(
    "handler", [pytest.param("wsgi", marks=SLOW), pytest.param("asgi", marks=SLOW)]
)


def test_middleware_dotted_path_names_the_class() -> None:
    assert import_string(MIDDLEWARE) is HealthCheckMiddleware


@HANDLERS
def test_liveness_answers_an_alb_host_without_redirect(healthy: Responses, handler: str) -> None:
    response = healthy[handler]["liveness_from_alb"]
    assert (response["status"], response["body"], response["location"]) == (200, "ok", None)


@HANDLERS
def test_liveness_is_never_cached(healthy: Responses, handler: str) -> None:
    assert healthy[handler]["liveness_from_alb"]["cache_control"] == "no-store"


@HANDLERS
def test_liveness_head_has_no_body(healthy: Responses, handler: str) -> None:
    response = healthy[handler]["liveness_head"]
    assert (response["status"], response["body"]) == (200, "")


@HANDLERS
def test_other_methods_go_through_host_validation(healthy: Responses, handler: str) -> None:
    assert healthy[handler]["liveness_post"]["status"] == 400


@HANDLERS
def test_normal_page_with_the_alb_host_is_refused(healthy: Responses, handler: str) -> None:
    assert healthy[handler]["page_from_alb"]["status"] == 400


@HANDLERS
def test_normal_page_with_the_app_host_is_redirected_to_https(
    healthy: Responses, handler: str
) -> None:
    response = healthy[handler]["page_from_app"]
    assert (response["status"], response["location"]) == (301, "https://app.example.com/")


@HANDLERS
def test_readiness_with_real_postgres_and_redis(healthy: Responses, handler: str) -> None:
    response = healthy[handler]["readiness_from_alb"]
    assert (response["status"], json.loads(response["body"])) == (
        200,
        {"database": "ok", "cache": "ok"},
    )


@SLOW
def test_readiness_is_never_cached(healthy: Responses) -> None:
    assert healthy["wsgi"]["readiness_from_alb"]["cache_control"] == "no-store"


@HANDLERS
def test_readiness_names_the_cache_when_redis_is_down(cache_down: Responses, handler: str) -> None:
    response = cache_down[handler]["readiness_from_alb"]
    assert (response["status"], json.loads(response["body"])) == (
        503,
        {"database": "ok", "cache": "error: ConnectionError"},
    )


@HANDLERS
def test_liveness_does_not_touch_the_database(database_down: Responses, handler: str) -> None:
    assert database_down[handler]["liveness_from_alb"]["status"] == 200


@SLOW
def test_readiness_names_each_database_with_the_exception_class_only(
    database_down: Responses,
) -> None:
    response = database_down["wsgi"]["readiness_from_alb"]
    # Exact equality: no host, database name, user or password reaches the body.
    assert (response["status"], json.loads(response["body"])) == (
        503,
        {"database": "error: OperationalError", "database:replica": "ok", "cache": "ok"},
    )


def test_middleware_is_async_under_an_async_handler() -> None:
    async def get_response(request: HttpRequest) -> HttpResponse:
        return HttpResponse()

    assert iscoroutinefunction(HealthCheckMiddleware(get_response))


def test_middleware_is_sync_under_a_sync_handler() -> None:
    assert not iscoroutinefunction(HealthCheckMiddleware(lambda request: HttpResponse()))


def test_paths_are_the_documented_ones() -> None:
    assert (HEALTH_PATH, READINESS_PATH) == ("/healthz", "/readyz")


# ----------------------------------------- python -m django_aws_settings.runtime.healthcheck


class _Liveness(http.server.BaseHTTPRequestHandler):
    """Answers GET /healthz with the status in the server's `status` attribute."""

    def do_GET(self) -> None:
        status = self.server.status if self.path == HEALTH_PATH else 404  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def liveness_server() -> Iterator[http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Liveness)
    server.status = 200  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def container_check(port: int | str, **environ: str) -> subprocess.CompletedProcess[str]:
    """The task definition's healthCheck command, as ECS runs it in the container."""
    env = {**os.environ, "PYTHONPATH": str(REPOSITORY), "PORT": str(port), **environ}
    return subprocess.run(
        [sys.executable, "-m", "django_aws_settings.runtime.healthcheck"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_container_check_asks_the_liveness_path_of_health_py() -> None:
    assert healthcheck.HEALTH_PATH == HEALTH_PATH


def test_container_check_passes_on_200(
    liveness_server: http.server.ThreadingHTTPServer,
) -> None:
    checked = container_check(liveness_server.server_port)
    assert (checked.returncode, checked.stderr) == (0, "")


def test_container_check_fails_on_another_status(
    liveness_server: http.server.ThreadingHTTPServer,
) -> None:
    liveness_server.status = 503  # type: ignore[attr-defined]
    port = liveness_server.server_port
    checked = container_check(port)
    assert (checked.returncode, checked.stderr) == (
        1,
        f"health check http://127.0.0.1:{port}/healthz answered 503\n",
    )


def test_container_check_fails_when_nothing_listens() -> None:
    checked = container_check(closed_port())
    assert checked.returncode == 1
    assert "Connection refused" in checked.stderr


@pytest.mark.parametrize("port", ["http", "0", "70000"])
def test_container_check_refuses_a_bad_port_in_one_line(port: str) -> None:
    checked = container_check(port)
    assert (checked.returncode, checked.stderr) == (
        1,
        "health check: PORT: expected a port number between 1 and 65535\n",
    )


def test_container_check_goes_straight_to_loopback_despite_a_proxy(
    liveness_server: http.server.ThreadingHTTPServer,
) -> None:
    """A task may set HTTP_PROXY for its outbound traffic; loopback must not go through it."""
    proxy = f"http://127.0.0.1:{closed_port()}"
    checked = container_check(liveness_server.server_port, HTTP_PROXY=proxy, http_proxy=proxy)
    assert (checked.returncode, checked.stderr) == (0, "")


def test_container_check_imports_neither_django_nor_the_rest_of_the_package(
    liveness_server: http.server.ThreadingHTTPServer,
) -> None:
    """It runs every 15 s in every web container: the standard library only."""
    port = liveness_server.server_port
    checked = container_check(port, PYTHONPROFILEIMPORTTIME="1")
    assert checked.returncode == 0, checked.stderr
    bare = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "pass"],
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
        capture_output=True,
        text=True,
        check=True,
    )
    added = _imported(checked.stderr) - _imported(bare.stderr)
    # The check module itself runs as __main__; the two package __init__s import nothing.
    assert sorted(name for name in added if name.split(".")[0] not in sys.stdlib_module_names) == [
        "django_aws_settings",
        "django_aws_settings.runtime",
    ]


def _imported(importtime_log: str) -> set[str]:
    return {
        line.rsplit("|", 1)[1].strip()
        for line in importtime_log.splitlines()
        if line.startswith("import time:") and "imported package" not in line
    }


# --------------------------------------------- the package's public names, loaded lazily

FRESH_IMPORTS = """
import importlib, json, sys
first = sys.argv[1]
importlib.import_module(first)
import django_aws_settings as package
from django_aws_settings import *  # noqa: F403
names = {name: getattr(package, name) for name in package.__all__}
print(json.dumps({
    "kinds": {name: type(value).__name__ for name, value in names.items()},
    "defined_in": {name: value.__module__ for name, value in names.items()},
    "star": sorted(n for n in package.__all__ if globals().get(n) is names[n]),
    "module_still_importable": isinstance(sys.modules[first], type(json)),
}))
"""


@pytest.mark.parametrize(
    "first",
    [
        "django_aws_settings",
        "django_aws_settings.settings.configure",
        "django_aws_settings.settings.caches",
        "django_aws_settings.settings.storages",
        "django_aws_settings.settings.databases",
        "django_aws_settings.runtime.healthcheck",
    ],
)
def test_public_names_are_the_functions_whatever_was_imported_first(first: str) -> None:
    """In a fresh interpreter, as a settings module or the health check would start."""
    completed = subprocess.run(
        [sys.executable, "-c", FRESH_IMPORTS, first],
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found = json.loads(completed.stdout)
    assert found["kinds"] == {
        name: "type" if name == "ConfigError" else "function" for name in package_names()
    }
    assert found["defined_in"]["configure"] == "django_aws_settings.settings.configure"
    assert found["star"] == sorted(package_names())
    assert found["module_still_importable"] is True


def package_names() -> list[str]:
    import django_aws_settings

    return list(django_aws_settings.__all__)

"""`./dev demo`: boot a small Django project on django-aws-settings' embedded defaults.

Copies examples/demo_project to a temporary directory, runs migrate and gunicorn exactly as
a container would (with no environment at all: SQLite, local-memory cache, filesystem
storage, Celery eager), then makes the requests an ALB and a browser make and prints them.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT_VARIABLES = ("DJANGO_", "DATABASE_", "CACHE_", "REDIS_", "CELERY_", "AWS_", "SECRET_KEY")

SUMMARY = """
from django.conf import settings as s
print("DATABASES.default.ENGINE =", s.DATABASES["default"]["ENGINE"])
print("CACHES.default.BACKEND   =", s.CACHES["default"]["BACKEND"])
print("STORAGES.default         =", s.STORAGES["default"]["BACKEND"])
print("STORAGES.staticfiles     =", s.STORAGES["staticfiles"]["BACKEND"])
print("CELERY_TASK_ALWAYS_EAGER =", s.CELERY_TASK_ALWAYS_EAGER)
print("ALLOWED_HOSTS            =", s.ALLOWED_HOSTS)
print("MIDDLEWARE[:3]           =", s.MIDDLEWARE[:3])
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(port: int, path: str, host: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", path, headers={"Host": host})
    response = connection.getresponse()
    body = response.read().decode(errors="replace")
    return response.status, body


def wait_until_serving(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"gunicorn exited with {process.returncode}")
        try:
            get(port, "/healthz", "127.0.0.1")
            return
        except OSError:
            time.sleep(0.2)
    sys.exit("gunicorn did not answer within 30 s")


def main() -> int:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(PROJECT_VARIABLES)}
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="django-aws-demo-") as tmp:
        project = Path(tmp) / "demo_project"
        shutil.copytree(HERE / "demo_project", project)

        def manage(*args: str) -> str:
            result = subprocess.run(
                [sys.executable, "manage.py", *args],
                cwd=project,
                env=environ,
                capture_output=True,
                text=True,
                check=True,
            )
            return result.stdout + result.stderr

        print("$ python manage.py migrate")
        print(manage("migrate", "--noinput").splitlines()[-1])
        print("\nSettings built by configure(globals()) with an empty environment:")
        print(manage("shell", "-c", SUMMARY).rstrip())

        port, failures = free_port(), 0
        command = [
            str(bin_dir / "gunicorn"),
            "demo.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
        ]
        print(f"\n$ {' '.join(command[1:])}")
        log = (Path(tmp) / "gunicorn.log").open("wb")
        server = subprocess.Popen(command, cwd=project, env=environ, stdout=log, stderr=log)
        try:
            wait_until_serving(port, server)
            checks = [
                ("/healthz", "10.0.1.23:8000", "ALB health check, Host = task IP"),
                ("/readyz", "localhost", "readiness: database + cache"),
                ("/", "localhost", "a page of the app"),
                ("/", "10.0.1.23:8000", "the same page with a foreign Host"),
                ("/static/admin/css/base.css", "localhost", "a static file (WhiteNoise)"),
            ]
            expected = {"/": 200}
            for path, host, what in checks:
                status, body = get(port, path, host)
                want = 400 if host.startswith("10.") and path == "/" else expected.get(path, 200)
                failures += status != want
                shown = body if body.startswith("{") or len(body) < 40 else f"{len(body)} bytes"
                print(f"GET {path:<28} Host={host:<16} -> {status}  {what}: {shown}")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
            log.close()
            if failures:
                print((Path(tmp) / "gunicorn.log").read_text(errors="replace"))
    print("\ndemo:", "ok" if not failures else f"{failures} unexpected answers")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

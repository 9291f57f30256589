"""`./dev demo`: the main job on an embedded default.

Renders the Copier template into a copy of the bundled example project (an existing
Django + Celery app, tests/sample_project), prints what was generated, then boots the web
command of the generated task definition exactly as ECS would start it, with no
environment at all (SQLite, local-memory cache, filesystem storage), and makes the
requests an ALB and a browser make. No AWS, no PostgreSQL, no Docker needed.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import copier

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "tests" / "sample_project"
ANSWERS = {
    "project_slug": "shop",
    "django_project": "shop",
    "aws_account_id": "123456789012",
    "domain": "shop.example.com",
    "github_repository": "acme/shop",
    "celery_queues": "default,emails",
}
OURS = ("DJANGO_", "DATABASE_", "CACHE_", "REDIS_", "CELERY_", "AWS_", "SECRET_KEY", "MAINTENANCE_")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(port: int, path: str, host: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", path, headers={"Host": host})
    response = connection.getresponse()
    return response.status, response.read().decode(errors="replace")


def git(root: Path, *args: str) -> None:
    identity = ["-c", "user.name=demo", "-c", "user.email=demo@example.com"]
    subprocess.run(["git", *identity, *args], cwd=root, check=True, capture_output=True)


def render(project: Path) -> list[str]:
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "the app as it runs on the PaaS")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # this checkout's uncommitted edits are welcome here
        copier.run_copy(
            str(REPO),
            project,
            data=ANSWERS,
            defaults=True,
            unsafe=True,
            quiet=True,
            vcs_ref="HEAD",
        )
    git(project, "add", "-A")
    changed = subprocess.run(
        ["git", "diff", "--cached", "--name-only"],
        cwd=project,
        text=True,
        capture_output=True,
        check=True,
    )
    return changed.stdout.split()


def wait_until_serving(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the web command exited with {server.returncode}")
        try:
            get(port, "/healthz", "127.0.0.1")
            return
        except OSError:
            time.sleep(0.2)
    sys.exit("the web command did not answer within 30 s")


def main() -> int:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(OURS)}
    environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environ.get('PATH', '')}"
    with tempfile.TemporaryDirectory(prefix="django-aws-demo-") as tmp:
        project = Path(tmp) / "shop"
        print(f"$ copier copy --trust {REPO} .   (in a copy of {EXAMPLE.relative_to(REPO)})")
        written = render(project)
        infra = [name for name in written if name.startswith("infra/")]
        for name in written:
            if name not in infra:
                print(f"  wrote {name}")
        if infra:
            print(
                f"  wrote infra/terraform/ ({len(infra)} files: modules, environments, bootstrap)"
            )

        web = json.loads((project / "deploy/ecs/web.json").read_text())
        command = web["containerDefinitions"][0]["command"]
        environ["DJANGO_SETTINGS_MODULE"] = "shop.settings_aws"  # the image's ENV
        migrate = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=project,
            env=environ,
            capture_output=True,
            text=True,
            check=False,
        )
        if migrate.returncode:
            print(migrate.stderr)
            return 1
        print("\n$ python manage.py migrate   (embedded default: SQLite)")

        port = free_port()
        environ["PORT"] = str(port)
        print(f"$ {' '.join(command)}   (deploy/ecs/web.json's command, PORT={port})")
        log_path = Path(tmp) / "web.log"
        with log_path.open("wb") as log:
            server = subprocess.Popen(command, cwd=project, env=environ, stdout=log, stderr=log)
            failures = 0
            try:
                wait_until_serving(port, server)
                for path, host, want, what in [
                    ("/healthz", "10.0.1.23:8000", 200, "ALB health check (Host = task IP)"),
                    ("/readyz", "localhost", 200, "readiness: database and cache"),
                    ("/", "localhost", 200, "a page of the app"),
                    ("/", "10.0.1.23:8000", 400, "the same page, foreign Host"),
                    ("/static/catalog/site.css", "localhost", 200, "a static file"),
                ]:
                    status, body = get(port, path, host)
                    failures += status != want
                    shown = body.strip() if len(body) < 60 else f"{len(body)} bytes"
                    mark = "ok " if status == want else "BAD"
                    print(f"  {mark} GET {path:<26} Host={host:<15} -> {status}  {what}: {shown}")
            finally:
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=40)
        if failures:
            print(log_path.read_text(errors="replace"))
    print("\ndemo:", "ok" if not failures else f"{failures} unexpected answers")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

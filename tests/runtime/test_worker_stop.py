"""A Celery worker stopped the way ECS stops it, mid-task, with the generated worker's
command line and environment, on the real Redis.

ECS sends SIGTERM to the container (its init process passes it to the command's process)
and SIGKILLs everything at the task definition's stopTimeout. Celery's own SIGTERM is the
warm shutdown, which waits for running tasks without limit: the SIGKILL then leaves the
task unacknowledged in Redis until the visibility timeout (an hour) runs out. The
generated worker sets REMAP_SIGTERM=SIGQUIT: the soft shutdown (bounded by
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT) and then the cold shutdown that requeues the task at
once, so the next worker runs it within seconds, to the end, exactly once.

The worker runs the generated ``command`` with the generated ``environment``; only the
Celery app (``--app``) is this test's, and times are scaled down 20-fold (stopTimeout 120 s
-> 6 s; soft shutdown 100 s -> 2 s, leaving the cold shutdown 4 s instead of 20 s).
tests/template/test_template_run.py does the same with the rendered sample project.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from celery import Celery
from support.processes import Process, running
from support.template import (
    REQUIRED_ANSWERS,
    only_container,
    placeholder_values,
    render,
    sample_copy,
    task_definition_files,
)

from django_aws_settings.ops.ecs import render_task_definition
from django_aws_settings.settings.celery import DEFAULT_SOFT_SHUTDOWN_TIMEOUT, celery_settings

pytestmark = pytest.mark.slow

TESTS_DIR = Path(__file__).resolve().parents[1]
PROJECT_DIR = TESTS_DIR.parent
SCALE = 20
TEST_SOFT_SHUTDOWN = 2
TASK_SECONDS = 6
APP_SOURCE = """\
import os
import time

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "celery_app.settings")
app = Celery("stop_app")
app.config_from_object("django.conf:settings", namespace="CELERY")


@app.task(name="stop_app.long_job")
def long_job(marks, seconds):
    with open(marks, "a") as out:
        out.write(f"started {os.getpid()}\\n")
    time.sleep(seconds)
    with open(marks, "a") as out:
        out.write(f"finished {os.getpid()}\\n")
"""


@pytest.fixture(scope="module")
def generated_worker(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The worker container of a freshly rendered project (Celery, queue "default")."""
    root = sample_copy(tmp_path_factory.mktemp("worker-stop"))
    render(root, {**REQUIRED_ANSWERS, "celery": True, "celery_queues": "default"})
    path = task_definition_files(root)["worker"]
    return only_container(
        render_task_definition(path, placeholder_values("worker", "staging", "default"))
    )


def worker_command(container: dict[str, Any]) -> list[str]:
    """The generated command, with this test's Celery app instead of the project's."""
    command = list(container["command"])
    command[command.index("--app") + 1] = "stop_app"
    return [sys.executable, "-m", *command]  # `celery` from this venv


def worker_environment(container: dict[str, Any], broker: str, queue: str) -> dict[str, str]:
    """The container's generated environment, a broker and the scaled-down soft shutdown."""
    generated = {item["name"]: item["value"] for item in container["environment"]}
    ours = ("CELERY_", "REDIS_", "CACHE_", "DJANGO_", "AWS_", "ECS_", "REMAP_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env.update(generated)
    env.update(
        CELERY_BROKER_URL=broker,
        CELERY_DEFAULT_QUEUE=queue,
        CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT=str(TEST_SOFT_SHUTDOWN),
        PYTHONPATH=os.pathsep.join([str(TESTS_DIR), str(PROJECT_DIR)]),
    )
    return env


def stop_like_ecs(process: Process, stop_timeout: float) -> tuple[bool, float]:
    """SIGTERM to the command's process, SIGKILL to all of it after ``stop_timeout``;
    whether it exited by itself, and how long the stop took."""
    started = time.monotonic()
    process.popen.send_signal(signal.SIGTERM)
    try:
        process.popen.wait(timeout=stop_timeout)
        by_itself = True
    except subprocess.TimeoutExpired:
        by_itself = False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.popen.pid, signal.SIGKILL)
    process.popen.wait(timeout=10)
    return by_itself, time.monotonic() - started


def wait_for(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def marks_of(path: Path) -> list[str]:
    return [line.split()[0] for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def stop_app(tmp_path: Path) -> Path:
    (tmp_path / "stop_app.py").write_text(APP_SOURCE)
    return tmp_path


def test_the_generated_worker_stops_within_its_stop_timeout_and_soft_shutdown_fits(
    generated_worker: dict[str, Any],
) -> None:
    environment = {item["name"]: item["value"] for item in generated_worker["environment"]}
    soft = int(
        environment.get("CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT", DEFAULT_SOFT_SHUTDOWN_TIMEOUT)
    )
    assert environment.get("REMAP_SIGTERM") == "SIGQUIT"
    assert (generated_worker["stopTimeout"], soft) == (SCALE * 6, 100)
    assert generated_worker["stopTimeout"] - soft >= 10  # time for the cold shutdown


def test_a_worker_stopped_like_ecs_mid_task_requeues_it_for_the_next_worker_at_once(
    generated_worker: dict[str, Any], stop_app: Path, redis_url: str
) -> None:
    queue = f"stop-{secrets.token_hex(4)}"
    env = worker_environment(generated_worker, redis_url, queue)
    command = worker_command(generated_worker)
    command[command.index("--queues") + 1] = queue
    stop_timeout = generated_worker["stopTimeout"] / SCALE
    marks = stop_app / "marks.txt"
    sender = Celery("sender", set_as_current=False)
    sender.config_from_object(SimpleNamespace(**celery_settings(env)), namespace="CELERY")
    try:
        with running(command, cwd=stop_app, env=env, log=stop_app / "first.log") as first:
            sender.send_task("stop_app.long_job", args=(str(marks), TASK_SECONDS), queue=queue)
            assert wait_for(lambda: marks_of(marks) == ["started"], 30), (
                stop_app / "first.log"
            ).read_text()
            by_itself, took = stop_like_ecs(first, stop_timeout)
        first_log = (stop_app / "first.log").read_text()
        assert by_itself, first_log  # the cold shutdown ended it before the SIGKILL
        assert took < stop_timeout
        assert "Restoring 1 unacknowledged message(s)" in first_log
        assert marks_of(marks) == ["started"]

        restarted = time.monotonic()
        with running(command, cwd=stop_app, env=env, log=stop_app / "next.log"):
            assert wait_for(lambda: "finished" in marks_of(marks), TASK_SECONDS + 20), (
                stop_app / "next.log"
            ).read_text()
            finished_after = time.monotonic() - restarted
            time.sleep(2)  # a second delivery would show up as another start
    finally:
        sender.close()
    assert marks_of(marks) == ["started", "started", "finished"]
    # Picked up at once: start-up plus the task, not the visibility timeout.
    assert finished_after < TASK_SECONDS + 20

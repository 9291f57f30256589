"""A real Celery worker of the tests' `celery_app` for the length of a test, the variables
that put it on moto's SQS through kombu's own SQS transport, and waiting for what it did."""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from support.moto_server import Aws
from support.processes import running

TESTS_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = TESTS_DIR.parent
# Variables of ours the worker does not inherit from the test process: it sees only those
# the test gives it (as ECS runs it).
OURS = ("CELERY_", "REDIS_", "CACHE_", "DJANGO_", "AWS_", "SCHEDULE")


@contextmanager
def celery_worker(
    environ: Mapping[str, str],
    *,
    queues: str,
    log: Path,
    name: str,
    pythonpath: str = os.pathsep.join([str(TESTS_DIR), str(REPO_ROOT)]),
) -> Iterator[None]:
    """`celery --app celery_app worker --pool=solo --queues <queues>` with the template's
    flags, run from tests/ with ``environ`` and no other variable of ours; its output goes
    to ``log``; stopped (SIGTERM: warm shutdown) afterwards."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(OURS)}
    env.update(environ)
    env["PYTHONPATH"] = pythonpath
    argv = [
        sys.executable, "-m", "celery", "--app", "celery_app", "worker", "--pool=solo",
        "--queues", queues, f"--hostname={name}-{secrets.token_hex(3)}@%h",
        "--without-gossip", "--without-mingle", "--loglevel=INFO",  # the template's flags
    ]  # fmt: skip
    with running(argv, cwd=TESTS_DIR, env=env, log=log, grace=15):
        yield


def sqs_worker_environ(
    aws: Aws, *, prefix: str, urls: Mapping[str, str], queues: str
) -> dict[str, str]:
    """A production worker's variables on moto's SQS: the queues `prefix<queue>` at
    ``urls`` (CELERY_SQS_QUEUE_URLS), polled every 0.2 s, task protection off."""
    return aws.environ(
        DJANGO_ENV="production",
        CELERY_BROKER_URL="sqs://",
        CELERY_SQS_QUEUE_PREFIX=prefix,
        CELERY_SQS_QUEUE_URLS=json.dumps(urls),
        CELERY_SQS_POLLING_INTERVAL="0.2",
        CELERY_QUEUES=queues,
        CELERY_TASK_TIME_LIMIT="30",
        CELERY_VISIBILITY_TIMEOUT="60",
        CELERY_TASK_PROTECTION="false",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_EC2_METADATA_DISABLED="true",
    )


def wait_for(condition: Callable[[], bool], log: Path, timeout: float = 60) -> None:
    """Poll ``condition`` until true; after ``timeout`` seconds fail with the log's end."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(log.read_text(errors="replace")[-6000:])
        time.sleep(0.3)

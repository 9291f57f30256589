from __future__ import annotations

from pathlib import Path
from typing import Any

from celery import shared_task
from celery.exceptions import Reject


@shared_task
def add(x: int, y: int) -> int:
    return x + y


@shared_task
def send_email(to: str) -> str:
    return f"sent to {to}"


# For tests/settings/test_celery_sqs.py: state lives in a file the test names, because
# each run may happen in another worker process.
@shared_task(bind=True, max_retries=3)
def succeed_on_second_try(self: Any, marker: str) -> str:
    path = Path(marker)
    if not path.exists():
        path.write_text("first run")
        raise self.retry(countdown=1)
    path.write_text("second run")
    return "done"


@shared_task(acks_late=True)
def poison(marker: str) -> None:
    """Rejected without requeue every time: SQS redelivers it until the redrive policy
    moves it to the dead-letter queue."""
    with Path(marker).open("a") as runs:
        runs.write("run\n")
    raise Reject("poison", requeue=False)

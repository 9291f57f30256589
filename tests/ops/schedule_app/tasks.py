from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from celery import shared_task


@shared_task(bind=True)
def record(self: Any, marker: str, **kwargs: Any) -> str:
    """Writes what the worker received: the task id, the marker and the keyword arguments."""
    Path(marker).write_text(json.dumps({"id": self.request.id, "kwargs": kwargs}))
    return str(self.request.id)


@shared_task
def report(to: str = "") -> str:
    return f"report for {to}"

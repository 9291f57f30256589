from __future__ import annotations

from celery import shared_task


@shared_task
def add(x: int, y: int) -> int:
    return x + y


@shared_task
def send_email(to: str) -> str:
    return f"sent to {to}"

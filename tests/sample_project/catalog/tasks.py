from celery import shared_task

from .models import TaskRun


@shared_task
def record_visit(note):
    return TaskRun.objects.create(kind="visit", note=note).pk


@shared_task
def heartbeat():
    """Runs every few seconds from CELERY_BEAT_SCHEDULE."""
    return TaskRun.objects.create(kind="beat").pk

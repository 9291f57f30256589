import time

from celery import shared_task

from .models import TaskRun


@shared_task
def record_visit(note):
    return TaskRun.objects.create(kind="visit", note=note).pk


@shared_task
def heartbeat():
    """Runs every minute from CELERY_BEAT_SCHEDULE (every few seconds in the tests)."""
    return TaskRun.objects.create(kind="beat").pk


@shared_task
def long_job(note, seconds):
    """Records its start and its end: a worker stopped in between shows up as a second start."""
    TaskRun.objects.create(kind="long-job-started", note=note)
    time.sleep(seconds)
    return TaskRun.objects.create(kind="long-job-finished", note=note).pk

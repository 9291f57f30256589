"""Django settings: the Celery test project's, with a beat schedule chosen by SCHEDULE."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from celery.schedules import crontab, schedule, solar
from celery_app.settings import *  # noqa: F403 (broker, queues, result backend from the environment)

INSTALLED_APPS = ["django_aws_settings"]
CELERY_IMPORTS = ["schedule_app.tasks"]
CELERY_TIMEZONE = "Europe/Paris"
CELERY_TASK_ROUTES = {"schedule_app.tasks.report": {"queue": "emails"}}

MARKER = os.environ.get("SCHEDULE_MARKER", "/nonexistent")
SCHEDULES: dict[str, dict[str, Any]] = {
    "ok": {
        "record every 5 minutes": {
            "task": "schedule_app.tasks.record",
            "schedule": timedelta(minutes=5),
            "args": [MARKER],
            "kwargs": {"note": "scheduled", "tags": ["a", "b"]},
        },
        "hourly": {"task": "schedule_app.tasks.record", "schedule": 3600.0, "args": [MARKER]},
        "daily": {
            "task": "schedule_app.tasks.record",
            "schedule": schedule(timedelta(days=1)),
            "args": [MARKER],
        },
        "weekday-report": {
            "task": "schedule_app.tasks.report",
            "schedule": crontab(minute=30, hour=7, day_of_week="mon-fri"),
            "kwargs": {"to": "ops@example.com"},
        },
        "quarterly": {
            "task": "schedule_app.tasks.report",
            "schedule": crontab(minute=0, hour=0, day_of_month=1, month_of_year="1,4,7,10"),
            "options": {"queue": "default"},
        },
    },
    # Without ephem (celery[solar]): the export refuses the type, it computes no dawn.
    "solar": {
        "at-dawn": {
            "task": "schedule_app.tasks.report",
            "schedule": solar.__new__(solar),
        }
    },
    "sub-minute": {"heartbeat": {"task": "schedule_app.tasks.record", "schedule": 5.0}},
    "both-days": {
        "friday-13th": {
            "task": "schedule_app.tasks.report",
            "schedule": crontab(minute=0, hour=0, day_of_month=13, day_of_week="fri"),
        }
    },
    "expires": {
        "with-expiry": {
            "task": "schedule_app.tasks.report",
            "schedule": 600,
            "options": {"expires": 60},
        }
    },
    "database": {"nightly": {"task": "schedule_app.tasks.report", "schedule": crontab(0, 2)}},
}
CELERY_BEAT_SCHEDULE = SCHEDULES[os.environ.get("SCHEDULE", "ok")]
if os.environ.get("SCHEDULE") == "database":
    CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

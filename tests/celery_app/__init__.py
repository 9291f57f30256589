"""A minimal Celery project wired the way the template wires a user's project.

Django settings come from ``celery_app.settings`` (which calls ``celery_settings()`` on
the process environment) and Celery reads them through ``django.conf:settings``.
Workers run as ``celery -A celery_app worker`` with ``tests/`` on PYTHONPATH.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "celery_app.settings")

app = Celery("celery_app")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["celery_app"])

"""Django settings for the test Celery project: only what Celery needs, from the environment."""

from __future__ import annotations

from django_aws_settings.settings.celery import celery_settings

SECRET_KEY = "celery-app-tests-only"  # a test project, never deployed
INSTALLED_APPS: list[str] = []
USE_TZ = True

globals().update(celery_settings())

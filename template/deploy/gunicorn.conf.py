"""Gunicorn settings for the web task (read by the Dockerfile's CMD).

The defaults come from django_aws_settings.runtime.gunicorn (workers from WEB_CONCURRENCY,
graceful shutdown shorter than the ECS stop timeout, keep-alive longer than the ALB's idle
timeout where connections stay open (threads, ASGI), heartbeat in /dev/shm). Override any of them below this import.
"""

from django_aws_settings.runtime.gunicorn import *  # noqa: F403

"""What copier.yml derives from the answers and never asks: whether ElastiCache is built,
and the package's extras the copy's message names. One rule, read by the template
(through the Copier extension) and by the tests (from a recorded answers file, which
leaves out questions that were not asked: their defaults apply). Standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def needs_elasticache(answers: Mapping[str, Any]) -> bool:
    """Redis is built for the Redis broker, Redis results, Channels, or the cache of an app
    without Celery; otherwise the cache is per process (CACHE_URL=locmem://)."""
    return (
        not answers.get("celery", True)
        or answers.get("broker", "redis") == "redis"
        or answers.get("celery_result_backend", "none") == "redis"
        or bool(answers.get("channels", False))
    )


def package_extras(answers: Mapping[str, Any]) -> str:
    """The extras of `django-aws-settings[...]` for these answers, comma-separated."""
    celery = bool(answers.get("celery", True))
    static = answers.get("static_backend", "whitenoise")
    extras = ["postgres"]
    if needs_elasticache(answers):
        extras.append("redis")
    if celery:
        extras.append("sqs" if answers.get("broker", "redis") == "sqs" else "celery")
    if answers.get("media_on_s3", True) or static == "s3":
        extras.append("s3")
    if static == "whitenoise":
        extras.append("whitenoise")
    if answers.get("email", "app") == "ses":
        extras.append("ses")
    if answers.get("channels", False):
        extras.append("channels")
    return ",".join(extras)

from __future__ import annotations

import logging
import os
import sys

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger("django_aws_settings")

# What argv[0] is for `manage.py ...`, `django-admin ...` and `python -m django ...`.
MANAGEMENT_PROGRAMS = frozenset({"manage.py", "django-admin", "django-admin.py", "__main__.py"})


class DjangoAwsSettingsConfig(AppConfig):
    name = "django_aws_settings"
    verbose_name = "django-aws-settings"

    def ready(self) -> None:
        from .settings import checks  # noqa: F401  (registers the system checks)
        from .settings.report import log_replaced

        production = getattr(settings, "DJANGO_AWS_SETTINGS", {}).get("ENVIRONMENT")
        if production == "production" and not running_a_management_command():
            log_replaced(logger)  # once per server or worker start, names only


def running_a_management_command() -> bool:
    """Commands print their own output on stdout (dumpdata, check, shell): logs go there
    too in production, so the start-up line is for servers and workers only."""
    return os.path.basename(sys.argv[0]) in MANAGEMENT_PROGRAMS if sys.argv else False

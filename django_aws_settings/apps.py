from __future__ import annotations

import logging

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger("django_aws_settings")


class DjangoAwsSettingsConfig(AppConfig):
    name = "django_aws_settings"
    verbose_name = "django-aws-settings"

    def ready(self) -> None:
        from .settings import checks  # noqa: F401  (registers the system checks)
        from .settings.report import log_replaced

        if getattr(settings, "DJANGO_AWS_SETTINGS", {}).get("ENVIRONMENT") == "production":
            log_replaced(logger)

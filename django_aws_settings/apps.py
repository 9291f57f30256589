from __future__ import annotations

from django.apps import AppConfig


class DjangoAwsSettingsConfig(AppConfig):
    name = "django_aws_settings"
    verbose_name = "django-aws-settings"

    def ready(self) -> None:
        from .settings import checks  # noqa: F401  (registers the system checks)

"""Production settings: the project's own, completed from the environment."""

import django_aws_settings

from .settings import *  # noqa: F403

django_aws_settings.configure(globals())

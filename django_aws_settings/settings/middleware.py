"""The dotted paths of the package's middleware, as settings name them.

``settings/`` never imports ``runtime/``: a settings module only needs the strings
(tests/test_layout.py checks that each one imports to the class it names).
"""

HEALTH_MIDDLEWARE = "django_aws_settings.runtime.health.HealthCheckMiddleware"
MAINTENANCE_MIDDLEWARE = "django_aws_settings.runtime.maintenance.MaintenanceModeMiddleware"
SECURITY_MIDDLEWARE = "django.middleware.security.SecurityMiddleware"
WHITENOISE_MIDDLEWARE = "whitenoise.middleware.WhiteNoiseMiddleware"

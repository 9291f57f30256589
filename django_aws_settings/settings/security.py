"""SECRET_KEY, DEBUG and the security settings an app behind ALB + CloudFront needs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .env import reader

SOURCE_VARIABLES = ("SECRET_KEY", "DEBUG")

# Django's own security.W009 criteria; a key below them fails `check --deploy`.
MIN_SECRET_KEY_LENGTH = 50
MIN_SECRET_KEY_UNIQUE_CHARACTERS = 5
INSECURE_PREFIX = "django-insecure-"
# Stable so that development sessions survive a restart; refused in production.
DEVELOPMENT_SECRET_KEY = INSECURE_PREFIX + "django-aws-settings-development-only-key-0123456789"

ONE_YEAR = 31_536_000
# The HSTS policy as one unit, with Django's defaults: a module that sets its own seconds
# keeps all three (configure() never adds includeSubDomains or preload behind its back).
HSTS_SETTINGS = {
    "SECURE_HSTS_SECONDS": 0,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
    "SECURE_HSTS_PRELOAD": False,
}
HSTS_VARIABLES = tuple(HSTS_SETTINGS)


def security_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """SECRET_KEY, DEBUG and, in production, HTTPS-only settings that trust the ALB's header."""
    r = reader(environ)
    secret_key = r.required("SECRET_KEY", f"a random string of at least {MIN_SECRET_KEY_LENGTH}")
    debug = r.flag("DEBUG", default=not r.production)
    if not r.production:
        r.raise_if_any()
        return {"SECRET_KEY": secret_key or DEVELOPMENT_SECRET_KEY, "DEBUG": debug}

    if debug:
        r.problem("DEBUG", "must be false when DJANGO_ENV=production (it leaks settings and data)")
    if secret_key is not None and (
        len(secret_key) < MIN_SECRET_KEY_LENGTH
        or len(set(secret_key)) < MIN_SECRET_KEY_UNIQUE_CHARACTERS
        or secret_key.startswith(INSECURE_PREFIX)
    ):
        r.problem(
            "SECRET_KEY",
            f"expected at least {MIN_SECRET_KEY_LENGTH} characters with at least "
            f"{MIN_SECRET_KEY_UNIQUE_CHARACTERS} distinct ones and no '{INSECURE_PREFIX}' prefix"
            f" (got {len(secret_key)} characters)",
        )
    hsts_seconds = r.integer("SECURE_HSTS_SECONDS", ONE_YEAR, minimum=0, maximum=2 * ONE_YEAR)
    settings: dict[str, Any] = {
        "SECRET_KEY": secret_key,
        "DEBUG": False,
        # The ALB terminates TLS and sets X-Forwarded-Proto (it overwrites any client value).
        "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
        "USE_X_FORWARDED_HOST": False,
        "SECURE_SSL_REDIRECT": r.flag("SECURE_SSL_REDIRECT", default=True),
        # Health checks arrive over plain HTTP from the ALB; never redirect them.
        "SECURE_REDIRECT_EXEMPT": [r"^healthz$", r"^readyz$"],
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": hsts_seconds,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": r.flag("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True),
        "SECURE_HSTS_PRELOAD": r.flag("SECURE_HSTS_PRELOAD", default=True),
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "same-origin",
    }
    r.raise_if_any()
    return settings

"""configure(globals()): the one line at the end of a settings module.

Precedence, per setting (the full table is in docs/configure.md):
1. A value the environment gives always wins over the settings module.
2. In production the connection settings the package builds win: required values must come
   from the environment, so a forgotten SQLite DATABASES or a hard-coded SECRET_KEY in the
   module cannot be used silently.
3. In development, a setting the module already defines is kept unless the environment
   configures it; otherwise the embedded default (SQLite, local memory, filesystem) is used,
   and the app is served over plain http even if the module forces the HTTPS redirect.
4. Merge, never replace: each DATABASES/CACHES/STORAGES alias keeps every key the package
   does not build (settings/merge.py); the module's CELERY_RESULT_BACKEND, MEDIA_ROOT,
   HSTS policy, cache KEY_PREFIX, LOGGING (unless LOG_* is set) and CELERY_* tuning keys
   stay; CSRF_TRUSTED_ORIGINS are merged.

Every setting written is recorded (settings/report.py, ``manage.py configured_settings``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, MutableMapping
from pathlib import Path
from typing import Any

from .bridge import without_composed
from .caches import SOURCE_VARIABLES as CACHE_VARIABLES
from .caches import caches
from .celery import SOURCE_VARIABLES as CELERY_VARIABLES
from .celery import celery_settings
from .channels import SOURCE_VARIABLES as CHANNEL_VARIABLES
from .channels import channel_layers, merged_channel_layers, uses_channels
from .databases import SOURCE_VARIABLES as DATABASE_VARIABLES
from .databases import databases
from .email import SOURCE_VARIABLES as EMAIL_VARIABLES
from .email import email_settings
from .env import Reader, ResolvedEnviron, resolved
from .errors import ConfigError, Problems
from .hosts import SOURCE_VARIABLES as HOST_VARIABLES
from .hosts import allowed_hosts, csrf_trusted_origins
from .logs import SOURCE_VARIABLES as LOG_VARIABLES
from .logs import logging_config
from .maintenance import SETTING as MAINTENANCE_SETTING
from .maintenance import SOURCE_VARIABLES as MAINTENANCE_VARIABLES
from .maintenance import maintenance_settings, with_maintenance_middleware
from .merge import merged_aliases
from .middleware import HEALTH_MIDDLEWARE, SECURITY_MIDDLEWARE, WHITENOISE_MIDDLEWARE
from .report import MISSING, SettingChange, record, source_of
from .security import HSTS_SETTINGS, HSTS_VARIABLES, security_settings
from .security import SOURCE_VARIABLES as SECURITY_VARIABLES
from .storages import S3_STATIC_BACKEND, storage_urls, storages
from .storages import SOURCE_VARIABLES as STORAGE_VARIABLES

logger = logging.getLogger(__name__)

APP = "django_aws_settings"
# Celery keys that describe the connection: they follow the environment, never the module.
CELERY_CONNECTION_KEYS = frozenset(
    {
        "CELERY_BROKER_URL",
        "CELERY_RESULT_BACKEND",
        "CELERY_BROKER_USE_SSL",
        "CELERY_REDIS_BACKEND_USE_SSL",
        "CELERY_BROKER_TRANSPORT_OPTIONS",
        "CELERY_TASK_ALWAYS_EAGER",
        "CELERY_TASK_EAGER_PROPAGATES",
    }
)
RESULT_BACKEND = "CELERY_RESULT_BACKEND"
ALIASED = ("DATABASES", "CACHES", "STORAGES")
# Served over plain http in development: these would redirect or drop cookies there.
HTTPS_ONLY = {
    "SECURE_SSL_REDIRECT": False,
    "SESSION_COOKIE_SECURE": False,
    "CSRF_COOKIE_SECURE": False,
    "SECURE_HSTS_SECONDS": 0,
}
# Apps that only exist to use Celery: having one installed means the app uses Celery.
CELERY_APPS = ("django_celery_beat", "django_celery_results")

_announced = False


def configure(
    namespace: MutableMapping[str, Any], environ: Mapping[str, str] | None = None
) -> None:
    """Complete a settings module's namespace from the environment (``os.environ`` by default).

    Raises one ConfigError that lists every problem found; writes nothing in that case.
    """
    env = resolved(without_composed(os.environ if environ is None else environ))
    r = Reader(env)
    base_dir = Path(namespace.get("BASE_DIR") or Path.cwd())
    asgi = r.flag("DJANGO_ASGI", default=False)
    celery_required = r.flag("CELERY_REQUIRED", default=_uses_celery(namespace))
    problems = Problems()
    problems.items.extend(r.problems.items)

    def build(
        source: tuple[str, ...],
        make: Callable[[], dict[str, Any]],
        *,
        production_wins: bool = True,
    ) -> _Part | None:
        try:
            values = make()
        except ConfigError as error:
            problems.extend(error)
            return None
        given = any(env.get(name, "").strip() for name in source)
        return _Part(
            values,
            given or (production_wins and r.production),
            source_of(source, env, env.references),
        )

    media_root = namespace.get("MEDIA_ROOT") or None
    channels_app = uses_channels(namespace.get("INSTALLED_APPS", []))
    parts = [
        build(SECURITY_VARIABLES, lambda: security_settings(env)),
        build(
            HOST_VARIABLES,
            lambda: {
                "ALLOWED_HOSTS": allowed_hosts(env),
                "CSRF_TRUSTED_ORIGINS": csrf_trusted_origins(env),
            },
        ),
        build(
            DATABASE_VARIABLES,
            lambda: {"DATABASES": databases(env, base_dir=base_dir)},
        ),
        build(CACHE_VARIABLES, lambda: {"CACHES": caches(env)}),
        # Only DJANGO_AWS_CHANNELS / CHANNELS_REDIS_URL replace the app's own CHANNEL_LAYERS.
        build(
            CHANNEL_VARIABLES,
            lambda: _nonempty("CHANNEL_LAYERS", channel_layers(env, uses_channels=channels_app)),
            production_wins=False,
        ),
        build(
            STORAGE_VARIABLES,
            lambda: {
                "STORAGES": storages(env, base_dir=base_dir, media_root=media_root),
                **storage_urls(env, base_dir=base_dir, media_root=media_root),
            },
        ),
        build(CELERY_VARIABLES, lambda: celery_settings(env, required=celery_required)),
        build(MAINTENANCE_VARIABLES, lambda: maintenance_settings(env)),
        # Written only when the environment names a backend or sender: the app's otherwise.
        build(EMAIL_VARIABLES, lambda: email_settings(env), production_wins=False),
        # A LOGGING the module wrote (Sentry, extra handlers) is kept unless LOG_* is set.
        build(
            LOG_VARIABLES,
            lambda: {"LOGGING": logging_config(env)},
            production_wins=False,
        ),
    ]
    if r.production:
        _refuse_silently_private_media(namespace, env, problems)
    problems.raise_if_any()

    before = {key: namespace.get(key, MISSING) for part in parts if part for key in part.values}
    before.update({key: namespace.get(key, MISSING) for key in _ALWAYS_WRITTEN})
    sources: dict[str, str] = {}
    for part in parts:
        assert part is not None  # every failure raised above
        if r.production and not celery_required and part.values.get("CELERY_TASK_ALWAYS_EAGER"):
            continue  # no broker and no sign of Celery: the app does not use it
        for key in _apply(namespace, part, environ=env, before=before):
            sources[key] = part.source
    namespace["DJANGO_AWS_SETTINGS"] = {"ENVIRONMENT": r.name, "ASGI": asgi}
    namespace["INSTALLED_APPS"] = _with_app(list(namespace.get("INSTALLED_APPS", [])))
    namespace["MIDDLEWARE"] = _with_middleware(
        list(namespace.get("MIDDLEWARE", [])), whitenoise=_serves_static_itself(namespace)
    )
    namespace["MIDDLEWARE"] = with_maintenance_middleware(
        namespace["MIDDLEWARE"], namespace[MAINTENANCE_SETTING]
    )
    over_http = [] if r.production else _serve_over_http(namespace, before, sources)
    changes = [
        SettingChange(key, before[key], namespace[key], sources.get(key, "django-aws-settings"))
        for key in before
        if key in namespace and (before[key] is MISSING or before[key] != namespace[key])
    ]
    record(changes)
    if not r.production:
        _announce(env, namespace, over_http)


_ALWAYS_WRITTEN = ("DJANGO_AWS_SETTINGS", "INSTALLED_APPS", "MIDDLEWARE")


class _Part:
    """One builder's settings, whether the environment (not a default) produced them, and
    the variables and references they came from."""

    def __init__(self, values: dict[str, Any], from_environment: bool, source: str) -> None:
        self.values = values
        self.from_environment = from_environment
        self.source = source


def _apply(
    namespace: MutableMapping[str, Any],
    part: _Part,
    *,
    environ: Mapping[str, str],
    before: Mapping[str, Any],
) -> list[str]:
    """Write one part into the namespace by the merge rules; the keys written."""
    module_broker = before.get("CELERY_BROKER_URL", MISSING) is not MISSING
    module_hsts = before.get("SECURE_HSTS_SECONDS", MISSING) is not MISSING
    written = []
    for key, value in part.values.items():
        if key == "CSRF_TRUSTED_ORIGINS":
            value = list(dict.fromkeys([*namespace.get(key, []), *value]))
        elif key == RESULT_BACKEND and key in namespace and key not in environ:
            continue  # the app's own backend (django-db for django-celery-results...)
        elif key.startswith("CELERY_") and key not in CELERY_CONNECTION_KEYS:
            # The module's own tuning and schedules win, unless the same name is in the env.
            if key in namespace and key not in environ:
                continue
        elif key.startswith("CELERY_") and not part.from_environment:
            # A module that names its own broker for development must not be made eager.
            if module_broker:
                continue
        elif key in HSTS_SETTINGS and module_hsts and not _hsts_given(environ):
            # The app's HSTS policy (often a ramp: 60 s first) is deliberate; never raise it
            # to a year with preload behind its back. Check W013 says when it is short.
            value = namespace.get(key, HSTS_SETTINGS[key])
        elif not (part.from_environment or key not in namespace):
            continue
        elif key == "CHANNEL_LAYERS":
            value = merged_channel_layers(namespace.get(key, {}), value)
        elif key in ALIASED:
            value = merged_aliases(
                key,
                namespace.get(key, {}),
                value,
                prefix_from_environment=bool(environ.get("CACHE_KEY_PREFIX", "").strip()),
            )
        namespace[key] = value
        written.append(key)
    return written


def _nonempty(key: str, value: dict[str, Any]) -> dict[str, Any]:
    """``{key: value}``, or nothing to write when the builder built nothing."""
    return {key: value} if value else {}


def _hsts_given(environ: Mapping[str, str]) -> bool:
    return any(environ.get(name, "").strip() for name in HSTS_VARIABLES)


def _uses_celery(namespace: Mapping[str, Any]) -> bool:
    """Without CELERY_REQUIRED: the module configures Celery or installs a Celery app."""
    apps = namespace.get("INSTALLED_APPS", [])
    return any(key.startswith("CELERY_") for key in namespace) or any(
        app in apps for app in CELERY_APPS
    )


def _refuse_silently_private_media(
    namespace: Mapping[str, Any], env: Mapping[str, str], problems: Problems
) -> None:
    """Public media the module chose is not turned into signed URLs without a word."""
    if not env.get("AWS_STORAGE_BUCKET_NAME", "").strip() or env.get("MEDIA_PUBLIC", "").strip():
        return
    media = namespace.get("STORAGES", {}).get("default", {})
    public = namespace.get("AWS_QUERYSTRING_AUTH") is False or (
        media.get("OPTIONS", {}).get("querystring_auth") is False
    )
    if public:
        problems.add(
            "MEDIA_PUBLIC",
            "must be set: the settings module serves media without signed URLs"
            " (querystring_auth False); set MEDIA_PUBLIC=false to serve signed, expiring URLs"
            " from the private bucket, or MEDIA_PUBLIC=true to keep media URLs public",
        )


def _serve_over_http(
    namespace: MutableMapping[str, Any], before: dict[str, Any], sources: dict[str, str]
) -> list[str]:
    """Development: turn off what the module forces for https; the names turned off."""
    turned_off = []
    for key, off in HTTPS_ONLY.items():
        if namespace.get(key):
            before.setdefault(key, namespace[key])
            namespace[key] = off
            sources[key] = "development: served over plain http"
            turned_off.append(key)
    return turned_off


def _with_app(apps: list[str]) -> list[str]:
    return apps if APP in apps else [*apps, APP]


def _with_middleware(middleware: list[str], *, whitenoise: bool) -> list[str]:
    """Health first (before host validation and the HTTPS redirect), then security, WhiteNoise."""
    rest = [m for m in middleware if m not in (HEALTH_MIDDLEWARE, SECURITY_MIDDLEWARE)]
    ordered = [HEALTH_MIDDLEWARE, SECURITY_MIDDLEWARE]
    if whitenoise and WHITENOISE_MIDDLEWARE not in rest:
        ordered.append(WHITENOISE_MIDDLEWARE)
    elif WHITENOISE_MIDDLEWARE in rest:
        # WhiteNoise must sit right after SecurityMiddleware to serve before anything else.
        rest.remove(WHITENOISE_MIDDLEWARE)
        ordered.append(WHITENOISE_MIDDLEWARE)
    return ordered + rest


def _serves_static_itself(namespace: Mapping[str, Any]) -> bool:
    backend = str(namespace.get("STORAGES", {}).get("staticfiles", {}).get("BACKEND", ""))
    if backend.startswith("storages.") or backend == S3_STATIC_BACKEND:
        return False
    try:
        import whitenoise  # noqa: F401
    except ImportError:
        return False
    return True


def _announce(env: ResolvedEnviron, namespace: Mapping[str, Any], over_http: list[str]) -> None:
    """Say once per process which embedded defaults are in use, so nobody ships them unaware."""
    global _announced
    if _announced:
        return
    _announced = True
    engine = namespace.get("DATABASES", {}).get("default", {}).get("ENGINE", "")
    cache = namespace.get("CACHES", {}).get("default", {}).get("BACKEND", "")
    logger.warning(
        "django-aws-settings: DJANGO_ENV=development (database %s, cache %s, celery %s%s); "
        "set DJANGO_ENV=production for strict mode",
        engine.rsplit(".", 1)[-1],
        cache.rsplit(".", 1)[-1],
        "eager" if namespace.get("CELERY_TASK_ALWAYS_EAGER") else "broker",
        f"; plain http: {', '.join(over_http)} off" if over_http else "",
    )

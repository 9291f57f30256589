"""The environment bridge: what the app's own settings read on the PaaS, in ``os.environ``
before they import.

The generated overlay runs it first::

    import django_aws_settings
    django_aws_settings.bridge_environment()
    from config.settings.production import *
    django_aws_settings.configure(globals())

It is the package's one deliberate write to ``os.environ``, and it never overwrites: a
variable the environment already has always wins. In order:

1. ``DJANGO_AWS_APP_SECRET``: the whole JSON of the app's secret (``<project>/<env>/app``),
   which ECS injects when a ``secrets`` entry names the secret without a JSON key. Every key
   becomes a variable, so a key added by ``django-aws config import`` reaches the app at its
   next task start with no task-definition edit. No AWS call.
2. ``DJANGO_AWS_CONFIG_PATH``: an SSM path (``/shop/production``); every parameter directly
   under it becomes a variable named after its last segment (GetParametersByPath, 10 a
   call, only when set).
3. ``DATABASE_URL`` (spelled ``postgres://``, as Heroku does) and ``REDIS_URL`` are composed
   from DATABASE_SECRET/HOST/NAME and CACHE_URL / CELERY_BROKER_URL for code that reads them.
4. ``DJANGO_AWS_ENV_ALIASES`` (``DJANGO_SECRET_KEY=SECRET_KEY,POSTGRES_PASSWORD=database.password``)
   feeds the names the app reads from the same values.

The names of 3 and 4 are listed in ``DJANGO_AWS_COMPOSED``; configure() ignores them, so a
composed DATABASE_URL never meets its own "DATABASE_URL or DATABASE_SECRET, not both" rule.
Nothing here logs a value.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import Mapping, MutableMapping
from typing import Any

from .env import AwsClients, ResolvedEnviron, aws_failure_reason, resolved
from .errors import ConfigError, Problems

APP_SECRET_VARIABLE = "DJANGO_AWS_APP_SECRET"  # noqa: S105 - a variable name
CONFIG_PATH_VARIABLE = "DJANGO_AWS_CONFIG_PATH"
ALIASES_VARIABLE = "DJANGO_AWS_ENV_ALIASES"
COMPOSED_VARIABLE = "DJANGO_AWS_COMPOSED"
DATABASE_PARTS = {
    "database.host": "HOST",
    "database.port": "PORT",
    "database.name": "NAME",
    "database.user": "USER",
    "database.password": "PASSWORD",
}
# A PaaS config carries the old platform's DATABASE_URL (config import stores it): once the
# task names the stack's own database, that URL is never brought in; one is composed instead.
_REPLACED_BY_THE_STACK = {"DATABASE_URL": ("DATABASE_SECRET", "DATABASE_HOST")}
_POSTGRES_ENGINES = ("django.db.backends.postgresql", "django_aws_settings.db.postgresql")
_REDIS_SCHEMES = ("redis", "rediss", "valkey", "valkeys")

# What the last bridge saw and resolved, so configure() does not fetch the same references
# again a moment later: (the environment after the bridge wrote, its resolved copy).
_handoff: tuple[dict[str, str], ResolvedEnviron] | None = None


def bridge_environment(
    environ: MutableMapping[str, str] | None = None, *, clients: AwsClients | None = None
) -> list[str]:
    """Bring the app's configuration into ``environ`` (``os.environ``); the names it set."""
    global _handoff
    environ = os.environ if environ is None else environ
    problems = Problems()
    added: list[str] = []
    brought = {
        **_parameters_under_path(environ, clients, problems),
        **_expanded_app_secret(environ, problems),
    }
    for name, value in brought.items():
        if not any(environ.get(n, "").strip() for n in _REPLACED_BY_THE_STACK.get(name, ())):
            added += _set_if_absent(environ, name, value)
    problems.raise_if_any()

    env = resolved(without_composed(environ), clients=clients)
    composed: list[str] = []
    for name, value in _composed(env).items():
        composed += _set_if_absent(environ, name, value)
    for name, value in _aliased(environ, env, problems).items():
        composed += _set_if_absent(environ, name, value)
    problems.raise_if_any()
    if composed:
        previous = [n for n in environ.get(COMPOSED_VARIABLE, "").split(",") if n]
        environ[COMPOSED_VARIABLE] = ",".join(dict.fromkeys([*previous, *composed]))
    _handoff = (dict(environ), env) if environ is os.environ else None
    return added + composed


def without_composed(environ: Mapping[str, str]) -> Mapping[str, str]:
    """The environment as configure() reads it: without what the bridge composed.

    Right after the bridge, and while ``os.environ`` is unchanged, this is the bridge's own
    resolved copy (so references are fetched once per process start).
    """
    if _handoff is not None and environ is os.environ and _handoff[0] == dict(environ):
        return _handoff[1]
    names = {n for n in environ.get(COMPOSED_VARIABLE, "").split(",") if n}
    if not names:
        return environ
    return {name: value for name, value in environ.items() if name not in names}


def _set_if_absent(environ: MutableMapping[str, str], name: str, value: str) -> list[str]:
    if environ.get(name, "").strip():
        return []
    environ[name] = value
    return [name]


def _expanded_app_secret(environ: Mapping[str, str], problems: Problems) -> dict[str, str]:
    raw = environ.get(APP_SECRET_VARIABLE, "").strip()
    if not raw:
        return {}
    try:
        document = json.loads(raw)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        problems.add(
            APP_SECRET_VARIABLE,
            "expected the JSON object of the app's secret (an ECS secrets entry whose"
            " valueFrom is the secret's ARN, without a JSON key)",
        )
        return {}
    values: dict[str, str] = {}
    for key, value in document.items():
        if not _is_variable_name(key):
            problems.add(APP_SECRET_VARIABLE, f"key {key!r} is not a variable name")
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            values[key] = str(value)
        else:
            problems.add(APP_SECRET_VARIABLE, f"key {key} must hold a string")
    return values


def _parameters_under_path(
    environ: Mapping[str, str], clients: AwsClients | None, problems: Problems
) -> dict[str, str]:
    path = environ.get(CONFIG_PATH_VARIABLE, "").strip().rstrip("/")
    if not path:
        return {}
    if not path.startswith("/"):
        problems.add(CONFIG_PATH_VARIABLE, "expected an SSM path such as /shop/production")
        return {}
    clients = clients or AwsClients(environ)
    values: dict[str, str] = {}
    try:
        pages = clients.ssm().get_paginator("get_parameters_by_path")
        for page in pages.paginate(Path=path, Recursive=False, WithDecryption=True):
            for parameter in page["Parameters"]:
                name = parameter["Name"].rsplit("/", 1)[-1]
                if _is_variable_name(name):
                    values[name] = parameter["Value"]
    except Exception as error:  # noqa: BLE001 - any AWS failure is one line naming the path
        reason = aws_failure_reason(error, "ssm", clients.region)
        problems.add(CONFIG_PATH_VARIABLE, f"cannot read the parameters under {path}: {reason}")
    return values


def _composed(env: ResolvedEnviron) -> dict[str, str]:
    """DATABASE_URL and REDIS_URL for app code that reads them, from what configure reads."""
    composed: dict[str, str] = {}
    database = _default_database(env)
    if database is not None and not env.get("DATABASE_URL", "").strip():
        composed["DATABASE_URL"] = _postgres_url(database)
    if not env.get("REDIS_URL", "").strip():
        for name in ("CACHE_URL", "CELERY_BROKER_URL"):
            value = env.get(name, "").strip()
            if value.split("://", 1)[0].lower() in _REDIS_SCHEMES:
                composed["REDIS_URL"] = value
                break
    return composed


def _aliased(
    environ: Mapping[str, str], env: ResolvedEnviron, problems: Problems
) -> dict[str, str]:
    spec = environ.get(ALIASES_VARIABLE, "").strip()
    if not spec:
        return {}
    database: dict[str, Any] | None = None
    values: dict[str, str] = {}
    for entry in (e.strip() for e in spec.split(",")):
        name, equals, source = (part.strip() for part in entry.partition("="))
        if not entry:
            continue
        if not (equals and _is_variable_name(name) and source):
            problems.add(ALIASES_VARIABLE, f"expected NAME=SOURCE pairs, got {entry!r}")
            continue
        if source in DATABASE_PARTS:
            database = database if database is not None else (_default_database(env) or {})
            value = database.get(DATABASE_PARTS[source])
            if value not in (None, ""):
                values[name] = str(value)
        elif _is_variable_name(source):
            value = env.get(source, environ.get(source, ""))
            if value.strip():
                values[name] = value
        else:
            problems.add(
                ALIASES_VARIABLE,
                f"{name}: expected a variable name or one of {', '.join(DATABASE_PARTS)}",
            )
    return values


def _default_database(env: ResolvedEnviron) -> dict[str, Any] | None:
    """The default alias configure() will build, when it is PostgreSQL; None otherwise
    (configure() reports what is wrong with the variables in its one error)."""
    if not any(env.get(n, "").strip() for n in ("DATABASE_SECRET", "DATABASE_HOST")):
        return None
    from .databases import databases  # imports django-environ: only when there is a database

    try:
        default = databases(env)["default"]
    except ConfigError:
        return None
    return default if default.get("ENGINE") in _POSTGRES_ENGINES else None


def _postgres_url(database: Mapping[str, Any]) -> str:
    user = urllib.parse.quote(str(database.get("USER") or ""), safe="")
    password = urllib.parse.quote(str(database.get("PASSWORD") or ""), safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    port = f":{database['PORT']}" if database.get("PORT") else ""
    name = urllib.parse.quote(str(database.get("NAME") or ""), safe="")
    options = database.get("OPTIONS", {})
    query = urllib.parse.urlencode(
        {key: options[key] for key in ("sslmode", "sslrootcert") if options.get(key)}
    )
    return f"postgres://{credentials}{database['HOST']}{port}/{name}" + (
        f"?{query}" if query else ""
    )


def _is_variable_name(name: object) -> bool:
    return (
        isinstance(name, str)
        and bool(name)
        and (name[0].isalpha() or name[0] == "_")
        and all(c.isalnum() or c == "_" for c in name)
        and name.isascii()
    )

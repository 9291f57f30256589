"""``DATABASES`` from ``DATABASE_URL`` or the RDS secret JSON, hardened for RDS in production.

Sources, in the order people meet them:

* ``DATABASE_URL`` (django-environ's parser; special characters in the password must be
  percent-encoded),
* ``DATABASE_SECRET``: the JSON that ECS injects from Secrets Manager, either an
  RDS-managed master secret (``username``/``password`` only, host from ``DATABASE_HOST``)
  or the full RDS shape (``engine``, ``host``, ``port``, ``dbname``, ``username``,
  ``password``); raw passwords work here.

When the credentials came from Secrets Manager, the engine becomes
``django_aws_settings.db.postgresql``, which re-reads the secret once when PostgreSQL
rejects the password, so a rotation does not take the site down until the next deploy.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import django
import environ as django_environ

from .env import (
    KNOWN_SCHEMES,
    SECRETS_MANAGER_PREFIX,
    Reader,
    Reference,
    has_credentials,
    parse_reference,
    reader,
)

SOURCE_VARIABLES = ("DATABASE_URL", "DATABASE_SECRET")

DEFAULT_CA_BUNDLE = "/etc/ssl/certs/rds-global-bundle.pem"
# RDS Proxy presents an ACM certificate (Amazon Root CA), not one from the RDS CA bundle.
DEFAULT_PROXY_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"

POSTGRESQL_ENGINE = "django.db.backends.postgresql"
ROTATING_ENGINE = "django_aws_settings.db.postgresql"
SQLITE_ENGINE = "django.db.backends.sqlite3"

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
VERIFYING_SSL_MODES = ("verify-ca", "verify-full")
SECRET_ENGINES = ("postgres", "aurora-postgresql")
_POSTGRESQL_ENGINES = frozenset(  # Django's, PostGIS and django-prometheus' wrappers
    django_environ.Env.DB_SCHEMES[scheme] for scheme in django_environ.Env.POSTGRES_FAMILY
)
# The package hardens PostgreSQL on RDS only; any other driver would fail at the first
# query (or at import) instead of here. SQLite is the development default.
POSTGRESQL_SCHEMES = tuple(django_environ.Env.POSTGRES_FAMILY)
SQLITE_SCHEME = "sqlite"
EXPECTED_SCHEMES = "postgres://, postgresql://, pgsql:// or postgis:// (sqlite:// in development)"

DEFAULT_PORT = 5432
DEFAULT_CONNECT_TIMEOUT = 5
DEFAULT_CONN_MAX_AGE = 60
DEFAULT_CONNECTION_BUDGET = 10
# A process holds no connection while idle: the budget is a ceiling, not a standing cost,
# and a task scaled out for a burst gives its connections back when the burst ends.
POOL_MIN_SIZE = 0
DEFAULT_POOL_TIMEOUT = 10  # seconds a request waits for a free connection; < ALB's 60 s
DEFAULT_POOL_MAX_LIFETIME = 1800  # rolls connections so failovers and new nodes are picked up
DEFAULT_POOL_MAX_IDLE = 300  # below the 350 s after which NAT gateways drop idle flows
# Upper bounds: far above any sane value, and below what libpq or the pool overflow on.
MAX_CONNECT_TIMEOUT = 60
MAX_CONNECTION_BUDGET = 5000  # the largest RDS instances' max_connections
MAX_PROCESSES = 256
ONE_DAY = 86_400
MAX_POOL_TIMEOUT = 300

_URL_EXAMPLE = "postgres://user:password@host:5432/dbname"
_PERCENT_ENCODING = (
    "percent-encode special characters in the password"
    " ($ %24, # %23, ? %3F, / %2F, % %25, @ %40, : %3A)"
)
_JSON_TYPES: dict[type, str] = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
}
_SECRET_EXPECTED = "expected a JSON object with username and password"  # noqa: S105


def databases(
    environ: Mapping[str, str] | None = None, *, base_dir: str | os.PathLike[str] | None = None
) -> dict[str, dict[str, Any]]:
    """Django's ``DATABASES`` with one ``default`` alias, built from the environment."""
    r = reader(environ)
    url = r.text("DATABASE_URL")
    secret = r.text("DATABASE_SECRET")
    if r.text("DATABASE_SECRET_ID") and not secret:
        r.problem(
            "DATABASE_SECRET_ID",
            "names the secret that ECS injects into DATABASE_SECRET; set DATABASE_SECRET too",
        )

    settings: dict[str, Any] | None
    if url and secret:
        r.problem("DATABASE_SECRET", "set DATABASE_URL or DATABASE_SECRET, not both")
        settings = None
    elif url:
        settings = _url_settings(r, url)
    elif secret:
        settings = _secret_settings(r, secret)
    elif r.production:
        r.problem(
            "DATABASE_URL",
            "is required when DJANGO_ENV=production; expected DATABASE_URL"
            f" ({_URL_EXAMPLE}) or DATABASE_SECRET (the RDS secret JSON)",
        )
        settings = None
    else:
        directory = Path.cwd() if base_dir is None else Path(base_dir)
        settings = {"ENGINE": SQLITE_ENGINE, "NAME": str(directory / "db.sqlite3")}

    if settings is not None:
        source = "DATABASE_URL" if url else "DATABASE_SECRET"
        postgresql = settings["ENGINE"] in _POSTGRESQL_ENGINES
        if postgresql:
            _harden_postgresql(r, settings, source)
        elif r.flag("DATABASE_PROXY", False):
            r.problem("DATABASE_PROXY", "RDS Proxy mode applies to PostgreSQL only")
        if settings["ENGINE"] != SQLITE_ENGINE:
            _set_connection_lifetime(r, settings, source, postgresql=postgresql)
        if settings["ENGINE"] == POSTGRESQL_ENGINE:
            _use_rotating_engine(r, settings)
    r.raise_if_any()
    assert settings is not None  # raise_if_any() raised otherwise
    return {"default": settings}


def _url_settings(r: Reader, url: str) -> dict[str, Any] | None:
    """Django's settings dict parsed from the URL by django-environ, or None (a problem)."""
    scheme, separator, _ = url.partition("://")
    if not separator:
        r.problem("DATABASE_URL", f"is not a database URL; expected {_URL_EXAMPLE}")
        return None
    scheme = scheme.lower()
    if scheme == SQLITE_SCHEME and r.production:
        r.problem(
            "DATABASE_URL",
            "is a sqlite:// URL, which cannot be used when DJANGO_ENV=production (a task's disk"
            f" is lost at every deploy and not shared between tasks); expected {_URL_EXAMPLE}",
        )
        return None
    if scheme not in (*POSTGRESQL_SCHEMES, SQLITE_SCHEME):
        # Only a well-known scheme is named, so a pasted password never is.
        if "DATABASE_URL" in r.references:
            given = f"is {r.shown('DATABASE_URL', url)}"
        elif scheme in KNOWN_SCHEMES:
            given = f"has the scheme {scheme}://"
        else:
            given = "has an unknown scheme"
        r.problem("DATABASE_URL", f"{given}; expected {EXPECTED_SCHEMES}")
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # django-environ warns with the parsed values
            parsed: dict[str, Any] = django_environ.Env.db_url_config(url)
    except ValueError:  # its message quotes a slice of the URL, possibly the password
        parsed = {}
    if not parsed:
        r.problem(
            "DATABASE_URL",
            f"cannot be parsed; expected {_URL_EXAMPLE} ({_PERCENT_ENCODING})",
        )
        return None
    if not parsed.get("NAME"):
        r.problem(
            "DATABASE_URL",
            f"names no database; expected the database name as the path, e.g. {_URL_EXAMPLE}",
        )
        return None
    host = str(parsed.get("HOST") or "").lower()
    if scheme != SQLITE_SCHEME and r.production and (not host or host.startswith(("/", "%2f"))):
        r.problem(
            "DATABASE_URL",
            "names no host (libpq would try a Unix socket, which a container does not have);"
            f" expected {_URL_EXAMPLE}",
        )
        return None
    if "PORT" in parsed:
        parsed["PORT"] = str(parsed["PORT"])
    return parsed


def _secret_settings(r: Reader, secret: str) -> dict[str, Any] | None:
    """Settings from the RDS secret JSON; DATABASE_HOST/PORT/NAME fill in or override."""
    try:
        document = json.loads(secret)
    except ValueError:
        r.problem("DATABASE_SECRET", f"is not JSON; {_SECRET_EXPECTED}")
        return None
    if not isinstance(document, dict):
        kind = "null" if document is None else _JSON_TYPES.get(type(document), "not an object")
        r.problem("DATABASE_SECRET", f"is {kind}, not a JSON object; {_SECRET_EXPECTED}")
        return None

    valid = True
    missing = [key for key in ("username", "password") if key not in document]
    if missing:
        present = ", ".join(sorted(map(str, document))) or "none"
        r.problem(
            "DATABASE_SECRET",
            f"has no {' or '.join(map(repr, missing))} key; {_SECRET_EXPECTED}"
            f" (keys present: {present})",
        )
        valid = False
    for key in ("username", "password", "host", "dbname", "engine"):
        if key in document and not isinstance(document[key], str):
            r.problem("DATABASE_SECRET", f"has a {key!r} that is not a string")
            valid = False
    engine = document.get("engine")
    if isinstance(engine, str) and engine not in SECRET_ENGINES:
        r.problem(
            "DATABASE_SECRET",
            f"has engine {r.shown('DATABASE_SECRET', engine)};"
            f" expected {' or '.join(SECRET_ENGINES)}",
        )
        valid = False

    host = r.text("DATABASE_HOST") or document.get("host")
    if not host:
        r.problem(
            "DATABASE_HOST",
            "is required when DATABASE_SECRET has no host"
            " (RDS-managed secrets hold only username and password)",
        )
    name = r.text("DATABASE_NAME") or document.get("dbname")
    if not name:
        r.problem(
            "DATABASE_NAME",
            "is required when DATABASE_SECRET has no dbname"
            " (RDS-managed secrets hold only username and password)",
        )
    port = r.integer("DATABASE_PORT", 0, minimum=1, maximum=65535) or _secret_port(r, document)
    if not (valid and host and name):
        return None
    return {
        "ENGINE": POSTGRESQL_ENGINE,
        "NAME": name,
        "USER": document["username"],
        "PASSWORD": document["password"],
        "HOST": host,
        "PORT": str(port),
        "OPTIONS": {},
    }


def _secret_port(r: Reader, document: Mapping[str, Any]) -> int:
    port = document.get("port", DEFAULT_PORT)
    if isinstance(port, bool) or not str(port).isdigit() or not 1 <= int(port) <= 65535:
        r.problem("DATABASE_SECRET", "has a 'port' that is not a port number (1-65535)")
        return DEFAULT_PORT
    return int(port)


def _harden_postgresql(r: Reader, settings: dict[str, Any], source: str) -> None:
    """TLS, connect timeout, health checks and RDS Proxy mode for a PostgreSQL engine."""
    options: dict[str, Any] = settings.setdefault("OPTIONS", {})
    proxy = r.flag("DATABASE_PROXY", False)

    sslmode = r.text("DATABASE_SSLMODE")
    if sslmode is not None and sslmode not in SSL_MODES:
        shown = r.shown("DATABASE_SSLMODE", sslmode)
        r.problem("DATABASE_SSLMODE", f"expected one of {', '.join(SSL_MODES)}, got {shown}")
        sslmode = None
    url_sslmode = options.get("sslmode")
    if sslmode is None and url_sslmode is not None and url_sslmode not in SSL_MODES:
        # Not quoted: it is part of the URL, after the credentials.
        r.problem(source, f"has an unknown sslmode; expected one of {', '.join(SSL_MODES)}")
    sslmode = sslmode or url_sslmode or ("verify-full" if r.production else None)
    if sslmode is not None:
        options["sslmode"] = sslmode

    ca_bundle = r.text("DATABASE_CA_BUNDLE")
    ca_source = "DATABASE_CA_BUNDLE" if ca_bundle or "sslrootcert" not in options else source
    ca_bundle = ca_bundle or options.get("sslrootcert")
    if ca_bundle is None and r.production and sslmode in VERIFYING_SSL_MODES:
        ca_bundle = DEFAULT_PROXY_CA_BUNDLE if proxy else DEFAULT_CA_BUNDLE
    if ca_bundle is not None:
        options["sslrootcert"] = ca_bundle
        # "system" asks libpq (16+) for the operating system's trust store.
        if (
            sslmode in VERIFYING_SSL_MODES
            and ca_bundle != "system"
            and not Path(ca_bundle).is_file()
        ):
            if ca_source != "DATABASE_CA_BUNDLE":  # a URL option, after the credentials
                path = "the CA bundle it names"
            elif ca_source in r.references or has_credentials(ca_bundle):
                path = r.shown(ca_source, ca_bundle)
            else:
                path = ca_bundle
            r.problem(
                ca_source,
                f"{path} does not exist; sslmode={sslmode} verifies the server"
                " certificate against this CA bundle (install the RDS global bundle from"
                " https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem there,"
                " or set DATABASE_CA_BUNDLE to the bundle's path)",
            )

    url_timeout = options.get("connect_timeout")
    if (
        url_timeout is not None
        and r.text("DATABASE_CONNECT_TIMEOUT") is None
        and not (str(url_timeout).isdigit() and 1 <= int(url_timeout) <= MAX_CONNECT_TIMEOUT)
    ):
        r.problem(
            source, f"has a connect_timeout that is not between 1 and {MAX_CONNECT_TIMEOUT} seconds"
        )
        url_timeout = None
    if r.production or r.text("DATABASE_CONNECT_TIMEOUT") is not None:
        options["connect_timeout"] = r.integer(
            "DATABASE_CONNECT_TIMEOUT",
            int(url_timeout) if url_timeout is not None else DEFAULT_CONNECT_TIMEOUT,
            minimum=1,
            maximum=MAX_CONNECT_TIMEOUT,
        )
    settings.setdefault("CONN_HEALTH_CHECKS", True)

    if proxy:
        # RDS Proxy pins a client to one server connection on session state: prepared
        # statements (psycopg prepares after 5 runs unless told not to), the "options"
        # startup parameter, SET ROLE (assume_role), server-side binding,
        # and the WITH HOLD cursors Django's iterator() declares outside transactions.
        pinning: list[str] = [name for name in ("options", "assume_role") if name in options]
        if str(options.get("server_side_binding", "")).lower() in ("true", "1"):
            pinning.append("server_side_binding")
        if options.get("prepare_threshold") is not None:
            pinning.append("prepare_threshold")
        for name in pinning:
            r.problem(
                source,
                f"sets {name}, which pins every RDS Proxy session to one database"
                " connection; remove it or set DATABASE_PROXY=false",
            )
        options["prepare_threshold"] = None
        settings.setdefault("DISABLE_SERVER_SIDE_CURSORS", True)


def pool_available() -> bool:
    """Whether Django's psycopg pool can be used here (Django 5.1+, psycopg 3 with the pool)."""
    return (
        django.VERSION >= (5, 1)
        and find_spec("psycopg") is not None
        and find_spec("psycopg_pool") is not None
    )


def _set_connection_lifetime(
    r: Reader, settings: dict[str, Any], source: str, *, postgresql: bool
) -> None:
    """A psycopg pool sized from the task's connection budget, or persistent connections."""
    budget = r.integer(
        "DATABASE_CONNECTION_BUDGET",
        DEFAULT_CONNECTION_BUDGET,
        minimum=1,
        maximum=MAX_CONNECTION_BUDGET,
    )
    processes = r.integer("WEB_CONCURRENCY", 1, minimum=1, maximum=MAX_PROCESSES)
    per_process = budget // processes
    if per_process < 1:
        r.problem(
            "DATABASE_CONNECTION_BUDGET",
            f"{budget} connections cannot be shared by WEB_CONCURRENCY={processes} processes;"
            f" expected at least one connection per process ({processes})",
        )
    asgi = r.flag("DJANGO_ASGI", False)
    explicit_max_age = r.text("DATABASE_CONN_MAX_AGE")
    max_age_source = "DATABASE_CONN_MAX_AGE" if explicit_max_age is not None else source
    max_age = r.integer(
        "DATABASE_CONN_MAX_AGE",
        settings.get("CONN_MAX_AGE", DEFAULT_CONN_MAX_AGE),
        minimum=0,
        maximum=ONE_DAY,
    )
    max_age_given = explicit_max_age is not None or "CONN_MAX_AGE" in settings

    pool_given = r.text("DATABASE_POOL") is not None
    pool = postgresql and r.flag("DATABASE_POOL", True)
    if pool and not pool_available():
        if pool_given:
            r.problem(
                "DATABASE_POOL",
                "needs Django 5.1 or later with psycopg[pool] installed; install it or set"
                " DATABASE_POOL=false",
            )
        pool = False

    if pool:
        if max_age_given and max_age != 0:
            r.problem(
                max_age_source,
                "persistent connections cannot be combined with the connection pool"
                " (Django requires CONN_MAX_AGE=0); unset it or set DATABASE_POOL=false",
            )
        settings["CONN_MAX_AGE"] = 0
        settings["OPTIONS"]["pool"] = {
            "min_size": POOL_MIN_SIZE,
            "max_size": max(per_process, 1),
            "timeout": r.integer(
                "DATABASE_POOL_TIMEOUT", DEFAULT_POOL_TIMEOUT, minimum=1, maximum=MAX_POOL_TIMEOUT
            ),
            "max_lifetime": r.integer(
                "DATABASE_POOL_MAX_LIFETIME", DEFAULT_POOL_MAX_LIFETIME, minimum=60, maximum=ONE_DAY
            ),
            "max_idle": r.integer(
                "DATABASE_POOL_MAX_IDLE", DEFAULT_POOL_MAX_IDLE, minimum=10, maximum=ONE_DAY
            ),
        }
    elif asgi:
        # Under ASGI each request may run in a new thread, and Django keeps one persistent
        # connection per thread: they pile up until the server runs out of slots.
        if max_age_given and max_age != 0:
            r.problem(
                max_age_source,
                "persistent connections leak under ASGI (DJANGO_ASGI=true); expected 0 or"
                " unset, or use the connection pool (DATABASE_POOL=true)",
            )
        settings["CONN_MAX_AGE"] = 0
    else:
        settings["CONN_MAX_AGE"] = max_age


def _use_rotating_engine(r: Reader, settings: dict[str, Any]) -> None:
    """Switch to the rotation-aware backend when the credentials live in Secrets Manager."""
    reference, credentials_format = _credentials_reference(r)
    if reference is None:
        return
    settings["ENGINE"] = ROTATING_ENGINE
    credentials: dict[str, str] = {"reference": str(reference), "format": credentials_format}
    region = r.text("AWS_REGION") or r.text("AWS_DEFAULT_REGION")
    endpoint = r.text("AWS_ENDPOINT_URL_SECRETS_MANAGER") or r.text("AWS_ENDPOINT_URL")
    if region:
        credentials["region"] = region
    if endpoint:
        credentials["endpoint_url"] = endpoint
    settings["CREDENTIALS_SECRET"] = credentials


def _credentials_reference(r: Reader) -> tuple[Reference | None, str]:
    """Where to re-read the credentials, and whether that value is the JSON or a URL."""
    references = getattr(r.environ, "references", {})
    url_reference = references.get("DATABASE_URL")
    if url_reference is not None and url_reference.kind == "secretsmanager":
        return url_reference, "url"
    secret_reference = references.get("DATABASE_SECRET")
    if secret_reference is not None and secret_reference.kind == "secretsmanager":
        return secret_reference, "json"
    if not r.text("DATABASE_SECRET"):
        return None, ""
    # DATABASE_SECRET_ID is the plain id (name or ARN, optionally "#key") of the secret
    # ECS injected; a secretsmanager: reference there was resolved, so use its target.
    named = references.get("DATABASE_SECRET_ID")
    if named is not None:
        return Reference("secretsmanager", named.id, named.json_key), "json"
    secret_id = r.text("DATABASE_SECRET_ID")
    if secret_id is None:
        return None, ""
    return parse_reference(SECRETS_MANAGER_PREFIX + secret_id), "json"


__all__ = [
    "DEFAULT_CA_BUNDLE",
    "DEFAULT_PROXY_CA_BUNDLE",
    "ROTATING_ENGINE",
    "SOURCE_VARIABLES",
    "databases",
    "pool_available",
]

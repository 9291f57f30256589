"""Management commands; this module turns a ``DATABASES`` alias or a URL into a Database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS

from ..cutover import (
    Connection,
    CutoverError,
    Database,
    database_from_params,
    database_from_url,
    label_of,
)
from ..settings.env import AwsClients, fetch_reference, parse_reference
from ..settings.errors import ConfigError

# Django's connection parameters that are Python objects for its own cursor, not libpq's.
_DJANGO_ONLY_PARAMS = ("cursor_factory", "context")


def add_database_arguments(parser: CommandParser, *, verb: str, lock_timeout: float) -> None:
    """``--database ALIAS | --url URL`` and ``--lock-timeout``, for a command that changes
    one database (read back with :func:`database_from_options`)."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--database",
        default=DEFAULT_DB_ALIAS,
        help=f"DATABASES alias to {verb} (default: %(default)s).",
    )
    where.add_argument("--url", help=f"postgres:// URL to {verb} instead of an alias.")
    parser.add_argument(
        "--lock-timeout",
        type=float,
        default=lock_timeout,
        help="Seconds to wait for other sessions to let go of the tables (default: %(default)g).",
    )


def database_from_options(options: dict[str, Any], *, application_name: str) -> Database:
    """The database :func:`add_database_arguments`'s options name."""
    return database_for(options["url"] or options["database"], application_name=application_name)


def database_for(alias_or_url: str, *, application_name: str) -> Database:
    """A ``postgres://`` URL as given, or the connection settings of a ``DATABASES`` alias.

    The URL may also be a ``secretsmanager:``/``ssm:`` reference, so a one-off ECS task can
    reach the old database without its password appearing in a command line or a log.
    """
    reference = parse_reference(alias_or_url)
    if reference is not None:
        try:
            alias_or_url = fetch_reference(reference, AwsClients())
        except ConfigError as error:
            raise CommandError(str(error)) from None
    try:
        if "://" in alias_or_url:
            return database_from_url(alias_or_url, application_name=application_name)
        return _database_for_alias(alias_or_url, application_name)
    except CutoverError as error:
        raise CommandError(str(error)) from None


def _database_for_alias(alias: str, application_name: str) -> Database:
    from django.db import connections

    if alias not in connections.settings:
        known = ", ".join(sorted(connections.settings)) or "none"
        raise CommandError(
            f"{alias!r} is neither a DATABASES alias (defined: {known}) nor a postgres:// URL"
        )
    wrapper = connections[alias]
    if wrapper.vendor != "postgresql":
        raise CommandError(f"DATABASES[{alias!r}] is {wrapper.vendor}, not PostgreSQL")
    params: dict[str, Any] = {
        key: value
        for key, value in wrapper.get_connection_params().items()
        if key not in _DJANGO_ONLY_PARAMS
    }
    return database_from_params(
        params,
        application_name=application_name,
        label=f"{alias} ({label_of(params)})",
        connect=_rotation_aware_connect(wrapper.settings_dict),
    )


def _rotation_aware_connect(
    settings_dict: dict[str, Any],
) -> Callable[[dict[str, Any]], Connection] | None:
    """With our rotating backend's CREDENTIALS_SECRET, retry once with the re-read secret."""
    import psycopg

    from ..db.postgresql.base import credentials_for

    credentials = credentials_for(settings_dict)
    if credentials is None:
        return None

    def connect(params: dict[str, Any]) -> Connection:
        return credentials.connect(_connect, params, psycopg.OperationalError)

    return connect


def _connect(params: dict[str, Any]) -> Connection:
    import psycopg

    return psycopg.connect(**params)

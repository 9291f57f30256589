"""Django's PostgreSQL backend, plus one re-read of Secrets Manager when a password is rejected.

ECS injects a secret into the environment once, when the task starts. After Secrets
Manager rotates the password, every *new* connection from a running task would fail
until the next deploy. This backend catches the authentication failure (SQLSTATE 28P01;
at connect time libpq only reports it as the server's message "password authentication
failed", which is matched too), re-reads the secret named in
``DATABASES[alias]["CREDENTIALS_SECRET"]``, and retries once with the new username and
password. The current credentials are shared by every thread and every pool of the
process, so the secret is read once per rotation, not once per connection.

Django's pool (``OPTIONS["pool"]``) freezes its connect arguments when it is created, and
opens connections in its own worker threads, where a failure only shows up as a
``PoolTimeout``. So the pool gets a connection class whose ``connect`` does the same
re-read and retry.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.db.backends.postgresql import base as postgresql
from django.utils.functional import cached_property

from ...settings.env import AwsClients, fetch_reference, parse_reference
from ...settings.errors import ConfigError

logger = logging.getLogger("django_aws_settings.db")

AUTHENTICATION_FAILED = "28P01"  # SQLSTATE invalid_password
# After a re-read that did not help (rotation half done, or a wrong password in the
# secret), failing connections do not re-read again for this long: no storm of
# Secrets Manager calls from every request of every thread.
REREAD_COOLDOWN_SECONDS = 5.0

_Connection = TypeVar("_Connection")


def is_authentication_failure(error: BaseException) -> bool:
    """Whether the server rejected the user or password (psycopg 3 or psycopg2)."""
    sqlstate = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    return sqlstate == AUTHENTICATION_FAILED or "password authentication failed" in str(error)


class Credentials:
    """The username and password currently in use for one secret, shared by the process."""

    def __init__(self, secret: Mapping[str, str], user: str, password: str) -> None:
        reference = parse_reference(secret["reference"])
        if reference is None:
            raise ValueError("CREDENTIALS_SECRET['reference'] must be a secretsmanager: reference")
        self.reference = reference
        self.format = secret.get("format", "json")
        self._aws_environ = {
            "AWS_REGION": secret.get("region", ""),
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": secret.get("endpoint_url", ""),
        }
        self.user = user
        self.password = password
        self._lock = threading.Lock()
        self._last_reread = -REREAD_COOLDOWN_SECONDS
        self._connection_class: type[Any] | None = None

    def current(self) -> tuple[str, str]:
        return self.user, self.password

    def connect(
        self,
        connect: Callable[[dict[str, Any]], _Connection],
        params: Mapping[str, Any],
        error_class: type[Exception],
    ) -> _Connection:
        """``connect(params)`` with the current credentials; on 28P01, re-read and retry once."""
        used = self.current()
        try:
            return connect(_with_credentials(params, used))
        except error_class as error:
            if not is_authentication_failure(error):
                raise
            fresh = self._reread(used)
            if fresh == used:
                raise
        return connect(_with_credentials(params, fresh))

    def _reread(self, rejected: tuple[str, str]) -> tuple[str, str]:
        with self._lock:
            if self.current() != rejected:
                return self.current()  # another thread already read the rotated secret
            if time.monotonic() - self._last_reread < REREAD_COOLDOWN_SECONDS:
                return rejected
            self._last_reread = time.monotonic()
            logger.warning("the database rejected the credentials; re-reading %s", self.reference)
            try:
                value = fetch_reference(self.reference, AwsClients(self._aws_environ))
                self.user, self.password = self._credentials_in(value, rejected[0])
            except (ConfigError, ValueError, KeyError, TypeError) as error:
                # Never log the value: only which secret and what kind of failure.
                logger.error("cannot re-read %s: %s", self.reference, _safe(error))
            return self.current()

    def _credentials_in(self, value: str, user: str) -> tuple[str, str]:
        if self.format == "url":
            import environ

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                parsed = environ.Env.db_url_config(value)
            return parsed.get("USER") or user, _text(parsed.get("PASSWORD"), "the URL's password")
        document = json.loads(value)
        if not isinstance(document, dict):
            raise TypeError("the secret is not a JSON object")
        return (
            _text(document.get("username", user), "'username'"),
            _text(document["password"], "'password'"),
        )

    def connection_class(self) -> type[Any]:
        """A psycopg Connection subclass whose connect() uses these credentials (for the pool)."""
        if self._connection_class is None:
            import psycopg

            credentials = self

            class RotatingConnection(psycopg.Connection[Any]):
                @classmethod
                def connect(cls, conninfo: str = "", **kwargs: Any) -> RotatingConnection:
                    def connect_with(params: dict[str, Any]) -> RotatingConnection:
                        return super(RotatingConnection, cls).connect(conninfo, **params)

                    return credentials.connect(connect_with, kwargs, psycopg.OperationalError)

            self._connection_class = RotatingConnection
        return self._connection_class


def _with_credentials(params: Mapping[str, Any], credentials: tuple[str, str]) -> dict[str, Any]:
    user, password = credentials
    return {**params, "user": user, "password": password}


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"{what} is missing or not a string")
    return value


def _safe(error: Exception) -> str:
    """An error's description without any value from the secret."""
    if isinstance(error, ConfigError):
        return "; ".join(problem.message for problem in error.problems)
    if isinstance(error, TypeError):
        return str(error)
    if isinstance(error, KeyError):
        return f"the secret has no {error.args[0]!r} key"
    return f"the secret cannot be parsed ({type(error).__name__})"


_credentials: dict[tuple[str, ...], Credentials] = {}
_credentials_lock = threading.Lock()


def credentials_for(settings_dict: Mapping[str, Any]) -> Credentials | None:
    """The process-wide credentials for a database's secret, or None without one."""
    secret = settings_dict.get("CREDENTIALS_SECRET")
    if not secret:
        return None
    key = tuple(str(secret.get(name, "")) for name in ("reference", "region", "endpoint_url"))
    with _credentials_lock:
        if key not in _credentials:
            _credentials[key] = Credentials(
                secret, settings_dict.get("USER", ""), settings_dict.get("PASSWORD", "")
            )
        return _credentials[key]


class DatabaseWrapper(postgresql.DatabaseWrapper):
    @cached_property
    def credentials(self) -> Credentials | None:
        return credentials_for(self.settings_dict)

    @property
    def pool(self) -> Any:
        # Django < 5.1 has no connection pool at all.
        pool = getattr(super(), "pool", None)
        # Django builds the pool with psycopg's Connection; the pool is not open yet the
        # first time this runs, so every connection it ever opens uses the rotating class.
        if pool is not None and self.credentials is not None:
            connection_class = self.credentials.connection_class()
            if pool.connection_class is not connection_class:
                pool.connection_class = connection_class
        return pool

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        if self.credentials is None or self.pool is not None:
            return super().get_new_connection(conn_params)
        return self.credentials.connect(
            super().get_new_connection, conn_params, self.Database.OperationalError
        )

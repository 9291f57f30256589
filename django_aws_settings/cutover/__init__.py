"""Database cutover tools over plain psycopg connections: sequence resync, copy verification.

Nothing in this package imports Django, so the same functions work on two URLs from a
console script; the management commands only turn a ``DATABASES`` alias into a
:class:`Database`. A :class:`Database` carries a label (``host/dbname``) for output and a
function that opens a connection: credentials stay inside that function and are never
printed, not even in error messages.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow

Connection = psycopg.Connection[TupleRow]

# django-environ's PostgreSQL family; libpq itself only accepts the first two.
_LIBPQ_SCHEMES = ("postgres", "postgresql")
_OTHER_POSTGRES_SCHEMES = ("psql", "pgsql", "postgis")
_URL_EXPECTED = (
    "expected postgres://user:password@host:port/dbname"
    " with special characters in the password percent-encoded"
)


class CutoverError(Exception):
    """A cutover tool cannot do its job; the message never contains a credential."""


@dataclass(frozen=True)
class Database:
    """Where to connect, and how to name it in output without credentials."""

    label: str
    connect: Callable[[], Connection]
    secrets: tuple[str, ...] = ()  # values to scrub from any error text, just in case

    def open(self) -> Connection:
        """A new connection; failures become a CutoverError that names only the label."""
        try:
            return self.connect()
        except psycopg.Error as error:
            raise CutoverError(f"cannot connect to {self.label}: {self.describe(error)}") from None

    def describe(self, error: BaseException) -> str:
        """The first line of an error's text, with any credential replaced by ***."""
        text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


def label_of(params: Mapping[str, Any]) -> str:
    """``host/dbname`` from libpq parameters (the first host of a multi-host list)."""
    host = str(params.get("host") or params.get("hostaddr") or "localhost").split(",")[0]
    dbname = params.get("dbname") or params.get("user") or "postgres"
    return f"{host}/{dbname}"


def database_from_params(
    params: Mapping[str, Any],
    *,
    application_name: str,
    label: str | None = None,
    connect: Callable[[dict[str, Any]], Connection] | None = None,
) -> Database:
    """A :class:`Database` from libpq keyword parameters (``host``, ``dbname``, ``password``...).

    ``connect`` replaces ``psycopg.connect(**params)``, e.g. to retry after a rotation.
    """
    arguments = {**params, "application_name": application_name}
    opener: Callable[[dict[str, Any]], Connection] = connect or _connect_with_keywords
    password = str(params.get("password") or "")
    return Database(
        label=label or label_of(params),
        connect=lambda: opener(dict(arguments)),
        secrets=_spellings(password),
    )


def database_from_url(url: str, *, application_name: str) -> Database:
    """A :class:`Database` from a ``postgres://`` URL (libpq decodes the percent-encoding)."""
    scheme, separator, rest = url.partition("://")
    if not separator or scheme.lower() not in (*_LIBPQ_SCHEMES, *_OTHER_POSTGRES_SCHEMES):
        raise CutoverError(f"the database URL has no postgres:// scheme: {_URL_EXPECTED}")
    normalised = f"postgresql://{rest}"
    try:
        params = conninfo_to_dict(normalised)
    except psycopg.Error:
        # libpq quotes the offending part of the URL, which may be the password.
        raise CutoverError(f"cannot parse the database URL: {_URL_EXPECTED}") from None
    password = str(params.get("password") or "")
    userinfo = urllib.parse.urlsplit(normalised).netloc.rpartition("@")[0]
    return Database(
        label=label_of(params),
        connect=lambda: psycopg.connect(normalised, application_name=application_name),
        secrets=(*_spellings(password), *_spellings(userinfo.partition(":")[2])),
    )


def format_table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], *, right: Iterable[int] = ()
) -> list[str]:
    """Rows as aligned text lines under a header; columns in ``right`` are right-aligned."""
    body = [list(row) for row in rows]
    widths = [max(len(cell) for cell in column) for column in zip(headers, *body, strict=False)]
    right_aligned = set(right)

    def line(cells: Sequence[str]) -> str:
        padded = (
            cell.rjust(width) if index in right_aligned else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )
        return "  ".join(padded).rstrip()

    return [line(headers), *(line(row) for row in body)]


def _connect_with_keywords(params: dict[str, Any]) -> Connection:
    return psycopg.connect(**params)


def _spellings(secret: str) -> tuple[str, ...]:
    """A secret as typed and percent-encoded, longest first; nothing for short or empty ones."""
    if len(secret) < 3:  # scrubbing "a" or "12" out of messages would only garble them
        return ()
    forms = {secret, urllib.parse.quote(secret, safe=""), urllib.parse.unquote(secret)}
    return tuple(sorted(forms, key=len, reverse=True))

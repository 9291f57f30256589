"""Redis / Valkey URLs shared by the cache and Celery builders.

Validation uses :func:`urllib.parse.urlsplit` rather than django-environ's ``cache_url``:
the latter drops the scheme and database of ``valkeys://`` URLs and splits a password that
contains a comma into two servers. No message built here ever contains the URL, which may
carry an AUTH token in its userinfo.
"""

from __future__ import annotations

import os
import re
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from .env import KNOWN_SCHEMES, Reader

# redis-py and kombu only know redis:// and rediss://; Valkey speaks the same protocol.
REDIS_SCHEMES = {"redis": "redis", "rediss": "rediss", "valkey": "redis", "valkeys": "rediss"}
TLS_SCHEME = "rediss"
CA_BUNDLE_VARIABLE = "REDIS_CA_BUNDLE"
URL_SHAPE = "redis[s]://[[user]:password@]host[:port][/db] (or valkey[s]://)"
DEFAULT_PORT = 6379
# Redis, and ElastiCache with cluster mode disabled, have databases 0-15; redis-py and kombu
# accept any number and the first command fails ("DB index is out of range").
MAX_DATABASE = 15

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]{0,19})://")


@dataclass(frozen=True)
class RedisUrl:
    """A validated Redis URL in the spelling redis-py and kombu accept."""

    url: str  # may carry credentials: never log or print it
    tls: bool

    def __repr__(self) -> str:
        return f"RedisUrl(tls={self.tls})"

    @property
    def server(self) -> tuple[str, int]:
        """(host, port): two URLs with the same server and database share their keys."""
        parts = urlsplit(self.url)
        return (parts.hostname or "").lower(), parts.port or DEFAULT_PORT

    @property
    def database(self) -> int:
        """The database number (the path; 0 when there is none)."""
        path = urlsplit(self.url).path.strip("/")
        return int(path) if path else 0

    def shares_database(self, other: RedisUrl) -> bool:
        return (self.server, self.database) == (other.server, other.database)

    def with_database(self, database: int) -> RedisUrl:
        """The same URL (credentials and query included) with another database number."""
        parts = urlsplit(self.url)._replace(path=f"/{database}")
        return RedisUrl(urlunsplit(parts), self.tls)


def url_scheme(value: str) -> str | None:
    """The lowercased scheme of ``value`` when it looks like ``scheme://...``, else None.

    Only a short, well-formed scheme is returned, so it is safe to name in a message.
    """
    match = _SCHEME.match(value)
    return match.group(1).lower() if match else None


def is_redis_url(value: str | None) -> bool:
    return value is not None and url_scheme(value) in REDIS_SCHEMES


def redis_url(r: Reader, name: str, value: str) -> RedisUrl | None:
    """The URL in ``value`` (read from variable ``name``), or None after recording a problem."""
    if url_scheme(value) not in REDIS_SCHEMES:
        r.problem(name, f"expected {URL_SHAPE}, got {given(r, name, value)}")
        return None
    reason = _malformed(value)
    if reason is not None:
        r.problem(name, f"is not a valid Redis URL: {reason}; expected {URL_SHAPE}")
        return None
    return parsed_redis_url(value)


def parsed_redis_url(value: object) -> RedisUrl | None:
    """``value`` as a RedisUrl when it is a valid Redis or Valkey URL, else None (silently)."""
    if not isinstance(value, str):
        return None
    scheme = url_scheme(value)
    if scheme not in REDIS_SCHEMES or _malformed(value) is not None:
        return None
    target = REDIS_SCHEMES[scheme]
    return RedisUrl(target + value[len(scheme) :], target == TLS_SCHEME)


def _malformed(value: str) -> str | None:
    """Why ``value`` is not a usable Redis URL (without quoting any part of it), or None."""
    unreadable = "its host and port cannot be read (percent-encode / # ? @ in the password)"
    try:
        parts = urlsplit(value)
        port = parts.port  # raises ValueError for a non-numeric or out-of-range port
    except ValueError:
        return unreadable
    if not parts.hostname:
        return unreadable
    if port == 0:
        return "the port must be between 1 and 65535"
    if not re.fullmatch(r"/?|/\d{1,6}", parts.path):
        return "the path must be a database number such as /0"
    if parts.path.strip("/") and int(parts.path.strip("/")) > MAX_DATABASE:
        return f"the database number must be between 0 and {MAX_DATABASE}"
    if parts.fragment:
        return "it has a '#' fragment (percent-encode '#' in the password as %23)"
    keys = [key for key, _ in parse_qsl(parts.query, keep_blank_values=True)]
    # redis-py and Celery let URL query options override keyword arguments, so a query
    # could silently turn certificate verification off.
    if any(key.startswith("ssl") for key in keys):
        return f"TLS options are not accepted in the URL (use rediss:// and {CA_BUNDLE_VARIABLE})"
    # redis-py lets ?db= override the path and kombu refuses it: the cache and the broker
    # would disagree on which database the URL names.
    if "db" in keys:
        return "the database goes in the path (/1), not in a db= query option"
    return None


def next_database(database: int) -> int:
    """Another database of the same server: the next one, or 14 for 15 (the last of the 16
    that Redis and ElastiCache without cluster mode have by default)."""
    return database + 1 if database < MAX_DATABASE else database - 1


def tls_options(r: Reader) -> dict[str, Any]:
    """redis-py / Celery TLS options: verify the certificate chain and the host name.

    The system store is used unless REDIS_CA_BUNDLE names a PEM file (ElastiCache presents
    certificates from public Amazon CAs, so most deployments leave it unset).
    """
    options: dict[str, Any] = {"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_check_hostname": True}
    ca_bundle = r.text(CA_BUNDLE_VARIABLE)
    if ca_bundle is not None:
        if os.path.isfile(ca_bundle):
            options["ssl_ca_certs"] = ca_bundle
        else:
            path = r.shown(CA_BUNDLE_VARIABLE, ca_bundle)
            r.problem(
                CA_BUNDLE_VARIABLE,
                f"expected the path of a PEM file of CA certificates; no file at {path}",
            )
    return options


def seconds(
    r: Reader, name: str, default: float, *, minimum: float = 0, maximum: float = 3600
) -> float:
    """A number of seconds above ``minimum`` (fractions allowed), or ``default`` when unset.

    ``minimum=-1`` accepts zero.
    """
    value = r.text(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not minimum < number <= maximum:  # also false for nan and inf
        lower = "0 or more" if minimum < 0 else f"above {minimum:g}"
        r.problem(name, f"expected a number of seconds {lower} and at most {maximum:g}")
        return default
    return number


def given(r: Reader, name: str, value: str) -> str:
    """What variable ``name`` holds, for a message: the scheme of a value written in the
    environment; the shape and the reference of one that came from a reference."""
    return r.shown(name, value) if name in r.references else scheme_description(value)


def scheme_description(value: str) -> str:
    """'a memcached:// URL' or 'a value that is not a URL': says what was given, safely
    (only a well-known scheme is named: an unknown one may be the start of a secret)."""
    scheme = url_scheme(value)
    if scheme is None:
        return "a value that is not a URL"
    return f"a {scheme}:// URL" if scheme in KNOWN_SCHEMES else "a URL with an unknown scheme"

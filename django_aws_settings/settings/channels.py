"""CHANNEL_LAYERS: Django Channels' Redis layer on ElastiCache, TLS verified.

Built when ``DJANGO_AWS_CHANNELS`` is true (the generated task definitions set it when the
``channels`` question was answered) or, when that is unset, when the app installs Channels
(``channels`` or ``daphne`` in INSTALLED_APPS) and channels-redis is installed.
``CHANNELS_REDIS_URL`` names the layer's Redis as given; otherwise ``REDIS_URL`` is used on a
database of its own (:func:`_own_database`).

``channels_redis.core.RedisChannelLayer``, not ``RedisPubSubChannelLayer``: messages to a
consumer wait in a list until it reads them (for ``expiry`` seconds), and ``capacity``
bounds what a slow consumer can pile up; the pub/sub layer drops what nobody is subscribed
to at that instant (a consumer between two reconnects) and has no capacity.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .celery import BROKER_VARIABLE, RESULT_BACKEND_VARIABLE
from .env import Reader, reader
from .redis_urls import (
    MAX_DATABASE,
    RedisUrl,
    next_database,
    parsed_redis_url,
    redis_url,
    tls_options,
)

ENABLED_VARIABLE = "DJANGO_AWS_CHANNELS"
URL_VARIABLE = "CHANNELS_REDIS_URL"
SHARED_VARIABLE = "REDIS_URL"
PREFIX_VARIABLE = "CHANNELS_PREFIX"
SOURCE_VARIABLES = (ENABLED_VARIABLE, URL_VARIABLE)
# Variables naming other users of the same Redis: the layer keeps off their databases.
OTHER_USERS = ("CACHE_URL", BROKER_VARIABLE, RESULT_BACKEND_VARIABLE)

REDIS_LAYER = "channels_redis.core.RedisChannelLayer"
IN_MEMORY_LAYER = "channels.layers.InMemoryChannelLayer"
CHANNELS_APPS = ("channels", "daphne")
# channels-redis's own defaults, written out so `configured_settings` shows them: a message
# unread for a minute is dropped, at most 100 wait per channel, group membership lasts a
# day (a consumer re-joins on every connect, so a long-lived socket outlives none of it).
EXPIRY = 60
CAPACITY = 100
GROUP_EXPIRY = 86_400
# Failing a connect after 5 s beats redis-py's wait for the OS; no socket_timeout: the
# layer's BRPOP blocks for 5 s by design (RedisChannelLayer.brpop_timeout).
SOCKET_CONNECT_TIMEOUT = 5
PROJECT_VARIABLE = "DJANGO_AWS_PROJECT"
DEFAULT_PREFIX = "asgi"
EXPECTED_PREFIX = "at most 100 letters, digits and . _ : - characters"

_PREFIX = re.compile(r"[A-Za-z0-9._:-]{1,100}")


def channel_layers(
    environ: Mapping[str, str] | None = None, *, uses_channels: bool = False
) -> dict[str, dict[str, Any]]:
    """Django Channels' CHANNEL_LAYERS with one ``default`` layer; {} when not enabled.

    ``uses_channels``: the settings module installs Channels (configure() looks); with
    channels-redis installed too, that turns the layer on when DJANGO_AWS_CHANNELS is unset.
    Without a Redis URL in development: the in-memory layer (one process only).
    """
    r = reader(environ)
    told = r.text(ENABLED_VARIABLE) is not None
    if not r.flag(ENABLED_VARIABLE, default=uses_channels and _installed()):
        r.raise_if_any()
        return {}
    url = _layer_url(r, required=told)
    prefix = _prefix(r)
    r.raise_if_any()
    if url is None:
        return {} if r.production else {"default": {"BACKEND": IN_MEMORY_LAYER}}
    host: dict[str, Any] = {"address": url.url, "socket_connect_timeout": SOCKET_CONNECT_TIMEOUT}
    if url.tls:
        host.update(tls_options(r))
        r.raise_if_any()
    config = {
        "hosts": [host],
        "prefix": prefix,
        "expiry": EXPIRY,
        "capacity": CAPACITY,
        "group_expiry": GROUP_EXPIRY,
    }
    return {"default": {"BACKEND": REDIS_LAYER, "CONFIG": config}}


def uses_channels(installed_apps: Sequence[str]) -> bool:
    """Whether INSTALLED_APPS names Channels (or Daphne, which serves it)."""
    return any(app in installed_apps for app in CHANNELS_APPS)


def merged_channel_layers(
    module: Mapping[str, Mapping[str, Any]], ours: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The module's layers, each alias the package builds merged into the module's own.

    The connection (hosts, TLS) and the prefix follow the environment; the app's own tuning
    of the same Redis layer (capacity, channel_capacity, expiry, encryption keys) stays.
    """
    result = {alias: dict(value) for alias, value in module.items()}
    for alias, value in ours.items():
        theirs = module.get(alias) or {}
        if theirs.get("BACKEND") == value.get("BACKEND") == REDIS_LAYER:
            tuning = {
                key: setting
                for key, setting in theirs.get("CONFIG", {}).items()
                if key not in ("hosts", "prefix")
            }
            config = {**value.get("CONFIG", {}), **tuning}
            result[alias] = {**theirs, **value, "CONFIG": config}
        else:
            result[alias] = dict(value)
    return result


def _installed() -> bool:
    return importlib.util.find_spec("channels_redis") is not None


def _layer_url(r: Reader, *, required: bool) -> RedisUrl | None:
    own = r.text(URL_VARIABLE)
    if own is not None:
        return redis_url(r, URL_VARIABLE, own)
    shared = r.text(SHARED_VARIABLE)
    if shared is None:
        if r.production and required:
            r.problem(
                SHARED_VARIABLE,
                f"is required when DJANGO_ENV=production and {ENABLED_VARIABLE} is on "
                f"({URL_VARIABLE} names another Redis); expected a redis:// or rediss:// URL",
            )
        return None
    url = redis_url(r, SHARED_VARIABLE, shared)
    return None if url is None else _own_database(r, url)


def _own_database(r: Reader, url: RedisUrl) -> RedisUrl:
    """REDIS_URL on a database no one else uses: not REDIS_URL's own (Celery's queues), not
    the cache's (its clear() is FLUSHDB, which would drop every group), not one another
    variable names on the same server. The next free one above, else below: /0 gives /2.
    """
    taken = {url.database, next_database(url.database)}
    for name in OTHER_USERS:
        other = parsed_redis_url(r.text(name))
        if other is not None and other.server == url.server:
            taken.add(other.database)
    above = range(url.database + 1, MAX_DATABASE + 1)
    below = range(url.database - 1, -1, -1)
    free = next((db for db in (*above, *below) if db not in taken), url.database)
    return url.with_database(free)


def _prefix(r: Reader) -> str:
    """CHANNELS_PREFIX, else ``<project>:asgi`` so apps and environments sharing one Redis
    never read each other's messages (the task definitions set CHANNELS_PREFIX per
    environment)."""
    prefix = r.text(PREFIX_VARIABLE)
    if prefix is None:
        project = r.text(PROJECT_VARIABLE)
        return f"{project}:{DEFAULT_PREFIX}" if project else DEFAULT_PREFIX
    if not _PREFIX.fullmatch(prefix):
        r.problem(PREFIX_VARIABLE, f"expected {EXPECTED_PREFIX}")
    return prefix

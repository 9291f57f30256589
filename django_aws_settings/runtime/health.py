"""Liveness and readiness endpoints that answer before Host validation and HTTPS redirects.

An ALB health check connects to the task's private IP over plain HTTP, so its Host header
is ``10.0.1.23:8000`` and its scheme is http. Put :class:`HealthCheckMiddleware` first in
MIDDLEWARE: it answers ``/healthz`` and ``/readyz`` before ``SecurityMiddleware`` could
redirect to https and before anything calls ``request.get_host()`` (DisallowedHost, 400).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse

from ..settings.middleware import HEALTH_MIDDLEWARE

HEALTH_PATH = "/healthz"
READINESS_PATH = "/readyz"
MIDDLEWARE = HEALTH_MIDDLEWARE

_METHODS = ("GET", "HEAD")
_CACHE_KEY_PREFIX = "django-aws-settings:readyz:"
_CACHE_KEY_TIMEOUT = 10  # seconds; the key only has to survive one round trip

GetResponse = Callable[[HttpRequest], HttpResponseBase]
AsyncGetResponse = Callable[[HttpRequest], Awaitable[HttpResponseBase]]


def liveness_response() -> HttpResponse:
    """200 ``ok``: the process serves requests. Touches no database or cache on purpose, so
    a database outage does not make ECS replace every healthy task."""
    response = HttpResponse("ok", content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


def readiness() -> dict[str, str]:
    """``ok`` or ``error: <ExceptionClass>`` for every database and the default cache.

    Only the exception class is reported: messages can carry host names and user names.
    """
    from django.core.cache import DEFAULT_CACHE_ALIAS, caches
    from django.core.cache.backends.dummy import DummyCache
    from django.db import connections

    results: dict[str, str] = {}
    for alias in connections:
        connection = connections[alias]
        if connection.settings_dict.get("ENGINE") == "django.db.backends.dummy":
            continue  # DATABASES is empty: nothing to check
        name = "database" if alias == "default" else f"database:{alias}"
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        except Exception as error:  # noqa: BLE001 - reported as the component's status
            results[name] = _error(error)
        else:
            results[name] = "ok"

    cache = caches[DEFAULT_CACHE_ALIAS]
    if not isinstance(cache, DummyCache):
        key = _CACHE_KEY_PREFIX + uuid.uuid4().hex
        try:
            cache.set(key, key, timeout=_CACHE_KEY_TIMEOUT)
            round_trip = cache.get(key)
        except Exception as error:  # noqa: BLE001 - reported as the component's status
            results["cache"] = _error(error)
        else:
            results["cache"] = "ok" if round_trip == key else "error: value not read back"
    return results


def readiness_response() -> JsonResponse:
    """200 when every component answers, else 503; the body names each component."""
    results = readiness()
    healthy = all(status == "ok" for status in results.values())
    response = JsonResponse(results, status=200 if healthy else 503)
    response["Cache-Control"] = "no-store"
    return response


class HealthCheckMiddleware:
    """Answers GET/HEAD ``/healthz`` and ``/readyz``; passes every other request on.

    Sync and async capable: as the first middleware, a sync-only one would make Django
    run the whole chain of an ASGI app through a thread switch on every request.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse | AsyncGetResponse) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        path = _health_path(request)
        if path == HEALTH_PATH:
            return _for_method(request, liveness_response())
        if path == READINESS_PATH:
            return _for_method(request, readiness_response())
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        path = _health_path(request)
        if path == HEALTH_PATH:
            return _for_method(request, liveness_response())
        if path == READINESS_PATH:
            # Database drivers are synchronous; run on the thread that owns the connections.
            ready = await sync_to_async(readiness_response, thread_sensitive=True)()
            return _for_method(request, ready)
        response: HttpResponseBase = await self.get_response(request)  # type: ignore[misc]
        return response


def _health_path(request: HttpRequest) -> str | None:
    # path_info, not path: under a SCRIPT_NAME prefix the app still sees /healthz.
    if request.method in _METHODS and request.path_info in (HEALTH_PATH, READINESS_PATH):
        return request.path_info
    return None


def _for_method(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    if request.method == "HEAD":
        response.content = b""  # not every server strips the body of a HEAD response
    return response


def _error(error: Exception) -> str:
    return f"error: {type(error).__name__}"


__all__ = [
    "HEALTH_PATH",
    "MIDDLEWARE",
    "READINESS_PATH",
    "HealthCheckMiddleware",
    "liveness_response",
    "readiness",
    "readiness_response",
]

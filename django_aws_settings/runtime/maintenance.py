"""Maintenance mode: answer 503 with a friendly page while the database is being moved.

``MAINTENANCE_MODE`` is ``off`` (default), ``on`` (every request gets 503) or ``read-only``
(GET, HEAD and OPTIONS pass; other methods get 503). Like every value it may be a
reference (``ssm:/shop/production/MAINTENANCE_MODE``), but a reference is resolved once,
at process start. ``MAINTENANCE_PARAMETER`` names an SSM parameter that each process
re-reads at most every ``MAINTENANCE_POLL_SECONDS`` (10): flipping that parameter switches
every running task within seconds, without a deployment. A failed read keeps the last
known state; until the first read succeeds, ``MAINTENANCE_MODE`` applies.

The health endpoints always answer (the health middleware runs first, and this one lets
``/healthz`` and ``/readyz`` through as well), so ECS does not replace the tasks while
they deliberately refuse traffic. Clients asking for JSON get a JSON 503.

The settings side (``MAINTENANCE_*`` into ``DJANGO_AWS_MAINTENANCE``) is
``django_aws_settings.settings.maintenance``. configure() places the middleware after
SecurityMiddleware and WhiteNoise (503s still get the security headers, static files still
load) and before sessions, authentication and CSRF, which would touch the database that is
being moved.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse

from ..settings.maintenance import (
    DEFAULT_POLL_SECONDS,
    DEFAULT_RETRY_AFTER,
    MODES,
    OFF,
    ON,
    READ_ONLY,
    SETTING,
    enabled,
    maintenance_settings,
)
from .health import HEALTH_PATH, READINESS_PATH

logger = logging.getLogger(__name__)

TEMPLATE = "django_aws_settings/maintenance.html"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

GetResponse = Callable[[HttpRequest], HttpResponseBase]
AsyncGetResponse = Callable[[HttpRequest], Awaitable[HttpResponseBase]]


class MaintenanceSwitch:
    """The current mode of one process: static, or re-read from SSM at most every
    ``poll_seconds``.

    Only one thread reads at a time; the others keep answering with the last known mode
    instead of queueing behind a slow SSM call. The very first read is waited for, so a
    freshly started process cannot let writes through before it knows the state.
    """

    def __init__(
        self,
        mode: str,
        parameter: str | None = None,
        *,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        fetch: Callable[[str], str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.current = mode
        self.parameter = parameter
        self.poll_seconds = poll_seconds
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._next_read = -math.inf
        self._read_once = False
        self._failing = False

    def due(self) -> bool:
        return self.parameter is not None and self._clock() >= self._next_read

    def mode(self) -> str:
        """The mode to apply to the request at hand, reading the parameter when due."""
        if not self.due():
            return self.current
        if not self._lock.acquire(blocking=not self._read_once):
            return self.current  # another thread is reading right now
        try:
            if self.due():
                self._read()
        finally:
            self._lock.release()
        return self.current

    def _read(self) -> None:
        assert self.parameter is not None
        try:
            value = (self._fetch or _ssm_fetch)(self.parameter).strip().lower()
        except Exception as error:  # noqa: BLE001 - any failure keeps the last known state
            if not self._failing:
                logger.warning(
                    "maintenance: cannot read %s (%s); keeping mode %r",
                    self.parameter,
                    type(error).__name__,
                    self.current,
                )
            self._failing = True
        else:
            if value not in MODES:
                if not self._failing:
                    # Never the value: a mistyped parameter may hold anything, a secret too.
                    logger.warning(
                        "maintenance: %s holds none of %s (the value is not logged); "
                        "keeping mode %r",
                        self.parameter,
                        ", ".join(MODES),
                        self.current,
                    )
                self._failing = True
                return
            self._failing = False
            if value != self.current:
                logger.warning("maintenance: mode %s (from %s)", value, self.parameter)
                self.current = value
        finally:
            self._read_once = True
            self._next_read = self._clock() + self.poll_seconds


_ssm_client: Any = None
_ssm_client_lock = threading.Lock()


def _ssm_fetch(name: str) -> str:
    """GetParameter with short timeouts and one attempt: it runs on a request's path."""
    global _ssm_client
    with _ssm_client_lock:
        if _ssm_client is None:
            import os

            import boto3
            from botocore.config import Config

            from ..settings.env import aws_region

            environ = os.environ
            _ssm_client = boto3.session.Session().client(
                "ssm",
                region_name=aws_region(environ),
                endpoint_url=environ.get("AWS_ENDPOINT_URL_SSM") or environ.get("AWS_ENDPOINT_URL"),
                config=Config(
                    connect_timeout=1,
                    read_timeout=2,
                    retries={"total_max_attempts": 1, "mode": "standard"},
                ),
            )
        client = _ssm_client
    value: str = client.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    return value


def blocks(mode: str, request: HttpRequest) -> bool:
    """Whether ``mode`` refuses this request (the health endpoints are never refused)."""
    if mode == OFF or request.path_info in (HEALTH_PATH, READINESS_PATH):
        return False
    return mode == ON or request.method not in SAFE_METHODS


def wants_json(request: HttpRequest) -> bool:
    """An API client: it accepts JSON and does not ask for HTML (browsers always do)."""
    accepted = {
        part.split(";", 1)[0].strip().lower()
        for part in request.headers.get("Accept", "").split(",")
    }
    json_types = any(t == "application/json" or t.endswith("+json") for t in accepted)
    return json_types and "text/html" not in accepted


@functools.lru_cache(maxsize=8)
def maintenance_page(mode: str, retry_after: int) -> str:
    """The HTML page, rendered once per process and mode (it takes no request context).

    A project template ``django_aws_settings/maintenance.html`` overrides the packaged one.
    """
    from django.template import Context, Engine, TemplateDoesNotExist, loader

    context = {
        "read_only": mode == READ_ONLY,
        "retry_after": retry_after,
        "retry_after_minutes": max(1, math.ceil(retry_after / 60)),
    }
    try:
        return loader.render_to_string(TEMPLATE, context)
    except TemplateDoesNotExist:
        # No TEMPLATES, or APP_DIRS off: render the packaged file with a standalone engine.
        engine = Engine(dirs=[str(_TEMPLATES_DIR)])
        return engine.get_template(TEMPLATE).render(Context(context))


def maintenance_response(request: HttpRequest, mode: str, retry_after: int) -> HttpResponse:
    """503 with Retry-After and no caching: HTML for browsers, JSON for API clients."""
    response: HttpResponse
    if wants_json(request):
        message = (
            "The service is read-only during maintenance; changes cannot be saved right now."
            if mode == READ_ONLY
            else "The service is down for maintenance."
        )
        response = JsonResponse(
            {"error": "maintenance", "mode": mode, "message": message, "retry_after": retry_after},
            status=503,
        )
    else:
        response = HttpResponse(
            maintenance_page(mode, retry_after),
            status=503,
            content_type="text/html; charset=utf-8",
        )
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    if request.method == "HEAD":
        response.content = b""
    return response


class MaintenanceModeMiddleware:
    """Refuses requests while maintenance is on (or unsafe ones while read-only).

    Removes itself from the chain (MiddlewareNotUsed) when maintenance is not configured.
    Sync and async capable, like the health middleware ahead of it.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse | AsyncGetResponse) -> None:
        config = _configuration()
        if not enabled(config):
            raise MiddlewareNotUsed
        self.get_response = get_response
        self.retry_after = int(config.get("RETRY_AFTER", DEFAULT_RETRY_AFTER))
        self.switch = MaintenanceSwitch(
            config.get("MODE", OFF),
            config.get("PARAMETER") or None,
            poll_seconds=float(config.get("POLL_SECONDS", DEFAULT_POLL_SECONDS)),
        )
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        mode = self.switch.mode()
        if blocks(mode, request):
            return maintenance_response(request, mode, self.retry_after)
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        # The SSM read blocks; run it off the event loop, and only when it is due.
        if self.switch.due():
            mode = await sync_to_async(self.switch.mode, thread_sensitive=False)()
        else:
            mode = self.switch.current
        if blocks(mode, request):
            return maintenance_response(request, mode, self.retry_after)
        response: HttpResponseBase = await self.get_response(request)  # type: ignore[misc]
        return response


def _configuration() -> dict[str, Any]:
    """configure()'s setting, or the environment for projects that list the middleware
    themselves without calling configure()."""
    from django.conf import settings

    configured = getattr(settings, SETTING, None)
    if configured is None:
        configured = maintenance_settings()[SETTING]
    return dict(configured)


__all__ = [
    "MaintenanceModeMiddleware",
    "MaintenanceSwitch",
    "blocks",
    "maintenance_page",
    "maintenance_response",
    "wants_json",
]

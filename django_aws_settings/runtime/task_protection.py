"""ECS task scale-in protection for Celery workers: a busy worker is not stopped.

ECS stops a worker on scale-in and on every deploy with SIGTERM; Celery's soft shutdown
ends inside Fargate's 120 s stop timeout, so a task that needs longer is cut off and,
acknowledged late, runs again from the start. While the worker has tasks, this module
protects its ECS task (``PUT $ECS_AGENT_URI/task-protection/v1/state``); ECS then leaves
the task out of scale-in and deployments until it is idle again and the protection is
removed, or the protection expires.

``celery_settings()`` lists this module in CELERY_IMPORTS on ECS. Importing it only
connects signal handlers; ``worker_ready`` (sent in a worker's main process, never by beat
or a web process) starts one watcher thread there. The prefork pool runs tasks in child
processes, but the main process keeps Celery's record of every task it handed to the pool
(``celery.worker.state``), so the watcher sees the whole container by reading it: it
calls the agent only when the worker turns busy, to renew at half-life, and once the
worker has been idle for a few seconds (back-to-back tasks keep one protection).
Nothing here may fail a task: agent errors are logged once and retried later.
"""

from __future__ import annotations

import http.client
import json
import logging
import math
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from celery import signals

from ..settings.celery import (
    ECS_AGENT_VARIABLE,
    PROTECTION_MAX_MINUTES,
    ProtectionOptions,
    protection_options,
)
from ..settings.env import Reader
from ..settings.errors import ConfigError

STATE_PATH = "/task-protection/v1/state"
NO_LIMIT_MINUTES = 120  # the API's own default, for tasks without a time limit
RELEASE_DELAY = 5.0  # seconds idle before protection is removed
POLL_INTERVAL = 1.0
RETRY_INTERVAL = 30.0  # after a failed request, while still busy
AGENT_TIMEOUT = 5.0
_MAX_ANSWER_BYTES = 1 << 16

logger = logging.getLogger(__name__)


def durations(options: ProtectionOptions, time_limit: float | None) -> tuple[int, int]:
    """(ExpiresInMinutes of each request, longest protected stretch) in minutes.

    Each request outlasts the hard time limit by a minute, so a protection left behind by a
    worker that hung or lost the agent ends soon after any task could; a stretch is two
    of them unless set, which bounds how long a worker that is never idle holds up a deploy.
    """
    if options.minutes is not None:
        minutes = options.minutes
    elif time_limit:
        minutes = min(math.ceil(time_limit / 60) + 1, PROTECTION_MAX_MINUTES)
    else:
        minutes = NO_LIMIT_MINUTES
    longest = options.max_minutes or min(2 * minutes, PROTECTION_MAX_MINUTES)
    return min(minutes, longest), longest


class AgentError(Exception):
    """The agent did not protect (or unprotect) the task; ``permanent`` if it never will."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


class Agent:
    """The ECS agent's task protection endpoint, inside the task (no proxy, short timeout)."""

    def __init__(self, uri: str, *, timeout: float = AGENT_TIMEOUT) -> None:
        self.url = uri.rstrip("/") + STATE_PATH
        self.timeout = timeout
        # An HTTP(S)_PROXY meant for the internet must not catch the link-local agent.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def update(self, enabled: bool, minutes: int | None = None) -> None:
        """Set the protection; raises AgentError when the agent did not."""
        body: dict[str, Any] = {"ProtectionEnabled": enabled}
        if enabled and minutes is not None:
            body["ExpiresInMinutes"] = minutes
        request = urllib.request.Request(  # noqa: S310 - http:// checked by start()
            self.url,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="PUT",
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                answer = _document(response.read(_MAX_ANSWER_BYTES))
        except urllib.error.HTTPError as error:
            # {"error": {"Code": "AccessDeniedException", "Message": ...}} and the like.
            answer = _document(error.read(_MAX_ANSWER_BYTES))
            raise AgentError(_describe(answer, error.code)) from None
        except (OSError, ValueError, http.client.HTTPException) as error:
            raise AgentError(f"agent unreachable ({type(error).__name__})") from None
        # UpdateTaskProtection's failures come back with 200: {"failure": {"Reason": ...}}.
        failure = answer.get("failure")
        if isinstance(failure, dict):
            reason = str(failure.get("Reason") or "unknown failure")
            detail = failure.get("Detail")
            # TASK_NOT_VALID: the task belongs to no service (run-task), nothing to protect.
            raise AgentError(
                f"{reason}: {detail}" if detail else reason, permanent=reason == "TASK_NOT_VALID"
            )
        protection = answer.get("protection")
        if not isinstance(protection, dict) or protection.get("ProtectionEnabled") is not enabled:
            raise AgentError("unexpected answer from the agent")


def _document(raw: bytes) -> dict[str, Any]:
    try:
        document = json.loads(raw)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _describe(answer: Mapping[str, Any], status: int) -> str:
    error = answer.get("error")
    if isinstance(error, dict) and error.get("Code"):
        return f"{error['Code']}: {error.get('Message', '')}".rstrip(": ")
    return f"HTTP {status}"


class TaskProtection:
    """When to call the agent, given whether the worker is busy; one thread calls update()."""

    def __init__(
        self,
        agent: Agent,
        *,
        minutes: int,
        max_minutes: int,
        release_delay: float = RELEASE_DELAY,
        retry_interval: float = RETRY_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.agent = agent
        self.minutes = minutes
        self.max_minutes = max_minutes
        self.release_delay = release_delay
        self.retry_interval = retry_interval
        self.clock = clock
        self._busy_since: float | None = None  # start of the current busy stretch
        self._idle_since: float | None = None
        self._until: float | None = None  # the protection this stretch holds ends then
        self._retry_at = 0.0
        self._off = False  # the agent said the task can never be protected
        self._warned = False

    def update(self, busy: bool) -> None:
        now = self.clock()
        if busy:
            self._idle_since = None
            if self._busy_since is None:
                self._busy_since = now
            self._protect(now)
        elif self._busy_since is not None:
            if self._idle_since is None:
                self._idle_since = now
            if now - self._idle_since >= self.release_delay:
                self.release()

    def release(self) -> None:
        """Remove the protection this stretch holds (if any) and start over."""
        if self._until is not None:
            self._call(False, None, self.clock())
        self._busy_since = self._idle_since = self._until = None
        self._retry_at = 0.0

    def _protect(self, now: float) -> None:
        assert self._busy_since is not None
        if self._off or now < self._retry_at:
            return
        if self._until is not None and self._until - now > self.minutes * 30:
            return  # more than half of it left
        # Never past the stretch's limit: from then on a busy worker can be stopped again.
        room = self._busy_since + self.max_minutes * 60 - now
        minutes = min(self.minutes, int(room // 60))
        if minutes < 1:
            return
        until = now + minutes * 60
        if self._until is not None and until - self._until < 60:
            return  # would gain less than a minute: let it run out at the limit
        if self._call(True, minutes, now):
            self._until = until

    def _call(self, enabled: bool, minutes: int | None, now: float) -> bool:
        try:
            self.agent.update(enabled, minutes)
        except AgentError as error:
            self._retry_at = now + self.retry_interval
            self._off = error.permanent
            # Once per process: an agent refusing every call must not flood the logs.
            log = logger.debug if self._warned else logger.warning
            self._warned = True
            log(
                "ECS task scale-in protection: could not %s the task (%s); %s",
                "protect" if enabled else "unprotect",
                error,
                "giving up in this worker"
                if error.permanent
                else "tasks run on; later failures are logged at debug level",
                extra={"agent_error": str(error)},
            )
            return False
        return True


class Watcher:
    """The thread that feeds TaskProtection from the worker's record of its tasks."""

    def __init__(
        self,
        protection: TaskProtection,
        busy: Callable[[], bool],
        *,
        interval: float = POLL_INTERVAL,
    ) -> None:
        self.protection = protection
        self.busy = busy
        self.interval = interval
        self._wake = threading.Event()
        self._received = False
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="ecs-task-protection", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def received(self) -> None:
        """A task was received and will run now: protect without waiting for the next poll.

        It reaches Celery's record only after the task_received signal, hence the flag.
        """
        self._received = True
        self._wake.set()

    def stop(self) -> None:
        """Ask the thread to release and exit; safe in a signal handler (no lock taken)."""
        self._stopping = True

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()  # before reading the flag, so a later received() wakes us
            received, self._received = self._received, False
            try:
                self.protection.update(received or self.busy())
            except Exception:  # the thread must outlive any surprise; tasks never see it
                logger.exception("ECS task scale-in protection: unexpected error")
            self._wake.wait(self.interval)
        self.protection.release()


def start(environ: Mapping[str, str], *, time_limit: float | None) -> Watcher | None:
    """Start protecting this worker's ECS task, or None when off or not on ECS."""
    uri = environ.get(ECS_AGENT_VARIABLE, "").strip()
    if not uri:
        return None
    if not uri.startswith("http://"):
        logger.warning(
            "ECS task scale-in protection is off: %s is not an http:// URL", ECS_AGENT_VARIABLE
        )
        return None
    r = Reader(environ)  # plain variables only: no secret references to resolve again
    options = protection_options(r)
    try:
        r.raise_if_any()
    except ConfigError as error:
        logger.warning("ECS task scale-in protection is off: %s", error)
        return None
    if not options.enabled:
        return None
    minutes, max_minutes = durations(options, time_limit)
    protection = TaskProtection(Agent(uri), minutes=minutes, max_minutes=max_minutes)
    watcher = Watcher(protection, _busy)
    watcher.start()
    logger.info(
        "ECS task scale-in protection on: %d minutes at a time while tasks run, at most %d"
        " minutes in a row",
        minutes,
        max_minutes,
    )
    return watcher


def _busy() -> bool:
    """Whether the worker holds a task that runs or waits for a pool process (not ETA)."""
    from celery.worker import state

    # len() of a WeakSet is safe from another thread; iterating it is not.
    return len(state.reserved_requests) > 0 or len(state.active_requests) > 0


_watcher: Watcher | None = None


def _on_worker_ready(sender: Any = None, **_: Any) -> None:
    global _watcher
    if _watcher is None:
        _watcher = start(os.environ, time_limit=sender.app.conf.task_time_limit)


def _on_task_received(request: Any = None, **_: Any) -> None:
    # An ETA/countdown task waits in the worker's timer and is not work yet.
    if _watcher is not None and getattr(request, "eta", None) is None:
        _watcher.received()


def _on_worker_shutting_down(**_: Any) -> None:
    if _watcher is not None:
        _watcher.stop()


signals.worker_ready.connect(_on_worker_ready, weak=False, dispatch_uid=f"{__name__}.ready")
signals.task_received.connect(_on_task_received, weak=False, dispatch_uid=f"{__name__}.received")
signals.worker_shutting_down.connect(
    _on_worker_shutting_down, weak=False, dispatch_uid=f"{__name__}.shutting_down"
)

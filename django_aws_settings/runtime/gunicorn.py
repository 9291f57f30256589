"""Gunicorn settings for a web task behind an ALB, read from the environment.

Use as the config file's base (the template's deploy/gunicorn.conf.py imports it), or
directly with ``gunicorn -c python:django_aws_settings.runtime.gunicorn``. Gunicorn reads the
module-level names below; anything assigned after the import overrides them.

Timing on ECS, in order: the ALB deregisters the task and drains for its deregistration
delay, ECS sends SIGTERM, gunicorn lets in-flight requests finish for ``graceful_timeout``
seconds, and ECS sends SIGKILL after the container's ``stopTimeout``. So
``graceful_timeout`` must be shorter than ``stopTimeout`` (the template uses 25 s and 30 s).
"""

from __future__ import annotations

import os

from ..settings.env import Reader

_r = Reader(os.environ)


def _workers() -> int:
    # 2 x vCPU + 1 is gunicorn's own advice; Fargate gives os.cpu_count() the task's vCPUs.
    return _r.integer("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1) + 1, minimum=1)


bind = f"0.0.0.0:{_r.integer('PORT', 8000, minimum=1, maximum=65535)}"
workers = _workers()
threads = _r.integer("GUNICORN_THREADS", 1, minimum=1)
if _r.flag("DJANGO_ASGI", default=False):
    worker_class = "uvicorn_worker.UvicornWorker"
elif threads > 1:
    worker_class = "gthread"
else:
    worker_class = "sync"
# Sync and gthread workers: how long one request may run before its worker is killed.
# Uvicorn workers: how long the event loop may go without telling the arbiter it is alive,
# so a WebSocket open for hours is fine and a loop blocked by synchronous code is not.
timeout = _r.integer("GUNICORN_TIMEOUT", 30, minimum=1)
graceful_timeout = _r.integer("GUNICORN_GRACEFUL_TIMEOUT", 25, minimum=1)
# Keep-alive only exists with GUNICORN_THREADS > 1 (gthread) and under ASGI (uvicorn's
# timeout_keep_alive): there it outlasts the ALB's 60 s idle timeout, so the ALB never
# reuses a connection gunicorn has just closed (a 502 under load). The default sync worker
# ignores it and answers every request with "Connection: close", so the ALB opens a new
# (plain HTTP, in-VPC) connection per request and the race cannot happen. Sync stays the
# WSGI default because its `timeout` kills a request stuck for 30 s (gthread's heartbeat
# comes from the main loop, so a stuck thread is never killed), and threads would
# multiply the persistent connections of a task without the pool beyond its budget.
# With WebSockets the ALB's idle timeout is 3600 s and the web task sets 3605 here
# (docs/websockets.md); an upgraded socket is not subject to it.
keepalive = _r.integer("GUNICORN_KEEPALIVE", 75, minimum=1)
# Load the app once in the arbiter: settings (and their secret references) are resolved
# once per task, not once per worker, and workers share the imported code's memory.
preload_app = _r.flag("GUNICORN_PRELOAD", default=True)
# Recycle workers now and then so a slow leak never takes a task down; rarely enough that
# a busy task does not spend its time re-forking (bench/: 1000 halved requests/s).
max_requests = _r.integer("GUNICORN_MAX_REQUESTS", 10_000, minimum=0)
max_requests_jitter = max_requests // 10
# The heartbeat file lives in memory: the root filesystem is read-only on ECS, and a
# disk-backed heartbeat can stall workers.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
# Only the ALB can reach the task (its security group), and its address changes, so trust
# X-Forwarded-* from any peer; Django still only trusts X-Forwarded-Proto.
forwarded_allow_ips = "*"
# gunicorn 24+ opens a control socket under $HOME; the image's user has no home, and
# nothing on ECS uses it.
control_socket_disable = True
accesslog = "-"
errorlog = "-"
loglevel = _r.choice("LOG_LEVEL", ("debug", "info", "warning", "error", "critical"), "info")
access_log_format = (
    '{"time": "%(t)s", "logger": "gunicorn.access", "method": "%(m)s", "path": "%(U)s", '
    '"status": %(s)s, "bytes": "%(B)s", "duration_ms": %(M)s, "trace": "%({x-amzn-trace-id}i)s", '
    '"user_agent": "%(a)s"}'
)
_r.raise_if_any()

"""Plain helpers: loopback ports, unique names, waiting, HTTP requests, and commands that
run for the length of a test (started in their own process group, always stopped)."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import http.client
import http.server
import os
import re
import secrets
import signal
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

LOOPBACK = "127.0.0.1"
# Every database, role and temp dir we create starts with this, followed by our pid, so a
# later session can recognise (and drop) leftovers of a session that was killed.
NAME_PREFIX = "dastest"

START_TIMEOUT = 30.0


def free_port() -> int:
    """A currently free loopback port, for servers that cannot be told to bind port 0."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def unique_name(label: str = "") -> str:
    """`dastest_<pid>_<random>[_label]`, a valid unquoted SQL identifier of at most 63 chars."""
    slug = re.sub(r"[^a-z0-9_]+", "_", label.lower()).strip("_")
    name = f"{NAME_PREFIX}_{os.getpid()}_{secrets.token_hex(4)}"
    return f"{name}_{slug}"[:63] if slug else name


def pid_alive(pid: int) -> bool:
    """Whether a process exists (signal 0 only checks)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_until(
    check: Callable[[], bool],
    *,
    what: str,
    process: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
) -> None:
    """Poll `check` until true; fail early with the log if the server process died."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if check():
            return
        if process is not None and process.poll() is not None:
            break
        time.sleep(0.02)
    detail = log.read_text(errors="replace") if log is not None and log.exists() else ""
    raise RuntimeError(f"{what} did not become ready\n{detail}")


def http_get(url: str, *, timeout: float = 5.0) -> tuple[int, bytes]:
    """GET a loopback http:// URL with a timeout; returns (status, body)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or LOOPBACK, parts.port, timeout=timeout)
    try:
        conn.request("GET", parts.path or "/")
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def running_as_root() -> bool:
    return os.geteuid() == 0


# ------------------------------------------------------------------------- processes


@dataclasses.dataclass
class Process:
    """A started command and the file its output goes to."""

    popen: subprocess.Popen[bytes]
    log: Path


@contextlib.contextmanager
def running(
    command: Sequence[str], *, cwd: Path, env: Mapping[str, str], log: Path, grace: float = 30
) -> Iterator[Process]:
    """Start a command (no shell, as ECS execs it), its output appended to ``log``; always
    stop it afterwards: SIGTERM, then after ``grace`` seconds SIGKILL.

    The process leads its own process group, so its children (gunicorn and Celery
    workers) are killed with it if it does not stop by itself.
    """
    with log.open("ab") as output:
        popen = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield Process(popen, log)
    finally:
        if popen.poll() is None:
            popen.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                popen.wait(timeout=grace)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(popen.pid, signal.SIGKILL)  # stragglers of this group only
        popen.wait(timeout=30)


@dataclasses.dataclass
class Response:
    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes


def http_request(
    port: int,
    path: str,
    headers: Mapping[str, str],
    *,
    method: str = "GET",
    body: bytes | None = None,
    timeout: float = 30,
) -> Response:
    """One request to a server on loopback; OSError when nothing answers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=dict(headers))
        response = conn.getresponse()
        return Response(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        conn.close()


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive flock on `path`, so concurrent test processes (xdist workers, two
    runs of the suite) build a shared cached thing once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

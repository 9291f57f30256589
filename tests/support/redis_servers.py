"""The machine's Redis (one database index per xdist worker) and throwaway TLS-only Redis."""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from .certificates import CertificateAuthority
from .processes import LOOPBACK, NAME_PREFIX, free_port, wait_until

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


REDIS_HOST, REDIS_PORT = LOOPBACK, 6379
# Without xdist we use 14; each xdist worker gets its own even index so FLUSHDB stays private
# (a cache derived from REDIS_URL takes the next, odd, database: nobody else's).
_REDIS_DB_INDEXES = (14, 12, 10, 8, 6, 4, 2)


def redis_db_index(xdist_worker: str | None) -> int:
    """DB index for this process: 13, or one per xdist worker (`gw0`, `gw1`, ...)."""
    if not xdist_worker:
        return _REDIS_DB_INDEXES[0]
    number = int(xdist_worker.removeprefix("gw"))
    if number >= len(_REDIS_DB_INDEXES):
        raise RuntimeError(f"redis_url supports at most {len(_REDIS_DB_INDEXES)} xdist workers")
    return _REDIS_DB_INDEXES[number]


def flush_redis(url: str, **kwargs: Any) -> None:
    client = redis.Redis.from_url(url, **kwargs)
    try:
        client.flushdb()
    finally:
        client.close()


@dataclass
class TlsRedis:
    """A redis-server that speaks TLS only (like ElastiCache with in-transit encryption)."""

    url: str
    ca_path: Path
    port: int
    process: subprocess.Popen[bytes] = field(repr=False)
    directory: Path = field(repr=False)

    def client(self) -> redis.Redis:
        """A client that verifies the server certificate against the test CA."""
        return redis.Redis.from_url(self.url, ssl_ca_certs=str(self.ca_path))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def _tls_ping(port: int, ca_path: Path) -> bool:
    client = redis.Redis(
        host=LOOPBACK, port=port, ssl=True, ssl_ca_certs=str(ca_path), socket_timeout=1
    )
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def start_tls_redis(ca: CertificateAuthority) -> TlsRedis:
    """Start `redis-server --port 0 --tls-port <free>` with a CA-signed cert; no persistence."""
    directory = Path(tempfile.mkdtemp(prefix=f"{NAME_PREFIX}-redis-"))
    cert = ca.issue_server_cert("redis-server")
    log = directory / "redis.log"
    try:
        for _attempt in range(3):  # the port may be taken between free_port() and bind()
            port = free_port()
            argv = [
                REDIS_SERVER,
                "--bind", LOOPBACK,
                "--port", "0",
                "--tls-port", str(port),
                "--tls-cert-file", str(cert.cert_path),
                "--tls-key-file", str(cert.key_path),
                "--tls-ca-cert-file", str(ca.cert_path),
                "--tls-auth-clients", "no",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(directory),
                "--logfile", str(log),
            ]  # fmt: skip
            process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            server = TlsRedis(
                f"rediss://{LOOPBACK}:{port}/0", ca.cert_path, port, process, directory
            )
            try:
                wait_until(
                    functools.partial(_tls_ping, port, ca.cert_path),
                    what="TLS redis-server",
                    process=process,
                    log=log,
                )
            except RuntimeError:
                process.kill()
                process.wait()
                if "Address already in use" in log.read_text(errors="replace"):
                    continue
                raise
            return server
        raise RuntimeError("no free port for the TLS redis-server")
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise

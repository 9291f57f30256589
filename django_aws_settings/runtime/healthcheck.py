"""``python -m django_aws_settings.healthcheck``: the ECS container health check.

Slim images have no curl; this asks the web process on loopback for the liveness path and
exits 0 on a 200, 1 otherwise. ECS runs it every 15 s in every web container, so it
imports only the standard library: the package's ``__init__`` loads nothing eagerly, and
this module must not import the rest of the package (Django, boto3), which costs several
times more than the check itself (docs/performance.md).
"""

from __future__ import annotations

import http.client
import os
import sys

# health.HEALTH_PATH, which imports Django; tests/runtime/test_health.py keeps the two equal.
HEALTH_PATH = "/healthz"
DEFAULT_PORT = "8000"  # gunicorn.py binds PORT, 8000 by default
TIMEOUT = 3  # seconds; below the task definition's healthCheck timeout (5)


def main() -> int:
    port = os.environ.get("PORT", DEFAULT_PORT)
    if not port.isdigit() or not 0 < int(port) < 65536:
        print("health check: PORT: expected a port number between 1 and 65535", file=sys.stderr)
        return 1
    where = f"http://127.0.0.1:{port}{HEALTH_PATH}"
    # http.client, not urllib.request: it is cheaper to import, and it never sends a
    # loopback request through an HTTP_PROXY the task may set for its outbound traffic.
    connection = http.client.HTTPConnection("127.0.0.1", int(port), timeout=TIMEOUT)
    try:
        connection.request("GET", HEALTH_PATH)
        status = connection.getresponse().status
    except (OSError, http.client.HTTPException) as error:
        print(f"health check {where} failed: {error}", file=sys.stderr)
        return 1
    finally:
        connection.close()
    if status != 200:
        print(f"health check {where} answered {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

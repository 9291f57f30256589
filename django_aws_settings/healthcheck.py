"""``python -m django_aws_settings.healthcheck``: the ECS container health check.

Slim images have no curl; this asks the web process on loopback for the liveness path and
exits 0 on a 200, 1 otherwise. It imports neither Django nor the project, so it is cheap.
"""

from __future__ import annotations

import os
import sys
import urllib.request

from .health import HEALTH_PATH


def main() -> int:
    port = os.environ.get("PORT", "8000")
    url = f"http://127.0.0.1:{port}{HEALTH_PATH}"
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return 0 if response.status == 200 else 1
    except OSError as error:
        print(f"health check {url} failed: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

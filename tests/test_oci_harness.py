"""The OCI harness itself (tests/support/oci.py), on a tiny image shaped like the generated
one: FROM the python:3.11-slim-bookworm stand-in, apt-get in the build, this package's
wheel from the loopback wheel server, a file ADDed from a URL, an ignore file, uid 10001.

The end-to-end tests of the generated Dockerfile build on this; here only the harness's
promises are checked, so a failure there is not a harness failure in disguise.
"""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest
from support.oci import Oci, OciError, base_image_name
from support.processes import free_port, http_get, wait_until

pytestmark = pytest.mark.slow  # builds an image (a minute or two the first time)

TAG = "localhost/dastest/oci-harness:latest"

DOCKERFILE = """\
ARG PYTHON_VERSION=3.11
FROM python:${PYTHON_VERSION}-slim-bookworm
ENV VIRTUAL_ENV=/venv PATH=/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1
RUN apt-get update \\
    && apt-get install -y --no-install-recommends tini \\
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /venv
COPY requirements.txt /src/
RUN pip install --no-cache-dir --requirement /src/requirements.txt
ARG BUNDLE_URL
ADD --chmod=644 ${BUNDLE_URL} /etc/ssl/certs/test-bundle.pem
RUN groupadd --system --gid 10001 app \\
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent app
WORKDIR /app
COPY . .
USER 10001:10001
CMD ["python", "serve.py", "8000"]
"""

IGNORE = """\
secret.env
deploy/Dockerfile
deploy/Dockerfile.dockerignore
"""

# Exits 0 on SIGTERM, as gunicorn does: `stop()` must see a clean exit, not a SIGKILL.
SERVE = """\
import functools, http.server, signal, sys, threading

handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory="/app")
server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), handler)
signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
print("serving", flush=True)
server.serve_forever()
print("stopped cleanly", flush=True)
"""


@pytest.fixture(scope="module")
def image(oci: Oci, tmp_path_factory: pytest.TempPathFactory) -> str:
    context = tmp_path_factory.mktemp("oci-context")
    (context / "deploy").mkdir()
    (context / "deploy" / "Dockerfile").write_text(DOCKERFILE)
    (context / "deploy" / "Dockerfile.dockerignore").write_text(IGNORE)
    (context / "serve.py").write_text(SERVE)
    (context / "hello.txt").write_text("hello from the image\n")
    (context / "secret.env").write_text("SECRET=never-in-the-image\n")
    with oci.wheel_server({"bundle.pem": b"stand-in CA bundle\n"}) as wheels:
        (context / "requirements.txt").write_text(wheels.requirement + "\n")
        oci.build_image(
            context,
            context / "deploy" / "Dockerfile",
            TAG,
            ignorefile=context / "deploy" / "Dockerfile.dockerignore",
            build_args={"BUNDLE_URL": wheels.url("bundle.pem")},
        )
    return TAG


def test_package_imports_as_uid_10001_on_a_read_only_root(oci: Oci, image: str) -> None:
    script = textwrap.dedent("""\
        import os, django_aws_settings
        print("uid", os.getuid(), os.getgid())
        open("/tmp/scratch", "w").write("tmp is writable")
        for path in ("/app/new-file", "/var/tmp/new-file"):
            try:
                open(path, "w")
            except OSError as error:
                print("read-only", path, error.errno)
    """)
    exit_code, output = oci.run_container(image, ["python", "-c", script])
    assert exit_code == 0, output
    assert "uid 10001 10001" in output
    assert "read-only /app/new-file 30" in output  # EROFS
    assert "read-only /var/tmp/new-file 30" in output  # only /tmp is writable, as on ECS


def test_one_off_exit_status_and_output(oci: Oci, image: str) -> None:
    assert oci.run_container(image, ["sh", "-c", "echo to-stderr >&2; exit 3"]) == (
        3,
        "to-stderr\n",
    )


def test_detached_server_answers_and_stops_cleanly(oci: Oci, image: str) -> None:
    port = free_port()
    with oci.run_container(image, ["python", "serve.py", str(port)], detach=True) as server:
        wait_until(lambda: "serving" in server.logs(), what="server in the container")
        status, body = http_get(f"http://127.0.0.1:{port}/hello.txt")
        assert (status, body) == (200, b"hello from the image\n")
        assert http_get(f"http://127.0.0.1:{port}/secret.env")[0] == 404
        started = time.monotonic()
        assert server.stop(grace=20) == 0
        assert time.monotonic() - started < 15  # SIGTERM handled, not SIGKILLed after grace
        assert "stopped cleanly" in server.logs()
    assert oci.podman("container", "exists", server.name, check=False).returncode == 1


def test_image_files_follow_copy_and_ignorefile(oci: Oci, image: str) -> None:
    files = oci.image_files(image)
    assert {"/app/hello.txt", "/app/serve.py", "/app/requirements.txt"} <= files
    assert "/app/secret.env" not in files
    assert not {path for path in files if path.startswith("/app/deploy/")}
    assert "/usr/bin/tini" in files  # apt-get install in the build
    assert "/etc/ssl/certs/test-bundle.pem" in files  # ADD from the wheel server
    assert "/venv/lib/python3.11/site-packages/django_aws_settings/__init__.py" in files
    assert oci.image_config(image, "{{.Config.User}}") == "10001:10001"


def test_failed_build_shows_the_end_of_its_output(oci: Oci, tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "FROM python:3.11-slim-bookworm\nRUN echo the-step-that-fails >&2 && false\n"
    )
    with pytest.raises(OciError, match="the-step-that-fails"):
        oci.build_image(tmp_path, dockerfile, "localhost/dastest/oci-harness-fails")


def test_builds_never_pull(oci: Oci, tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:3.12-slim-bookworm\n")
    started = time.monotonic()
    with pytest.raises(OciError, match="image not known"):
        oci.build_image(tmp_path, dockerfile, "localhost/dastest/oci-harness-pull")
    assert time.monotonic() - started < 30


def test_only_python_311_and_313_have_a_stand_in(oci: Oci) -> None:
    assert base_image_name() == "docker.io/library/python:3.11-slim-bookworm"
    assert base_image_name("3.13") == "docker.io/library/python:3.13-slim-bookworm"
    assert oci.image_exists("python:3.11-slim-bookworm")
    # Trixie's python3 under bookworm's name is built on first use (the async_service image
    # test uses it), not here.
    for version in ("3.12", "3.10", "3.14"):
        with pytest.raises(OciError, match=r"only python_version 3\.11 and 3\.13"):
            oci.base_image(version)

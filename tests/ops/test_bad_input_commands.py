"""Bad command lines and bad files, through the real ``django-aws`` console script.

Every case must end the way docs/guarantees.md promises: a non-zero exit status, exactly
one line on stderr that names the argument, file or endpoint at fault, no traceback, and
never the planted secret, which sits in every URL, file and value a case can hold.

Nothing here reaches AWS: the endpoint is a closed loopback port, so a case that gets as
far as an AWS call fails fast with the endpoint named. The database and the broker are the
machine's own (PostgreSQL at 127.0.0.1:5432, Redis at 127.0.0.1:6379).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from support.moto_server import TRAP_ENDPOINT_URL
from support.redis_servers import REDIS_HOST, REDIS_PORT

pytestmark = pytest.mark.slow  # a console script per case

VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"
SECRET = "Pl4nted-S3cret"
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:3f9c2a1"
CLOSED = TRAP_ENDPOINT_URL.removeprefix("http://")  # 127.0.0.1:9, as botocore quotes it

# A RegisterTaskDefinition request shaped like the template's, with a plaintext secret in
# its environment, so a message quoting the file's content would show it.
REQUEST = {
    "family": "shop-${environment}-web",
    "networkMode": "awsvpc",
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "256",
    "memory": "512",
    "containerDefinitions": [
        {
            "name": "web",
            "image": "${image}",
            "essential": True,
            "environment": [
                {"name": "DATABASE_URL", "value": f"postgres://shop:{SECRET}@db.internal/shop"}
            ],
        }
    ],
}
WORKER_REQUEST = {**REQUEST, "family": "shop-${environment}-worker-${queue}"}


def request_with(**changes: object) -> bytes:
    return json.dumps({**REQUEST, **changes}).encode()


@dataclass(frozen=True)
class Case:
    """One bad invocation. ``{dir}`` in argv is the case's own directory (with ``files``)."""

    id: str
    argv: tuple[str, ...]
    names: str | tuple[str, ...]  # what the one stderr line must name
    files: Mapping[str, bytes] = field(default_factory=dict)
    stdin: bytes = b""
    env: Mapping[str, str | None] = field(default_factory=dict)


def placeholders(*extra: str) -> tuple[str, ...]:
    return ("--image", IMAGE, "--environment", "staging", *extra)


# ------------------------------------------------------------------ task definition files

BAD_FILES: list[tuple[str, bytes | None, str]] = [
    # (id, content or None for "no such file", what the line names besides the path)
    ("not-utf-8", b'{"family": "shop-\xff\xfe", "x": "' + SECRET.encode() + b'"}', "UTF-8"),
    ("json-array", json.dumps([REQUEST]).encode(), "JSON object"),
    ("json-string", json.dumps(SECRET).encode(), "JSON object"),
    ("json-number", b"42", "JSON object"),
    ("json-null", b"null", "JSON object"),
    ("truncated-json", request_with()[:-20], "not valid JSON"),
    ("empty-file", b"", "not valid JSON"),
    ("missing-file", None, "No such file"),
    ("a-placeholder-without-value", json.dumps(WORKER_REQUEST).encode(), "${queue}"),
    ("model-rejects-cpu", request_with(cpu=256), "RegisterTaskDefinition"),
    ("model-missing-family", request_with(family=None), "RegisterTaskDefinition"),
    ("model-unknown-key", request_with(privileged=True), "RegisterTaskDefinition"),
    (
        "model-secret-of-the-wrong-type",  # botocore would quote the value
        request_with(
            containerDefinitions=[
                {
                    "name": "web",
                    "image": "${image}",
                    "environment": [{"name": "P", "value": [SECRET]}],
                }
            ]
        ),
        "containerDefinitions[0].environment[0].value",
    ),
]

BAD_VALUES: list[tuple[str, tuple[str, ...], str]] = [
    # (id, placeholder arguments, the argument named)
    ("image-json-injection", ("--image", 'x", "privileged": true, "image": "x'), "--image"),
    ("image-with-space", ("--image", "shop latest"), "--image"),
    ("image-empty", ("--image", ""), "--image"),
    ("image-with-newline", ("--image", f"{IMAGE}\n"), "--image"),
    ("image-with-secret-in-quotes", ("--image", f'"{SECRET}"'), "--image"),
    ("environment-uppercase", ("--environment", "Staging"), "--environment"),
    ("environment-path", ("--environment", "../prod"), "--environment"),
    ("environment-too-long", ("--environment", "e" * 40), "--environment"),
    ("environment-empty", ("--environment", ""), "--environment"),
    ("queue-placeholder", ("--queue", "${image}"), "--queue"),
]


def file_cases(command: str) -> list[Case]:
    cases = []
    for case_id, content, names in BAD_FILES:
        files = {} if content is None else {"web.json": content}
        cases.append(
            Case(
                f"ecs-{command}-{case_id}",
                ("ecs", command, "{dir}/web.json", *placeholders()),
                ("{dir}/web.json", names),
                files,
            )
        )
    for case_id, values, names in BAD_VALUES:
        defaults = placeholders("--queue", "default")
        arguments = dict(zip(defaults[::2], defaults[1::2], strict=True))
        arguments.update(dict(zip(values[::2], values[1::2], strict=True)))
        flat = tuple(item for pair in arguments.items() for item in pair)
        cases.append(
            Case(
                f"ecs-{command}-{case_id}",
                ("ecs", command, "{dir}/web.json", *flat),
                names,
                {"web.json": json.dumps(WORKER_REQUEST).encode()},
            )
        )
    cases.append(
        Case(
            f"ecs-{command}-directory",
            ("ecs", command, "{dir}", *placeholders()),
            "{dir}",
        )
    )
    return cases


# ------------------------------------------------------------------ command lines

DEPLOY = ("ecs", "deploy", "--cluster", "shop-staging")
GATE = ("ecs", "run-task", "--cluster", "shop-staging", "--task-definition", "shop-migrate")
FROM_WEB = ("--network-from-service", "shop-staging-web")
PUBLISH = ("queues", "publish-depth", "--queues", "default", "--namespace", "shop/staging")
BROKER = f"redis://{REDIS_HOST}:{REDIS_PORT}/0"
IMPORT = ("config", "import", "--app", "shop", "--environment", "production")
ENV_FILE = f"DATABASE_URL=postgres://shop:{SECRET}@db.internal/shop\nDEBUG=false\n".encode()
NO_REGION = {"AWS_REGION": None, "AWS_DEFAULT_REGION": None}

COMMAND_LINES = [
    # argparse: one line, the usage left to --help
    Case("no-command", (), "command"),
    Case("unknown-command", ("ecs", "frobnicate"), "frobnicate"),
    Case(
        "register-without-image", ("ecs", "register", "web.json", "--environment", "x"), "--image"
    ),
    Case("deploy-without-cluster", ("ecs", "deploy", "--service", "web"), "--cluster"),
    Case(
        "deploy-negative-timeout",
        (*DEPLOY, "--service", "w", "--task-definition", "t:1", "--timeout", "-1"),
        "--timeout",
    ),
    Case(
        "deploy-nan-timeout",
        (*DEPLOY, "--service", "w", "--task-definition", "t:1", "--timeout", "nan"),
        "--timeout",
    ),
    Case(
        "deploy-text-poll-interval",
        (*DEPLOY, "--service", "w", "--task-definition", "t:1", "--poll-interval", "often"),
        "--poll-interval",
    ),
    Case("gate-log-lines-too-many", (*GATE, *FROM_WEB, "--log-lines", "99999"), "--log-lines"),
    Case("gate-empty-subnets", (*GATE, "--subnets", ",", "--security-groups", "sg-1"), "--subnets"),
    Case("gate-two-network-sources", (*GATE, *FROM_WEB, "--subnets", "subnet-1"), "--subnets"),
    Case(
        "gate-unbalanced-command", (*GATE, *FROM_WEB, "--command", "python 'manage.py"), "--command"
    ),
    Case("gate-zero-timeout", (*GATE, *FROM_WEB, "--timeout", "0"), "--timeout"),
    Case(
        "publish-empty-queue-name",
        ("queues", "publish-depth", "--queues", "a,,b", "--namespace", "n"),
        "--queues",
    ),
    Case(
        "publish-repeated-queue",
        ("queues", "publish-depth", "--queues", "a,a", "--namespace", "n"),
        "--queues",
    ),
    Case("publish-zero-interval", (*PUBLISH, "--interval", "0"), "--interval"),
    Case("publish-huge-interval", (*PUBLISH, "--interval", "4000"), "--interval"),
    Case("publish-once-and-interval", (*PUBLISH, "--once", "--interval", "5"), "--interval"),
    Case(
        "check-source-zero-throughput",
        ("cutover", "check-source", "-", "--throughput", "0"),
        "--throughput",
    ),
    Case(
        "check-source-nan-throughput",
        ("cutover", "check-source", "-", "--throughput", "nan"),
        "--throughput",
    ),
    Case(
        "check-source-text-throughput",
        ("cutover", "check-source", "-", "--throughput", "x"),
        "--throughput",
    ),
    Case("import-without-source", IMPORT, "--env-file"),
    Case("import-two-sources", (*IMPORT, "--env-file", "x.env", "--stdin"), "--stdin"),
    # after parsing, before any AWS call
    Case(
        "deploy-pairs-mismatch",
        (*DEPLOY, "--service", "a", "--service", "b", "--task-definition", "t:1"),
        "--task-definition",
    ),
    Case(
        "deploy-service-twice",
        (
            *DEPLOY,
            "--service",
            "a",
            "--task-definition",
            "t:1",
            "--service",
            "a",
            "--task-definition",
            "t:2",
        ),
        "service a",
    ),
    Case("gate-subnets-without-groups", (*GATE, "--subnets", "subnet-1"), "--security-groups"),
    Case(
        "gate-groups-with-service",
        (*GATE, *FROM_WEB, "--security-groups", "sg-1"),
        "--security-groups",
    ),
    Case(
        "register-bad-region",
        ("ecs", "register", "{dir}/web.json", *placeholders(), "--region", "the moon"),
        "--region",
        {"web.json": json.dumps(REQUEST).encode()},
    ),
    Case(
        "deploy-no-region",
        (*DEPLOY, "--service", "a", "--task-definition", "t:1"),
        "--region",
        env=NO_REGION,
    ),
    Case(
        "deploy-blank-regions",
        (*DEPLOY, "--service", "a", "--task-definition", "t:1"),
        "--region",
        env={"AWS_REGION": " ", "AWS_DEFAULT_REGION": ""},
    ),
    Case("gate-bad-aws-region", (*GATE, *FROM_WEB), "AWS_REGION", env={"AWS_REGION": "moon-1"}),
    Case(
        "gate-bad-default-region",
        (*GATE, *FROM_WEB),
        "AWS_DEFAULT_REGION",
        env={"AWS_REGION": None, "AWS_DEFAULT_REGION": "eu_west_1"},
    ),
    Case(
        "import-app-uppercase",
        ("config", "import", "--app", "Shop", "--environment", "prod", "--stdin"),
        "--app",
        stdin=ENV_FILE,
    ),
    Case(
        "import-environment-path",
        ("config", "import", "--app", "shop", "--environment", "prod/x", "--stdin"),
        "--environment",
        stdin=ENV_FILE,
    ),
    Case(
        "import-prefix-relative",
        (*IMPORT, "--stdin", "--prefix", "shop/x"),
        "--prefix",
        stdin=ENV_FILE,
    ),
    Case(
        "import-prefix-reserved",
        (*IMPORT, "--stdin", "--prefix", "/aws/x"),
        "--prefix",
        stdin=ENV_FILE,
    ),
    Case(
        "import-secret-not-in-input",
        (*IMPORT, "--stdin", "--secret", "NOT_THERE"),
        "--secret",
        stdin=ENV_FILE,
    ),
    Case(
        "import-key-both-ways",
        (*IMPORT, "--stdin", "--secret", "DEBUG", "--config", "DEBUG"),
        "--secret/--config",
        stdin=ENV_FILE,
    ),
    Case("import-empty-stdin", (*IMPORT, "--stdin"), "stdin"),
    Case(
        "import-stdin-not-utf-8",
        (*IMPORT, "--stdin"),
        "stdin",
        stdin=b"SECRET_KEY=" + SECRET.encode() + b"\xff\n",
    ),
    Case(
        "import-env-file-not-utf-8",
        (*IMPORT, "--env-file", "{dir}/app.env"),
        "app.env",
        {"app.env": b"SECRET_KEY=" + SECRET.encode() + b"\xfe\n"},
    ),
    Case(
        "import-env-file-line-without-equals",
        (*IMPORT, "--env-file", "{dir}/app.env"),
        "line 1",
        {"app.env": f"DATABASE_URL postgres://u:{SECRET}@h/db\n".encode()},
    ),
    Case(
        "import-env-file-bad-name",
        (*IMPORT, "--env-file", "{dir}/app.env"),
        "line 1",
        {"app.env": f"1DATABASE_URL=postgres://u:{SECRET}@h/db\n".encode()},
    ),
    Case("import-env-file-missing", (*IMPORT, "--env-file", "{dir}/nothing.env"), "nothing.env"),
    Case("import-env-file-directory", (*IMPORT, "--env-file", "{dir}"), "{dir}"),
    Case(
        "import-heroku-array",
        (*IMPORT, "--heroku-json", "{dir}/config.json"),
        "config.json",
        {"config.json": json.dumps([{"SECRET_KEY": SECRET}]).encode()},
    ),
    Case(
        "import-heroku-not-a-string",
        (*IMPORT, "--heroku-json", "{dir}/config.json"),
        "config.json",
        {"config.json": json.dumps({"WORKERS": 4, "KEY": SECRET}).encode()},
    ),
    Case(
        "import-heroku-truncated",
        (*IMPORT, "--heroku-json", "{dir}/config.json"),
        "config.json",
        {"config.json": json.dumps({"KEY": SECRET}).encode()[:-3]},
    ),
    Case("import-heroku-stdin-empty", (*IMPORT, "--heroku-json", "-"), "-"),
    Case(
        "import-value-too-long",
        (*IMPORT, "--stdin"),
        "WELCOME_TEXT",
        stdin=b"WELCOME_TEXT=" + b"x" * 5000 + b"\n",
    ),
    Case("import-no-region", (*IMPORT, "--stdin"), "--region", stdin=ENV_FILE, env=NO_REGION),
    # check-source: the URL is the secret's usual home
    Case("check-source-empty-argument", ("cutover", "check-source", ""), "empty"),
    Case("check-source-empty-stdin", ("cutover", "check-source", "-"), "stdin"),
    Case("check-source-blank-stdin", ("cutover", "check-source", "-"), "stdin", stdin=b"  \n"),
    Case(
        "check-source-stdin-not-utf-8",
        ("cutover", "check-source", "-"),
        "stdin",
        stdin=b"postgres://u:\xff" + SECRET.encode() + b"@h/db\n",
    ),
    Case(
        "check-source-slash-in-password",
        ("cutover", "check-source", f"postgres://u:pa/{SECRET}@127.0.0.1:notaport/db"),
        "check-source",
    ),
    Case(
        "check-source-slash-in-password-stdin",
        ("cutover", "check-source", "-"),
        "check-source",
        stdin=f"postgres://u:{SECRET}/x@127.0.0.1:5432/db\n".encode(),
    ),
    Case(
        "check-source-at-in-password",
        ("cutover", "check-source", f"postgres://u:pa@{SECRET}@127.0.0.1/db"),
        "check-source",
    ),
    Case(
        "check-source-port-not-a-number",
        ("cutover", "check-source", f"postgres://u:{SECRET}@127.0.0.1:port/db"),
        "port",
    ),
    Case(
        "check-source-port-too-big",
        ("cutover", "check-source", f"postgres://u:{SECRET}@127.0.0.1:99999/db"),
        "port",
    ),
    Case("check-source-no-host", ("cutover", "check-source", f"postgres://u:{SECRET}@/db"), "host"),
    Case(
        "check-source-unbalanced-quote",
        ("cutover", "check-source", f"host=127.0.0.1 password='{SECRET}"),
        "check-source",
    ),
    Case(
        "check-source-mysql-url",
        ("cutover", "check-source", f"mysql://u:{SECRET}@127.0.0.1/db"),
        "check-source",
    ),
    Case(
        "check-source-nothing-listening",
        ("cutover", "check-source", f"postgres://u:{SECRET}@127.0.0.1:1/db"),
        "127.0.0.1:1",
    ),
    Case(
        "check-source-unknown-role",
        ("cutover", "check-source", f"postgres://dastest_nobody:{SECRET}@127.0.0.1:5432/postgres"),
        "dastest_nobody@127.0.0.1:5432",
    ),
    # queues publish-depth: broker and CloudWatch
    Case(
        "publish-no-broker",
        (*PUBLISH, "--once"),
        "--broker-url",
        env={"REDIS_URL": None, "CELERY_BROKER_URL": None},
    ),
    Case(
        "publish-broker-not-a-url",
        (*PUBLISH, "--once", "--broker-url", f"ftp://u:{SECRET}@h/"),
        "--broker-url",
    ),
    Case(
        "publish-broker-unreachable",
        (*PUBLISH, "--once", "--broker-url", f"redis://:{SECRET}@127.0.0.1:1/0"),
        "redis://127.0.0.1:1",
    ),
    Case(
        "publish-no-region", (*PUBLISH, "--once", "--broker-url", BROKER), "--region", env=NO_REGION
    ),
    Case("publish-cloudwatch-unreachable", (*PUBLISH, "--once", "--broker-url", BROKER), CLOSED),
    # AWS unreachable: the endpoint is named, nothing else
    Case(
        "register-aws-unreachable",
        ("ecs", "register", "{dir}/web.json", *placeholders()),
        CLOSED,
        {"web.json": json.dumps(REQUEST).encode()},
    ),
    Case("deploy-aws-unreachable", (*DEPLOY, "--service", "a", "--task-definition", "t:1"), CLOSED),
    Case("gate-aws-unreachable", (*GATE, *FROM_WEB), CLOSED),
    Case(
        "import-aws-unreachable",
        (*IMPORT, "--env-file", "{dir}/app.env"),
        CLOSED,
        {"app.env": ENV_FILE},
    ),
]

CASES = [*file_cases("render"), *file_cases("register"), *COMMAND_LINES]


def test_the_suite_is_big_enough_and_every_id_is_unique() -> None:
    assert len(CASES) >= 80
    assert len({case.id for case in CASES}) == len(CASES)


def command_environment(changes: Mapping[str, str | None]) -> dict[str, str]:
    """This machine's environment without anything AWS, Django or Celery would read, plus
    fake credentials, a region and AWS endpoints on a closed port."""
    ours = ("AWS_", "CELERY_", "REDIS_", "DJANGO_", "DATABASE_", "PG")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_REGION="eu-west-1",
        AWS_ENDPOINT_URL=TRAP_ENDPOINT_URL,
        PYTHONIOENCODING="utf-8",
    )
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_bad_input_ends_in_one_line_naming_the_culprit_and_never_the_secret(
    case: Case, tmp_path: Path
) -> None:
    for name, content in case.files.items():
        (tmp_path / name).write_bytes(content)
    argv = [arg.replace("{dir}", str(tmp_path)) for arg in case.argv]
    done = subprocess.run(
        [str(VENV_BIN / "django-aws"), *argv],
        input=case.stdin,
        env=command_environment(case.env),
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        check=False,
    )
    stdout, stderr = done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace")
    assert done.returncode != 0, stdout
    assert "Traceback" not in stderr + stdout
    assert SECRET not in stdout + stderr
    assert len(stderr.splitlines()) == 1, stderr
    names = (case.names,) if isinstance(case.names, str) else case.names
    for name in names:
        assert name.replace("{dir}", str(tmp_path)) in stderr, stderr
    assert "internal error" not in stderr, stderr

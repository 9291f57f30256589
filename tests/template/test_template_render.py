"""Static checks of what the Copier template writes, for a matrix of answer sets.

Each answer set is rendered once into a committed copy of the sample project; every test
then reads the generated files back with the tool that will consume them (hadolint,
botocore's ECS model, a moto ECS endpoint, YAML/JSON parsers, our own settings package and
CLI) and asserts on their meaning and on the relationships between them.
"""

from __future__ import annotations

import ast
import base64
import importlib
import json
import re
import secrets
import subprocess
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from support.moto_server import Aws
from support.template import (
    ANSWERS_FILE,
    ENVIRONMENTS,
    IMAGE,
    LEFTOVER_JINJA,
    REPO_ROOT,
    REQUIRED_ANSWERS,
    VENV_BIN,
    container_environment,
    gunicorn_config,
    host_plumbing,
    only_container,
    placeholder_values,
    render,
    sample_copy,
    snapshot,
    task_definition_files,
    without_image_paths,
)
from support.template_matrix import Rendered
from support.terraform_schema import expected_terraform_files

from django_aws_settings.ops.ecs import render_task_definition, validation_errors
from django_aws_settings.runtime import healthcheck
from django_aws_settings.runtime.health import HEALTH_PATH
from django_aws_settings.settings.configure import configure
from django_aws_settings.settings.databases import DEFAULT_CA_BUNDLE

SLOW = pytest.mark.slow  # runs a tool or Python in a subprocess
FARGATE_MAX_STOP_TIMEOUT = 120
ALWAYS_WRITTEN = {
    ANSWERS_FILE,
    "deploy/Dockerfile",
    "deploy/Dockerfile.dockerignore",
    "deploy/compose.yaml",
    "deploy/gunicorn.conf.py",
    "deploy/ecs/web.json",
    "deploy/ecs/migrate.json",
    "docs/aws/README.md",
    "docs/aws/deploy.md",
    "docs/aws/cutover-runbook.md",
    ".github/workflows/django-aws-deploy.yml",
    ".github/workflows/django-aws-pull-request.yml",
    "shop/settings_aws.py",
}


# ------------------------------------------------------------------------ file set


def test_writes_exactly_the_expected_files(rendered: Rendered) -> None:
    case = rendered.case
    expected = set(ALWAYS_WRITTEN)
    if case.celery:
        expected.add("deploy/ecs/worker.json")
    if case.beat_service:
        expected.add("deploy/ecs/beat.json")
    elif case.celery and case.celery_beat:  # EventBridge Scheduler: the export's placeholder
        expected.add("infra/terraform/schedules.json")
    expected |= {"docs/aws/infrastructure.md", *expected_terraform_files(case.environments)}
    assert rendered.files == expected


def test_leaves_no_template_syntax_behind(rendered: Rendered) -> None:
    leftovers = {
        name: LEFTOVER_JINJA.findall(text)
        for name in rendered.files
        if LEFTOVER_JINJA.search(text := (rendered.root / name).read_text())
    }
    assert leftovers == {}


def test_answers_file_records_the_answers(rendered: Rendered) -> None:
    recorded = yaml.safe_load((rendered.root / ANSWERS_FILE).read_text())
    given = rendered.case.answers()
    assert {name: recorded.get(name) for name in given} == given
    assert recorded["_src_path"] == str(REPO_ROOT)


def test_compose_runs_the_task_definitions_commands(rendered: Rendered) -> None:
    compose = yaml.safe_load((rendered.root / "deploy" / "compose.yaml").read_text())
    services = compose["services"]
    commands = {name: services[name]["command"] for name in services if name in ("web", "migrate")}
    assert commands == {
        "web": only_container(rendered.request("web"))["command"],
        "migrate": only_container(rendered.request("migrate"))["command"],
    }
    roles = {"postgres", "redis", "migrate", "web"}
    if rendered.case.celery:
        roles.add("worker")
        queues = services["worker"]["command"][services["worker"]["command"].index("--queues") + 1]
        assert queues == ",".join(rendered.case.queues)
    if rendered.case.beat_service:
        roles.add("beat")
        assert services["beat"]["command"] == only_container(rendered.request("beat"))["command"]
    assert set(services) == roles


# ------------------------------------------------------------------------ Dockerfile


@SLOW
def test_hadolint_reports_nothing(rendered: Rendered) -> None:
    lint = subprocess.run(
        [str(VENV_BIN / "hadolint"), "deploy/Dockerfile"],
        cwd=rendered.root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (lint.returncode, lint.stdout, lint.stderr) == (0, "", "")


def test_dockerfile_installs_dependencies_from_the_lock(rendered: Rendered) -> None:
    dockerfile = rendered.dockerfile
    build_runs = " ".join(dockerfile.arguments("RUN", 0))
    manager = rendered.case.manager
    if manager == "pip":
        assert dockerfile.copy_sources(0) == ["requirements.txt"]
        assert "pip install --requirement requirements.txt" in build_runs
    elif manager == "poetry":
        assert dockerfile.copy_sources(0) == ["pyproject.toml", "poetry.lock"]
        assert "poetry export --only main --format requirements.txt" in build_runs
        assert "pip install --requirement /tmp/requirements.txt" in build_runs
    else:
        assert dockerfile.copy_sources(0) == ["pyproject.toml", "uv.lock"]
        assert "uv sync --locked --no-dev" in build_runs


def test_dockerfile_copies_only_files_the_project_has(rendered: Rendered) -> None:
    sources = rendered.dockerfile.copy_sources(0)
    assert [name for name in sources if not (rendered.root / name).is_file()] == []


def test_dockerfile_collects_static_files_only_for_whitenoise(rendered: Rendered) -> None:
    dockerfile = rendered.dockerfile
    runs = dockerfile.arguments("RUN", dockerfile.last_stage)
    collects = any("manage.py collectstatic --noinput" in run for run in runs)
    assert collects == (rendered.case.static_backend == "whitenoise")


def test_dockerfile_cmd_is_the_web_task_command(rendered: Rendered) -> None:
    web = only_container(rendered.request("web"))
    module = "asgi" if rendered.case.server == "asgi" else "wsgi"
    assert rendered.dockerfile.cmd() == web["command"]
    assert web["command"][-1] == f"shop.{module}:application"


def test_dockerfile_runs_as_the_task_definitions_user(rendered: Rendered) -> None:
    dockerfile = rendered.dockerfile
    users = {only_container(request)["user"] for request in rendered.requests().values()}
    assert dockerfile.arguments("USER", dockerfile.last_stage) == ["10001:10001"]
    assert users == {"10001:10001"}


def test_dockerfile_installs_the_ca_bundle_the_database_settings_expect(
    rendered: Rendered,
) -> None:
    dockerfile = rendered.dockerfile
    (add,) = dockerfile.arguments("ADD", dockerfile.last_stage)
    assert add.split()[-1] == DEFAULT_CA_BUNDLE


def test_settings_overlay_completes_the_projects_settings(rendered: Rendered) -> None:
    env = rendered.dockerfile.runtime_environment()
    assert env["DJANGO_SETTINGS_MODULE"] == "shop.settings_aws"
    overlay = ast.parse((rendered.root / "shop" / "settings_aws.py").read_text())
    star_imports = [
        node.module
        for node in overlay.body
        if isinstance(node, ast.ImportFrom) and [a.name for a in node.names] == ["*"]
    ]
    calls = [ast.unparse(node) for node in overlay.body if isinstance(node, ast.Expr)]
    assert star_imports == ["shop.settings"]
    assert calls[-1] == "django_aws_settings.configure(globals())"


# ------------------------------------------------------------------ task definitions


def test_task_definitions_pass_the_ecs_api_model(rendered: Rendered) -> None:
    errors = {label: validation_errors(request) for label, request in rendered.requests().items()}
    assert errors == {label: [] for label in errors}


def test_task_definitions_register_on_ecs(rendered: Rendered, aws: Aws) -> None:
    ecs = aws.client("ecs")
    registered = {
        ecs.register_task_definition(**request)["taskDefinition"]["family"]
        for request in rendered.requests().values()
    }
    roles = ["web", "migrate"]
    roles += [f"worker-{queue}" for queue in rendered.case.queues]
    if rendered.case.beat_service:
        roles.append("beat")
    assert registered == {f"shop-{env}-{role}" for env in ENVIRONMENTS for role in roles}


def test_task_definitions_run_the_answered_architecture(rendered: Rendered) -> None:
    platforms = {
        json.dumps(request["runtimePlatform"], sort_keys=True)
        for request in rendered.requests().values()
    }
    expected = {"cpuArchitecture": rendered.case.cpu_architecture, "operatingSystemFamily": "LINUX"}
    assert platforms == {json.dumps(expected, sort_keys=True)}


def test_every_container_logs_to_its_environments_log_group(rendered: Rendered) -> None:
    groups = {
        label: (
            only_container(request)["logConfiguration"]["logDriver"],
            only_container(request)["logConfiguration"]["options"]["awslogs-group"],
        )
        for label, request in rendered.requests().items()
    }
    assert groups == {
        label: ("awslogs", f"/ecs/shop/{label.partition('@')[2]}") for label in groups
    }


def test_stop_timeouts_fit_fargates_limit(rendered: Rendered) -> None:
    timeouts = {
        label: only_container(request)["stopTimeout"]
        for label, request in rendered.requests().items()
    }
    assert {
        label for label, t in timeouts.items() if not 0 < t <= FARGATE_MAX_STOP_TIMEOUT
    } == set()


def test_a_worker_stop_is_a_bounded_soft_shutdown_then_a_requeue(rendered: Rendered) -> None:
    """ECS sends SIGTERM, then SIGKILL at stopTimeout. Celery's own SIGTERM waits for running
    tasks without limit; REMAP_SIGTERM=SIGQUIT makes it the soft shutdown, then the cold
    shutdown that requeues, and the soft shutdown must end before the SIGKILL.
    (test_template_run stops a real worker this way.)"""
    from django_aws_settings.settings.celery import DEFAULT_SOFT_SHUTDOWN_TIMEOUT

    workers = {
        label: only_container(request)
        for label, request in rendered.requests().items()
        if label.startswith("worker")
    }
    stops = {}
    for label, container in workers.items():
        environment = {item["name"]: item["value"] for item in container["environment"]}
        soft = int(
            environment.get("CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT", DEFAULT_SOFT_SHUTDOWN_TIMEOUT)
        )
        stops[label] = (environment.get("REMAP_SIGTERM"), container["stopTimeout"] - soft >= 10)
    assert stops == dict.fromkeys(workers, ("SIGQUIT", True))
    others = [
        label
        for label, request in rendered.requests().items()
        if not label.startswith("worker")
        and any(i["name"] == "REMAP_SIGTERM" for i in only_container(request)["environment"])
    ]
    assert others == []


def gunicorn_settings(rendered: Rendered, environment: dict[str, str]) -> dict[str, Any]:
    """deploy/gunicorn.conf.py as gunicorn loads it in a container with this environment
    (on top of the image's ENV)."""
    env = {
        **without_image_paths(rendered.dockerfile.runtime_environment()),
        **environment,
        **host_plumbing(rendered.root),
    }
    return gunicorn_config(
        rendered.root, env, ("bind", "workers", "worker_class", "graceful_timeout")
    )


def web_task_gunicorn(rendered: Rendered) -> dict[str, Any]:
    web = only_container(rendered.request("web"))
    return gunicorn_settings(rendered, {i["name"]: i["value"] for i in web["environment"]})


def compose_gunicorn(rendered: Rendered) -> dict[str, Any]:
    compose = yaml.safe_load((rendered.root / "deploy" / "compose.yaml").read_text())
    return gunicorn_settings(rendered, compose["services"]["web"]["environment"])


@SLOW
def test_web_stop_timeout_outlasts_gunicorns_graceful_shutdown(rendered: Rendered) -> None:
    web = only_container(rendered.request("web"))
    assert web["stopTimeout"] > web_task_gunicorn(rendered)["graceful_timeout"]


@SLOW
def test_gunicorn_serves_the_mapped_port_with_the_answered_server(rendered: Rendered) -> None:
    web = only_container(rendered.request("web"))
    (mapping,) = web["portMappings"]
    concurrency = {i["name"]: i["value"] for i in web["environment"]}["WEB_CONCURRENCY"]
    worker_class = "uvicorn_worker.UvicornWorker" if rendered.case.server == "asgi" else "sync"
    assert web_task_gunicorn(rendered) == {
        "bind": f"0.0.0.0:{mapping['containerPort']}",
        "workers": int(concurrency),
        "worker_class": worker_class,
        "graceful_timeout": 25,
    }


def test_web_health_check_probes_the_served_port_within_ecs_timeout(rendered: Rendered) -> None:
    web = only_container(rendered.request("web"))
    check = web["healthCheck"]
    kind, python, flag, module = check["command"]
    # The package's stdlib-only probe (tests/runtime/test_health.py: what it imports and answers).
    assert (kind, python, flag, module) == ("CMD", "python", "-m", healthcheck.__name__)
    assert importlib.import_module(module).HEALTH_PATH == HEALTH_PATH
    # It asks 127.0.0.1:$PORT, where gunicorn binds; the ALB targets the mapped port.
    (mapping,) = web["portMappings"]
    port = {i["name"]: i["value"] for i in web["environment"]}.get("PORT", healthcheck.DEFAULT_PORT)
    assert int(port) == mapping["containerPort"]
    # It gives up (and says why on stderr) before ECS abandons it as timed out.
    assert healthcheck.TIMEOUT < check["timeout"] <= check["interval"]


@SLOW
def test_compose_serves_with_the_web_tasks_worker_class(rendered: Rendered) -> None:
    assert compose_gunicorn(rendered)["worker_class"] == web_task_gunicorn(rendered)["worker_class"]


def test_each_task_declares_its_process_count_for_the_database_pool(rendered: Rendered) -> None:
    """WEB_CONCURRENCY sizes each process's share of the connection budget (databases.py)."""
    declared = {}
    expected = {"web": "2", "migrate": "1", "beat": "1"}  # web: 2 x 0.5 vCPU + 1
    for role in task_definition_files(rendered.root):
        container = only_container(rendered.request(role))
        declared[role] = {i["name"]: i["value"] for i in container["environment"]}[
            "WEB_CONCURRENCY"
        ]
        if role == "worker":
            command = container["command"]
            expected[role] = command[command.index("--concurrency") + 1]
    assert declared == {role: expected[role] for role in declared}


# A JSON key of a secret, or a secret whole: the app secret (DJANGO_AWS_APP_SECRET, for the
# bridge) and the app role's database secret (DATABASE_SECRET of web, worker and beat).
SECRETS_MANAGER_KEY = re.compile(
    r"arn:aws:secretsmanager:eu-west-1:(?P<account>[0-9]{12}):secret:shop/(?P<env>[a-z0-9]+)/"
    r"([\w/+=.@-]+:[A-Za-z0-9_]+::|app|db-app)"
)
SSM_PARAMETER = re.compile(
    r"arn:aws:ssm:eu-west-1:(?P<account>[0-9]{12}):parameter/shop/(?P<env>[a-z0-9]+)/[\w/.-]+"
)


def test_secrets_are_json_keys_or_parameters_of_their_environment(rendered: Rendered) -> None:
    wrong = {}
    for label, request in rendered.requests().items():
        environment = label.partition("@")[2]
        for item in only_container(request)["secrets"]:
            match = SECRETS_MANAGER_KEY.fullmatch(item["valueFrom"]) or SSM_PARAMETER.fullmatch(
                item["valueFrom"]
            )
            # ...in the environment's own account.
            expected = (environment, rendered.case.account(environment))
            if match is None or (match["env"], match["account"]) != expected:
                wrong[f"{label} {item['name']}"] = item["valueFrom"]
    assert wrong == {}


# The key pair Terraform makes for media URLs (tls_private_key in the edge module).
MEDIA_SIGNING_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
# What each secret holds in an environment: the shapes the package expects.
APP_SECRET = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "REDIS_URL": "rediss://:token@master.shop-prod.abc123.euw1.cache.amazonaws.com:6379/0",
}
SECRET_VALUES = {
    **APP_SECRET,
    "DJANGO_AWS_APP_SECRET": json.dumps(APP_SECRET),  # the whole secret, for the bridge
    "DATABASE_SECRET": json.dumps({"username": "shop", "password": "pw$#?/%@:"}),
    "DATABASE_APP_SECRET": json.dumps({"username": "shop_app", "password": "pw2$#?/%@:"}),
    "DATABASE_PROXY": "false",
    "DATABASE_HOST": "shop-production.cluster-abc123.eu-west-1.rds.amazonaws.com",
    "DATABASE_NAME": "shop",
    "AWS_STORAGE_BUCKET_NAME": "shop-production-assets",
    "AWS_S3_CUSTOM_DOMAIN": "shop.example.com",
    "AWS_CLOUDFRONT_KEY_ID": "K2JCJMDEHXQW5F",
    "AWS_CLOUDFRONT_KEY": MEDIA_SIGNING_KEY.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode(),
    "ALLOWED_HOSTS": "shop.example.com",
    # email=ses: what modules/email writes into the config parameters.
    "DEFAULT_FROM_EMAIL": "no-reply@shop.example.com",
    "SERVER_EMAIL": "no-reply@shop.example.com",
    "AWS_SES_CONFIGURATION_SET": "shop-production",
    # broker=sqs: what modules/queues' URLs become in the parameter; Redis results: REDIS_URL.
    "CELERY_SQS_QUEUE_URLS": json.dumps(
        {
            queue: f"https://sqs.eu-west-1.amazonaws.com/123456789012/shop-production-{queue}"
            for queue in ("default", "emails")
        }
    ),
    "CELERY_RESULT_BACKEND": APP_SECRET["REDIS_URL"],
}


def production_settings(rendered: Rendered, role: str, tmp_path: Path) -> dict[str, Any]:
    """configure() on the container's environment: what the settings package makes of it."""
    container = only_container(rendered.request(role))
    environ = container_environment(
        rendered.dockerfile.runtime_environment(), container, SECRET_VALUES
    )
    # The image holds the RDS bundle at DEFAULT_CA_BUNDLE (checked above); this machine
    # does not, so point at a CA file that exists here.
    environ["DATABASE_CA_BUNDLE"] = "/etc/ssl/certs/ca-certificates.crt"
    namespace: dict[str, Any] = {"BASE_DIR": tmp_path, "INSTALLED_APPS": [], "MIDDLEWARE": []}
    configure(namespace, environ)
    return namespace


def test_every_task_supplies_what_production_settings_require(
    rendered: Rendered, tmp_path: Path
) -> None:
    configured = {
        role: production_settings(rendered, role, tmp_path)["DATABASES"]["default"]["HOST"]
        for role in task_definition_files(rendered.root)
    }
    assert configured == dict.fromkeys(configured, SECRET_VALUES["DATABASE_HOST"])


def test_web_task_selects_the_answered_storages(rendered: Rendered, tmp_path: Path) -> None:
    storages = production_settings(rendered, "web", tmp_path)["STORAGES"]
    static = {
        "whitenoise": "whitenoise.storage.CompressedManifestStaticFilesStorage",
        "s3": "django_aws_settings.runtime.static_storage.ReleaseManifestStaticStorage",
    }[rendered.case.static_backend]
    media = (
        "storages.backends.s3.S3Storage"
        if rendered.case.media_on_s3
        else "django.core.files.storage.FileSystemStorage"
    )
    assert (storages["staticfiles"]["BACKEND"], storages["default"]["BACKEND"]) == (static, media)


def test_media_urls_are_signed_for_cloudfront_on_the_apps_domain(
    rendered: Rendered, tmp_path: Path, django_settings: None
) -> None:
    from storages.backends.s3 import S3Storage

    if not rendered.case.media_on_s3:
        # No uploads on S3: the tasks are given no signing key at all.
        named = {item["name"] for item in only_container(rendered.request("web"))["secrets"]}
        assert {"AWS_CLOUDFRONT_KEY_ID", "AWS_CLOUDFRONT_KEY"}.isdisjoint(named)
        return

    options = production_settings(rendered, "web", tmp_path)["STORAGES"]["default"]["OPTIONS"]
    if rendered.case.compute == "express":
        # No CloudFront (docs/express.md): private media in URLs S3 itself signs, expiring.
        assert (options["querystring_auth"], options["custom_domain"]) == (True, None)
        keys = {"access_key": "testing", "secret_key": "testing", "security_token": None}
        url = urllib.parse.urlsplit(S3Storage(**{**options, **keys}).url("avatars/a b.png"))
        query = urllib.parse.parse_qs(url.query)
        assert url.path.endswith("/media/avatars/a%20b.png")
        assert (query["X-Amz-Algorithm"], "X-Amz-Signature" in query) == (
            ["AWS4-HMAC-SHA256"],
            True,
        )
        return
    url = urllib.parse.urlsplit(S3Storage(**options).url("avatars/a b.png"))
    query = urllib.parse.parse_qs(url.query)
    # CloudFront's canned policy, and its URL-safe base64 of the RSA-SHA1 signature.
    resource = urllib.parse.urlunsplit((url.scheme, url.netloc, url.path, "", ""))
    canned = json.dumps(
        {
            "Statement": [
                {
                    "Resource": resource,
                    "Condition": {"DateLessThan": {"AWS:EpochTime": int(query["Expires"][0])}},
                }
            ]
        },
        separators=(",", ":"),
    )
    signature = base64.b64decode(query["Signature"][0].translate(str.maketrans("-_~", "+=/")))

    assert (url.netloc, url.path, query["Key-Pair-Id"]) == (
        SECRET_VALUES["ALLOWED_HOSTS"],  # the distribution's alias: the /media/* behaviour
        "/media/avatars/a%20b.png",
        [SECRET_VALUES["AWS_CLOUDFRONT_KEY_ID"]],
    )
    MEDIA_SIGNING_KEY.public_key().verify(
        signature,
        canned.encode(),
        padding.PKCS1v15(),
        hashes.SHA1(),  # noqa: S303
    )


@SLOW
def test_cli_prints_the_same_request(rendered: Rendered) -> None:
    printed = {}
    expected = {}
    for role, path in task_definition_files(rendered.root).items():
        queue = rendered.case.queues[-1] if role == "worker" else None
        argv = [str(VENV_BIN / "django-aws"), "ecs", "render", str(path.relative_to(rendered.root))]
        argv += ["--image", IMAGE, "--environment", "staging"]
        argv += ["--queue", queue] if queue else []
        argv += ["--account", rendered.case.account("staging")] if rendered.case.accounts else []
        done = subprocess.run(
            argv, cwd=rendered.root, capture_output=True, text=True, timeout=60, check=True
        )
        printed[role] = json.loads(done.stdout)
        values = placeholder_values(role, "staging", queue, rendered.case.account("staging"))
        expected[role] = render_task_definition(path, values)
    assert printed == expected


def test_runbook_media_commands_parse_and_target_the_media_bucket(rendered: Rendered) -> None:
    """The runbook's `django-aws media` lines are commands our CLI accepts, aimed at the
    `media/` prefix of the bucket the Terraform output it reads names; no media, no step."""
    import shlex

    from django_aws_settings.ops import cli

    runbook = (rendered.root / "docs/aws/cutover-runbook.md").read_text()
    commands = re.findall(r"^ *(django-aws media \S+ .+)$", runbook, flags=re.MULTILINE)
    if not rendered.case.media_on_s3:
        assert "media copy" not in runbook
        return
    assert [c.split()[2] for c in commands] == ["copy", "verify"]
    for command in commands:
        text = command.replace("<old-media-bucket>", "old-media").replace("$BUCKET", "new-media")
        parsed = cli.parser().parse_args(shlex.split(text)[1:])
        assert (parsed.source.url, parsed.destination.url) == (
            "s3://old-media/",
            "s3://new-media/media/",
        )
    assert "output -raw media_bucket_name)" in runbook
    for environment in rendered.case.environments:
        outputs = rendered.root / f"infra/terraform/environments/{environment}/outputs.tf"
        assert 'output "media_bucket_name"' in outputs.read_text()
    # The delta run in the window, before the flip.
    (last_writes,) = [line for line in runbook.splitlines() if line.startswith("| 3 |")]
    assert "`django-aws media copy` again" in last_writes
    assert "`django-aws media verify`" in last_writes


# ----------------------------------------------------------------------- validators

# One bad value per validated question, and the exact message copier.yml gives for it.
BAD_VALUES = [
    ("project_slug", "Shop",
     "Expected 3-16 lowercase letters, digits or dashes, starting with a letter "
     "(<slug>-<environment>-web must fit AWS's 32-character load balancer names)."),
    ("django_project", "my-shop", "Expected a Python package name (letters, digits, underscores)."),
    ("settings_module", "settings", "Expected a dotted module path such as shop.settings."),
    ("requirements_file", "requirements.in",
     "Expected a relative path to a .txt requirements file inside the repository."),
    ("requirements_file", "../requirements.txt",
     "Expected a relative path to a .txt requirements file inside the repository."),
    ("requirements_file", "/srv/requirements.txt",
     "Expected a relative path to a .txt requirements file inside the repository."),
    ("test_command", "make test",
     "Expected pytest, python -m pytest or python manage.py test, with plain arguments."),
    ("test_command", "pytest; curl evil",
     "Expected pytest, python -m pytest or python manage.py test, with plain arguments."),
    ("test_settings_module", "test", "Expected a dotted module path such as shop.settings."),
    ("test_requirements_file", "../dev.txt",
     "Expected a relative path to a .txt requirements file inside the repository, or nothing."),
    ("celery_app", "shop.celery:app", "Expected a dotted Python module path."),
    ("compute", "express",  # the sample project uses Celery
     "Expected ecs: Express Mode runs one web service, without Celery workers (celery); "
     "see docs/express.md."),
    ("celery_concurrency", "0", "Expected a number of processes from 1 to 64."),
    ("celery_worker_flags", "--max-tasks-per-child 100",
     "Expected a list of plain flags and values, such as [--max-tasks-per-child, \"100\"]."),
    ("celery_worker_flags", ["--x", "$(reboot)"],
     "Expected a list of plain flags and values, such as [--max-tasks-per-child, \"100\"]."),
    ("celery_beat_flags", ["--max-interval", "60 && reboot"],
     "Expected a list of plain flags and values, such as [--max-interval, \"60\"]."),
    ("web_flags", ["--timeout", "60; reboot"],
     "Expected a list of plain flags and values, such as [--timeout, \"60\"]."),
    ("websocket_path", "/ws",
     "Expected a path pattern ending in /* such as /ws/*, outside /static/ and /media/."),
    ("websocket_path", "/static/ws/*",
     "Expected a path pattern ending in /* such as /ws/*, outside /static/ and /media/."),
    ("release_commands", "python manage.py migrate",
     "Expected a list of one-line shell commands, such as "
     "[\"python manage.py migrate --noinput\"]."),
    ("release_commands", ["python manage.py migrate\nrm -rf /"],
     "Expected a list of one-line shell commands, such as "
     "[\"python manage.py migrate --noinput\"]."),
    ("celery_beat_scheduler", "django_celery_beat schedulers",
     "Expected a dotted path such as django_celery_beat.schedulers:DatabaseScheduler, "
     "or nothing."),
    ("scheduler", "eventbridge",
     "Expected beat: the beat scheduler django_celery_beat.schedulers:DatabaseScheduler keeps its "
     "own schedule, which EventBridge Scheduler cannot read (keep beat, or empty "
     "celery_beat_scheduler)."),
    ("celery_queues", "default,Emails",
     "Expected comma-separated queue names (lowercase letters, digits, dashes; up to 20 each), "
     "e.g. default,emails."),
    ("celery_queues", "default,emails,default", "Each queue may appear once."),
    ("aws_region", "Ireland", "Expected an AWS region code such as eu-west-1."),
    ("aws_account_id", "12345678901",
     "Expected the 12-digit AWS account id (aws sts get-caller-identity)."),
    ("domain", "https://shop.example.com",
     "Expected a lowercase host name such as shop.example.com."),
    ("github_repository", "shop", "Expected owner/name, e.g. acme/shop."),
    ("env_aliases", "DJANGO_SECRET_KEY",
     "Expected NAME=SOURCE pairs such as "
     "DJANGO_SECRET_KEY=SECRET_KEY,POSTGRES_HOST=database.host."),
    ("environments", [], "Choose at least one environment."),
    ("environment_account_ids", "staging=21098765432,production=345678901234",
     "Expected environment=account pairs with 12-digit account ids, "
     "e.g. staging=111111111111,production=222222222222."),
    ("environment_account_ids", "staging=210987654321",
     "Name each of the environments (staging, production) exactly once."),
    ("environment_account_ids", "staging=210987654321,production=210987654321",
     "Give each environment an account of its own "
     "(one account for all: answer account_per_environment no)."),
]  # fmt: skip
# What a question needs answered before it is asked.
ASKED_AFTER = {
    "websocket_path": {"server": "asgi", "channels": True},
    "environment_account_ids": {"account_per_environment": True},
    "scheduler": {"celery_beat_scheduler": "django_celery_beat.schedulers:DatabaseScheduler"},
}


def test_every_validated_question_has_a_bad_value_case() -> None:
    questions = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())
    validated = {name for name, spec in questions.items() if isinstance(spec, dict)}
    validated = {name for name in validated if "validator" in questions[name]}
    assert validated == {question for question, _, _ in BAD_VALUES}


@pytest.fixture(scope="module")
def untouched_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_copy(tmp_path_factory.mktemp("refused"))


def git_status(root: Path) -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all", "--ignored"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout


BAD_VALUE_IDS = [f"{question}={value}" for question, value, _ in BAD_VALUES]


@pytest.mark.parametrize(("question", "value", "message"), BAD_VALUES, ids=BAD_VALUE_IDS)
def test_bad_answer_is_refused_with_its_message(
    untouched_project: Path, question: str, value: str, message: str
) -> None:
    with pytest.raises(ValueError, match=r"^Validation error") as refused:
        render(
            untouched_project,
            {**REQUIRED_ANSWERS, **ASKED_AFTER.get(question, {}), question: value},
        )
    assert str(refused.value) == f"Validation error for question {question!r}: {message}"


@pytest.mark.parametrize(("question", "value", "message"), BAD_VALUES, ids=BAD_VALUE_IDS)
def test_bad_answer_leaves_the_project_untouched(
    untouched_project: Path, question: str, value: str, message: str
) -> None:
    before = snapshot(untouched_project)
    with pytest.raises(ValueError, match=re.escape(message)):
        render(
            untouched_project,
            {**REQUIRED_ANSWERS, **ASKED_AFTER.get(question, {}), question: value},
        )
    assert (snapshot(untouched_project), git_status(untouched_project)) == (before, "")


def test_defaults_are_accepted(tmp_path: Path) -> None:
    root = sample_copy(tmp_path, name="shop")
    names = ("project_slug", "django_project")
    only_required = {k: v for k, v in REQUIRED_ANSWERS.items() if k not in names}
    render(root, only_required)
    recorded = yaml.safe_load((root / ANSWERS_FILE).read_text())
    assert {k: recorded[k] for k in ("project_slug", "django_project", "settings_module")} == {
        "project_slug": "shop",
        "django_project": "shop",
        "settings_module": "shop.settings",
    }

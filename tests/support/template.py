"""Helpers for the template tests: a sample project in git, Copier renders, the Dockerfile
and task definitions read back, the environment a generated command would get on ECS, and
the processes that run those commands. The benchmarks (bench/) use the same helpers.

The sample project (tests/sample_project, pip flavour) plays the user's existing
repository; tests/sample_variants/<manager>/ overlays the files of the poetry and uv
flavours. Renders come from this repository (its working tree, dirty changes included,
which is what Copier does for a local HEAD).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Literal

import copier
from copier.errors import DirtyLocalWarning

from django_aws_settings.ops.app_config import with_config_secrets
from django_aws_settings.ops.ecs import render_task_definition

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_PROJECT = REPO_ROOT / "tests" / "sample_project"
SAMPLE_VARIANTS = REPO_ROOT / "tests" / "sample_variants"
TEMPLATE_VERSIONS = REPO_ROOT / "tests" / "template_versions"
VENV_BIN = Path(sys.executable).parent
ANSWERS_FILE = ".copier-answers.django-aws.yml"

# The answers every render needs (the questions without a usable default) plus the names.
REQUIRED_ANSWERS: dict[str, str] = {
    "aws_account_id": "123456789012",
    "domain": "shop.example.com",
    "github_repository": "acme/shop",
    "project_slug": "shop",
    "django_project": "shop",
}
ENVIRONMENTS = ("staging", "production")
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:3f9c2a1"
# The answer set the end-to-end run (and the benchmarks) use: pip, WSGI, Celery with two
# queues and beat, WhiteNoise, media on S3.
RUN_ANSWERS: dict[str, Any] = {
    **REQUIRED_ANSWERS,
    "dependency_manager": "pip",
    "server": "wsgi",
    "celery": True,
    "celery_queues": "default,emails",
    "celery_beat": True,
    "static_backend": "whitenoise",
    "media_on_s3": True,
}
RUN_ENVIRONMENT = "production"
RUN_REGION: Final = "eu-west-1"  # the template's default aws_region, so every ARN names it
ALB_HEALTH_CHECK = {"Host": "10.0.1.23:8000"}  # an ALB health check: the task's private IP
BEHIND_ALB = {"Host": REQUIRED_ANSWERS["domain"], "X-Forwarded-Proto": "https"}  # users

DependencyManager = Literal["pip", "poetry", "uv"]

_GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Sample Dev",
    "GIT_AUTHOR_EMAIL": "dev@example.com",
    "GIT_COMMITTER_NAME": "Sample Dev",
    "GIT_COMMITTER_EMAIL": "dev@example.com",
}
_IGNORED_COPY = shutil.ignore_patterns(
    "__pycache__", "*.pyc", "db.sqlite3", "staticfiles", "media", ".venv"
)


# ------------------------------------------------------------------------------- git


def git(root: Path, *args: str) -> str:
    """Run git in `root` with a fixed identity and no user/system config; return stdout."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
        **_GIT_IDENTITY,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    done = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {root}:\n{done.stderr}")
    return done.stdout


def commit_all(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "--no-verify", "-m", message)


# ---------------------------------------------------------------------- sample project


def sample_copy(
    destination: Path, manager: DependencyManager = "pip", *, name: str = "shop"
) -> Path:
    """The sample project (with the manager's overlay) committed in a new git repository."""
    root = destination / name
    shutil.copytree(SAMPLE_PROJECT, root, ignore=_IGNORED_COPY)
    if manager != "pip":
        shutil.copytree(SAMPLE_VARIANTS / manager, root, ignore=_IGNORED_COPY, dirs_exist_ok=True)
    git(root, "init", "-q")
    commit_all(root, "The app as it runs on the PaaS")
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` (outside .git) by relative POSIX path, with its bytes."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


def changed_files(before: Mapping[str, bytes], after: Mapping[str, bytes]) -> set[str]:
    """Files that are new or different in `after`."""
    return {name for name, content in after.items() if before.get(name) != content}


# ---------------------------------------------------------------------------- copier


# What a checkout of this repository gives Copier: the questions, the files, the answer
# migrations and the Jinja extension with the repository reader it loads by path.
TEMPLATE_CHECKOUT: Final = (
    "copier.yml",
    "template",
    "template_migrations",
    "extensions",
    "django_aws_settings/ops/repository",
    "django_aws_settings/ops/cost",
)


def template_checkout(destination: Path) -> Path:
    """Copy the parts of this working tree that Copier reads into `destination`."""
    for name in TEMPLATE_CHECKOUT:
        source, target = REPO_ROOT / name, destination / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def render(
    destination: Path,
    answers: Mapping[str, Any],
    *,
    src_path: Path = REPO_ROOT,
    vcs_ref: str = "HEAD",
) -> None:
    """`copier copy` of the template into `destination`, non-interactively."""
    with warnings.catch_warnings():
        # This repository's uncommitted template changes are exactly what we want to test.
        warnings.simplefilter("ignore", DirtyLocalWarning)
        copier.run_copy(
            src_path=str(src_path),
            dst_path=destination,
            data=dict(answers),
            defaults=True,
            unsafe=True,
            vcs_ref=vcs_ref,
            quiet=True,
        )


def update(destination: Path, *, vcs_ref: str) -> None:
    """`copier update` keeping the recorded answers (in our own answers file), run from
    the repository as users run it (the renders of its diff read the facts there)."""
    with contextlib.chdir(destination):
        _update(destination, vcs_ref)


def _update(destination: Path, vcs_ref: str) -> None:
    copier.run_update(
        dst_path=destination,
        answers_file=ANSWERS_FILE,
        defaults=True,
        overwrite=True,
        unsafe=True,
        vcs_ref=vcs_ref,
        quiet=True,
    )


# ------------------------------------------------------------------------ Dockerfile


@dataclasses.dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case, e.g. "RUN"
    arguments: str  # continuation lines joined with single spaces
    stage: int  # 0 for the first FROM


@dataclasses.dataclass(frozen=True)
class Dockerfile:
    instructions: tuple[Instruction, ...]

    @classmethod
    def read(cls, path: Path) -> Dockerfile:
        return cls(tuple(_instructions(path.read_text())))

    @property
    def last_stage(self) -> int:
        return max(instruction.stage for instruction in self.instructions)

    def stage(self, index: int) -> list[Instruction]:
        return [i for i in self.instructions if i.stage == index]

    def arguments(self, keyword: str, stage: int) -> list[str]:
        return [i.arguments for i in self.stage(stage) if i.keyword == keyword]

    def runtime_environment(self) -> dict[str, str]:
        """The final stage's ENV, as the container starts with it (no $-expansion)."""
        env: dict[str, str] = {}
        for arguments in self.arguments("ENV", self.last_stage):
            for pair in shlex.split(arguments):
                name, _, value = pair.partition("=")
                env[name] = value
        return env

    def workdir(self) -> str:
        return self.arguments("WORKDIR", self.last_stage)[-1]

    def cmd(self) -> list[str]:
        (command,) = self.arguments("CMD", self.last_stage)
        parsed: list[str] = json.loads(command)
        return parsed

    def copy_sources(self, stage: int) -> list[str]:
        """Build-context paths copied in `stage` (COPY --from=... excluded)."""
        sources: list[str] = []
        for arguments in self.arguments("COPY", stage):
            words = shlex.split(arguments)
            if any(word.startswith("--from") for word in words):
                continue
            paths = [word for word in words if not word.startswith("--")]
            sources += paths[:-1]
        return sources


def _instructions(text: str) -> Iterator[Instruction]:
    stage = -1
    logical: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # comments may sit between continuation lines, too
        logical.append(line.removesuffix("\\").strip())
        if line.endswith("\\"):
            continue
        keyword, _, arguments = " ".join(logical).partition(" ")
        logical = []
        if keyword.upper() == "FROM":
            stage += 1
        yield Instruction(keyword.upper(), arguments.strip(), stage)


# ------------------------------------------------------------------- task definitions


def task_definition_files(root: Path) -> dict[str, Path]:
    """deploy/ecs/<role>.json by role."""
    return {path.stem: path for path in sorted((root / "deploy" / "ecs").glob("*.json"))}


def placeholder_values(
    role: str,
    environment: str,
    queue: str | None,
    account: str = REQUIRED_ANSWERS["aws_account_id"],
) -> dict[str, str]:
    """What `django-aws ecs register` gets; `account` fills ${account} where a file has it."""
    values = {"image": IMAGE, "environment": environment, "account": account}
    if role == "worker":
        assert queue is not None, "worker.json needs a queue"
        values["queue"] = queue
    return values


def only_container(request: Mapping[str, Any]) -> dict[str, Any]:
    (container,) = request["containerDefinitions"]
    assert isinstance(container, dict)
    return container


# ------------------------------------------------------------------- run environment


@functools.cache
def media_signing() -> dict[str, str]:
    """What the media secrets hold once Terraform made CloudFront's key pair: the app's
    domain (CloudFront serves /media/* there), the public key's id and the private key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return {
        "AWS_S3_CUSTOM_DOMAIN": REQUIRED_ANSWERS["domain"],
        "AWS_CLOUDFRONT_KEY_ID": "K2JCJMDEHXQW5F",
        "AWS_CLOUDFRONT_KEY": pem.decode(),
    }


def host_plumbing(home: Path) -> dict[str, str]:
    """What a process needs on this machine instead of the image: our venv and a HOME."""
    return {
        "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin",
        "VIRTUAL_ENV": str(VENV_BIN.parent),
        "HOME": str(home),
        "LANG": "C.UTF-8",
    }


def fake_aws(endpoint_url: str) -> dict[str, str]:
    """Credentials for moto and every AWS endpoint (S3 included) pointed at it."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_S3_ENDPOINT_URL": endpoint_url,
    }


def container_environment(
    image_env: Mapping[str, str],
    container: Mapping[str, Any],
    secret_values: Mapping[str, str],
) -> dict[str, str]:
    """What ECS puts in the container: the image's ENV, then `environment`, then `secrets`.

    Every name in `secrets` must have a value in `secret_values` (what the Secrets Manager
    key or SSM parameter holds); a missing one fails loudly rather than running without it.
    """
    missing = [s["name"] for s in container.get("secrets", []) if s["name"] not in secret_values]
    if missing:
        raise KeyError(f"no test value for the container's secrets {missing}")
    return {
        **image_env,
        **{item["name"]: item["value"] for item in container.get("environment", [])},
        **{item["name"]: secret_values[item["name"]] for item in container.get("secrets", [])},
    }


def without_image_paths(env: Mapping[str, str]) -> dict[str, str]:
    """The image's PATH/VIRTUAL_ENV point at /venv, which only exists inside the image."""
    return {k: v for k, v in env.items() if k not in ("PATH", "VIRTUAL_ENV")}


@dataclasses.dataclass
class RenderedProject:
    """A project with the template rendered, and what ECS would give its containers.

    ``secret_values`` holds what each name in a container's ``secrets`` resolves to;
    ``plumbing`` is this machine's stand-in for the image and the network (our venv on
    PATH, a HOME, moto endpoints, the database's port and CA), applied last.
    ``config_parameters`` is what ``django-aws ecs register`` finds under each container's
    DJANGO_AWS_CONFIG_PATH (path -> name -> ARN): the containers get them as ``secrets``,
    as registered task definitions do (none by default: the path holds nothing).
    """

    root: Path
    secret_values: dict[str, str]
    plumbing: dict[str, str]
    config_parameters: dict[str, dict[str, str]] = dataclasses.field(
        default_factory=dict, kw_only=True
    )

    @property
    def dockerfile(self) -> Dockerfile:
        return Dockerfile.read(self.root / "deploy" / "Dockerfile")

    def container(self, role: str, queue: str | None = None) -> dict[str, Any]:
        """deploy/ecs/<role>.json's container as ECS gets it (a worker needs its queue)."""
        values = placeholder_values(role, RUN_ENVIRONMENT, queue)
        request = render_task_definition(task_definition_files(self.root)[role], values)
        return only_container(with_config_secrets(request, self.config_parameters))

    def command(self, role: str, queue: str | None = None) -> list[str]:
        command: list[str] = self.container(role, queue)["command"]
        return command

    def environ(self, role: str, queue: str | None = None, **extra: str) -> dict[str, str]:
        """The image's ENV, the task definition's environment and secrets, then plumbing."""
        image_env = without_image_paths(self.dockerfile.runtime_environment())
        env = container_environment(image_env, self.container(role, queue), self.secret_values)
        return {**env, **self.plumbing, **extra}

    def build_step(self) -> subprocess.CompletedProcess[str]:
        """The runtime stage's RUN line that collects static files, in the build's
        environment: the image's ENV and nothing else (no secrets, no database)."""
        dockerfile = self.dockerfile
        (step,) = [
            run
            for run in dockerfile.arguments("RUN", dockerfile.last_stage)
            if "collectstatic" in run
        ]
        env = {
            **without_image_paths(dockerfile.runtime_environment()),
            **host_plumbing(Path(self.plumbing["HOME"])),
        }
        command = step.replace(dockerfile.workdir(), str(self.root))
        return run_shell(command, cwd=self.root, env=env)


def gunicorn_config(root: Path, env: Mapping[str, str], names: Sequence[str]) -> dict[str, Any]:
    """``names`` from deploy/gunicorn.conf.py as gunicorn loads it, in ``env``."""
    script = (
        "import json, runpy, sys; c = runpy.run_path('deploy/gunicorn.conf.py');"
        "print(json.dumps({k: c[k] for k in sys.argv[1:]}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *names],
        cwd=root,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    loaded: dict[str, Any] = json.loads(done.stdout)
    return loaded


def run_shell(
    command: str, *, cwd: Path, env: Mapping[str, str], timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """A Dockerfile RUN line, as /bin/sh -c runs it in the build."""
    return subprocess.run(
        ["/bin/sh", "-c", command],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_command(
    command: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """A task definition's `command`, exec'd as ECS does (no shell)."""
    return subprocess.run(
        list(command),
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# GitHub Actions expressions (`${{ ... }}`) are meant to stay; Jinja's `{{`, `{%`, `{#` not.
LEFTOVER_JINJA = re.compile(r"(?<!\$)\{\{|\{%|\{#")

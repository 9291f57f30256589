"""Secret resolution: 40 Secrets Manager secrets and 20 SSM parameters read at start.

The job, the same for every contender: 40 secrets ``bench/secret-NN``, each a JSON object
with one key ``SECRET_NN`` (the shape ECS's ``secret-arn:KEY::`` and pydantic-settings'
source expect), and 20 String parameters ``/bench/params/PARAM_NN``; all 60 values must
come back exactly. moto serves them and holds every request for ``--latency-ms``.

* ours: ``django_aws_settings.settings.env.resolved()`` on an environment whose 60 variables are
  ``secretsmanager:bench/secret-NN#SECRET_NN`` and ``ssm:/bench/params/PARAM_NN``
  references (BatchGetSecretValue, 20 ids a call; GetParameters, 10 names a call).
* pydantic-settings: a ``BaseSettings`` with 60 fields and, as sources, one
  ``AWSSecretsManagerSettingsSource`` per secret (the source reads ONE secret as a JSON
  document, so 40 secrets take 40 sources) and one ``AWSSystemsManagerSettingsSource``
  for the parameter path (GetParametersByPath, paged).
* environ-config: an ``@environ.config`` class with 40 ``SecretsManagerSecrets().secret()``
  fields (one GetSecretValue each, one shared client; a converter takes the JSON key) and
  20 ``environ.var()`` fields whose converter calls SSM GetParameter: environ-config has
  no SSM support, and a converter is its documented extension point.

Each contender runs in a fresh interpreter; the clock starts after the imports (boto3 and
the library) and stops when the settings object exists, so it covers client creation and
every AWS round trip, nothing else. environ-config installs a top-level package named
``environ``, like django-environ, so it cannot share the project's virtualenv: it is
installed with ``pip --target`` into bench/results/.peers/ and put first on PYTHONPATH
of its own child process only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .common import LatentMotoServer, Options, Result

NAME = "secrets"
SECRETS = 40
PARAMETERS = 20
PARAMETER_PATH = "/bench/params"
REGION = "us-east-1"
RUNS = {"tiny": 1, "small": 5, "full": 11}
OURS = "django-aws-settings"
PEERS = ("pydantic-settings", "environ-config")
CONTENDERS = (OURS, *PEERS)
ENVIRON_CONFIG = "environ-config==26.1.0"

Job = dict[str, Any]


def job() -> Job:
    """Names and values; the values are deterministic so a child can be checked exactly."""
    return {
        "secrets": {f"bench/secret-{i:02d}": f"SECRET_{i:02d}" for i in range(SECRETS)},
        "parameters": {
            f"{PARAMETER_PATH}/PARAM_{i:02d}": f"PARAM_{i:02d}" for i in range(PARAMETERS)
        },
        "expected": {
            **{f"SECRET_{i:02d}": f"s3cr3t-{i:02d}-{'x' * 24}" for i in range(SECRETS)},
            **{f"PARAM_{i:02d}": f"param-{i:02d}" for i in range(PARAMETERS)},
        },
        "path": PARAMETER_PATH,
        "region": REGION,
    }


# ---------------------------------------------------------------------------- parent


def run(options: Options) -> Result:
    from .common import Result, Sample, log, moto

    runs = options.runs_for(RUNS)
    spec = job()
    peer_path, unavailable = environ_config_path()
    contenders = [name for name in CONTENDERS if name not in unavailable]
    peers = [name for name in PEERS if name not in unavailable]
    seconds: dict[str, list[float]] = {name: [] for name in contenders}
    calls: dict[str, dict[str, int]] = {}
    with moto(0.0) as aws:
        create(aws, spec)
        aws.latency = options.latency
        for index in range(runs):
            offset = index % len(contenders)  # rotate who goes first
            for name in contenders[offset:] + contenders[:offset]:
                aws.requests.reset()
                seconds[name].append(contender(name, spec, aws.endpoint_url, peer_path))
                calls[name] = dict(sorted(aws.requests.operations().items()))
            log(
                f"{NAME}: run {index + 1}/{runs}: "
                + ", ".join(f"{name} {seconds[name][-1]:.3f} s" for name in contenders)
            )
    samples = {name: Sample.of(values) for name, values in seconds.items()}
    best_peer = min(peers, key=lambda name: samples[name].median)
    total_calls = {name: sum(counts.values()) for name, counts in calls.items()}
    return Result(
        name=NAME,
        size=options.size,
        runs=runs,
        ours=round(samples[OURS].median, 4),
        baseline=round(samples[best_peer].median, 4),
        unit="seconds",
        note=f"seconds to resolve {SECRETS} secrets + {PARAMETERS} parameters at"
        f" {options.latency_ms:g} ms per AWS request, median of {runs}, baseline {best_peer}"
        " (the faster peer); AWS calls: "
        + ", ".join(f"{name} {total_calls[name]}" for name in contenders)
        + "; lower is better",
        details={
            "secrets": SECRETS,
            "parameters": PARAMETERS,
            "aws_latency_ms": options.latency_ms,
            "baseline_contender": best_peer,
            "contenders": {
                name: {
                    "seconds": samples[name].as_dict(),
                    "aws_calls": total_calls[name],
                    "aws_operations": calls[name],
                    "version": version(name),
                }
                for name in contenders
            },
            "unavailable": unavailable,
        },
    )


def create(aws: LatentMotoServer, spec: Job) -> None:
    from .common import moto_aws

    secretsmanager = moto_aws(aws, REGION).client("secretsmanager")
    for secret_id, key in spec["secrets"].items():
        value = json.dumps({key: spec["expected"][key]})
        secretsmanager.create_secret(Name=secret_id, SecretString=value)
    ssm = moto_aws(aws, REGION).client("ssm")
    for parameter, field in spec["parameters"].items():
        ssm.put_parameter(Name=parameter, Value=spec["expected"][field], Type="String")


def contender(name: str, spec: Job, endpoint_url: str, peer_path: Path) -> float:
    """Run one contender in a fresh interpreter; check its 60 values; return its seconds."""
    from .common import PYTHON, REPO_ROOT, fake_aws

    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        **fake_aws(endpoint_url),
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_MAX_ATTEMPTS": "1",
    }
    if name == "environ-config":
        env["PYTHONPATH"] = str(peer_path)
    done = subprocess.run(
        [PYTHON, "-m", "bench.secrets", name],
        input=json.dumps(spec),
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{done.stdout}{done.stderr}")
    answer = json.loads(done.stdout)
    if answer["values"] != spec["expected"]:
        wrong = sorted(
            k for k in spec["expected"] if answer["values"].get(k) != spec["expected"][k]
        )
        raise RuntimeError(f"{name} returned wrong values for {wrong}")
    seconds: float = answer["seconds"]
    return seconds


def environ_config_path() -> tuple[Path, dict[str, str]]:
    """environ-config in a directory of its own (its ``environ`` package clashes with
    django-environ's), installed on first use; or why it is unavailable."""
    from .common import DEFAULT_OUT, PYTHON

    target = DEFAULT_OUT / ".peers" / ENVIRON_CONFIG.replace("==", "-")
    if not (target / "environ" / "secrets" / "awssm.py").is_file():
        done = subprocess.run(
            [PYTHON, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
             ENVIRON_CONFIG],
            capture_output=True,
            text=True,
        )  # fmt: skip
        if done.returncode != 0:
            reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return target, {"environ-config": f"pip install {ENVIRON_CONFIG} failed: {reason}"}
    return target, {}


def version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    if name == "environ-config":
        return ENVIRON_CONFIG.partition("==")[2]
    try:
        return installed(name)
    except PackageNotFoundError:
        return "not installed"


# ----------------------------------------------------------------------------- child


def child(name: str) -> None:
    """Read the job on stdin, resolve it with one contender, print seconds and values."""
    spec: Job = json.load(sys.stdin)
    import boto3  # imported before the clock starts, by every contender

    del boto3
    resolve = {OURS: ours, "pydantic-settings": pydantic_settings, "environ-config": environ_config}
    seconds, values = resolve[name](spec)
    json.dump({"seconds": seconds, "values": values}, sys.stdout)


def ours(spec: Job) -> tuple[float, dict[str, str]]:
    from django_aws_settings.settings.env import resolved

    environ = {
        "AWS_REGION": spec["region"],
        "AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"],
        **{key: f"secretsmanager:{sid}#{key}" for sid, key in spec["secrets"].items()},
        **{key: f"ssm:{name}" for name, key in spec["parameters"].items()},
    }
    start = time.perf_counter()
    values = resolved(environ)
    seconds = time.perf_counter() - start
    return seconds, {key: values[key] for key in spec["expected"]}


def pydantic_settings(spec: Job) -> tuple[float, dict[str, str]]:
    from pydantic import create_model
    from pydantic_settings import (
        AWSSecretsManagerSettingsSource,
        AWSSystemsManagerSettingsSource,
        BaseSettings,
        PydanticBaseSettingsSource,
    )

    endpoint = os.environ["AWS_ENDPOINT_URL"]

    class Sources(BaseSettings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            secrets = [
                AWSSecretsManagerSettingsSource(
                    settings_cls, secret_id, region_name=spec["region"], endpoint_url=endpoint
                )
                for secret_id in spec["secrets"]
            ]
            parameters = AWSSystemsManagerSettingsSource(
                settings_cls, spec["path"], region_name=spec["region"], endpoint_url=endpoint
            )
            return (*secrets, parameters)

    fields: dict[str, Any] = dict.fromkeys(spec["expected"], (str, ...))
    settings_class: Any = create_model("BenchSettings", __base__=Sources, **fields)
    start = time.perf_counter()
    settings = settings_class()
    seconds = time.perf_counter() - start
    return seconds, {key: getattr(settings, key) for key in spec["expected"]}


def environ_config(spec: Job) -> tuple[float, dict[str, str]]:
    import environ  # environ-config, first on this child's PYTHONPATH

    if not hasattr(environ, "to_config"):
        raise RuntimeError(f"expected environ-config, imported {environ.__file__}")
    import boto3

    secrets = environ.secrets.SecretsManagerSecrets()
    ssm_clients: list[Any] = []

    def secret_key(key: str) -> Any:
        return lambda response: json.loads(response["SecretString"])[key]

    def parameter(name: str) -> str:
        if not ssm_clients:  # lazy, like SecretsManagerSecrets' own client
            ssm_clients.append(boto3.client("ssm"))
        value: str = ssm_clients[0].get_parameter(Name=name)["Parameter"]["Value"]
        return value

    namespace: dict[str, Any] = {
        **{
            key: secrets.secret(name=f"{key}_ID", converter=secret_key(key))
            for key in spec["secrets"].values()
        },
        **{
            key: environ.var(name=f"{key}_NAME", converter=parameter)
            for key in spec["parameters"].values()
        },
    }
    config_class = environ.config(type("BenchConfig", (), namespace), prefix="")
    env = {
        **{f"{key}_ID": secret_id for secret_id, key in spec["secrets"].items()},
        **{f"{key}_NAME": name for name, key in spec["parameters"].items()},
    }
    start = time.perf_counter()
    config = environ.to_config(config_class, environ=env)
    seconds = time.perf_counter() - start
    return seconds, {key: getattr(config, key) for key in spec["expected"]}


if __name__ == "__main__":
    child(sys.argv[1])

"""``django-aws config import``: move a PaaS app's config into Secrets Manager and SSM.

Input is a ``.env`` file, the JSON of ``heroku config --json`` or ``KEY=value`` lines on
stdin. Every key is sorted into one of three kinds:

* **secret** — its name says it holds a credential (PASSWORD, SECRET, TOKEN, KEY, DSN, ...)
  or its value is a URL with a password in it, or a PEM private key. All secrets of one
  app/environment go into ONE JSON secret, ``<app>/<environment>/app``, one JSON key each.
* **config** — everything else: one SSM String parameter each, ``<prefix>/<KEY>``.
* **skipped** — set by the platform (PORT, DYNO, HEROKU_*, RENDER_*) or AWS credentials
  that would override the ECS task role. Naming the key in ``--secret``/``--config``
  imports it anyway.

Applying reads everything first, reports every problem at once, and only then writes,
and it writes only what differs: a re-run with the same input makes no write call, so it
creates no secret version and no parameter version. Values are never printed.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..settings.errors import ConfigError, Problem
from .aws import operator_client, operator_session
from .ecs import NAME as APP_NAME
from .repository.variables import kind_by_name

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_sts import STSClient

Kind = Literal["secret", "config", "skipped"]
Status = Literal["created", "updated", "unchanged", "kept"]

# An environment variable name as POSIX shells and ECS accept it.
KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SSM_VALUE_LIMIT = 4096  # characters in a Standard-tier parameter
SECRET_SIZE_LIMIT = 65536  # bytes in one SecretString
PARAMETERS_PER_CALL = 10  # GetParameters' limit
PREFIX = re.compile(r"^(/[A-Za-z0-9_.-]+)+$")
_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")  # the random suffix Secrets Manager adds to ARNs


@dataclass(frozen=True)
class Entry:
    """One input key: where it goes and why. Holds no value, so it is always safe to print."""

    key: str
    kind: Kind
    reason: str
    destination: str


@dataclass(frozen=True)
class ImportPlan:
    """What an import would write, per key, without any value."""

    app: str
    environment: str
    secret_name: str
    prefix: str
    entries: tuple[Entry, ...]

    def keys(self, kind: Kind) -> list[str]:
        return [entry.key for entry in self.entries if entry.kind == kind]

    def parameter_name(self, key: str) -> str:
        return f"{self.prefix}/{key}"


@dataclass
class AppliedImport:
    """What applying a plan did, and the ARNs an ECS task definition needs."""

    plan: ImportPlan
    statuses: dict[str, Status] = field(default_factory=dict)
    document_status: Status | None = None  # of the JSON secret as a whole
    secret_arn: str | None = None
    kept_secret_keys: list[str] = field(default_factory=list)
    parameter_arns: dict[str, str] = field(default_factory=dict)
    empty_keys: list[str] = field(default_factory=list)

    @property
    def writes(self) -> int:
        return sum(status in ("created", "updated") for status in self.statuses.values())


# ----------------------------------------------------------------------------- reading


def read_env_text(text: str, source: str) -> dict[str, str]:
    """``KEY=value`` lines as python-dotenv reads a ``.env`` file (quotes, escapes,
    ``export``, comments), without ``${VAR}`` interpolation: interpolating would pull the
    operator's own environment into the import. Raises one ConfigError listing every line
    that cannot be read, by number only (a line may hold a secret)."""
    try:
        from dotenv.parser import parse_stream
    except ImportError:  # pragma: no cover - depends on the installed extras
        problem = Problem(
            source, "reading .env input needs python-dotenv (pip install python-dotenv)"
        )
        raise ConfigError([problem]) from None
    values: dict[str, str] = {}
    problems: list[Problem] = []
    for binding in parse_stream(io.StringIO(text)):
        line = binding.original.line
        if binding.error:
            problems.append(Problem(source, f"line {line}: cannot be parsed; expected KEY=value"))
        elif binding.key is None:
            continue  # a comment or a blank line
        elif not KEY.match(binding.key):
            problems.append(
                Problem(source, f"line {line}: {binding.key!r} is not a valid variable name")
            )
        elif binding.value is None:
            problems.append(
                Problem(source, f"line {line}: {binding.key} has no value; expected KEY=value")
            )
        else:
            values[binding.key] = binding.value
    if problems:
        raise ConfigError(problems)
    return values


def read_heroku_json(text: str, source: str) -> dict[str, str]:
    """The object ``heroku config --json`` prints: variable names to string values."""
    try:
        document = json.loads(text)
    except ValueError as error:
        # The decoder's message names a position, never the text around it.
        raise ConfigError([Problem(source, f"is not valid JSON ({error})")]) from None
    if not isinstance(document, dict):
        raise ConfigError(
            [Problem(source, "expected a JSON object of names to values (heroku config --json)")]
        )
    problems = [
        Problem(source, f"{key!r} is not a valid variable name")
        for key in document
        if not KEY.match(key)
    ]
    problems += [
        Problem(source, f"the value of {key} is not a string")
        for key, value in document.items()
        if KEY.match(key) and not isinstance(value, str)
    ]
    if problems:
        raise ConfigError(problems)
    return dict(document)


# -------------------------------------------------------------------------- classifying


def classify(key: str, value: str) -> tuple[Kind, str]:
    """The kind of one key and the reason, judged from its name and value."""
    judged = kind_by_name(key)
    if judged is not None:
        return judged
    if _url_has_password(value):
        return "secret", "URL with a password"
    if "-----BEGIN" in value and "PRIVATE KEY-----" in value:
        return "secret", "PEM private key"
    return "config", "no credential in name or value"


def _url_has_password(value: str) -> bool:
    from urllib.parse import urlsplit

    if "://" not in value:
        return False
    try:
        parts = urlsplit(value.strip())
        return bool(parts.scheme and parts.password)
    except ValueError:  # e.g. an unbalanced IPv6 bracket: not a URL we can judge
        return False


def plan_import(
    values: Mapping[str, str],
    *,
    app: str,
    environment: str,
    secret_keys: Iterable[str] = (),
    config_keys: Iterable[str] = (),
    prefix: str | None = None,
) -> ImportPlan:
    """Sort every key into secret, config or skipped; ``secret_keys``/``config_keys``
    override the judgement (and import a key that would be skipped).

    Raises one ConfigError for every problem: bad names, unknown or doubly-forced keys,
    values a Standard SSM parameter cannot hold.
    """
    problems: list[Problem] = []
    for flag, name in (("--app", app), ("--environment", environment)):
        if not APP_NAME.match(name):
            problems.append(
                Problem(flag, f"expected lowercase letters, digits and dashes, got {name!r}")
            )
    prefix = (prefix or f"/{app}/{environment}").rstrip("/")
    if not PREFIX.match(prefix):
        problems.append(
            Problem(
                "--prefix", f"expected a parameter path such as /shop/production, got {prefix!r}"
            )
        )
    elif prefix.lstrip("/").lower().startswith(("aws", "ssm")):
        problems.append(Problem("--prefix", "SSM reserves names that begin with aws or ssm"))
    forced_secret, forced_config = set(secret_keys), set(config_keys)
    for flag, keys in (("--secret", forced_secret), ("--config", forced_config)):
        unknown = sorted(keys - set(values))
        if unknown:
            problems.append(
                Problem(flag, f"{', '.join(unknown)} not in the input (keys: {_listing(values)})")
            )
    both = sorted(forced_secret & forced_config)
    if both:
        problems.append(Problem("--secret/--config", f"{', '.join(both)} given to both"))

    secret_name = f"{app}/{environment}/app"
    entries: list[Entry] = []
    for key in sorted(values):
        value = values[key]
        kind: Kind
        if key in forced_secret:
            kind, reason = "secret", "--secret"
        elif key in forced_config:
            kind, reason = "config", "--config"
        else:
            kind, reason = classify(key, value)
        if kind == "secret":
            destination = f"secretsmanager:{secret_name}#{key}"
        elif kind == "config" and value == "":
            destination = "environment (SSM cannot hold an empty value)"
        elif kind == "config":
            destination = f"ssm:{prefix}/{key}"
            if len(value) > SSM_VALUE_LIMIT:
                problems.append(
                    Problem(
                        key,
                        f"its value is longer than {SSM_VALUE_LIMIT} characters, the limit of"
                        " a Standard SSM parameter; pass --secret " + key,
                    )
                )
        else:
            destination = "-"
        entries.append(Entry(key, kind, reason, destination))
    if problems:
        raise ConfigError(problems)
    return ImportPlan(app, environment, secret_name, prefix, tuple(entries))


def _listing(keys: Iterable[str]) -> str:
    return ", ".join(sorted(keys)) or "none"


# ------------------------------------------------------------------------------ applying


@dataclass
class ImportClients:
    """The three clients an import uses; tests and callers may pass their own."""

    secretsmanager: SecretsManagerClient
    ssm: SSMClient
    sts: STSClient

    @classmethod
    def create(cls, region: str | None = None) -> ImportClients:
        """Clients from boto3's default credential chain (profile, SSO, env) in the region
        of ``--region``, AWS_REGION or AWS_DEFAULT_REGION, each call bounded (ops/aws.py).
        Endpoints follow ``AWS_ENDPOINT_URL[_<SERVICE>]``, which botocore reads itself."""
        from botocore.exceptions import BotoCoreError

        session = operator_session(region)
        try:
            return cls(
                *(operator_client(session, name) for name in ("secretsmanager", "ssm", "sts"))
            )
        except BotoCoreError as error:
            raise _aws_error("boto3", "client", error) from None
        except ValueError as error:  # an endpoint URL botocore cannot use
            raise ConfigError([Problem("AWS_ENDPOINT_URL", str(error))]) from None


def apply_import(
    plan: ImportPlan, values: Mapping[str, str], clients: ImportClients
) -> AppliedImport:
    """Write what differs: one JSON secret (imported keys replaced, other keys kept) and one
    String parameter per config key. Reads first; raises one ConfigError before any write."""
    secrets = {key: values[key] for key in plan.keys("secret")}
    config = {key: values[key] for key in plan.keys("config") if values[key] != ""}
    applied = AppliedImport(plan, empty_keys=[k for k in plan.keys("config") if not values[k]])
    problems: list[Problem] = []

    identity = _call("sts", "GetCallerIdentity", clients.sts.get_caller_identity)
    account, partition = identity["Account"], identity["Arn"].split(":")[1]
    region = clients.ssm.meta.region_name

    existing_secret: dict[str, Any] | None = None
    if secrets:
        existing_secret, applied.secret_arn = _read_secret(clients, plan.secret_name, problems)
        merged = {**(existing_secret or {}), **secrets}
        if len(json.dumps(merged).encode()) > SECRET_SIZE_LIMIT:
            problems.append(
                Problem(plan.secret_name, f"would exceed the {SECRET_SIZE_LIMIT}-byte secret limit")
            )
    current = _read_parameters(clients, [plan.parameter_name(key) for key in config])
    for key in config:
        name = plan.parameter_name(key)
        if name in current and current[name][1] != "String":
            problems.append(
                Problem(
                    name,
                    f"exists as a {current[name][1]} parameter; pass --secret {key} or delete"
                    " the parameter (this import writes String parameters only)",
                )
            )
    if problems:
        raise ConfigError(problems)

    if secrets:
        _write_secret(clients, plan, secrets, existing_secret, applied)
    for key, value in config.items():
        name = plan.parameter_name(key)
        if name not in current:
            _call("ssm", "PutParameter", clients.ssm.put_parameter, Name=name, Value=value,
                  Type="String", Overwrite=False)  # fmt: skip
            applied.statuses[key] = "created"
        elif current[name][0] != value:
            _call("ssm", "PutParameter", clients.ssm.put_parameter, Name=name, Value=value,
                  Type="String", Overwrite=True)  # fmt: skip
            applied.statuses[key] = "updated"
        else:
            applied.statuses[key] = "unchanged"
        applied.parameter_arns[key] = _parameter_arn(partition, region, account, name)
    return applied


def _read_secret(
    clients: ImportClients, name: str, problems: list[Problem]
) -> tuple[dict[str, Any] | None, str | None]:
    """The secret's JSON object and ARN, or (None, None) when it does not exist yet."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = clients.secretsmanager.get_secret_value(SecretId=name)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            return None, None
        if code == "InvalidRequestException":
            problems.append(
                Problem(name, "cannot be read (scheduled for deletion?); restore it first")
            )
            return None, None
        raise _aws_error("secretsmanager", "GetSecretValue", error) from None
    except BotoCoreError as error:
        raise _aws_error("secretsmanager", "GetSecretValue", error) from None
    try:
        document = json.loads(response.get("SecretString", ""))
    except ValueError:
        document = None
    if not isinstance(document, dict):
        problems.append(
            Problem(name, "exists but does not hold a JSON object; refusing to overwrite it")
        )
        return None, response["ARN"]
    return document, response["ARN"]


def _write_secret(
    clients: ImportClients,
    plan: ImportPlan,
    secrets: Mapping[str, str],
    existing: dict[str, Any] | None,
    applied: AppliedImport,
) -> None:
    if existing is None:
        response = _call(
            "secretsmanager",
            "CreateSecret",
            clients.secretsmanager.create_secret,
            Name=plan.secret_name,
            Description=f"{plan.app} {plan.environment}: imported by django-aws config import",
            SecretString=json.dumps(dict(secrets), sort_keys=True),
        )
        applied.secret_arn = response["ARN"]
        applied.document_status = "created"
        applied.statuses.update(dict.fromkeys(secrets, "created"))
        return
    for key, value in secrets.items():
        applied.statuses[key] = (
            "created"
            if key not in existing
            else "unchanged"
            if existing[key] == value
            else "updated"
        )
    applied.kept_secret_keys = sorted(set(existing) - set(secrets))
    merged = {**existing, **secrets}
    if merged == existing:
        applied.document_status = (
            "unchanged"  # no PutSecretValue: no new version, no rotation churn
        )
        return
    _call(
        "secretsmanager",
        "PutSecretValue",
        clients.secretsmanager.put_secret_value,
        SecretId=plan.secret_name,
        SecretString=json.dumps(merged, sort_keys=True),
    )
    applied.document_status = "updated"


def _read_parameters(clients: ImportClients, names: Sequence[str]) -> dict[str, tuple[str, str]]:
    """name -> (value, type) for the parameters that exist."""
    found: dict[str, tuple[str, str]] = {}
    for start in range(0, len(names), PARAMETERS_PER_CALL):
        chunk = list(names[start : start + PARAMETERS_PER_CALL])
        response = _call(
            "ssm", "GetParameters", clients.ssm.get_parameters, Names=chunk, WithDecryption=False
        )
        for parameter in response.get("Parameters", []):
            found[parameter["Name"]] = (parameter.get("Value", ""), parameter.get("Type", ""))
    return found


def _call(service: str, operation: str, method: Any, **kwargs: Any) -> Any:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return method(**kwargs)
    except (BotoCoreError, ClientError) as error:
        raise _aws_error(service, operation, error) from None


def _aws_error(service: str, operation: str, error: Exception) -> ConfigError:
    """One line naming the call and AWS's error code; never the request (it holds values)."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionError,
        HTTPClientError,
        NoCredentialsError,
        NoRegionError,
    )

    if isinstance(error, NoRegionError):
        reason = "no AWS region: pass --region or set AWS_REGION"
    elif isinstance(error, NoCredentialsError):
        reason = "no AWS credentials found (profile, SSO or environment)"
    elif isinstance(error, ClientError):
        reason = f"AWS answered {error.response.get('Error', {}).get('Code', 'an error')}"
    elif isinstance(error, (ConnectionError, HTTPClientError)):
        # These name the endpoint URL and never a request value (ParamValidationError would).
        reason = f"the call failed ({type(error).__name__}: {error})"
    elif isinstance(error, BotoCoreError):
        reason = f"the call failed ({type(error).__name__})"
    else:  # pragma: no cover - _call only passes botocore errors
        raise error
    return ConfigError([Problem(f"{service} {operation}", reason)])


def _parameter_arn(partition: str, region: str, account: str, name: str) -> str:
    # A hierarchical name already starts with "/": parameter/shop/production/KEY.
    return f"arn:{partition}:ssm:{region}:{account}:parameter{name}"


def ecs_blocks(applied: AppliedImport) -> dict[str, list[dict[str, str]]]:
    """``secrets`` and ``environment`` entries for an ECS container definition.

    Secret keys use ``<secret ARN without the random suffix>:<KEY>::`` — ECS accepts the
    partial ARN and it survives re-creating the secret; the execution role then needs
    ``secretsmanager:GetSecretValue`` on ``<partial ARN>-??????``.
    """
    plan = applied.plan
    secrets: list[dict[str, str]] = []
    if applied.secret_arn is not None:
        partial = _SUFFIX.sub("", applied.secret_arn)
        secrets += [{"name": key, "valueFrom": f"{partial}:{key}::"} for key in plan.keys("secret")]
    secrets += [{"name": key, "valueFrom": arn} for key, arn in applied.parameter_arns.items()]
    secrets.sort(key=lambda item: item["name"])
    environment = [{"name": key, "value": ""} for key in applied.empty_keys]
    return {"secrets": secrets, "environment": environment}


def iam_resources(applied: AppliedImport) -> list[str]:
    """The resources the task execution role must be allowed to read."""
    resources = []
    if applied.secret_arn is not None:
        resources.append(_SUFFIX.sub("", applied.secret_arn) + "-??????")
    if applied.parameter_arns:
        first = next(iter(applied.parameter_arns.values()))
        resources.append(first.rsplit("/", 1)[0] + "/*")
    return resources


# ------------------------------------------------------------------------------ output


def plan_table(plan: ImportPlan, statuses: Mapping[str, str] | None = None) -> str:
    """The plan as an aligned table: key, kind, destination, reason (and status)."""
    header = ["KEY", "KIND", "DESTINATION", "REASON"]
    rows = [[e.key, e.kind, e.destination, e.reason] for e in plan.entries]
    if statuses is not None:
        header.insert(3, "STATUS")
        for row, entry in zip(rows, plan.entries, strict=True):
            row.insert(3, statuses.get(entry.key, "-"))
    return _table([header, *rows])


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def plan_summary(plan: ImportPlan) -> str:
    def count(kind: Kind, destination: str = "") -> int:
        return sum(e.kind == kind and e.destination.startswith(destination) for e in plan.entries)

    empty = count("config", "environment")
    return ", ".join(
        [
            f"{count('secret')} secret(s) -> Secrets Manager {plan.secret_name}",
            f"{count('config', 'ssm:')} parameter(s) -> SSM {plan.prefix}/",
            *([f"{empty} empty -> ECS environment"] if empty else []),
            f"{count('skipped')} skipped",
        ]
    )


# --------------------------------------------------------------------------------- CLI


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    config = commands.add_parser("config", help="application config in Secrets Manager and SSM")
    config_commands = config.add_subparsers(dest="config_command", required=True)
    command = config_commands.add_parser(
        "import",
        help="import a .env file or Heroku config: secrets to Secrets Manager, the rest to SSM",
        description="Secrets go to one JSON secret <app>/<environment>/app in Secrets Manager,"
        " other keys to SSM String parameters; re-running with the same input writes nothing;"
        " values are never printed. The ECS secrets block is printed on stdout.",
    )
    command.add_argument("--app", required=True, help="e.g. shop")
    command.add_argument("--environment", required=True, help="e.g. production")
    source = command.add_mutually_exclusive_group(required=True)
    source.add_argument("--env-file", metavar="PATH", help=".env file ('-' for stdin)")
    source.add_argument(
        "--heroku-json", metavar="PATH", help="output of `heroku config --json` ('-' for stdin)"
    )
    source.add_argument("--stdin", action="store_true", help="KEY=value lines on stdin")
    command.add_argument(
        "--secret", action="append", default=[], metavar="KEY", help="force KEY to be a secret"
    )
    command.add_argument(
        "--config", action="append", default=[], metavar="KEY", help="force KEY to be config"
    )
    command.add_argument("--prefix", help="SSM path; default /<app>/<environment>")
    command.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    command.add_argument(
        "--region", help="default: AWS_REGION / AWS_DEFAULT_REGION / the AWS profile's"
    )
    command.set_defaults(handler=_import)


def _import(arguments: argparse.Namespace) -> int:
    values = _read_input(arguments)
    if not values:
        source = arguments.heroku_json or arguments.env_file or "--stdin"
        raise ConfigError([Problem("stdin" if source == "-" else source, "holds no variables")])
    plan = plan_import(
        values,
        app=arguments.app,
        environment=arguments.environment,
        secret_keys=_split(arguments.secret),
        config_keys=_split(arguments.config),
        prefix=arguments.prefix,
    )
    for key in sorted(k for k in plan.keys("config") if "${" in values[k]):
        print(
            f"note: {key} contains ${{...}}; imported literally (no interpolation)", file=sys.stderr
        )
    if arguments.dry_run:
        print(plan_table(plan))
        print(f"\n{plan_summary(plan)}\ndry run: nothing was read from or written to AWS")
        return 0
    applied = apply_import(plan, values, ImportClients.create(arguments.region))
    # The report goes to stderr so that stdout is exactly the JSON to paste or redirect.
    report = sys.stderr
    print(plan_table(plan, applied.statuses), file=report)
    print(f"\n{plan_summary(plan)}", file=report)
    if applied.document_status is not None:
        kept = (
            f"; kept {len(applied.kept_secret_keys)} other key(s)"
            if applied.kept_secret_keys
            else ""
        )
        print(f"secret {plan.secret_name}: {applied.document_status}{kept}", file=report)
    print(f"{applied.writes} write(s)", file=report)
    resources = iam_resources(applied)
    if resources:
        print(
            "the task execution role needs secretsmanager:GetSecretValue / ssm:GetParameters on: "
            + ", ".join(resources),
            file=report,
        )
    json.dump(ecs_blocks(applied), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def _split(keys: Iterable[str]) -> list[str]:
    return [key.strip() for item in keys for key in item.split(",") if key.strip()]


def _read_input(arguments: argparse.Namespace) -> dict[str, str]:
    if arguments.heroku_json is not None:
        return read_heroku_json(_read(arguments.heroku_json), arguments.heroku_json)
    path = "-" if arguments.stdin else arguments.env_file
    return read_env_text(_read(path), "stdin" if path == "-" else path)


def _read(path: str) -> str:
    if path == "-":
        try:
            return sys.stdin.read()
        except UnicodeDecodeError:
            raise ConfigError([Problem("stdin", "is not UTF-8 text")]) from None
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except UnicodeDecodeError:
        raise ConfigError([Problem(path, "is not UTF-8 text")]) from None


__all__ = [
    "AppliedImport",
    "Entry",
    "ImportClients",
    "ImportPlan",
    "apply_import",
    "classify",
    "ecs_blocks",
    "iam_resources",
    "plan_import",
    "plan_table",
    "read_env_text",
    "read_heroku_json",
    "register",
]

"""The one boundary with the process environment and AWS.

Values are read from a mapping passed in (``os.environ`` by default) and never written
back. A value written as ``secretsmanager:<name-or-arn>[#json-key]`` or
``ssm:<parameter-name>[#json-key]`` is a reference, resolved in batches by
:func:`resolved`: Secrets Manager through BatchGetSecretValue (20 ids a call), SSM
through GetParameters (10 names a call). Every failure is collected and reported in one
:class:`ConfigError` that names the variable and the reference, never the value.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .errors import ConfigError, Problem, Problems

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_ssm import SSMClient

DEVELOPMENT = "development"
PRODUCTION = "production"
ENVIRONMENTS = (DEVELOPMENT, PRODUCTION)

SECRETS_MANAGER_PREFIX = "secretsmanager:"
SSM_PREFIX = "ssm:"
SECRETS_PER_CALL = 20  # BatchGetSecretValue's limit for SecretIdList
PARAMETERS_PER_CALL = 10  # GetParameters' limit for Names

# Above any sane count or number of seconds, and still a C int where libpq and sockets use one.
INTEGER_CEILING = 2**31 - 1
_INTEGER = re.compile(r"-?[0-9]{1,12}")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True)
class Reference:
    """Where a value lives in AWS: a secret or a parameter, optionally one JSON key of it."""

    kind: Literal["secretsmanager", "ssm"]
    id: str
    json_key: str | None = None

    def __str__(self) -> str:
        key = f"#{self.json_key}" if self.json_key is not None else ""
        return f"{self.kind}:{self.id}{key}"


def parse_reference(value: str) -> Reference | None:
    """The reference a value spells, or None for a plain value."""
    for kind, prefix in (("secretsmanager", SECRETS_MANAGER_PREFIX), ("ssm", SSM_PREFIX)):
        if value.startswith(prefix):
            # Neither secret names nor parameter names may contain "#", so it is unambiguous.
            target, hash_sign, json_key = value[len(prefix) :].partition("#")
            return Reference(kind, target.strip(), json_key.strip() if hash_sign else None)  # type: ignore[arg-type]
    return None


class ResolvedEnviron(dict[str, str]):
    """An environment whose references were resolved; remembers where each value came from."""

    def __init__(self, values: Mapping[str, str], references: Mapping[str, Reference]) -> None:
        super().__init__(values)
        self.references: dict[str, Reference] = dict(references)


def aws_region(environ: Mapping[str, str] | None = None) -> str | None:
    """The region every AWS client of this package uses: ``AWS_REGION`` (what ECS and the
    AWS docs set), else ``AWS_DEFAULT_REGION`` (the only one botocore reads), else None;
    blank values count as unset."""
    environ = os.environ if environ is None else environ
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        value = environ.get(name, "").strip()
        if value:
            return value
    return None


class AwsClients:
    """Lazily created boto3 clients with bounded timeouts and retries.

    Credentials always come from boto3's default chain (the ECS task role in production).
    Region and endpoint come from the environment given (``AWS_REGION``,
    ``AWS_ENDPOINT_URL[_SECRETS_MANAGER|_SSM]``). Pass ``factory`` to inject clients.
    """

    def __init__(
        self,
        environ: Mapping[str, str] | None = None,
        factory: Callable[[str], Any] | None = None,
    ) -> None:
        self._environ = os.environ if environ is None else environ
        self._factory = factory
        self._clients: dict[str, Any] = {}

    @property
    def region(self) -> str | None:
        return aws_region(self._environ)

    def _endpoint(self, service_env_name: str) -> str | None:
        return (
            self._environ.get(f"AWS_ENDPOINT_URL_{service_env_name}")
            or self._environ.get("AWS_ENDPOINT_URL")
            or None
        )

    def _client(self, service: str, service_env_name: str) -> Any:
        if service not in self._clients:
            if self._factory is not None:
                self._clients[service] = self._factory(service)
            else:
                import boto3
                from botocore.config import Config

                config = Config(
                    connect_timeout=2,
                    read_timeout=3,
                    retries={"total_max_attempts": 3, "mode": "standard"},
                )
                self._clients[service] = boto3.session.Session().client(
                    service,  # type: ignore[call-overload]
                    region_name=self.region,
                    endpoint_url=self._endpoint(service_env_name),
                    config=config,
                )
        return self._clients[service]

    def secretsmanager(self) -> SecretsManagerClient:
        client: SecretsManagerClient = self._client("secretsmanager", "SECRETS_MANAGER")
        return client

    def ssm(self) -> SSMClient:
        client: SSMClient = self._client("ssm", "SSM")
        return client


def resolved(
    environ: Mapping[str, str] | None = None, *, clients: AwsClients | None = None
) -> ResolvedEnviron:
    """A copy of the environment with every reference replaced by its value.

    Each distinct secret or parameter is fetched once, however many variables point at it.
    Raises ConfigError listing every reference that could not be resolved.
    """
    environ = os.environ if environ is None else environ
    if isinstance(environ, ResolvedEnviron):
        return environ
    references = {
        name: ref for name, value in environ.items() if (ref := parse_reference(value)) is not None
    }
    values = dict(environ)
    if not references:
        return ResolvedEnviron(values, {})
    clients = clients or AwsClients(environ)
    problems = Problems()
    secret_ids = sorted({r.id for r in references.values() if r.kind == "secretsmanager"})
    parameter_ids = sorted({r.id for r in references.values() if r.kind == "ssm"})
    secrets = _fetch_secrets(clients, secret_ids) if secret_ids else {}
    parameters = _fetch_parameters(clients, parameter_ids) if parameter_ids else {}
    for name, ref in sorted(references.items()):
        value = _select(
            ref, (secrets if ref.kind == "secretsmanager" else parameters).get(ref.id, _MISSING)
        )
        if isinstance(value, _Failure):
            problems.add(name, f"cannot resolve {ref}: {value.reason}")
        else:
            values[name] = value
    problems.raise_if_any()
    return ResolvedEnviron(values, references)


def fetch_reference(reference: Reference, clients: AwsClients) -> str:
    """Fetch one reference now, bypassing earlier resolution (re-reading a rotated password)."""
    fetch = _fetch_secrets if reference.kind == "secretsmanager" else _fetch_parameters
    value = _select(reference, fetch(clients, [reference.id]).get(reference.id, _MISSING))
    if isinstance(value, _Failure):
        raise ConfigError([Problem(str(reference), value.reason)])
    return value


@dataclass(frozen=True)
class _Failure:
    reason: str


_MISSING = _Failure("was not returned by AWS")


def _select(ref: Reference, raw: str | _Failure) -> str | _Failure:
    """The referenced value, or the JSON key of it when the reference names one."""
    if isinstance(raw, _Failure) or ref.json_key is None:
        return raw
    try:
        document = json.loads(raw)
    except ValueError:
        return _Failure(f"the value is not JSON, so it has no key {ref.json_key!r}")
    if not isinstance(document, dict):
        return _Failure(f"the value is not a JSON object, so it has no key {ref.json_key!r}")
    if ref.json_key not in document:
        keys = ", ".join(sorted(map(str, document))) or "none"
        return _Failure(f"the JSON has no key {ref.json_key!r} (keys present: {keys})")
    value = document[ref.json_key]
    return value if isinstance(value, str) else json.dumps(value)


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def aws_failure_reason(error: Exception, service: str, region: str | None) -> str:
    """One sentence on why a boto3 call failed, without echoing any value (for callers
    outside this module that read AWS themselves, such as the cutover commands)."""
    return _aws_failure(error, service, region).reason


def _aws_failure(error: Exception, service: str, region: str | None) -> _Failure:
    """Explain an exception from boto3 in one sentence, without echoing any value."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionError,
        HTTPClientError,
        NoCredentialsError,
        NoRegionError,
    )

    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "error")
        if "AccessDenied" in code:
            return _Failure(f"access denied by {service} ({code}); check the task role's policy")
        return _Failure(f"{service} answered {code}")
    if isinstance(error, NoCredentialsError):
        return _Failure("no AWS credentials found (expected the task role or the default chain)")
    if isinstance(error, NoRegionError):
        return _Failure("no AWS region: set AWS_REGION")
    if isinstance(error, (ConnectionError, HTTPClientError)):
        return _Failure(
            f"could not reach {service} in {region or 'the default region'}"
            f" ({type(error).__name__})"
        )
    if isinstance(error, BotoCoreError):
        return _Failure(f"{service} call failed ({type(error).__name__})")
    raise error


_ERROR_REASONS = {
    "ResourceNotFoundException": "not found",
    "AccessDeniedException": "access denied; check the task role's policy",
    "DecryptionFailure": "cannot be decrypted; check access to its KMS key",
}


def _fetch_secrets(clients: AwsClients, ids: Sequence[str]) -> dict[str, str | _Failure]:
    found: dict[str, str | _Failure] = {}
    for chunk in _chunks(ids, SECRETS_PER_CALL):
        try:
            response = clients.secretsmanager().batch_get_secret_value(SecretIdList=list(chunk))
        except Exception as error:  # noqa: BLE001 - translated into one reason per reference
            failure = _aws_failure(error, "Secrets Manager", clients.region)
            found.update(dict.fromkeys(chunk, failure))
            continue
        for entry in response.get("SecretValues", []):
            secret_id = _requested_id(chunk, entry.get("Name", ""), entry.get("ARN", ""))
            if secret_id is None:
                continue
            if "SecretString" in entry:
                found[secret_id] = entry["SecretString"]
            else:
                found[secret_id] = _Failure("is a binary secret; only string secrets are supported")
        for error_entry in response.get("Errors", []):
            code = error_entry.get("ErrorCode", "error")
            found[error_entry.get("SecretId", "")] = _Failure(_ERROR_REASONS.get(code, code))
    return found


def _requested_id(requested: Sequence[str], name: str, arn: str) -> str | None:
    """Which requested id (name, full ARN or ARN without the random suffix) an entry answers."""
    for secret_id in requested:
        if secret_id in (name, arn) or (
            secret_id.startswith("arn:") and arn.startswith(secret_id + "-")
        ):
            return secret_id
    return None


def _fetch_parameters(clients: AwsClients, ids: Sequence[str]) -> dict[str, str | _Failure]:
    found: dict[str, str | _Failure] = {}
    for chunk in _chunks(ids, PARAMETERS_PER_CALL):
        try:
            response = clients.ssm().get_parameters(Names=list(chunk), WithDecryption=True)
        except Exception as error:  # noqa: BLE001 - translated into one reason per reference
            failure = _aws_failure(error, "SSM Parameter Store", clients.region)
            found.update(dict.fromkeys(chunk, failure))
            continue
        for parameter in response.get("Parameters", []):
            for parameter_id in chunk:
                if parameter_id in (parameter.get("Name"), parameter.get("ARN")):
                    found[parameter_id] = parameter.get("Value", "")
        for invalid in response.get("InvalidParameters", []):
            found[invalid] = _Failure("not found")
    return found


class Reader:
    """Typed reads from one environment that collect every problem instead of stopping.

    Builders read all they need, then call :meth:`raise_if_any` once. A message that
    quotes a value goes through :meth:`shown`, so a value from a reference or a URL's
    credentials never reach an error.
    """

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.references: Mapping[str, Reference] = getattr(environ, "references", {})
        self.problems = Problems()
        value = self.text("DJANGO_ENV") or DEVELOPMENT
        name = value.lower()
        if name not in ENVIRONMENTS:
            self.problem(
                "DJANGO_ENV",
                f"expected one of {', '.join(ENVIRONMENTS)}, got {self.shown('DJANGO_ENV', value)}",
            )
            name = PRODUCTION  # be strict when unsure
        self.name = name
        self.production = name == PRODUCTION

    def problem(self, name: str, message: str) -> None:
        self.problems.add(name, message)

    def raise_if_any(self) -> None:
        self.problems.raise_if_any()

    def shown(self, name: str, *values: str) -> str:
        """How a message may quote ``values`` read from variable ``name``.

        Their repr() when they were written in the environment itself; for a value that
        came from a reference, or a URL with credentials, only its shape (and the reference).
        """
        return quoted(values, self.references.get(name))

    def text(self, name: str, default: str | None = None) -> str | None:
        """The stripped value, or ``default`` when unset or empty."""
        value = self.environ.get(name, "").strip()
        return value or default

    def required(self, name: str, expected: str) -> str | None:
        """The value; in production a missing one is a problem that says what was expected."""
        value = self.text(name)
        if value is None and self.production:
            self.problem(name, f"is required when DJANGO_ENV=production; expected {expected}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = self.text(name)
        if value is None:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        self.problem(name, "expected a boolean (true/false, 1/0, yes/no, on/off)")
        return default

    def integer(
        self, name: str, default: int, *, minimum: int = 0, maximum: int | None = None
    ) -> int:
        """A whole number within [minimum, maximum]. Always bounded (INTEGER_CEILING when
        no maximum is given): a huge one reaches C code (libpq, sockets) and fails only at
        the first request."""
        maximum = INTEGER_CEILING if maximum is None else maximum
        value = self.text(name)
        if value is None:
            return default
        number = int(value) if _INTEGER.fullmatch(value) else None
        if number is None or not minimum <= number <= maximum:
            plain = number is not None and name not in self.references
            got = str(number) if plain else self.shown(name, value)
            self.problem(name, f"expected an integer between {minimum} and {maximum}, got {got}")
            return default
        return number

    def items(self, name: str) -> list[str]:
        """Comma-separated values, stripped, empties dropped."""
        return [item.strip() for item in (self.text(name) or "").split(",") if item.strip()]

    def choice(self, name: str, choices: Sequence[str], default: str) -> str:
        given = self.text(name)
        value = (given or default).lower()
        if value not in choices:
            shown = self.shown(name, given or default)
            self.problem(name, f"expected one of {', '.join(choices)}, got {shown}")
            return default
        return value


# Schemes a message may name: the scheme is the shape of a URL, but an unknown one could
# be the start of a pasted secret.
KNOWN_SCHEMES = frozenset(
    {
        "amqp", "amqps", "cockroachdb", "dummy", "file", "ftp", "http", "https", "kafka",
        "ldap", "locmem", "memcached", "mongodb", "mssql", "mysql", "mysql2", "oracle",
        "pgsql", "postgis", "postgres", "postgresql", "psql", "pymemcache", "redis",
        "rediss", "redshift", "s3", "spatialite", "sqlite", "sqs", "ssh", "valkey", "valkeys",
    }
)  # fmt: skip
_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.\-_]{0,30})://(.*)", re.DOTALL)
_MAX_QUOTED = 100
_JSON_PART = re.compile(r'"\s*:')  # a JSON key, as in {"password": ...}


def shape(value: str) -> str:
    """What ``value`` looks like, without any of its content: 'a postgres:// URL'."""
    url = _URL.match(value)
    if url is not None:
        scheme = url.group(1).lower()
        return f"a {scheme}:// URL" if scheme in KNOWN_SCHEMES else "a URL"
    stripped = value.strip()
    if stripped.startswith("{"):
        return "a JSON object"
    if stripped.startswith("["):
        return "a JSON array"
    if _INTEGER.fullmatch(stripped):
        return "a number"
    return "a value"


def has_credentials(value: str) -> bool:
    """Whether ``value`` is, or holds, a URL with a user name, password or token in it."""
    url = _URL.search(value)
    if url is not None:
        return "@" in url.group(2) or "?" in url.group(2)
    user, at, _ = value.partition("@")
    return bool(at) and ":" in user


def quoted(values: Sequence[str], reference: Reference | None = None) -> str:
    """``values`` for a message: repr() when safe, else their shape and where they came from."""
    if reference is not None:
        what = shape(values[0]) if len(values) == 1 else f"{len(values)} entries"
        return f"{what} from {reference} (not shown)"
    return ", ".join(_quoted_plain(value) for value in values)


def _quoted_plain(value: str) -> str:
    if has_credentials(value):
        return f"{shape(value)} with credentials (not shown)"
    # ECS injects a whole secret when a task definition's valueFrom lacks the ":KEY::"
    # suffix: the variable then holds the secret's JSON, which no reference marks.
    if _JSON_PART.search(value) or value.lstrip().startswith(("{", "[")):
        return "part of a JSON document (not shown)"
    return repr(value if len(value) <= _MAX_QUOTED else value[:_MAX_QUOTED] + "...")


def reader(environ: Mapping[str, str] | None) -> Reader:
    """A Reader over the resolved environment (``os.environ`` when None)."""
    return Reader(resolved(environ))


__all__ = [
    "AwsClients",
    "ConfigError",
    "Reader",
    "Reference",
    "ResolvedEnviron",
    "aws_failure_reason",
    "aws_region",
    "fetch_reference",
    "has_credentials",
    "parse_reference",
    "quoted",
    "reader",
    "resolved",
    "shape",
]

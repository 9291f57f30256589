"""Task definition files: render their placeholders and check them against ECS's own model.

The template writes one JSON file per role (web, worker, beat, migrate) holding a
RegisterTaskDefinition request with three placeholders, in Terraform's ``${name}``
syntax so that Terraform's ``templatefile()`` renders the very same files:
``${image}``, ``${environment}``, in the worker file ``${queue}``, and ``${account}``
where every environment runs in an AWS account of its own (the role and secret ARNs).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..settings.errors import ConfigError, Problem

PLACEHOLDER = re.compile(r"\$\{([a-z_]+)\}")
NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}\Z")  # \Z: "$" would let a trailing newline in
ACCOUNT = re.compile(r"^[0-9]{12}\Z")
# An OCI image reference: [registry[:port]/]path[:tag][@sha256:digest], as ECS accepts it
# (at most 255 characters); anything else (quotes, spaces, JSON) is refused.
IMAGE = re.compile(
    r"^(?=.{1,255}\Z)"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"(?::[0-9]{1,5})?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"
    r"(?:@sha256:[0-9a-f]{64})?\Z"
)


def render_task_definition(path: Path, values: Mapping[str, str]) -> dict[str, Any]:
    """The RegisterTaskDefinition request in ``path`` with every placeholder filled.

    The file is parsed first and the values are put into the parsed strings, so no value
    can change the JSON around it (an --image holding ``", "privileged": true`` stays one
    string). Raises ConfigError naming the file and each placeholder without a value, an
    image that is not an image reference, or values that would not fit in a family or log
    stream name; OSError when the file cannot be read.
    """
    document = _request_document(path)
    used: set[str] = set()
    _placeholders(document, used)
    problems = [
        Problem(f"${{{name}}}", f"{path} uses it but no value was given")
        for name in sorted(used - set(values))
    ]
    problems += [
        Problem(
            f"--{name}",
            f"expected lowercase letters, digits and dashes (at most 31), got {value!r}",
        )
        for name, value in values.items()
        if name not in ("image", "account") and not NAME.match(value)
    ]
    if "account" in values and not ACCOUNT.match(values["account"]):
        problems.append(
            Problem("--account", f"expected a 12-digit AWS account id, got {values['account']!r}")
        )
    if "image" in values and not IMAGE.match(values["image"]):
        problems.append(
            Problem(
                "--image",
                "expected an image reference such as "
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:3f9c2a1 "
                "(registry/repository[:tag][@sha256:digest])",
            )
        )
    if problems:
        raise ConfigError(problems)
    rendered: dict[str, Any] = _filled(document, values)
    return rendered


def _request_document(path: Path) -> dict[str, Any]:
    """The file's JSON object, or ConfigError naming the file and what it is instead."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError([Problem(str(path), "is not UTF-8 text")]) from None
    try:
        document = json.loads(text)
    except ValueError as error:
        # The decoder's message names a line and column, never the text there.
        problem = Problem(str(path), f"is not valid JSON ({error})")
        raise ConfigError([problem]) from None
    if not isinstance(document, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean"}.get(
            type(document), "a number" if isinstance(document, (int, float)) else "null"
        )
        problem = Problem(
            str(path), f"expected a JSON object (a RegisterTaskDefinition request), got {kind}"
        )
        raise ConfigError([problem])
    return document


def _placeholders(node: Any, found: set[str]) -> None:
    """Collect the placeholder names used in any string (keys included) of ``node``."""
    if isinstance(node, str):
        found.update(PLACEHOLDER.findall(node))
    elif isinstance(node, dict):
        for key, value in node.items():
            _placeholders(key, found)
            _placeholders(value, found)
    elif isinstance(node, list):
        for item in node:
            _placeholders(item, found)


def _filled(node: Any, values: Mapping[str, str]) -> Any:
    """``node`` with every placeholder in its strings replaced; other values unchanged."""
    if isinstance(node, str):
        return PLACEHOLDER.sub(lambda match: values[match.group(1)], node)
    if isinstance(node, dict):
        return {_filled(key, values): _filled(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [_filled(item, values) for item in node]
    return node


def validation_errors(request: Mapping[str, Any]) -> list[str]:
    """What botocore's ECS model says is wrong with a RegisterTaskDefinition request."""
    import botocore.session
    from botocore.exceptions import ParamValidationError
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("ecs")
    shape = model.operation_model("RegisterTaskDefinition").input_shape
    assert shape is not None
    report = ParamValidator().validate(dict(request), shape)
    if not report.has_errors():
        return []
    try:
        raise ParamValidationError(report=report.generate_report())
    except ParamValidationError as error:
        return [_WRONG_VALUE.sub("", line) for line in str(error).splitlines()[1:]]


# botocore quotes the value of a parameter of the wrong type; in a task definition that may
# be an environment value, i.e. a secret typed in by mistake. The parameter's path and the
# types say enough.
_WRONG_VALUE = re.compile(r", value: .*?(?=, type: <class )")

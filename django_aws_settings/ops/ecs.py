"""Task definition files: render their placeholders and check them against ECS's own model.

The template writes one JSON file per role (web, worker, beat, migrate) holding a
RegisterTaskDefinition request with three placeholders, in Terraform's ``${name}``
syntax so that Terraform's ``templatefile()`` renders the very same files:
``${image}``, ``${environment}`` and, in the worker file, ``${queue}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..settings.errors import ConfigError, Problem

PLACEHOLDER = re.compile(r"\$\{([a-z_]+)\}")
NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


def render_task_definition(path: Path, values: Mapping[str, str]) -> dict[str, Any]:
    """The RegisterTaskDefinition request in ``path`` with every placeholder filled.

    Raises ConfigError naming the file and each placeholder without a value, or the
    values that would not fit in a family or log stream name.
    """
    text = path.read_text()
    problems = [
        Problem(f"${{{name}}}", f"{path} uses it but no value was given")
        for name in sorted(set(PLACEHOLDER.findall(text)) - set(values))
    ]
    problems += [
        Problem(name, f"expected lowercase letters, digits and dashes, got {value!r}")
        for name, value in values.items()
        if name != "image" and not NAME.match(value)
    ]
    if problems:
        raise ConfigError(problems)
    rendered = PLACEHOLDER.sub(lambda match: values[match.group(1)], text)
    try:
        document: dict[str, Any] = json.loads(rendered)
    except ValueError as error:
        problem = Problem(str(path), f"is not valid JSON after rendering: {error}")
        raise ConfigError([problem]) from None
    return document


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
        return str(error).splitlines()[1:]

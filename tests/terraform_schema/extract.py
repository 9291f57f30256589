"""Regenerate provider_schemas.json.gz: the configurable schema of the providers the template uses.

Each schema comes from the jsii assembly inside a ``cdktn-provider-<name>`` wheel, which is
generated from that Terraform provider (its version is recorded in the output).
Every resource and data source keeps what a configuration can write: attribute names with
their required flag, and nested blocks (required, at most one, their own attributes and
blocks), plus the names of the attributes only the provider sets (``c``: arn, endpoint...).
Types are left out, so the file stays small.

    python tests/terraform_schema/extract.py              # downloads the pinned wheels with pip
    python tests/terraform_schema/extract.py --wheels DIR # wheels downloaded already
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Any

WHEELS = {
    "aws": "cdktn-provider-aws==25.8.1",
    "random": "cdktn-provider-random==15.0.1",
    "tls": "cdktn-provider-tls==14.1.1",
}
OUTPUT = Path(__file__).with_name("provider_schemas.json.gz")
# A resource class's summary: "Represents a {@link https://registry.terraform.io/providers/
# hashicorp/aws/6.69.1/docs/resources/ecs_service aws_ecs_service}."
REPRESENTS = re.compile(
    r"Represents a \{@link https://registry\.terraform\.io/providers/hashicorp/\w+/"
    r"(?P<version>[0-9.]+)/docs/(?P<kind>resources|data-sources)/\S+ (?P<name>\w+)\}"
)
ANCHOR = re.compile(r"/docs/(?:resources|data-sources)/\w+#(?P<name>\w+) ")
META_ARGUMENTS = {
    "count",
    "dependsOn",
    "forEach",
    "lifecycle",
    "provider",
    "connection",
    "provisioners",
}

Schema = dict[str, Any]


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--wheels", type=Path, help="a folder with the wheels downloaded")
    options = arguments.parse_args()
    schemas = {}
    with tempfile.TemporaryDirectory() as scratch:
        for provider, requirement in WHEELS.items():
            wheel = wheel_path(options.wheels or Path(scratch), requirement, options.wheels is None)
            schemas[provider] = provider_schema(read_assembly(wheel))
    text = json.dumps(schemas, sort_keys=True, separators=(",", ":")).encode()
    # mtime=0: the same schema gives the same bytes, so a regeneration shows no diff.
    OUTPUT.write_bytes(gzip.compress(text, compresslevel=9, mtime=0))
    for provider, schema in schemas.items():
        counts = {kind: len(schema[kind]) for kind in ("resource", "data")}
        print(f"{provider} {schema['provider_version']}: {counts}")


def wheel_path(directory: Path, requirement: str, download: bool) -> Path:
    if download:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                requirement,
                "--dest",
                str(directory),
            ],
            check=True,
        )
    name, _, version = requirement.partition("==")
    return directory / f"{name.replace('-', '_')}-{version}-py3-none-any.whl"


def read_assembly(wheel: Path) -> dict[str, Any]:
    """The .jsii assembly: a JSON file inside a tarball inside the wheel."""
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".jsii.tgz")]
        tarball = archive.read(name)
    with tarfile.open(fileobj=io.BytesIO(tarball)) as tar:
        member = tar.extractfile("package/.jsii")
        assert member is not None
        assembly: dict[str, Any] = json.load(member)
    return assembly


def provider_schema(assembly: dict[str, Any]) -> Schema:
    types: dict[str, Any] = assembly["types"]
    schema: Schema = {"resource": {}, "data": {}}
    versions = set()
    for definition in types.values():
        match = REPRESENTS.search(definition.get("docs", {}).get("summary", ""))
        if definition["kind"] != "class" or match is None:
            continue
        versions.add(match["version"])
        kind = "resource" if match["kind"] == "resources" else "data"
        # The constructor's `config` parameter is the resource's configuration struct.
        (config,) = [p for p in definition["initializer"]["parameters"] if p["name"] == "config"]
        configurable = block(types, types[config["type"]["fqn"]], top=True)
        schema[kind][match["name"]] = {**configurable, "c": computed(definition, configurable)}
    (schema["provider_version"],) = versions
    return schema


def block(
    types: dict[str, Any], struct: dict[str, Any], *, top: bool = False, seen: tuple[str, ...] = ()
) -> Schema:
    """{"a": {name: required}, "b": {name: {"required", "single", "a", "b"}}} of a struct."""
    attributes: dict[str, bool] = {}
    blocks: dict[str, Schema] = {}
    for prop in struct.get("properties", []):
        if top and prop["name"] in META_ARGUMENTS:
            continue
        name = snake_name(prop)
        required = not prop.get("optional", False)
        nested = block_struct(prop)
        if nested is None:
            attributes[name] = required
            continue
        single, fqn = nested
        if fqn is None or fqn in seen:  # too deep for the generator, or recursive
            blocks[name] = {"required": required, "single": single, "any": True}
        else:
            blocks[name] = {
                "required": required,
                "single": single,
                **block(types, types[fqn], seen=(*seen, fqn)),
            }
    return {"a": attributes, "b": blocks}


def computed(definition: dict[str, Any], configurable: Schema) -> list[str]:
    """Attributes only the provider sets (arn, endpoint...): the class's other getters."""
    names = {
        snake_name(prop)
        for prop in definition.get("properties", [])
        if not prop.get("static") and not prop["name"].endswith("Input")
    }
    return sorted(names - set(configurable["a"]) - set(configurable["b"]))


def block_struct(prop: dict[str, Any]) -> tuple[bool, str | None] | None:
    """(at most one?, struct fqn) when the property is a nested block, else None.

    The fqn is None for blocks nested too deep for the generator (typed ``any``)."""
    summary = prop["docs"].get("summary", "")
    if not summary.endswith(" block."):
        return None  # an attribute, possibly of an object type
    kind = prop["type"]
    if "fqn" in kind:
        return True, kind["fqn"]
    for option in kind.get("union", {}).get("types", []):
        if "collection" in option:
            return False, option["collection"]["elementtype"]["fqn"]
    if kind.get("primitive") == "any":
        return False, None
    raise ValueError(f"unexpected block type for {prop['name']}: {kind}")


def snake_name(prop: dict[str, Any]) -> str:
    docs = prop["docs"]
    match = ANCHOR.search(docs.get("summary", "") + " " + docs.get("remarks", "") + " ")
    if match is not None:
        return match["name"]
    # A few properties (region, nested block members) carry no registry link.
    return re.sub(r"(?<!^)(?=[A-Z])", "_", prop["name"]).lower()


if __name__ == "__main__":
    main()

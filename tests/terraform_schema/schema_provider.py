"""A Terraform provider that only knows a schema: enough for a real ``terraform validate``.

There are no provider binaries offline, but Terraform validates a configuration with
nothing from a provider except its schema. This plugin serves one provider's schema from
provider_schemas.json.gz over the plugin protocol (the ``tf`` package does the go-plugin
handshake, TLS and gRPC) and accepts every configuration it is asked to validate, so what
Terraform reports is Terraform's own checking: unknown arguments and blocks, missing
required ones, references to attributes that do not exist, undeclared variables, module
calls, functions, types of expressions. Every attribute is typed ``dynamic`` (the schema
file keeps no types); blocks are lists, at most one when the provider says so.

Terraform starts it through ``dev_overrides`` in a CLI configuration file:

    schema_provider.py <provider name> <schema file> [<untyped block shapes>]

The optional third file (support.terraform_schema.untyped_block_shapes) narrows the schema to the
types the configuration names, and gives the few types whose deep blocks the assembly
leaves untyped (WAF rule statements) the shape the configuration writes.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

DYNAMIC = b'"dynamic"'


def schema_block(pb: Any, spec: dict[str, Any]) -> Any:
    attributes = [
        pb.Schema.Attribute(
            name=name,
            type=DYNAMIC,
            required=required or None,
            optional=(not required) or None,
            computed=(not required) or None,
        )
        for name, required in spec.get("a", {}).items()
    ]
    attributes += [
        pb.Schema.Attribute(name=name, type=DYNAMIC, computed=True) for name in spec.get("c", [])
    ]
    blocks = [
        pb.Schema.NestedBlock(
            type_name=name,
            block=pb.Schema.Block() if nested.get("any") else schema_block(pb, nested),
            nesting=pb.Schema.NestedBlock.NestingMode.LIST,
            min_items=1 if nested["required"] else 0,
            max_items=1 if nested["single"] else 0,
        )
        for name, nested in spec.get("b", {}).items()
    ]
    return pb.Schema.Block(attributes=attributes, block_types=blocks)


def main(name: str, schema_file: Path, shapes_file: Path | None) -> None:
    import tf.provider  # type: ignore[import-untyped]
    from tf.gen import tfplugin_pb2 as pb  # type: ignore[import-untyped]
    from tf.runner import run_provider  # type: ignore[import-untyped]

    schema = json.loads(gzip.decompress(schema_file.read_bytes()))[name]
    if shapes_file is not None:
        shapes = json.loads(shapes_file.read_text())
        for kind in ("resource", "data"):
            # Only the types the configuration names: a schema of thousands of types takes
            # seconds to build, and an unknown type is reported by Terraform either way.
            used = shapes.get(f"used {kind}", {})
            schema[kind] = {t: s for t, s in schema[kind].items() if t in used}
            schema[kind].update({t: s for t, s in shapes[kind].items() if t in schema[kind]})
    # The provider block itself: what the template's provider blocks set.
    provider = {
        "a": {"region": False, "allowed_account_ids": False},
        "b": {"default_tags": {"required": False, "single": True, "a": {"tags": False}, "b": {}}},
    }

    class SchemaOnly(tf.provider.ProviderServicer):  # type: ignore[misc]
        def GetProviderSchema(self, request: Any, context: Any) -> Any:
            return pb.GetProviderSchema.Response(
                provider=pb.Schema(block=schema_block(pb, provider if name == "aws" else {})),
                provider_meta=pb.Schema(block=pb.Schema.Block()),
                resource_schemas={
                    t: pb.Schema(block=schema_block(pb, s)) for t, s in schema["resource"].items()
                },
                data_source_schemas={
                    t: pb.Schema(block=schema_block(pb, s)) for t, s in schema["data"].items()
                },
            )

        def ValidateProviderConfig(self, request: Any, context: Any) -> Any:
            return pb.ValidateProviderConfig.Response()

        def ValidateResourceConfig(self, request: Any, context: Any) -> Any:
            return pb.ValidateResourceConfig.Response()

        def ValidateDataResourceConfig(self, request: Any, context: Any) -> Any:
            return pb.ValidateDataResourceConfig.Response()

    class Named:
        def full_name(self) -> str:
            return f"registry.terraform.io/hashicorp/{name}"

    tf.provider.ProviderServicer = SchemaOnly  # run_provider serves this class
    run_provider(Named(), [sys.argv[0]])


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]) if len(sys.argv) > 3 else None)

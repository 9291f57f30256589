"""A small evaluator of the generated Terraform, for the subset of HCL the template uses.

:class:`Instance` evaluates a module the way Terraform would at plan time (references,
string templates, conditionals, for expressions, splats, a few functions,
``templatefile``). Arguments of resources are evaluated from their configuration; what only
AWS knows after apply is an :class:`Unknown` that carries its address (so two references to
one unknown compare equal); the handful of attributes AWS derives from a name (role and log
group ARNs, secret ARNs up to their random suffix) are computed by
:data:`DERIVED_ATTRIBUTES`.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
from lark import Token, Tree

# What a Secrets Manager ARN ends with: a dash and six random characters.
SECRET_SUFFIX = "-??????"


@dataclass
class Block:
    """A block's arguments (expression trees) and nested blocks, in source order."""

    type: str
    labels: tuple[str, ...]
    arguments: dict[str, Tree[Token]] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)

    def nested(self, type_name: str) -> list[Block]:
        return [b for b in self.blocks if b.type == type_name]

    def ignored_changes(self) -> set[str]:
        """The names in lifecycle { ignore_changes = [...] }."""
        return {
            str(node.children[0])
            for lifecycle in self.nested("lifecycle")
            if "ignore_changes" in lifecycle.arguments
            for node in lifecycle.arguments["ignore_changes"].iter_subtrees()
            if node.data == "identifier"
        }


@dataclass
class Module:
    """One directory of .tf files, read once."""

    directory: Path
    variables: dict[str, Block] = field(default_factory=dict)
    locals: dict[str, Tree[Token]] = field(default_factory=dict)
    resources: dict[tuple[str, str], Block] = field(default_factory=dict)
    data: dict[tuple[str, str], Block] = field(default_factory=dict)
    modules: dict[str, Block] = field(default_factory=dict)
    outputs: dict[str, Block] = field(default_factory=dict)
    providers: list[Block] = field(default_factory=list)
    terraform: list[Block] = field(default_factory=list)

    @classmethod
    @functools.cache
    def read(cls, directory: Path) -> Module:
        module = cls(directory.resolve())
        for path in sorted(directory.glob("*.tf")):
            for block in _top_blocks(hcl2.parses_to_tree(path.read_text())):
                module._add(block)
        return module

    def _add(self, block: Block) -> None:
        if block.type == "variable":
            self.variables[block.labels[0]] = block
        elif block.type == "locals":
            self.locals.update(block.arguments)
        elif block.type == "resource":
            self.resources[(block.labels[0], block.labels[1])] = block
        elif block.type == "data":
            self.data[(block.labels[0], block.labels[1])] = block
        elif block.type == "module":
            self.modules[block.labels[0]] = block
        elif block.type == "output":
            self.outputs[block.labels[0]] = block
        elif block.type == "provider":
            self.providers.append(block)
        elif block.type == "terraform":
            self.terraform.append(block)

    def references(self) -> set[tuple[str, str]]:
        """Every var.X / local.X / module.X read anywhere in the module, as (kind, name)."""
        found: set[tuple[str, str]] = set()
        blocks: list[Block] = [
            *self.variables.values(),
            *self.resources.values(),
            *self.data.values(),
            *self.modules.values(),
            *self.outputs.values(),
            *self.providers,
        ]
        trees = list(self.locals.values())
        while blocks:
            block = blocks.pop()
            trees += block.arguments.values()
            blocks += block.blocks
        for tree in trees:
            for node in tree.iter_subtrees():
                if node.data == "get_attr_expr_term":
                    base, attribute = node.children
                    root = _identifier(base)
                    name = (
                        _identifier(attribute.children[-1]) if isinstance(attribute, Tree) else None
                    )
                    if root in ("var", "local", "module") and name is not None:
                        found.add((root, name))
        return found


def _identifier(node: Any) -> str | None:
    """The name of an identifier node (possibly wrapped in expr_term), else None."""
    while isinstance(node, Tree) and node.data == "expr_term" and len(node.children) == 1:
        node = node.children[0]
    if isinstance(node, Tree) and node.data == "identifier":
        return str(node.children[0])
    return None


def _top_blocks(tree: Tree[Token]) -> Iterator[Block]:
    (body,) = [c for c in tree.children if isinstance(c, Tree) and c.data == "body"]
    for child in body.children:
        if isinstance(child, Tree) and child.data == "block":
            yield _block(child)


def _block(node: Tree[Token]) -> Block:
    parts = [c for c in node.children if isinstance(c, Tree)]
    head = [p for p in parts if p.data in ("identifier", "string", "keyword")]
    (body,) = [p for p in parts if p.data == "body"]
    type_name = _identifier(head[0]) or ""
    labels = tuple(_label(h) for h in head[1:])
    block = Block(type_name, labels)
    for child in body.children:
        if not isinstance(child, Tree):
            continue
        if child.data == "attribute":
            name_node, *_, expression = child.children
            assert isinstance(name_node, Tree)
            assert isinstance(expression, Tree)
            block.arguments[_label(name_node)] = expression
        elif child.data == "block":
            block.blocks.append(_block(child))
    return block


def _label(node: Tree[Token]) -> str:
    if node.data == "string":
        return "".join(str(p.children[0]) for p in node.children if isinstance(p, Tree))
    return str(node.children[0])


# ------------------------------------------------------------------ evaluation


class Unknown(str):
    """A value only AWS knows after apply, spelled ⟨address⟩ so it can sit in strings."""

    __slots__ = ()

    def __new__(cls, address: str) -> Unknown:
        return super().__new__(cls, f"⟨{address}⟩")

    @property
    def address(self) -> str:
        return self[1:-1]


@dataclass(frozen=True)
class Facts:
    """What data sources return in the account the environment's provider is pinned to."""

    account_id: str
    region: str


def _arn_from_name(template: str) -> Callable[[Facts, Callable[[str], Any]], Any]:
    return lambda facts, argument: template.format(
        account=facts.account_id, region=facts.region, name=argument("name")
    )


# Attributes AWS derives from what the configuration names (documented ARN formats).
DERIVED_ATTRIBUTES: dict[tuple[str, str], Callable[[Facts, Callable[[str], Any]], Any]] = {
    ("aws_iam_role", "arn"): _arn_from_name("arn:aws:iam::{account}:role/{name}"),
    ("aws_iam_role", "id"): lambda facts, argument: argument("name"),
    ("aws_cloudwatch_log_group", "arn"): _arn_from_name(
        "arn:aws:logs:{region}:{account}:log-group:{name}"
    ),
    ("aws_secretsmanager_secret", "arn"): _arn_from_name(
        "arn:aws:secretsmanager:{region}:{account}:secret:{name}" + SECRET_SUFFIX
    ),
    ("aws_secretsmanager_secret", "id"): _arn_from_name(
        "arn:aws:secretsmanager:{region}:{account}:secret:{name}" + SECRET_SUFFIX
    ),
    ("aws_ssm_parameter", "arn"): _arn_from_name("arn:aws:ssm:{region}:{account}:parameter{name}"),
    ("aws_ecs_cluster", "arn"): _arn_from_name("arn:aws:ecs:{region}:{account}:cluster/{name}"),
    ("aws_sqs_queue", "arn"): _arn_from_name("arn:aws:sqs:{region}:{account}:{name}"),
    ("aws_sqs_queue", "url"): _arn_from_name("https://sqs.{region}.amazonaws.com/{account}/{name}"),
    ("aws_sqs_queue", "id"): _arn_from_name("https://sqs.{region}.amazonaws.com/{account}/{name}"),
    ("aws_ecs_cluster", "id"): _arn_from_name("arn:aws:ecs:{region}:{account}:cluster/{name}"),
    ("aws_s3_bucket", "id"): lambda facts, argument: argument("bucket"),
    ("aws_s3_bucket", "arn"): lambda facts, argument: f"arn:aws:s3:::{argument('bucket')}",
    ("aws_ecr_repository", "arn"): _arn_from_name(
        "arn:aws:ecr:{region}:{account}:repository/{name}"
    ),
    ("aws_ecr_repository", "repository_url"): _arn_from_name(
        "{account}.dkr.ecr.{region}.amazonaws.com/{name}"
    ),
    ("aws_iam_openid_connect_provider", "arn"): lambda facts, argument: (
        f"arn:aws:iam::{facts.account_id}:oidc-provider/"
        + str(argument("url")).removeprefix("https://")
    ),
}
DATA_ATTRIBUTES: dict[tuple[str, str], Callable[[Facts, Callable[[str], Any]], Any]] = {
    ("aws_caller_identity", "account_id"): lambda facts, argument: facts.account_id,
    ("aws_region", "region"): lambda facts, argument: facts.region,
    ("aws_ecr_repository", "arn"): DERIVED_ATTRIBUTES[("aws_ecr_repository", "arn")],
    ("aws_ecr_repository", "repository_url"): DERIVED_ATTRIBUTES[
        ("aws_ecr_repository", "repository_url")
    ],
    ("aws_iam_openid_connect_provider", "arn"): lambda facts, argument: (
        f"arn:aws:iam::{facts.account_id}:oidc-provider/"
        + str(argument("url")).removeprefix("https://")
    ),
}


@dataclass
class ResourceInstance:
    """One instance of a resource or data block (count.index / each.key applied)."""

    owner: Instance
    kind: str  # "resource" or "data"
    type: str
    name: str
    block: Block
    key: int | str | None = None
    each_value: Any = None

    @property
    def address(self) -> str:
        base = (
            f"{self.owner.address}{'data.' if self.kind == 'data' else ''}{self.type}.{self.name}"
        )
        if isinstance(self.key, int):
            return f"{base}[{self.key}]"
        return f"{base}[{json.dumps(self.key)}]" if self.key is not None else base

    @property
    def scope(self) -> dict[str, Any]:
        if isinstance(self.key, int) and "count" in self.block.arguments:
            return {"count": {"index": self.key}}
        if self.key is not None:
            return {"each": {"key": self.key, "value": self.each_value}}
        return {}

    def argument(self, name: str, default: Any = None) -> Any:
        tree = self.block.arguments.get(name)
        return default if tree is None else self.owner.evaluate(tree, self.scope)

    def get(self, attribute: str) -> Any:
        derived = (DATA_ATTRIBUTES if self.kind == "data" else DERIVED_ATTRIBUTES).get(
            (self.type, attribute)
        )
        if derived is not None:
            return derived(self.owner.facts, self.argument)
        if self.kind == "data" and self.type == "aws_iam_policy_document" and attribute == "json":
            return policy_statements(self)
        if attribute in self.block.arguments:
            return self.argument(attribute)
        return Unknown(f"{self.address}.{attribute}")

    def nested_blocks(
        self, type_name: str, block: Block | None = None, scope: Mapping[str, Any] | None = None
    ) -> list[tuple[Block, dict[str, Any]]]:
        """Nested blocks of a type, dynamic ones expanded, each with its evaluation scope."""
        parent = block or self.block
        base = {**self.scope, **(scope or {})}
        found = [(b, dict(base)) for b in parent.nested(type_name)]
        for dynamic in parent.nested("dynamic"):
            if dynamic.labels != (type_name,):
                continue
            items = self.owner.evaluate(dynamic.arguments["for_each"], base)
            iterator = type_name
            (content,) = dynamic.nested("content")
            for key, value in _iterate(items):
                found.append((content, {**base, iterator: {"key": key, "value": value}}))
        return found


def policy_statements(document: ResourceInstance) -> list[dict[str, Any]]:
    """An aws_iam_policy_document's statements, as plain dicts (dynamic ones expanded)."""
    statements = []
    for block, scope in document.nested_blocks("statement"):

        def value(
            name: str, default: Any, block: Block = block, scope: dict[str, Any] = scope
        ) -> Any:
            tree = block.arguments.get(name)
            return default if tree is None else document.owner.evaluate(tree, scope)

        conditions = [
            {
                name: document.owner.evaluate(c.arguments[name], s)
                for name in ("test", "variable", "values")
            }
            for c, s in document.nested_blocks("condition", block, scope)
        ]
        principals = [
            {
                name: document.owner.evaluate(p.arguments[name], s)
                for name in ("type", "identifiers")
            }
            for p, s in document.nested_blocks("principals", block, scope)
        ]
        statements.append(
            {
                "sid": value("sid", None),
                "effect": value("effect", "Allow"),
                "actions": list(value("actions", [])),
                "resources": list(value("resources", [])),
                "conditions": conditions,
                "principals": principals,
            }
        )
    return statements


def _iterate(items: Any) -> Iterator[tuple[Any, Any]]:
    if isinstance(items, Mapping):
        yield from items.items()
    elif isinstance(items, (set, frozenset)):
        for item in sorted(items):
            yield item, item
    else:
        yield from enumerate(items)


class Instance:
    """A module evaluated with the values its caller passes (the root: tfvars)."""

    def __init__(
        self,
        module: Module,
        inputs: Mapping[str, Any],
        facts: Facts,
        address: str = "",
        root: Path | None = None,
    ) -> None:
        self.module = module
        self.inputs = dict(inputs)
        self.facts = facts
        # A module call's arguments, evaluated in the caller only when read: modules may
        # read each other's outputs both ways (as Terraform allows per value).
        self.pending: dict[str, Callable[[], Any]] = {}
        self.address = address
        self.root = root or module.directory
        self._locals: dict[str, Any] = {}
        self._children: dict[str, Instance] = {}

    @classmethod
    def root_module(cls, directory: Path, facts: Facts) -> Instance:
        """A root module with its terraform.tfvars and variable defaults."""
        module = Module.read(directory)
        literals = cls(module, {}, facts)
        tfvars = directory / "terraform.tfvars"
        trees = _tfvars(tfvars) if tfvars.exists() else {}
        return cls(module, {name: literals.evaluate(t) for name, t in trees.items()}, facts)

    # -- named values

    def var(self, name: str) -> Any:
        if name not in self.inputs and name in self.pending:
            self.inputs[name] = self.pending.pop(name)()
        if name in self.inputs:
            return self.inputs[name]
        variable = self.module.variables[name]
        default = variable.arguments.get("default")
        if default is None:
            raise KeyError(f"{self.address}var.{name} has no value and no default")
        return self.evaluate(default)

    def local(self, name: str) -> Any:
        if name not in self._locals:
            self._locals[name] = self.evaluate(self.module.locals[name])
        return self._locals[name]

    def child(self, name: str) -> Instance:
        if name not in self._children:
            call = self.module.modules[name]
            source = self.evaluate(call.arguments["source"])
            module = Module.read((self.module.directory / source).resolve())
            child = Instance(module, {}, self.facts, f"{self.address}module.{name}.", self.root)
            child.pending = {
                argument: functools.partial(self.evaluate, tree)
                for argument, tree in call.arguments.items()
                if argument not in ("source", "providers", "count", "for_each", "depends_on")
            }
            self._children[name] = child
        return self._children[name]

    def output(self, name: str) -> Any:
        return self.evaluate(self.module.outputs[name].arguments["value"])

    def module_instances(self, name: str) -> list[Instance]:
        """A module call's instances: `module.X[*]` (count 0 or 1; for_each unsupported)."""
        call = self.module.modules[name]
        count = self.evaluate(call.arguments["count"]) if "count" in call.arguments else 1
        return [self.child(name)] * count

    def instances(self, kind: str, type_name: str, name: str) -> Any:
        """A resource/data block: one instance, a list (count) or a dict (for_each)."""
        blocks = self.module.resources if kind == "resource" else self.module.data
        block = blocks[(type_name, name)]
        if "count" in block.arguments:
            count = self.evaluate(block.arguments["count"])
            return [ResourceInstance(self, kind, type_name, name, block, i) for i in range(count)]
        if "for_each" in block.arguments:
            items = self.evaluate(block.arguments["for_each"])
            return {
                key: ResourceInstance(self, kind, type_name, name, block, key, value)
                for key, value in _iterate(items)
            }
        return ResourceInstance(self, kind, type_name, name, block)

    # -- expressions

    def evaluate(self, tree: Any, scope: Mapping[str, Any] | None = None) -> Any:
        return _Evaluator(self, dict(scope or {})).value(tree)


def _tfvars(path: Path) -> dict[str, Tree[Token]]:
    (body,) = [c for c in hcl2.parses_to_tree(path.read_text()).children if isinstance(c, Tree)]
    return {
        _label(c.children[0]): c.children[-1]
        for c in body.children
        if isinstance(c, Tree) and c.data == "attribute"
    }


@dataclass
class _Reference:
    """A partly resolved reference: `var`, `local`, `module`, `data`, `data.T`, `T`, `path`."""

    parts: tuple[str, ...]


class _Evaluator:
    def __init__(self, instance: Instance, scope: dict[str, Any]) -> None:
        self.instance = instance
        self.scope = scope

    def value(self, node: Any) -> Any:
        result = self.node(node)
        if isinstance(result, _Reference):
            raise ValueError(f"incomplete reference {'.'.join(result.parts)}")
        return result

    def node(self, node: Any) -> Any:
        if isinstance(node, Token):
            raise ValueError(f"unexpected token {node!r}")
        handler = getattr(self, f"_{node.data}", None)
        if handler is None:
            raise NotImplementedError(f"HCL expression {node.data!r} in {self.instance.address}")
        return handler(node)

    def _children(self, node: Tree[Token]) -> list[Tree[Token]]:
        return [c for c in node.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]

    # terms
    def _expr_term(self, node: Tree[Token]) -> Any:
        (child,) = self._children(node)
        return self.node(child)

    def _int_lit(self, node: Tree[Token]) -> int:
        return int(str(node.children[0]))

    def _float_lit(self, node: Tree[Token]) -> float:
        return float(str(node.children[0]))

    def _literal_value(self, node: Tree[Token]) -> Any:
        return {"true": True, "false": False, "null": None}[str(node.children[0])]

    def _string(self, node: Tree[Token]) -> str:
        pieces = []
        for part in self._children(node):
            (inner,) = part.children
            if isinstance(inner, Tree) and inner.data == "interpolation":
                (expression,) = self._children(inner)
                pieces.append(_text(self.value(expression)))
            elif isinstance(inner, Tree):
                raise NotImplementedError("template directives")
            else:
                pieces.append(_unescape(str(inner)))
        return "".join(pieces)

    def _tuple(self, node: Tree[Token]) -> list[Any]:
        return [self.value(c) for c in self._children(node)]

    def _object(self, node: Tree[Token]) -> dict[str, Any]:
        result = {}
        for element in self._children(node):
            key_node, value_node = self._children(element)
            (key_expression,) = self._children(key_node)
            name = _identifier(key_expression)
            key = name if name is not None else self.value(key_expression)
            result[str(key)] = self.value(value_node)
        return result

    def _identifier(self, node: Tree[Token]) -> Any:
        name = str(node.children[0])
        if name in self.scope:
            return self.scope[name]
        return _Reference((name,))

    # references
    def _get_attr_expr_term(self, node: Tree[Token]) -> Any:
        base_node, attribute_node = self._children(node)
        base = self.node(base_node)
        (name_node,) = self._children(attribute_node)
        return self._attribute(base, str(name_node.children[0]))

    def _attribute(self, base: Any, name: str) -> Any:
        if isinstance(base, _Reference):
            return self._resolve((*base.parts, name))
        if isinstance(base, Unknown):
            return Unknown(f"{base.address}.{name}")
        if isinstance(base, ResourceInstance):
            return base.get(name)
        if isinstance(base, Instance):  # one instance of a module called with count
            return base.output(name)
        if isinstance(base, Mapping):
            return base[name]
        raise TypeError(f"cannot read .{name} of {type(base).__name__}")

    def _resolve(self, parts: tuple[str, ...]) -> Any:
        instance = self.instance
        head = parts[0]
        if head == "var":
            return instance.var(parts[1])
        if head == "local":
            return instance.local(parts[1])
        if head == "module":
            if len(parts) == 2:
                return _Reference(parts)
            return instance.child(parts[1]).output(parts[2])
        if head == "path":
            return str(instance.module.directory if parts[1] == "module" else instance.root)
        if head == "data":
            if len(parts) < 3:
                return _Reference(parts)
            return instance.instances("data", parts[1], parts[2])
        if len(parts) == 1:
            return _Reference(parts)
        return instance.instances("resource", parts[0], parts[1])

    def _index_expr_term(self, node: Tree[Token]) -> Any:
        base_node, index_node = self._children(node)
        base = self.node(base_node)
        (key_node,) = self._children(index_node)
        key = self.value(key_node)
        if isinstance(base, Unknown):
            return Unknown(f"{base.address}[{json.dumps(key)}]")
        if isinstance(base, _Reference) and base.parts[0] == "module" and len(base.parts) == 2:
            return self.instance.module_instances(base.parts[1])[key]
        return base[key]

    def _full_splat_expr_term(self, node: Tree[Token]) -> Any:
        base_node, splat = self._children(node)
        base = self.node(base_node)
        if isinstance(base, _Reference) and base.parts[0] == "module" and len(base.parts) == 2:
            items: list[Any] = list(self.instance.module_instances(base.parts[1]))
        else:
            items = list(base.values()) if isinstance(base, Mapping) else list(base)
        for attribute in self._children(splat):
            (name_node,) = self._children(attribute)
            items = [self._attribute(item, str(name_node.children[0])) for item in items]
        return items

    # operators
    def _conditional(self, node: Tree[Token]) -> Any:
        condition, when_true, when_false = self._children(node)
        return self.value(when_true) if self.value(condition) else self.value(when_false)

    def _binary_op(self, node: Tree[Token]) -> Any:
        left_node, term = self._children(node)
        operator_node, right_node = self._children(term)
        operator = str(operator_node.children[0])
        left = self.value(left_node)
        if operator == "||":
            return bool(left) or bool(self.value(right_node))
        if operator == "&&":
            return bool(left) and bool(self.value(right_node))
        right = self.value(right_node)
        operations: dict[str, Callable[[Any, Any], Any]] = {
            "==": lambda a, b: a == b,
            "!=": lambda a, b: a != b,
            "<": lambda a, b: a < b,
            ">": lambda a, b: a > b,
            "<=": lambda a, b: a <= b,
            ">=": lambda a, b: a >= b,
            "+": lambda a, b: a + b,
            "-": lambda a, b: a - b,
            "*": lambda a, b: a * b,
            "/": lambda a, b: a / b,
            "%": lambda a, b: a % b,
        }
        return operations[operator](left, right)

    def _unary_op(self, node: Tree[Token]) -> Any:
        operator, operand = node.children
        value = self.value(operand)
        return (not value) if str(operator) == "!" else -value

    # for expressions
    def _for_intro(self, node: Tree[Token]) -> tuple[list[str], Any]:
        names = [str(c.children[0]) for c in self._children(node) if c.data == "identifier"]
        (collection,) = [c for c in self._children(node) if c.data != "identifier"]
        return names, self.value(collection)

    def _bindings(self, names: list[str], collection: Any) -> Iterator[dict[str, Any]]:
        for key, value in _iterate(collection):
            yield {names[0]: value} if len(names) == 1 else {names[0]: key, names[1]: value}

    def _for_tuple_expr(self, node: Tree[Token]) -> list[Any]:
        intro, expression, *condition = self._children(node)
        names, collection = self._for_intro(intro)
        result = []
        for binding in self._bindings(names, collection):
            inner = _Evaluator(self.instance, {**self.scope, **binding})
            if condition and not inner.value(self._children(condition[0])[0]):
                continue
            result.append(inner.value(expression))
        return result

    def _for_object_expr(self, node: Tree[Token]) -> dict[str, Any]:
        intro, key_node, value_node, *condition = self._children(node)
        names, collection = self._for_intro(intro)
        result = {}
        for binding in self._bindings(names, collection):
            inner = _Evaluator(self.instance, {**self.scope, **binding})
            if condition and not inner.value(self._children(condition[0])[0]):
                continue
            result[str(inner.value(key_node))] = inner.value(value_node)
        return result

    # functions
    def _function_call(self, node: Tree[Token]) -> Any:
        name_node, *rest = self._children(node)
        name = str(name_node.children[0])
        arguments = [self.value(a) for a in self._children(rest[0])] if rest else []
        if name == "templatefile":
            return _templatefile(arguments[0], arguments[1])
        return FUNCTIONS[name](*arguments)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    raise TypeError(f"cannot interpolate {type(value).__name__}")


def _unescape(text: str) -> str:
    return json.loads(f'"{text}"') if "\\" in text else text


def _one(items: Any) -> Any:
    items = list(items)
    if len(items) > 1:
        raise ValueError("one() of more than one element")
    return items[0] if items else None


def _coalesce(*values: Any) -> Any:
    return next(v for v in values if v is not None and v != "")


def _merge(*maps: Mapping[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for mapping in maps:
        merged.update(mapping)
    return merged


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "merge": _merge,
    "distinct": lambda items: list(dict.fromkeys(items)),
    "keys": lambda m: sorted(m),
    "values": lambda m: [m[k] for k in sorted(m)],
    "concat": lambda *lists: [item for items in lists for item in items],
    "coalesce": _coalesce,
    "one": _one,
    "toset": lambda items: frozenset(items),
    "setunion": lambda *sets: frozenset().union(*sets),
    "compact": lambda items: [item for item in items if item not in (None, "")],
    "tolist": lambda items: list(items),
    "length": len,
    "range": lambda n: list(range(n)),
    "join": lambda separator, items: separator.join(items),
    "split": lambda separator, text: text.split(separator),
    "element": lambda items, index: list(items)[index % len(items)],
    "replace": lambda text, old, new: text.replace(old, new),
    "format": lambda template, *args: _format(template, *args),
    "startswith": lambda text, prefix: text.startswith(prefix),
    "tostring": lambda value: str(value).lower() if isinstance(value, bool) else str(value),
    "title": lambda text: text.title(),
    "flatten": lambda lists: [item for items in lists for item in items],
    "jsonencode": lambda value: json.dumps(value, separators=(",", ":")),
    "jsondecode": json.loads,
    "file": lambda path: Path(path).read_text(),
    "slice": lambda items, start, end: list(items)[start:end],
    "cidrsubnet": lambda prefix, newbits, netnum: Unknown(
        f"cidrsubnet({prefix},{newbits},{netnum})"
    ),
}

_PLACEHOLDER = re.compile(r"\$\{([a-z_]+)\}")


def _templatefile(path: str, values: Mapping[str, Any]) -> str:
    """Terraform's templatefile() for files that only use ${name} placeholders."""
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), Path(path).read_text())


def _format(template: str, *args: Any) -> str:
    converted = re.sub(r"%(\d*)d", r"%\1d", template)
    return converted % args

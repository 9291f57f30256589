"""What an environment runs: the sizes infra/terraform/environments/<env>/terraform.tfvars
holds, defaulting to what the template writes there for that environment (production is
sized for resilience, the others for cost; keep in step with
template/_partials/terraform/terraform.tfvars.jinja)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import CostError


@dataclass(frozen=True)
class Sizing:
    az_count: int
    nat_gateway_per_az: bool
    vpc_endpoints: bool
    multi_az: bool
    db_instance_class: str
    cache_node_type: str
    web_min_count: int
    worker_min_count: int
    use_spot: bool
    waf: bool
    log_retention_days: int
    rds_proxy: bool
    db_serverless_min_capacity: Decimal
    db_serverless_max_capacity: Decimal
    # The terraform.tfvars these sizes came from ("" for the template's defaults).
    source: str = ""

    def named(self, variable: str) -> str:
        """How an error names one of these variables: with its file when it has one."""
        return f"{self.source}: {variable}" if self.source else variable


def default_sizing(environment: str, answers: Mapping[str, Any]) -> Sizing:
    """The values the template writes into the environment's terraform.tfvars."""
    production = environment == "production"
    engine = answers.get("database_engine", "rds-postgres")
    if engine == "aurora-postgres":
        db_class = "db.r7g.large" if production else "db.t4g.medium"
    else:
        db_class = "db.t4g.medium" if production else "db.t4g.micro"
    return Sizing(
        az_count=2,
        nat_gateway_per_az=production,
        vpc_endpoints=False,
        multi_az=production,
        db_instance_class=db_class,
        cache_node_type="cache.t4g.small" if production else "cache.t4g.micro",
        web_min_count=2 if production else 1,
        worker_min_count=1,
        use_spot=not production,
        waf=True,
        log_retention_days=365 if production else 30,
        # RDS Proxy on Aurora Serverless v2 bills at least 8 ACUs: only production gets one.
        rds_proxy=bool(answers.get("rds_proxy", False))
        and (production or engine != "aurora-serverless"),
        db_serverless_min_capacity=Decimal(2) if production else Decimal("0.5"),
        db_serverless_max_capacity=Decimal(16) if production else Decimal(4),
    )


# ------------------------------------------------------------------------------ tfvars

_ASSIGNMENT = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(.*)")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


class _Complex:
    """A list or object value: not one the estimate reads."""


def parse_tfvars(text: str, where: str) -> dict[str, object]:
    """``name = value`` pairs of a terraform.tfvars: strings, numbers, booleans and null;
    lists and objects are skipped. Comments (#, //, /* */) are ignored."""
    values: dict[str, object] = {}
    lines = iter(enumerate(text.splitlines(), start=1))
    in_block_comment = False
    for number, raw in lines:
        line = raw.strip()
        if in_block_comment:
            in_block_comment = "*/" not in line
            continue
        if not line or line.startswith(("#", "//")):
            continue
        if line.startswith("/*"):
            in_block_comment = "*/" not in line
            continue
        match = _ASSIGNMENT.fullmatch(line)
        if match is None:
            raise CostError(f"{where}: line {number}", "expected `name = value`")
        name, value = match.group(1), _without_comment(match.group(2))
        if value.startswith(("[", "{")):
            depth = _depth(value)
            while depth > 0:
                following = next(lines, None)
                if following is None:
                    raise CostError(f"{where}: {name}", "a list or object that never closes")
                depth += _depth(_without_comment(following[1].strip()))
            values[name] = _Complex()
        else:
            values[name] = _scalar(value, f"{where}: {name}")
    return values


def _without_comment(value: str) -> str:
    """The value without a trailing # or // comment (outside a string)."""
    in_string = False
    for index, char in enumerate(value):
        if char == '"' and (index == 0 or value[index - 1] != "\\"):
            in_string = not in_string
        elif not in_string and (char == "#" or value.startswith("//", index)):
            return value[:index].strip()
    return value.strip()


def _depth(text: str) -> int:
    return sum(text.count(c) for c in "[{") - sum(text.count(c) for c in "]}")


def _scalar(value: str, name: str) -> object:
    if value in ("true", "false"):
        return value == "true"
    if value == "null":
        return None
    string = _STRING.fullmatch(value)
    if string is not None:
        return string.group(1)
    try:
        return Decimal(value)
    except InvalidOperation:
        raise CostError(name, "expected a string, number, true, false or null") from None


def sized_from_tfvars(defaults: Sizing, tfvars: Mapping[str, object], where: str) -> Sizing:
    """``defaults`` with each value the tfvars sets, each checked for its type."""
    changes: dict[str, object] = {}
    for field, check in _CHECKS.items():
        if field in tfvars and tfvars[field] is not None:
            changes[field] = check(tfvars[field], f"{where}: {field}")
    sizing = replace(defaults, source=where, **changes)  # type: ignore[arg-type]
    if sizing.db_serverless_min_capacity > sizing.db_serverless_max_capacity:
        raise CostError(
            f"{where}: db_serverless_min_capacity",
            f"{sizing.db_serverless_min_capacity} ACUs is above db_serverless_max_capacity "
            f"({sizing.db_serverless_max_capacity})",
        )
    return sizing


def _bool(value: object, name: str) -> bool:
    if isinstance(value, bool):
        return value
    raise CostError(name, f"expected true or false, got {_shown(value)}")


def _count(minimum: int, what: str) -> Any:
    def check(value: object, name: str) -> int:
        if isinstance(value, Decimal) and value == value.to_integral_value() and value >= minimum:
            return int(value)
        raise CostError(name, f"expected {what}, got {_shown(value)}")

    return check


def _text(value: object, name: str) -> str:
    if isinstance(value, str) and value:
        return value
    raise CostError(name, f'expected a quoted name such as "db.t4g.micro", got {_shown(value)}')


def _capacity(value: object, name: str) -> Decimal:
    # Aurora Serverless v2 scales in half ACUs, from 0 (auto-pause) to 256.
    if isinstance(value, Decimal) and 0 <= value <= 256 and (value * 2) % 1 == 0:
        return value
    raise CostError(name, f"expected ACUs from 0 to 256 in steps of 0.5, got {_shown(value)}")


def _shown(value: object) -> str:
    if isinstance(value, _Complex):
        return "a list or object"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


_CHECKS: dict[str, Any] = {
    "az_count": _count(1, "a whole number of availability zones (2 or 3)"),
    "nat_gateway_per_az": _bool,
    "vpc_endpoints": _bool,
    "multi_az": _bool,
    "db_instance_class": _text,
    "cache_node_type": _text,
    "web_min_count": _count(0, "a whole number of tasks"),
    "worker_min_count": _count(0, "a whole number of tasks"),
    "use_spot": _bool,
    "waf": _bool,
    "log_retention_days": _count(1, "a whole number of days"),
    "rds_proxy": _bool,
    "db_serverless_min_capacity": _capacity,
    "db_serverless_max_capacity": _capacity,
}

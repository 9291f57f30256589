"""The price table shipped with the package (prices.json): AWS's on-demand prices per
region, dated, with a source page per service. Read with Decimal so every line of an
estimate is exact to the cent."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from .errors import CostError

TABLE = Path(__file__).with_name("prices.json")


@dataclass(frozen=True)
class Prices:
    """One region's prices (``regional``) and the ones AWS bills globally (CloudFront, WAF)."""

    region: str
    as_of: str
    hours_per_month: Decimal
    sources: dict[str, str]
    regional: dict[str, Any]
    global_: dict[str, Decimal]

    def rate(self, name: str) -> Decimal:
        value: Decimal = self.regional[name]
        return value

    def fargate(self, architecture: str) -> dict[str, Decimal]:
        """vCPU-hour and GB-hour prices for the architecture the tasks run on."""
        rates: dict[str, dict[str, Decimal]] = self.regional["fargate"]
        if architecture not in rates:
            raise CostError(
                "cpu_architecture", f"expected one of {', '.join(rates)}, got {architecture!r}"
            )
        return rates[architecture]

    def sized(self, table: str, size: str, variable: str) -> Decimal:
        """The hourly price of an instance class or node type; an unknown one is an error
        naming the variable that chose it and the classes the table prices."""
        rates: dict[str, Decimal] = self.regional[table]
        if size not in rates:
            raise CostError(
                variable,
                f"{size!r} has no price in the {self.region} table; priced: {', '.join(rates)}",
            )
        return rates[size]


@cache
def _table() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(TABLE.read_text(encoding="utf-8"), parse_float=Decimal)
    return loaded


def regions() -> list[str]:
    """The regions the table prices."""
    return list(_table()["regions"])


def as_of() -> str:
    """The month the table's prices are from."""
    return str(_table()["as_of"])


def prices_for(region: str) -> Prices:
    table = _table()
    if region not in table["regions"]:
        raise CostError(
            "aws_region",
            f"the price table has no {region!r}; it prices {', '.join(table['regions'])} "
            "(docs/cost.md: adding a region)",
        )
    return Prices(
        region=region,
        as_of=str(table["as_of"]),
        hours_per_month=Decimal(table["hours_per_month"]),
        sources=dict(table["sources"]),
        regional=table["regions"][region],
        global_=dict(table["global"]),
    )

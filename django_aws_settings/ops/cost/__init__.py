"""``django-aws cost``: the monthly cost of what the template's Terraform creates, per
environment, from the Copier answers, each environment's terraform.tfvars and a dated
price table shipped with the package (prices.json; docs/cost.md).

Standard library only: the Copier extension (extensions/repository_facts.py) loads this
folder by path to render the estimate into the generated docs/aws/README.md, where the
package is not installed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import CostError
from .estimate import Assumptions, EnvironmentEstimate, Estimate, Line, estimate
from .prices import Prices, as_of, prices_for, regions
from .report import json_report, markdown_report, paas_comparison, text_report
from .sizing import Sizing, default_sizing, parse_tfvars, sized_from_tfvars

__all__ = [
    "Assumptions",
    "CostError",
    "EnvironmentEstimate",
    "Estimate",
    "Line",
    "Prices",
    "Sizing",
    "as_of",
    "default_sizing",
    "estimate",
    "json_report",
    "markdown_report",
    "paas_comparison",
    "parse_tfvars",
    "prices_for",
    "regions",
    "repository_cost",
    "sized_from_tfvars",
    "text_report",
]


def repository_cost(answers: Mapping[str, Any]) -> str:
    """The generated README's "What it costs" section for these answers, at the stated
    default traffic and the sizes the template writes into each terraform.tfvars.

    A region the table does not price must not stop the template from rendering: the
    section then says why there is no estimate."""
    try:
        return markdown_report(estimate(answers))
    except CostError as error:
        return (
            "## What it costs\n\n"
            f"No estimate: {error}. Prices for another region can be added to the package's "
            "table (docs/cost.md), then `django-aws cost` prints the estimate.\n"
        )

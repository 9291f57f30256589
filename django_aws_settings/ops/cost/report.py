"""The estimate for people (a table per environment), for machines (JSON) and for the
generated docs (Markdown), and the comparison with a PaaS bill."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .estimate import Assumptions, Estimate, cents

OPERATING_TIME = (
    "AWS adds operating time the PaaS bill included: Terraform changes, upgrades, alarms "
    "and being on call for them. Count those hours before deciding on the difference alone."
)


def money(low: Decimal, high: Decimal | None = None) -> str:
    """12.34, 1,234.56, or a range 12.34-56.78."""
    if high is None or high == low:
        return f"{low:,.2f}"
    return f"{low:,.2f}-{high:,.2f}"


def _percent(fraction: Decimal) -> str:
    return f"{(fraction * 100).normalize():f} %"


def assumption_text(assumptions: Assumptions) -> str:
    a = assumptions
    return (
        f"{a.requests_per_month:,} requests and {a.egress_gb.normalize():f} GB out through "
        f"CloudFront, {a.stored_gb.normalize():f} GB on S3 and {a.s3_requests_per_month:,} "
        f"GETs, {a.log_gb.normalize():f} GB of logs, {a.nat_gb.normalize():f} GB through NAT, "
        f"{a.db_storage_gb.normalize():f} GB of database storage, {a.tasks_per_month:,} "
        f"Celery tasks, {a.scheduled_runs_per_month:,} scheduled runs, "
        f"{a.emails_per_month:,} emails a month in production; other environments "
        f"{_percent(a.other_share)} of each"
    )


def discount_text(assumptions: Assumptions) -> str:
    return (
        f"Compute Savings Plan: {_percent(assumptions.savings_plan_discount)} off on-demand "
        f"Fargate, never Spot or the other services; Fargate Spot "
        f"{_percent(assumptions.spot_discount)} below on-demand"
    )


def _heading(estimate: Estimate) -> str:
    prices = estimate.prices
    return (
        f"Monthly AWS cost of {estimate.project} in {prices.region} (USD; prices as of "
        f"{prices.as_of}, {prices.hours_per_month} hours a month)"
    )


def text_report(estimate: Estimate, paas_bill: Decimal | None = None) -> str:
    lines = [
        _heading(estimate),
        f"Assumptions: {assumption_text(estimate.assumptions)}.",
        f"{discount_text(estimate.assumptions)}.",
    ]
    item_width = max(
        [len("With a Compute Savings Plan")]
        + [len(line.item) for e in estimate.environments for line in e.lines]
    )
    detail_width = max(len(line.detail) for e in estimate.environments for line in e.lines)
    amount_width = 21

    def row(item: str, detail: str, amount: str) -> str:
        return (
            f"  {item:<{item_width}}  {detail:<{detail_width}}  {amount:>{amount_width}}".rstrip()
        )

    for environment in estimate.environments:
        lines += ["", environment.environment, row("Item", "Detail", "USD a month")]
        for line in environment.lines:
            lines.append(row(line.item, line.detail, money(line.low, line.high)))
        lines.append(row("Total", "", money(environment.low, environment.high)))
        lines.append(
            row(
                "With a Compute Savings Plan",
                "",
                money(
                    environment.low - environment.savings, environment.high - environment.savings
                ),
            )
        )
    if len(estimate.environments) > 1:
        planned = money(estimate.low - estimate.savings, estimate.high - estimate.savings)
        lines += [
            "",
            f"All environments: {money(estimate.low, estimate.high)} a month; with a Compute "
            f"Savings Plan {planned}",
        ]
    lines += ["", *(f"Note: {note}" for note in estimate.notes)]
    if paas_bill is not None:
        lines += ["", *paas_comparison(estimate, paas_bill)]
    return "\n".join(lines) + "\n"


def paas_comparison(estimate: Estimate, bill: Decimal) -> list[str]:
    """The playbook's comparison: AWS's total against the current bill, per month and year."""
    low, high = estimate.low, estimate.high
    saved_low, saved_high = bill - high, bill - low  # what moving saves (negative: costs)

    def difference(per: int) -> str:
        a, b = cents(saved_low * per), cents(saved_high * per)
        if a >= 0:
            return f"AWS costs {money(a, b)} less"
        if b <= 0:
            return f"AWS costs {money(-b, -a)} more"
        return f"AWS costs between {money(-a)} more and {money(b)} less"

    return [
        f"Current PaaS bill: {money(bill)} a month",
        f"AWS, all environments: {money(low, high)} a month "
        f"({money(low - estimate.savings, high - estimate.savings)} with a Compute Savings Plan)",
        f"Difference: {difference(1)} a month; {difference(12)} a year",
        OPERATING_TIME,
    ]


def markdown_report(estimate: Estimate) -> str:
    """The "What it costs" section of the generated docs/aws/README.md."""
    environments = estimate.environments
    items: list[str] = []
    for environment in environments:
        for line in environment.lines:
            if line.item not in items:
                items.append(line.item)
    header = "| Item | " + " | ".join(e.environment for e in environments) + " |"
    lines = [
        "## What it costs",
        "",
        f"What Terraform creates, per month in USD, at {estimate.prices.region} prices as of "
        f"{estimate.prices.as_of} (`django-aws cost` prints the details and takes your own "
        "traffic and sizes from each environment's terraform.tfvars):",
        "",
        header,
        "| --- |" + " ---: |" * len(environments),
    ]
    for item in items:
        cells = []
        for environment in environments:
            found = [line for line in environment.lines if line.item == item]
            cells.append(money(found[0].low, found[0].high) if found else "-")
        lines.append(f"| {item} | " + " | ".join(cells) + " |")
    totals = [money(e.low, e.high) for e in environments]
    lines.append("| **Total** | " + " | ".join(f"**{t}**" for t in totals) + " |")
    saved = [money(e.low - e.savings, e.high - e.savings) for e in environments]
    lines.append("| With a Compute Savings Plan | " + " | ".join(saved) + " |")
    lines += [
        "",
        f"Assumptions: {assumption_text(estimate.assumptions)}. "
        f"{discount_text(estimate.assumptions)}.",
        "",
        *(f"- {note}" for note in estimate.notes),
    ]
    return "\n".join(lines) + "\n"


def _amount(low: Decimal, high: Decimal) -> dict[str, float]:
    return {"low": float(low), "high": float(high)}


def json_report(estimate: Estimate, paas_bill: Decimal | None = None) -> dict[str, Any]:
    a = estimate.assumptions
    report: dict[str, Any] = {
        "project": estimate.project,
        "region": estimate.prices.region,
        "currency": "USD",
        "prices_as_of": estimate.prices.as_of,
        "hours_per_month": int(estimate.prices.hours_per_month),
        "sources": estimate.prices.sources,
        "assumptions": {
            name: float(value) if isinstance(value, Decimal) else value
            for name, value in vars(a).items()
        },
        "environments": [
            {
                "name": e.environment,
                "lines": [
                    {
                        "group": line.group,
                        "item": line.item,
                        "detail": line.detail,
                        **_amount(line.low, line.high),
                    }
                    for line in e.lines
                ],
                "total": _amount(e.low, e.high),
                "savings_plan": float(e.savings),
                "total_with_savings_plan": _amount(e.low - e.savings, e.high - e.savings),
            }
            for e in estimate.environments
        ],
        "total": _amount(estimate.low, estimate.high),
        "total_with_savings_plan": _amount(
            estimate.low - estimate.savings, estimate.high - estimate.savings
        ),
        "notes": list(estimate.notes),
    }
    if paas_bill is not None:
        report["paas"] = {
            "bill": float(paas_bill),
            "difference_per_month": _amount(paas_bill - estimate.high, paas_bill - estimate.low),
            "difference_per_year": _amount(
                (paas_bill - estimate.high) * 12, (paas_bill - estimate.low) * 12
            ),
            "note": OPERATING_TIME,
        }
    return report

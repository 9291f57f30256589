"""The generated docs/aws/README.md ends with "What it costs": exactly what `django-aws
cost --format markdown` prints in the rendered repository (whose terraform.tfvars the
command reads), one column per environment, totals that add up."""

from __future__ import annotations

from decimal import Decimal

import pytest
from support.template_matrix import Rendered

from django_aws_settings.ops.cli import main
from django_aws_settings.ops.cost import default_sizing, parse_tfvars, sized_from_tfvars
from django_aws_settings.ops.cost_cli import read_answers

HEADING = "## What it costs"


def cost_section(rendered: Rendered) -> str:
    readme = (rendered.root / "docs" / "aws" / "README.md").read_text()
    section = readme[readme.index(HEADING) :]
    following = section.find("\n## ", 1)
    return section if following == -1 else section[: following + 1]


def test_the_readme_section_is_what_the_command_prints(
    rendered: Rendered, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cost", str(rendered.root), "--format", "markdown"]) == 0
    assert cost_section(rendered) == capsys.readouterr().out


def test_the_template_defaults_are_what_terraform_tfvars_holds(rendered: Rendered) -> None:
    """The command prices an environment without a terraform.tfvars with the template's
    sizes: parsed from the rendered files, they are the same values."""
    answers = read_answers(rendered.root / ".copier-answers.django-aws.yml", "answers")
    for environment in rendered.case.environments:
        relative = f"infra/terraform/environments/{environment}/terraform.tfvars"
        tfvars = parse_tfvars((rendered.root / relative).read_text(), relative)
        defaults = default_sizing(environment, answers)
        assert sized_from_tfvars(defaults, tfvars, relative) == defaults.__class__(
            **{**vars(defaults), "source": relative}
        )
        # Every value the estimate reads is written there (none left to the default).
        read = set(vars(defaults)) - {"source"}
        if rendered.case.database_engine != "aurora-serverless":
            read -= {"db_serverless_min_capacity", "db_serverless_max_capacity"}
        assert read <= set(tfvars)


def test_the_table_has_a_column_per_environment_and_totals_that_add_up(
    rendered: Rendered,
) -> None:
    case = rendered.case
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in cost_section(rendered).splitlines()
        if line.startswith("| ") and not line.startswith("| ---")
    ]
    assert rows[0] == ["Item", *case.environments]
    items = {row[0]: row[1:] for row in rows[1:]}
    express = case.compute == "express"
    expected = {"Fargate web", "Load balancer", "NAT gateways", "Secrets Manager"}
    if not express:
        expected |= {"CloudFront", "WAF"}
    if case.celery and not express:
        expected |= {f"Fargate worker {queue}" for queue in case.queues}
    if case.beat_service:
        expected.add("Fargate beat")
    if case.elasticache:
        expected.add("ElastiCache Valkey")
    if case.sqs:
        expected.add("SQS")
    if case.rds_proxy:
        expected.add("RDS Proxy")
    if case.dms:
        expected.add("DMS Serverless")
    if case.media_on_s3 or case.static_backend == "s3":
        expected.add("S3")
    expected.add(
        {"rds-postgres": "RDS PostgreSQL", "aurora-postgres": "Aurora PostgreSQL",
         "aurora-serverless": "Aurora Serverless v2"}[case.database_engine]
    )  # fmt: skip
    assert expected <= set(items)
    fargate = {item for item in items if item.startswith("Fargate")}
    assert fargate - expected <= {"Fargate queue metrics"}
    assert ("Fargate queue metrics" in fargate) == (case.celery and not case.sqs and not express)
    assert ("ElastiCache Valkey" in items) == case.elasticache
    assert ("CloudFront" in items) == (not express)
    for column, _environment in enumerate(case.environments):
        lows, highs = Decimal(0), Decimal(0)
        for item, cells in items.items():
            if item in ("**Total**", "With a Compute Savings Plan") or cells[column] == "-":
                continue
            low, _, high = cells[column].replace(",", "").partition("-")
            lows, highs = lows + Decimal(low), highs + Decimal(high or low)
        total = items["**Total**"][column].strip("*").replace(",", "")
        assert total == (f"{lows}" if lows == highs else f"{lows}-{highs}")

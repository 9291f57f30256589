"""``django-aws cost [PATH]``: the monthly AWS cost of what the template's Terraform
creates, per environment, from the repository's Copier answers and each environment's
terraform.tfvars, at traffic stated by flags (printed with the estimate), with and
without a Compute Savings Plan; ``--paas-bill`` compares it with the current bill.
"""

from __future__ import annotations

import argparse
import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ..settings.errors import ConfigError, Problem
from .cost import (
    Assumptions,
    CostError,
    Sizing,
    default_sizing,
    estimate,
    json_report,
    markdown_report,
    parse_tfvars,
    sized_from_tfvars,
    text_report,
)
from .repository.yaml_subset import YamlError, load_yaml

ANSWERS_FILE = ".copier-answers.django-aws.yml"
TFVARS = "infra/terraform/environments/{environment}/terraform.tfvars"
DEFAULTS = Assumptions()


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cost = commands.add_parser(
        "cost",
        help="print the monthly AWS cost of each environment Terraform creates",
        description=(
            "The monthly AWS cost of what the template's Terraform creates, per environment, "
            "from the Copier answers and each environment's terraform.tfvars, at the traffic "
            "the flags state, with and without a Compute Savings Plan (docs/cost.md)."
        ),
    )
    cost.add_argument("path", nargs="?", default=".", type=Path, help="the repository (default: .)")
    cost.add_argument(
        "--answers-file", default=ANSWERS_FILE, help=f"relative to PATH (default: {ANSWERS_FILE})"
    )
    traffic = cost.add_argument_group(
        "traffic and volume (production; other environments get --other-share of each)"
    )
    _flag(
        traffic, "--requests-per-month", DEFAULTS.requests_per_month, "requests through CloudFront"
    )
    _flag(traffic, "--egress-gb", DEFAULTS.egress_gb, "GB CloudFront sends to viewers")
    _flag(traffic, "--stored-gb", DEFAULTS.stored_gb, "GB stored on S3 (media, static)")
    _flag(traffic, "--s3-requests", DEFAULTS.s3_requests_per_month, "S3 GETs (CloudFront misses)")
    _flag(traffic, "--log-gb", DEFAULTS.log_gb, "GB of logs ingested by CloudWatch")
    _flag(traffic, "--nat-gb", DEFAULTS.nat_gb, "GB through the NAT gateways")
    _flag(traffic, "--db-storage-gb", DEFAULTS.db_storage_gb, "GB of database storage")
    _flag(traffic, "--aurora-io-millions", DEFAULTS.aurora_io_millions, "Aurora I/O, millions")
    _flag(traffic, "--tasks-per-month", DEFAULTS.tasks_per_month, "Celery tasks (SQS requests)")
    _flag(
        traffic, "--scheduled-runs", DEFAULTS.scheduled_runs_per_month, "EventBridge Scheduler runs"
    )
    _flag(traffic, "--emails-per-month", DEFAULTS.emails_per_month, "emails sent through SES")
    _flag(
        traffic,
        "--other-share",
        DEFAULTS.other_share,
        "share of the traffic other environments see",
    )
    rates = cost.add_argument_group("discounts")
    _flag(rates, "--savings-plan-discount", DEFAULTS.savings_plan_discount,
          "Compute Savings Plan discount on on-demand Fargate (1 year, no upfront)")  # fmt: skip
    _flag(rates, "--spot-discount", DEFAULTS.spot_discount, "Fargate Spot discount")
    cost.add_argument(
        "--paas-bill", type=_amount, metavar="USD", help="the current monthly bill to compare with"
    )
    output = cost.add_mutually_exclusive_group()
    output.add_argument(
        "--format", choices=("text", "json", "markdown"), default="text", help="(default: text)"
    )
    output.add_argument("--json", dest="format", action="store_const", const="json", help="JSON")
    cost.set_defaults(handler=_cost)


def _flag(group: argparse._ArgumentGroup, flag: str, default: object, text: str) -> None:
    kind = int if isinstance(default, int) else _amount
    group.add_argument(
        flag, type=kind, default=default, metavar="N", help=f"{text} (default: {default})"
    )


def _amount(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"expected a number of 0 or more, got {text!r}")
    return value


def _cost(arguments: argparse.Namespace) -> int:
    try:
        assumptions = Assumptions(
            requests_per_month=arguments.requests_per_month,
            egress_gb=arguments.egress_gb,
            stored_gb=arguments.stored_gb,
            s3_requests_per_month=arguments.s3_requests,
            log_gb=arguments.log_gb,
            nat_gb=arguments.nat_gb,
            db_storage_gb=arguments.db_storage_gb,
            aurora_io_millions=arguments.aurora_io_millions,
            tasks_per_month=arguments.tasks_per_month,
            scheduled_runs_per_month=arguments.scheduled_runs,
            emails_per_month=arguments.emails_per_month,
            savings_plan_discount=arguments.savings_plan_discount,
            spot_discount=arguments.spot_discount,
            other_share=arguments.other_share,
        )
        root: Path = arguments.path
        answers = read_answers(root / arguments.answers_file, arguments.answers_file)
        result = estimate(answers, read_sizings(root, answers), assumptions)
    except CostError as error:
        raise ConfigError([Problem(error.name, error.reason)]) from None
    if arguments.format == "json":
        print(json.dumps(json_report(result, arguments.paas_bill), indent=2))
    elif arguments.format == "markdown":
        print(markdown_report(result), end="")
    else:
        print(text_report(result, arguments.paas_bill), end="")
    return 0


def read_answers(path: Path, shown: str) -> dict[str, Any]:
    """The answers Copier recorded (questions only; its own _commit, _src_path dropped)."""
    if not path.is_file():
        raise CostError(
            shown, "no Copier answers here: run in the repository the template was copied into"
        )
    try:
        loaded = load_yaml(path.read_text(encoding="utf-8"))
    except (YamlError, UnicodeDecodeError) as error:
        raise CostError(shown, f"not readable as YAML ({error})") from None
    if not isinstance(loaded, dict):
        raise CostError(shown, "expected a mapping of answers")
    return {str(k): v for k, v in loaded.items() if not str(k).startswith("_")}


def read_sizings(root: Path, answers: dict[str, Any]) -> dict[str, Sizing]:
    """Each environment's sizes: its terraform.tfvars where there is one."""
    environments = answers.get("environments", [])
    sizings: dict[str, Sizing] = {}
    for environment in environments if isinstance(environments, list) else []:
        relative = TFVARS.format(environment=environment)
        defaults = default_sizing(str(environment), answers)
        path = root / relative
        if path.is_file():
            tfvars = parse_tfvars(path.read_text(encoding="utf-8"), relative)
            sizings[str(environment)] = sized_from_tfvars(defaults, tfvars, relative)
        else:
            sizings[str(environment)] = defaults
    return sizings

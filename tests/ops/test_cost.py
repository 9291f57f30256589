"""``django-aws cost``: totals pinned to hand arithmetic from the price table, the ARM
and Savings Plan discounts, Multi-AZ, Aurora Serverless ranges, tfvars overrides, bad
input as one line, the PaaS comparison, and the options other features add."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

import django_aws_settings
from django_aws_settings.ops.cli import EXIT_BAD_INPUT, main
from django_aws_settings.ops.cost import estimate, prices_for, regions, repository_cost

PACKAGE = Path(django_aws_settings.__file__).resolve().parent
COST = PACKAGE / "ops" / "cost"
HOURS = Decimal(730)
P = prices_for("us-east-1")

# One small stack: staging only, no Celery, no files on S3, RDS single-AZ.
SMALL: dict[str, Any] = {
    "project_slug": "shop",
    "aws_region": "us-east-1",
    "environments": ["staging"],
    "web_size": "512/1024",
    "cpu_architecture": "X86_64",
    "celery": False,
    "static_backend": "whitenoise",
    "media_on_s3": False,
    "database_engine": "rds-postgres",
    "rds_proxy": False,
    "dms": False,
}
SMALL_TFVARS = {
    "az_count": "2",
    "nat_gateway_per_az": "false",
    "vpc_endpoints": "false",
    "multi_az": "false",
    "db_instance_class": '"db.t4g.micro"',
    "cache_node_type": '"cache.t4g.micro"',
    "web_min_count": "2",
    "worker_min_count": "1",
    "use_spot": "false",
    "waf": "false",
    "log_retention_days": "30",
    "rds_proxy": "false",
}
# Traffic stated on the command line; --other-share 1: staging sees all of it.
TRAFFIC = [
    "--requests-per-month", "1000000", "--egress-gb", "10", "--log-gb", "1",
    "--nat-gb", "10", "--other-share", "1",
]  # fmt: skip


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def repository(
    root: Path, answers: dict[str, Any], tfvars: dict[str, dict[str, str]] | None = None
) -> Path:
    """A repository with an answers file (as Copier writes it) and terraform.tfvars files."""
    lines = ["# Changes here will be overwritten by Copier", "_commit: v0.1.0"]
    for name, value in answers.items():
        lines.append(f"{name}: {json.dumps(value)}")
    (root / ".copier-answers.django-aws.yml").write_text("\n".join(lines) + "\n")
    for environment, values in (tfvars or {}).items():
        folder = root / "infra" / "terraform" / "environments" / environment
        folder.mkdir(parents=True)
        text = "# sizes\n" + "".join(f"{k} = {v} # why\n" for k, v in values.items())
        (folder / "terraform.tfvars").write_text(text + 'origin_header_keys = [\n  "1",\n]\n')
    return root


def run_json(root: Path, *flags: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["cost", str(root), "--json", *TRAFFIC, *flags]) == 0
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    return report


def lines_of(report: dict[str, Any], environment: str = "staging") -> dict[str, Decimal]:
    (found,) = [e for e in report["environments"] if e["name"] == environment]
    return {line["item"]: Decimal(str(line["high"])) for line in found["lines"]}


def web_task(architecture: str, vcpu: str = "0.5", gb: str = "1") -> Decimal:
    rates = P.fargate(architecture)
    return (Decimal(vcpu) * rates["vcpu_hour"] + Decimal(gb) * rates["gb_hour"]) * HOURS


# ------------------------------------------------------------------------ pinned totals


def test_the_small_stack_costs_what_the_price_table_adds_up_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = repository(tmp_path, SMALL, {"staging": SMALL_TFVARS})
    r = P.regional
    web = cents(2 * web_task("X86_64"))  # 2 x (0.5 x 0.04048 + 1 x 0.004445) x 730 = 36.04
    expected = {
        "Fargate web": web,
        "RDS PostgreSQL": cents(r["rds_postgres_hour"]["db.t4g.micro"] * HOURS),  # 11.68
        "RDS storage": cents(20 * r["rds_gp3_gb_month"]),  # 2.30
        "KMS key": cents(r["kms_key_month"]),  # 1.00
        "ElastiCache Valkey": cents(r["elasticache_valkey_hour"]["cache.t4g.micro"] * HOURS),
        "NAT gateways": cents(r["nat_gateway_hour"] * HOURS + 10 * r["nat_gateway_gb"]),
        # One address for the NAT gateway, one per zone for the load balancer.
        "Public IPv4": cents(3 * r["public_ipv4_hour"] * HOURS),  # 10.95
        # LCUs: 1,000,000 requests / (730 h x 3600 s) / 25 per s > 10 GB / 730 h.
        "Load balancer": cents(
            (r["alb_hour"] + Decimal(1_000_000) / (HOURS * 3600) / 25 * r["alb_lcu_hour"]) * HOURS
        ),
        "CloudFront": cents(
            10 * P.global_["cloudfront_gb_out"] + 100 * P.global_["cloudfront_https_per_10000"]
        ),
        "Secrets Manager": cents(3 * r["secrets_manager_secret_month"]),  # app, db-app, master
        "CloudWatch logs": cents(r["logs_ingest_gb"] + r["logs_storage_gb_month"]),  # 30 days
        # 5 web/edge, 2 database + free storage, 3 for the burstable node, 1 task count.
        "CloudWatch alarms": cents(12 * r["alarm_month"]),
    }
    report = run_json(root, capsys=capsys)
    assert lines_of(report) == expected
    total = sum(expected.values(), Decimal(0))
    assert total == Decimal("125.90")  # the table's us-east-1 prices of 2026-11
    assert Decimal(str(report["total"]["high"])) == total
    # The Savings Plan takes 20 % off the on-demand Fargate part only.
    planned = total - cents(2 * web_task("X86_64") * Decimal("0.20"))
    assert Decimal(str(report["total_with_savings_plan"]["low"])) == planned == Decimal("118.69")

    assert main(["cost", str(root), *TRAFFIC]) == 0
    text = capsys.readouterr().out
    rows = {line.split("  ")[1]: line.split()[-1] for line in text.splitlines() if "  " in line}
    assert rows["Total"] == "125.90"
    assert rows["With a Compute Savings Plan"] == "118.69"
    assert "1,000,000 requests and 10 GB out through CloudFront" in text
    assert "prices as of 2026-11" in text


def test_arm64_tasks_cost_the_arm_rates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = repository(tmp_path, {**SMALL, "cpu_architecture": "ARM64"}, {"staging": SMALL_TFVARS})
    web = lines_of(run_json(root, capsys=capsys))["Fargate web"]
    assert web == cents(2 * web_task("ARM64")) == Decimal("28.84")
    assert web < cents(2 * web_task("X86_64"))
    # Graviton: about 20 % below x86 for both vCPU and memory.
    for rate in ("vcpu_hour", "gb_hour"):
        ratio = P.fargate("ARM64")[rate] / P.fargate("X86_64")[rate]
        assert Decimal("0.79") < ratio < Decimal("0.81")


def test_spot_and_the_savings_plan_apply_to_fargate_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tfvars = {**SMALL_TFVARS, "web_min_count": "3", "use_spot": "true"}
    root = repository(tmp_path, SMALL, {"staging": tfvars})
    report = run_json(
        root, "--spot-discount", "0.7", "--savings-plan-discount", "0.3", capsys=capsys
    )
    task = web_task("X86_64")
    # The first task stays on demand (capacity provider base 1), two run on Spot.
    assert lines_of(report)["Fargate web"] == cents(task + 2 * task * Decimal("0.3"))
    (staging,) = report["environments"]
    assert Decimal(str(staging["savings_plan"])) == cents(task * Decimal("0.3"))
    others = sum(
        (Decimal(str(line["high"])) for line in staging["lines"] if line["group"] != "compute"),
        Decimal(0),
    )
    with_plan = Decimal(str(staging["total_with_savings_plan"]["high"]))
    assert with_plan - others == lines_of(report)["Fargate web"] - cents(task * Decimal("0.3"))


def test_multi_az_doubles_the_database_and_the_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    single = lines_of(
        run_json(repository(tmp_path, SMALL, {"staging": SMALL_TFVARS}), capsys=capsys)
    )
    other = tmp_path / "multi"
    other.mkdir()
    tfvars = {**SMALL_TFVARS, "multi_az": "true"}
    double = lines_of(run_json(repository(other, SMALL, {"staging": tfvars}), capsys=capsys))
    for item in ("RDS PostgreSQL", "RDS storage"):
        assert double[item] == 2 * single[item]
    assert double["ElastiCache Valkey"] == cents(
        2 * P.regional["elasticache_valkey_hour"]["cache.t4g.micro"] * HOURS
    )


def test_aurora_provisioned_runs_a_reader_when_multi_az() -> None:
    answers = {**SMALL, "database_engine": "aurora-postgres", "environments": ["production"]}
    (production,) = estimate(answers).environments
    (aurora,) = [line for line in production.lines if line.item == "Aurora PostgreSQL"]
    assert production.sizing.db_instance_class == "db.r7g.large"
    assert aurora.low == cents(2 * P.regional["aurora_postgres_hour"]["db.r7g.large"] * HOURS)
    assert aurora.detail == "2 x db.r7g.large (writer + reader)"


def test_aurora_serverless_prints_its_acu_range(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = {**SMALL, "database_engine": "aurora-serverless", "rds_proxy": True}
    root = repository(tmp_path, answers)  # no tfvars: the template's staging sizes
    assert main(["cost", str(root), *TRAFFIC]) == 0
    text = capsys.readouterr().out
    acu = P.regional["aurora_acu_hour"] * HOURS
    low, high = cents(Decimal("0.5") * acu), cents(4 * acu)  # staging: 0.5 to 4 ACUs
    assert (low, high) == (Decimal("43.80"), Decimal("350.40"))
    row = next(line for line in text.splitlines() if "Aurora Serverless v2" in line)
    assert row.split()[-1] == "43.80-350.40"
    assert "1 x 0.5-4 ACU (writer)" in row
    # Staging gets no proxy on Serverless v2 (its 8-ACU floor costs more than the database).
    assert "RDS Proxy" not in text
    production = estimate({**answers, "environments": ["production"]}).environments[0]
    (proxy,) = [line for line in production.lines if line.item == "RDS Proxy"]
    rate = P.regional["rds_proxy_vcpu_hour"] * HOURS
    assert (proxy.low, proxy.high) == (cents(8 * rate), cents(32 * rate))  # 2 x 2..16 ACUs
    assert production.low < production.high


# ------------------------------------------------------------------------------ tfvars


def test_tfvars_override_the_template_defaults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tfvars = {**SMALL_TFVARS, "db_instance_class": '"db.t4g.small"', "nat_gateway_per_az": "true",
              "az_count": "3", "vpc_endpoints": "true"}  # fmt: skip
    lines = lines_of(run_json(repository(tmp_path, SMALL, {"staging": tfvars}), capsys=capsys))
    r = P.regional
    assert (
        lines["RDS PostgreSQL"]
        == cents(r["rds_postgres_hour"]["db.t4g.small"] * HOURS)
        == Decimal("23.36")
    )
    assert lines["NAT gateways"] == cents(
        3 * r["nat_gateway_hour"] * HOURS + 10 * r["nat_gateway_gb"]
    )
    assert lines["VPC endpoints"] == cents(7 * 3 * r["vpc_endpoint_hour"] * HOURS)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("web_min_count", '"two"', 'expected a whole number of tasks, got "two"'),
        ("multi_az", "1", "expected true or false, got 1"),
        ("az_count", "1.5", "expected a whole number of availability zones (2 or 3), got 1.5"),
        ("db_instance_class", '"db.x9.huge"',
         "'db.x9.huge' has no price in the us-east-1 table; priced: db.t4g.micro, db.t4g.small"),
        ("cache_node_type", '"cache.x9.huge"',
         "'cache.x9.huge' has no price in the us-east-1 table; priced: cache.t4g.micro"),
        ("db_serverless_max_capacity", "300",
         "expected ACUs from 0 to 256 in steps of 0.5, got 300"),
    ],
)  # fmt: skip
def test_a_bad_tfvars_value_is_one_line_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, value: str, expected: str
) -> None:
    root = repository(tmp_path, SMALL, {"staging": {**SMALL_TFVARS, name: value}})
    assert main(["cost", str(root)]) == EXIT_BAD_INPUT
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert f"infra/terraform/environments/staging/terraform.tfvars: {name}: {expected}" in err


def test_an_unknown_region_lists_the_priced_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = repository(tmp_path, {**SMALL, "aws_region": "sa-east-1"})
    assert main(["cost", str(root)]) == EXIT_BAD_INPUT
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert "aws_region: the price table has no 'sa-east-1'; it prices us-east-1, us-east-2, " in err
    for region in ("eu-west-1", "eu-central-1", "eu-west-2", "us-west-2", "ap-southeast-1",
                   "ap-southeast-2", "ap-northeast-1"):  # fmt: skip
        assert region in err
        assert region in regions()


def test_the_readme_section_for_an_unpriced_region_says_why() -> None:
    """The template still renders; its README names the region and the priced ones."""
    section = repository_cost({**SMALL, "aws_region": "sa-east-1"})
    assert section.startswith("## What it costs\n\nNo estimate: aws_region: the price table")
    assert "has no 'sa-east-1'; it prices us-east-1, " in section


def test_no_answers_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", str(tmp_path)]) == EXIT_BAD_INPUT
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "django-aws: .copier-answers.django-aws.yml: no Copier answers "
        "here: run in the repository the template was copied into\n"
    )


def test_every_region_prices_every_part() -> None:
    reference = P.regional
    for region in regions():
        table = prices_for(region).regional
        assert set(table) == set(reference), region
        for name, value in table.items():
            if isinstance(value, dict) and name != "fargate":
                assert set(value) == set(reference[name]), (region, name)


# ------------------------------------------------------------------------- PaaS bill


def test_paas_bill_prints_the_difference_per_month_and_year(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = repository(tmp_path, SMALL, {"staging": SMALL_TFVARS})
    assert main(["cost", str(root), *TRAFFIC, "--paas-bill", "400"]) == 0
    text = capsys.readouterr().out
    # 400.00 - 125.90 = 274.10 a month; x 12 = 3,289.20 a year.
    assert "Current PaaS bill: 400.00 a month" in text
    assert "AWS, all environments: 125.90 a month (118.69 with a Compute Savings Plan)" in text
    assert "Difference: AWS costs 274.10 less a month; AWS costs 3,289.20 less a year" in text
    assert "AWS adds operating time" in text
    assert main(["cost", str(root), *TRAFFIC, "--paas-bill", "100", "--json"]) == 0
    paas = json.loads(capsys.readouterr().out)["paas"]
    assert paas["difference_per_month"] == {"low": -25.9, "high": -25.9}
    assert paas["difference_per_year"] == {"low": -310.8, "high": -310.8}


def test_a_bad_flag_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["cost", str(tmp_path), "--paas-bill", "lots"])
    assert exited.value.code == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--paas-bill: expected a number, got 'lots'" in err


def test_a_discount_above_one_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = repository(tmp_path, SMALL)
    assert main(["cost", str(root), "--savings-plan-discount", "20"]) == EXIT_BAD_INPUT
    out, err = capsys.readouterr()
    assert out == ""
    assert err == ("django-aws: --savings-plan-discount: expected a fraction from 0 to 1, got 20\n")


# --------------------------------------------------------------------- other features


def items(answers: dict[str, Any]) -> list[str]:
    return [line.item for line in estimate(answers).environments[0].lines]


CELERY = {**SMALL, "celery": True, "celery_queues": "default,emails", "celery_beat": True}


def test_celery_runs_a_worker_per_queue_beat_and_the_queue_metrics_publisher() -> None:
    found = items(CELERY)
    assert [i for i in found if i.startswith("Fargate")] == [
        "Fargate web", "Fargate worker default", "Fargate worker emails",
        "Fargate beat", "Fargate queue metrics",
    ]  # fmt: skip
    (staging,) = estimate(CELERY).environments
    beat = next(line for line in staging.lines if line.item == "Fargate beat")
    assert beat.low == cents(web_task("X86_64", "0.25", "0.5"))


def test_an_sqs_broker_drops_elasticache_and_the_publisher_and_prices_requests() -> None:
    found = items({**CELERY, "broker": "sqs"})
    assert "ElastiCache Valkey" not in found
    assert "Fargate queue metrics" not in found
    assert "SQS" in found
    assert "ElastiCache Valkey" in items({**CELERY, "broker": "sqs", "channels": True})


def test_eventbridge_replaces_beat() -> None:
    found = items({**CELERY, "scheduler": "eventbridge"})
    assert "Fargate beat" not in found
    assert "EventBridge Scheduler" in found


def test_eventbridge_on_redis_runs_a_one_minute_task_per_invocation() -> None:
    """Scheduler cannot write to Redis: each run starts the worker's task definition."""
    answers = {**CELERY, "scheduler": "eventbridge", "environments": ["production"]}
    (production,) = estimate(answers).environments
    (line,) = [line for line in production.lines if line.item == "EventBridge Scheduler"]
    task_minute = web_task("X86_64") / HOURS / 60  # 0.5 vCPU / 1 GB for a minute
    invocations = Decimal(50_000) / 1_000_000 * P.regional["scheduler_per_million"]
    assert line.low == cents(invocations + 50_000 * task_minute) == Decimal("20.62")
    assert cents(line.savings_plan_eligible) == cents(50_000 * task_minute)  # Fargate, on demand
    (sqs,) = [
        line
        for line in estimate({**answers, "broker": "sqs"}).environments[0].lines
        if line.item == "EventBridge Scheduler"
    ]
    assert sqs.low == cents(invocations) == Decimal("0.05")  # SendMessage, no task


def test_a_redis_result_backend_keeps_elasticache_with_sqs() -> None:
    found = items({**CELERY, "broker": "sqs", "celery_result_backend": "redis"})
    assert "ElastiCache Valkey" in found


def test_express_runs_web_only_behind_its_own_load_balancer() -> None:
    answers = {**CELERY, "compute": "express", "media_on_s3": True}
    (staging,) = estimate(answers).environments
    found = [line.item for line in staging.lines]
    assert [i for i in found if i.startswith("Fargate")] == ["Fargate web"]
    assert "CloudFront" not in found
    assert "WAF" not in found
    (alb,) = [line for line in staging.lines if line.item == "Load balancer"]
    (ecs,) = [
        line for line in estimate(CELERY).environments[0].lines if line.item == "Load balancer"
    ]
    assert alb.low == ecs.low  # priced as the same load balancer
    assert alb.detail.endswith("(Express Mode's own)")


def test_ses_and_blue_green() -> None:
    result = estimate({**SMALL, "email": "ses", "deploy_strategy": "blue_green"})
    (ses,) = [line for line in result.environments[0].lines if line.item == "SES"]
    # staging: 10 % of 10,000 emails at 0.10 per 1,000, and the events queue's KMS key.
    emails = Decimal(1000) / 1000 * P.regional["ses_per_1000"]
    assert ses.low == cents(emails + P.regional["kms_key_month"]) == Decimal("1.10")
    assert any("Blue/green" in note for note in result.notes)


# ----------------------------------------------------------------------------- module


def test_the_cost_module_imports_only_the_standard_library() -> None:
    outside = []
    for path in sorted(COST.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                if node.level > 1:
                    outside.append(f"{path.name}: from {'.' * node.level}{node.module or ''}")
            elif isinstance(node, ast.Import | ast.ImportFrom):
                names = (
                    [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else [a.name for a in node.names]
                )
                outside += [
                    f"{path.name}: {n}"
                    for n in names
                    if n.split(".")[0] not in sys.stdlib_module_names and n != "__future__"
                ]
    assert outside == []


def test_it_renders_with_only_the_standard_library_loaded_by_path() -> None:
    """As the Copier extension loads it: by path, under a private name, no site-packages."""
    script = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('_cost', {str(COST / '__init__.py')!r}, "
        f"submodule_search_locations=[{str(COST)!r}])\n"
        "module = importlib.util.module_from_spec(spec); sys.modules['_cost'] = module\n"
        "spec.loader.exec_module(module)\n"
        "answers = {'aws_region': 'eu-west-1', 'environments': ['production']}\n"
        "print(module.repository_cost(answers))\n"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-I", "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.startswith("## What it costs\n")
    assert "| Item | production |" in result.stdout

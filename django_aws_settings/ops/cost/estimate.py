"""The monthly cost of what Terraform creates for each environment, line by line.

Every line is rounded to the cent and the totals are the sums of the printed lines, so a
reader can add them up. A line with a range (Aurora Serverless v2 ACUs, DMS capacity
units) has a low and a high; every other line has the two equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .errors import CostError
from .prices import Prices, prices_for
from .sizing import Sizing, default_sizing

CENT = Decimal("0.01")
# Fargate sizes of the task definitions in deploy/ecs/ (worker.json, beat.json) and of
# the queue-metrics service Terraform defines; web's comes from the web_size answer.
WORKER_SIZE = (Decimal("0.5"), Decimal(1))
BEAT_SIZE = (Decimal("0.25"), Decimal("0.5"))
QUEUE_METRICS_SIZE = (Decimal("0.25"), Decimal("0.5"))
# modules/network: the interface endpoints vpc_endpoints creates.
INTERFACE_ENDPOINTS = 7
# modules/edge: the web ACL's rules (common, known bad inputs, rate limit).
WAF_RULES = 3
# modules/dms: DMS Serverless scales between 1 DCU (its floor) and max_capacity_units.
DMS_CAPACITY_UNITS = (Decimal(1), Decimal(16))
# RDS Proxy bills at least 2 vCPUs of an instance, and 8 ACUs of Aurora Serverless v2.
PROXY_MINIMUM_VCPUS = 2
PROXY_MINIMUM_ACUS = Decimal(8)
# Celery's SQS transport long-polls each queue every 20 s while idle.
SQS_POLL_SECONDS = 20


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Assumptions:
    """Traffic and volume, stated: they apply to production; the other environments get
    ``other_share`` of each."""

    requests_per_month: int = 10_000_000
    egress_gb: Decimal = Decimal(100)
    stored_gb: Decimal = Decimal(50)
    s3_requests_per_month: int = 1_000_000
    log_gb: Decimal = Decimal(5)
    nat_gb: Decimal = Decimal(50)
    db_storage_gb: Decimal = Decimal(20)
    aurora_io_millions: Decimal = Decimal(10)
    tasks_per_month: int = 1_000_000
    scheduled_runs_per_month: int = 50_000
    emails_per_month: int = 10_000
    savings_plan_discount: Decimal = Decimal("0.20")
    spot_discount: Decimal = Decimal("0.70")
    other_share: Decimal = Decimal("0.10")

    def __post_init__(self) -> None:
        # Named as the command's flags (the fractions' flags are their field names).
        for name in ("savings_plan_discount", "spot_discount", "other_share"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                flag = "--" + name.replace("_", "-")
                raise CostError(flag, f"expected a fraction from 0 to 1, got {value}")
        for name, value in vars(self).items():
            if value < 0:
                raise CostError(name, f"expected 0 or more, got {value}")

    def scaled(self, environment: str) -> Assumptions:
        """The traffic this environment sees."""
        if environment == "production":
            return self
        share = self.other_share
        return Assumptions(
            requests_per_month=int(self.requests_per_month * share),
            egress_gb=self.egress_gb * share,
            stored_gb=self.stored_gb * share,
            s3_requests_per_month=int(self.s3_requests_per_month * share),
            log_gb=self.log_gb * share,
            nat_gb=self.nat_gb * share,
            db_storage_gb=self.db_storage_gb,
            aurora_io_millions=self.aurora_io_millions * share,
            tasks_per_month=int(self.tasks_per_month * share),
            scheduled_runs_per_month=int(self.scheduled_runs_per_month * share),
            emails_per_month=int(self.emails_per_month * share),
            savings_plan_discount=self.savings_plan_discount,
            spot_discount=self.spot_discount,
            other_share=share,
        )


@dataclass(frozen=True)
class Line:
    group: str
    item: str
    detail: str
    low: Decimal
    high: Decimal
    # The on-demand Fargate part a Compute Savings Plan discounts (never Spot), unrounded.
    savings_plan_eligible: Decimal = Decimal(0)


@dataclass(frozen=True)
class EnvironmentEstimate:
    environment: str
    sizing: Sizing
    lines: tuple[Line, ...]
    savings_plan_discount: Decimal

    @property
    def low(self) -> Decimal:
        return sum((line.low for line in self.lines), Decimal(0))

    @property
    def high(self) -> Decimal:
        return sum((line.high for line in self.lines), Decimal(0))

    @property
    def savings(self) -> Decimal:
        """What the Compute Savings Plan takes off (on-demand Fargate only)."""
        eligible = sum((line.savings_plan_eligible for line in self.lines), Decimal(0))
        return cents(eligible * self.savings_plan_discount)


@dataclass(frozen=True)
class Estimate:
    project: str
    prices: Prices
    assumptions: Assumptions
    environments: tuple[EnvironmentEstimate, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def low(self) -> Decimal:
        return sum((e.low for e in self.environments), Decimal(0))

    @property
    def high(self) -> Decimal:
        return sum((e.high for e in self.environments), Decimal(0))

    @property
    def savings(self) -> Decimal:
        return sum((e.savings for e in self.environments), Decimal(0))


def estimate(
    answers: Mapping[str, Any],
    sizings: Mapping[str, Sizing] | None = None,
    assumptions: Assumptions | None = None,
) -> Estimate:
    """The estimate for each answered environment; ``sizings`` holds what an environment's
    terraform.tfvars says (the template's defaults for any environment left out)."""
    assumptions = assumptions or Assumptions()
    prices = prices_for(str(answers.get("aws_region", "eu-west-1")))
    environments = _environments(answers)
    results = []
    for environment in environments:
        sizing = (sizings or {}).get(environment) or default_sizing(environment, answers)
        stack = _Stack(answers, sizing, prices, assumptions.scaled(environment))
        results.append(
            EnvironmentEstimate(
                environment, sizing, tuple(stack.lines()), assumptions.savings_plan_discount
            )
        )
    return Estimate(
        project=str(answers.get("project_slug", "app")),
        prices=prices,
        assumptions=assumptions,
        environments=tuple(results),
        notes=tuple(_notes(answers)),
    )


def _environments(answers: Mapping[str, Any]) -> list[str]:
    environments = answers.get("environments", ["staging", "production"])
    if isinstance(environments, str):  # answered as text before v0.1.0
        environments = [e.strip() for e in environments.split(",") if e.strip()]
    if not isinstance(environments, list) or not environments:
        raise CostError(
            "environments", "expected a list of environments, e.g. [staging, production]"
        )
    return [str(e) for e in environments]


def _notes(answers: Mapping[str, Any]) -> list[str]:
    notes = [
        "Workers and beat are priced running, as after the cutover (production's "
        "background_jobs stays false until then).",
        "Not priced: the migrate task (seconds per deploy), data transfer between zones and "
        "to the internet from the tasks, backups within the free allowance, Container "
        "Insights, ECR storage, Route 53, free tiers.",
    ]
    if answers.get("deploy_strategy", "rolling") == "blue_green":
        notes.append(
            "Blue/green deploys run a second set of web tasks until traffic moves: web "
            "doubles for minutes per deploy (not priced monthly)."
        )
    if answers.get("dms", False):
        notes.append(
            "DMS runs only until the cutover: answer dms no afterwards and it stops billing."
        )
    return notes


class _Stack:
    """The priced parts of one environment."""

    def __init__(
        self, answers: Mapping[str, Any], sizing: Sizing, prices: Prices, traffic: Assumptions
    ) -> None:
        self.answers, self.sizing, self.prices, self.traffic = answers, sizing, prices, traffic
        self.hours = prices.hours_per_month
        # ECS Express Mode: one web service behind a load balancer of its own; no
        # CloudFront, WAF, workers or beat (docs/express.md).
        self.express = answers.get("compute", "ecs") == "express"
        self.celery = bool(answers.get("celery", False)) and not self.express
        self.queues: list[str] = (
            [q for q in str(answers.get("celery_queues", "default")).split(",") if q]
            if self.celery
            else []
        )
        self.sqs = self.celery and answers.get("broker", "redis") == "sqs"
        self.beat = (
            self.celery
            and bool(answers.get("celery_beat", False))
            and answers.get("scheduler", "beat") != "eventbridge"
        )
        # With SQS, CloudWatch has each queue's depth already: no publisher runs.
        self.queue_metrics = bool(self.queues) and not self.sqs
        # Redis where something needs it: the Redis broker or result backend, Channels,
        # Django's cache in an app without Celery.
        self.cache = (
            not self.sqs
            or answers.get("celery_result_backend", "none") == "redis"
            or bool(answers.get("channels", False))
        )
        self.engine = str(answers.get("database_engine", "rds-postgres"))
        self.architecture = str(answers.get("cpu_architecture", "X86_64"))
        self.nat_count = sizing.az_count if sizing.nat_gateway_per_az else 1
        self.cache_nodes = 2 if sizing.multi_az else 1

    def lines(self) -> list[Line]:
        lines = self._fargate()
        lines += self._database()
        if self.cache:
            lines.append(self._cache())
        lines += self._network()
        lines += self._edge()
        lines += self._operations()
        return lines

    # ------------------------------------------------------------------------ compute

    def _web_size(self) -> tuple[Decimal, Decimal]:
        size = str(self.answers.get("web_size", "512/1024"))
        try:
            cpu, memory = (Decimal(int(part)) for part in size.split("/"))
        except ValueError:
            raise CostError(
                "web_size", f"expected CPU/memory units such as 512/1024, got {size!r}"
            ) from None
        return cpu / 1024, memory / 1024

    def _fargate(self) -> list[Line]:
        spot = self.sizing.use_spot and not self.express
        lines = [self._service("Fargate web", self.sizing.web_min_count, self._web_size(), spot)]
        for queue in self.queues:
            lines.append(
                self._service(
                    f"Fargate worker {queue}", self.sizing.worker_min_count, WORKER_SIZE, spot
                )
            )
        if self.beat:
            lines.append(self._service("Fargate beat", 1, BEAT_SIZE, spot=False))
        if self.queue_metrics:
            lines.append(self._service("Fargate queue metrics", 1, QUEUE_METRICS_SIZE, spot=False))
        return lines

    def _service(self, item: str, tasks: int, size: tuple[Decimal, Decimal], spot: bool) -> Line:
        rates = self.prices.fargate(self.architecture)
        vcpu, memory = size
        per_task = (vcpu * rates["vcpu_hour"] + memory * rates["gb_hour"]) * self.hours
        # The capacity provider strategy keeps the first task on demand (base 1).
        on_demand = min(tasks, 1) if spot else tasks
        on_spot = tasks - on_demand
        on_demand_cost = on_demand * per_task
        amount = cents(on_demand_cost + on_spot * per_task * (1 - self.traffic.spot_discount))
        detail = f"{tasks} x {_number(vcpu)} vCPU / {_number(memory)} GB {self.architecture}"
        if on_spot:
            detail += f", {on_demand} on demand + {on_spot} Spot"
        return Line("compute", item, detail, amount, amount, on_demand_cost)

    # ----------------------------------------------------------------------- database

    def _database(self) -> list[Line]:
        sizing, prices, hours, traffic = self.sizing, self.prices, self.hours, self.traffic
        lines = []
        storage_gb = traffic.db_storage_gb
        if self.engine == "rds-postgres":
            copies = 2 if sizing.multi_az else 1  # Multi-AZ bills the standby too
            hourly = prices.sized(
                "rds_postgres_hour", sizing.db_instance_class, sizing.named("db_instance_class")
            )
            amount = cents(hourly * hours * copies)
            where = "Multi-AZ" if sizing.multi_az else "single-AZ"
            lines.append(
                Line(
                    "database",
                    "RDS PostgreSQL",
                    f"{sizing.db_instance_class}, {where}",
                    amount,
                    amount,
                )
            )
            storage = cents(storage_gb * prices.rate("rds_gp3_gb_month") * copies)
            lines.append(
                Line(
                    "database",
                    "RDS storage",
                    f"{_number(storage_gb)} GB gp3 x {copies}",
                    storage,
                    storage,
                )
            )
        else:
            instances = 2 if sizing.multi_az else 1  # a writer, and a reader in another zone
            role = "writer + reader" if instances == 2 else "writer"
            if self.engine == "aurora-serverless":
                acu = prices.rate("aurora_acu_hour") * hours * instances
                low = cents(sizing.db_serverless_min_capacity * acu)
                high = cents(sizing.db_serverless_max_capacity * acu)
                detail = (
                    f"{instances} x {_number(sizing.db_serverless_min_capacity)}-"
                    f"{_number(sizing.db_serverless_max_capacity)} ACU ({role})"
                )
                lines.append(Line("database", "Aurora Serverless v2", detail, low, high))
            else:
                hourly = prices.sized(
                    "aurora_postgres_hour",
                    sizing.db_instance_class,
                    sizing.named("db_instance_class"),
                )
                amount = cents(hourly * hours * instances)
                detail = f"{instances} x {sizing.db_instance_class} ({role})"
                lines.append(Line("database", "Aurora PostgreSQL", detail, amount, amount))
            storage = cents(
                storage_gb * prices.rate("aurora_storage_gb_month")
                + traffic.aurora_io_millions * prices.rate("aurora_io_per_million")
            )
            detail = f"{_number(storage_gb)} GB, {_number(traffic.aurora_io_millions)} million I/O"
            lines.append(Line("database", "Aurora storage", detail, storage, storage))
        if sizing.rds_proxy:
            lines.append(self._proxy())
        key = cents(prices.rate("kms_key_month"))
        lines.append(Line("database", "KMS key", "the database's own key", key, key))
        if self.answers.get("dms", False):
            rate = prices.rate("dms_serverless_dcu_hour") * hours
            low, high = (cents(units * rate) for units in DMS_CAPACITY_UNITS)
            fewest, most = (_number(units) for units in DMS_CAPACITY_UNITS)
            detail = f"{fewest}-{most} DCU, until the cutover"
            lines.append(Line("database", "DMS Serverless", detail, low, high))
        return lines

    def _proxy(self) -> Line:
        sizing, rate = self.sizing, self.prices.rate("rds_proxy_vcpu_hour") * self.hours
        instances = 1 if self.engine == "rds-postgres" else (2 if sizing.multi_az else 1)
        if self.engine == "aurora-serverless":
            low_acus = max(PROXY_MINIMUM_ACUS, sizing.db_serverless_min_capacity * instances)
            high_acus = max(PROXY_MINIMUM_ACUS, sizing.db_serverless_max_capacity * instances)
            detail = f"{_number(low_acus)}-{_number(high_acus)} ACU (at least 8)"
            return Line(
                "database", "RDS Proxy", detail, cents(low_acus * rate), cents(high_acus * rate)
            )
        vcpus = max(PROXY_MINIMUM_VCPUS, _vcpus(sizing.db_instance_class)) * instances
        amount = cents(vcpus * rate)
        return Line("database", "RDS Proxy", f"{vcpus} vCPU", amount, amount)

    # -------------------------------------------------------------------------- cache

    def _cache(self) -> Line:
        node = self.sizing.cache_node_type
        hourly = self.prices.sized(
            "elasticache_valkey_hour", node, self.sizing.named("cache_node_type")
        )
        amount = cents(hourly * self.hours * self.cache_nodes)
        role = "primary + replica" if self.cache_nodes == 2 else "primary"
        return Line(
            "cache", "ElastiCache Valkey", f"{self.cache_nodes} x {node} ({role})", amount, amount
        )

    # ------------------------------------------------------------------------ network

    def _network(self) -> list[Line]:
        prices, hours, sizing = self.prices, self.hours, self.sizing
        nat = cents(
            self.nat_count * prices.rate("nat_gateway_hour") * hours
            + self.traffic.nat_gb * prices.rate("nat_gateway_gb")
        )
        gateways = f"{self.nat_count} gateway{'s' if self.nat_count > 1 else ''}"
        detail = f"{gateways}, {_number(self.traffic.nat_gb)} GB processed"
        lines = [Line("network", "NAT gateways", detail, nat, nat)]
        # Public IPv4 addresses: one per NAT gateway, one per zone for the load balancer.
        addresses = self.nat_count + sizing.az_count
        ipv4 = cents(addresses * prices.rate("public_ipv4_hour") * hours)
        lines.append(
            Line(
                "network", "Public IPv4", f"{addresses} addresses (NAT, load balancer)", ipv4, ipv4
            )
        )
        endpoints = (
            INTERFACE_ENDPOINTS
            if sizing.vpc_endpoints
            else (1 if self.answers.get("dms", False) else 0)
        )
        if endpoints:
            amount = cents(endpoints * sizing.az_count * prices.rate("vpc_endpoint_hour") * hours)
            named = f"{endpoints} interface endpoint{'s' if endpoints > 1 else ''}"
            detail = f"{named} x {sizing.az_count} zones"
            lines.append(Line("network", "VPC endpoints", detail, amount, amount))
        return lines

    # --------------------------------------------------------------------------- edge

    def _edge(self) -> list[Line]:
        prices, traffic, hours = self.prices, self.traffic, self.hours
        # LCUs: the larger of new connections (25/s each, one per request: an upper bound,
        # CloudFront reuses them) and bytes processed (1 GB/h each), all traffic reaching
        # the load balancer (CloudFront's cache hits would lower it).
        per_second = Decimal(traffic.requests_per_month) / (hours * 3600)
        lcus = max(per_second / 25, traffic.egress_gb / hours)
        alb = cents((prices.rate("alb_hour") + lcus * prices.rate("alb_lcu_hour")) * hours)
        detail = f"{_number(lcus.quantize(Decimal('0.001')))} LCU on average"
        if self.express:
            detail += " (Express Mode's own)"
        lines = [Line("edge", "Load balancer", detail, alb, alb)]
        if not self.express:
            lines += self._cloudfront()
        if self.answers.get("media_on_s3", False) or self.answers.get("static_backend") == "s3":
            s3 = cents(
                traffic.stored_gb * prices.rate("s3_standard_gb_month")
                + Decimal(traffic.s3_requests_per_month) / 1000 * prices.rate("s3_get_per_1000")
            )
            gets = f"{traffic.s3_requests_per_month:,} GETs"
            detail = f"{_number(traffic.stored_gb)} GB stored, {gets}"
            lines.append(Line("storage", "S3", detail, s3, s3))
        return lines

    def _cloudfront(self) -> list[Line]:
        traffic, cdn = self.traffic, self.prices.global_
        requests = Decimal(traffic.requests_per_month)
        cloudfront = cents(
            traffic.egress_gb * cdn["cloudfront_gb_out"]
            + requests / 10_000 * cdn["cloudfront_https_per_10000"]
        )
        detail = f"{_number(traffic.egress_gb)} GB out, {traffic.requests_per_month:,} requests"
        lines = [Line("edge", "CloudFront", detail, cloudfront, cloudfront)]
        if self.sizing.waf:
            waf = cents(
                cdn["waf_web_acl_month"]
                + WAF_RULES * cdn["waf_rule_month"]
                + requests / 1_000_000 * cdn["waf_per_million"]
            )
            lines.append(Line("edge", "WAF", f"1 web ACL, {WAF_RULES} rules", waf, waf))
        return lines

    # --------------------------------------------------------------------- operations

    def _operations(self) -> list[Line]:
        prices, traffic, sizing = self.prices, self.traffic, self.sizing
        secrets = self._secret_count()
        amount = cents(secrets * prices.rate("secrets_manager_secret_month"))
        lines = [Line("operations", "Secrets Manager", f"{secrets} secrets", amount, amount)]
        stored = traffic.log_gb * Decimal(sizing.log_retention_days) / 30
        logs = cents(
            traffic.log_gb * prices.rate("logs_ingest_gb")
            + stored * prices.rate("logs_storage_gb_month")
        )
        detail = f"{_number(traffic.log_gb)} GB ingested, {sizing.log_retention_days} days kept"
        lines.append(Line("operations", "CloudWatch logs", detail, logs, logs))
        alarms = self._alarm_count()
        metrics = len(self.queues) if self.queue_metrics else 0
        amount = cents(
            alarms * prices.rate("alarm_month") + metrics * prices.rate("custom_metric_month")
        )
        detail = f"{alarms} alarms" + (f", {metrics} queue depth metrics" if metrics else "")
        lines.append(Line("operations", "CloudWatch alarms", detail, amount, amount))
        if self.sqs:
            tasks = traffic.tasks_per_month
            workers = len(self.queues) * sizing.worker_min_count
            polls = workers * int(self.hours) * 3600 // SQS_POLL_SECONDS
            millions = Decimal(tasks * 3 + polls) / 1_000_000  # send, receive, delete
            amount = cents(millions * prices.rate("sqs_per_million"))
            detail = f"{tasks:,} tasks x 3 requests + {polls:,} idle polls"
            lines.append(Line("operations", "SQS", detail, amount, amount))
        if self.celery and self.answers.get("scheduler", "beat") == "eventbridge":
            lines.append(self._scheduler())
        if self.answers.get("email", "app") == "ses":
            emails = traffic.emails_per_month
            # modules/email: the bounce and complaint events' queue has its own KMS key.
            amount = cents(
                Decimal(emails) / 1000 * prices.rate("ses_per_1000") + prices.rate("kms_key_month")
            )
            detail = f"{emails:,} emails, the events' KMS key"
            lines.append(Line("operations", "SES", detail, amount, amount))
        return lines

    def _scheduler(self) -> Line:
        """EventBridge Scheduler's invocations; with a Redis broker each one runs a one-off
        worker task (`manage.py enqueue`), billed Fargate's minimum of one minute."""
        runs = self.traffic.scheduled_runs_per_month
        invocations = Decimal(runs) / 1_000_000 * self.prices.rate("scheduler_per_million")
        if self.sqs:
            amount = cents(invocations)
            return Line(
                "operations", "EventBridge Scheduler", f"{runs:,} invocations", amount, amount
            )
        rates = self.prices.fargate(self.architecture)
        vcpu, memory = WORKER_SIZE
        tasks = runs * (vcpu * rates["vcpu_hour"] + memory * rates["gb_hour"]) / 60
        amount = cents(invocations + tasks)
        detail = f"{runs:,} invocations, each a 1-minute worker task"
        return Line("operations", "EventBridge Scheduler", detail, amount, amount, tasks)

    def _secret_count(self) -> int:
        """modules/config: app, db-app (+ media-signing-key); the master secret RDS keeps;
        modules/dms: dms-source and dms-target."""
        signing = self.answers.get("media_on_s3", False) and not self.express
        count = 3 + (1 if signing else 0)
        return count + (2 if self.answers.get("dms", False) else 0)

    def _alarm_count(self) -> int:
        """modules/observability's alarms for this stack (and modules/queues' with SQS)."""
        sizing, count = self.sizing, 0
        if not self.express:  # Express Mode watches its own load balancer
            count += 5  # target 5xx, load balancer 5xx, latency, unhealthy hosts, CloudFront 5xx
            count += 1 if sizing.waf else 0
        count += 2  # database CPU, connections
        count += 1 if self.engine == "rds-postgres" else 0  # free storage
        count += 1 if self.engine == "aurora-serverless" else 0  # ACU
        count += 2 if sizing.rds_proxy else 0
        if self.cache:
            burstable = sizing.cache_node_type.startswith("cache.t")
            count += self.cache_nodes * (3 if burstable else 2)
        # Queue depth; with SQS dead letters, oldest message and depth.
        count += len(self.queues) * (3 if self.sqs else 1)
        services = 1 + len(self.queues) + (1 if self.beat else 0) + (1 if self.queue_metrics else 0)
        return count + services  # tasks missing, per service


def _vcpus(instance_class: str) -> int:
    """vCPUs of an RDS class from its size: large and smaller have 2, xlarge 4, Nxlarge 4N."""
    size = instance_class.rsplit(".", 1)[-1]
    if size.endswith("xlarge"):
        multiple = size.removesuffix("xlarge")
        return 4 * (int(multiple) if multiple.isdigit() else 1)
    return 2


def _number(value: Decimal) -> str:
    """A quantity without trailing zeros: 0.5, 2, 1.25."""
    return format(value.normalize(), "f")

"""The generated docs/aws/README.md opens with a Mermaid flowchart of exactly the stack the
answers produce: parsed here into nodes and edges and checked against the answers and the
rendered task definitions (one worker node per queue service, beat only when it runs, the
proxy in front of the database only when answered, DMS only during a replication)."""

from __future__ import annotations

import itertools
import re

from support.template import task_definition_files
from support.template_matrix import Rendered

# `id[label]`, `id([label])`, `id[(label)]` (a store): the node definitions.
NODE = re.compile(
    r"(?P<id>[A-Za-z_][A-Za-z0-9_]*)(?:(?:\(\[|\[\(|\[)(?P<label>[^\])]*)(?:\]\)|\)\]|\]))?"
)
# `-->` or a labelled dotted edge `-. text .->`.
EDGE = re.compile(r"\s*-->\s*|\s*-\.[^.]*\.->\s*")


class Flowchart:
    def __init__(self, text: str) -> None:
        lines = text.split("```mermaid\n", 1)[1].split("\n```", 1)[0].splitlines()
        assert lines[0] == "flowchart LR"
        self.nodes: dict[str, str] = {}
        self.edges: set[tuple[str, str]] = set()
        for line in lines[1:]:
            ids = []
            for part in EDGE.split(line.strip()):
                node = NODE.fullmatch(part)
                assert node is not None, f"not a node: {part!r} in {line!r}"
                if node.group("label") is not None:
                    assert node.group("id") not in self.nodes, f"{node.group('id')} defined twice"
                    self.nodes[node.group("id")] = node.group("label")
                ids.append(node.group("id"))
            self.edges |= set(itertools.pairwise(ids))


def flowchart(rendered: Rendered) -> Flowchart:
    readme = (rendered.root / "docs" / "aws" / "README.md").read_text()
    assert readme.index("```mermaid") < readme.index("## ")  # it opens the page
    return Flowchart(readme)


def test_the_diagram_has_a_node_for_each_part_the_answers_create(rendered: Rendered) -> None:
    case, chart = rendered.case, flowchart(rendered)
    expected = {"users", "web", "db", "config", "gha", "ecr", "migrate"}
    # ECS Express Mode: its own service (load balancer, HTTPS) instead of CloudFront and ours.
    expected |= {"express"} if case.compute == "express" else {"cdn", "alb"}
    expected |= {"redis"} if case.elasticache else set()
    expected |= {"sqs"} if case.sqs else set()
    if case.static_backend == "s3" or case.media_on_s3:
        expected.add("s3")
    if case.rds_proxy:
        expected.add("proxy")
    if case.celery:
        expected |= {f"worker_{queue.replace('-', '_')}" for queue in case.queues}
    if case.beat_service:
        expected.add("beat")
    elif case.celery and case.celery_beat:  # EventBridge Scheduler instead of beat
        expected |= {"scheduler"} if case.sqs else {"scheduler", "enqueue"}
    if case.dms:
        expected |= {"old", "dms"}
    expected |= {"ses", "email_events"} if case.email == "ses" else set()
    assert set(chart.nodes) == expected
    # Every edge joins defined nodes.
    assert {node for edge in chart.edges for node in edge} <= set(chart.nodes)


def test_the_diagram_matches_the_task_definitions(rendered: Rendered) -> None:
    case, chart = rendered.case, flowchart(rendered)
    roles = set(task_definition_files(rendered.root))
    workers = {node for node in chart.nodes if node.startswith("worker_")}
    assert bool(workers) == ("worker" in roles)
    assert ("beat" in chart.nodes) == ("beat" in roles)
    database = "proxy" if case.rds_proxy else "db"
    front = "express" if case.compute == "express" else "alb"
    assert {("web", database), ("migrate", database), (front, "web")} <= chart.edges
    if case.compute == "express" and case.media_on_s3:  # no CloudFront: presigned S3 URLs
        assert {("users", "s3"), ("web", "s3")} <= chart.edges
    broker = "sqs" if case.sqs else "redis"
    assert {(worker, broker) for worker in workers} | {
        (worker, database) for worker in workers
    } <= chart.edges
    if case.celery:
        assert ("web", broker) in chart.edges  # the web sends tasks
    assert (("web", "redis") in chart.edges) == case.elasticache
    if case.rds_proxy:
        assert ("proxy", "db") in chart.edges
    if "scheduler" in chart.nodes:  # EventBridge Scheduler: to SQS, or an enqueue task to Redis
        via = (
            {("scheduler", "sqs")} if case.sqs else {("scheduler", "enqueue"), ("enqueue", "redis")}
        )
        assert via <= chart.edges
    if case.dms:
        assert {("old", "dms"), ("dms", "db")} <= chart.edges
    # The app sends as the SES identity; its bounces and complaints wait in SQS.
    ses = {("web", "ses"), ("ses", "email_events")}
    assert (ses <= chart.edges) == (case.email == "ses")

    readme = (rendered.root / "docs" / "aws" / "README.md").read_text()
    # WebSockets ride the same path (CloudFront, the ALB, web) and the layer is Redis.
    assert ("  users -. WebSocket /ws/ .-> cdn\n" in readme) == case.channels
    if case.channels:
        assert {("users", "cdn"), ("cdn", "alb"), ("alb", "web"), ("web", "redis")} <= chart.edges

"""Blue/green deploys (the `deploy_strategy` answer): the web service on ECS's native
BLUE_GREEN strategy, evaluated from the generated Terraform as it would be planned.

Checked: the service names the second target group, the production and test listener
rules and a role ECS may assume with AWS's managed policy for load balancers; the test
rule is reached only through CloudFront with a secret header and is matched before the
production rule; both rules can carry both target groups; workers and beat keep rolling;
the deploy workflow still runs migrate → workers → beat → web and waits out the bake time.
The schema, `terraform validate` and checkov run on these answer sets in
tests/template/test_template_terraform.py.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from support.template import RUN_REGION
from support.template_matrix import Rendered
from support.terraform_eval import Facts, Instance, ResourceInstance
from support.terraform_schema import TERRAFORM_DIR

MANAGED_POLICY = "arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers"


def app(rendered: Rendered) -> Instance:
    environment = rendered.case.environments[-1]
    root = rendered.root / TERRAFORM_DIR / "environments" / environment
    facts = Facts(rendered.case.account(environment), RUN_REGION)
    return Instance.root_module(root, facts).child("app")


def full_stack(rendered: Rendered) -> tuple[Instance, Instance]:
    if rendered.case.compute == "express":
        pytest.skip("ECS Express Mode runs its own deployments (docs/express.md)")
    module = app(rendered)
    return module.child("edge"), module.child("ecs")


def with_input(instance: Instance, name: str, value: Any) -> Instance:
    """The same module call with one argument replaced."""
    changed = Instance(
        instance.module, {**instance.inputs, name: value}, instance.facts, instance.address,
        instance.root,
    )  # fmt: skip
    changed.pending = {k: v for k, v in instance.pending.items() if k != name}
    return changed


def blocks(resource: ResourceInstance, name: str, parent: Any = None, scope: Any = None) -> Any:
    return resource.nested_blocks(name, parent, scope)


def evaluated(owner: Instance, block: Any, scope: dict[str, Any]) -> dict[str, Any]:
    return {name: owner.evaluate(tree, scope) for name, tree in block.arguments.items()}


def forwarded_groups(edge: Instance, rule: ResourceInstance) -> list[tuple[Any, int]]:
    """(target group ARN, weight) of a rule's weighted forward action."""
    ((action, scope),) = blocks(rule, "action")
    ((forward, scope),) = blocks(rule, "forward", action, scope)
    found = blocks(rule, "target_group", forward, scope)
    return [(edge.evaluate(b.arguments["arn"], s), edge.evaluate(b.arguments["weight"], s))
            for b, s in found]  # fmt: skip


def test_the_web_service_deploys_blue_green_exactly_when_answered(rendered: Rendered) -> None:
    edge, ecs = full_stack(rendered)
    web = ecs.instances("resource", "aws_ecs_service", "web")
    configurations = blocks(web, "deployment_configuration")
    ((balancer, balancer_scope),) = blocks(web, "load_balancer")
    advanced = blocks(web, "advanced_configuration", balancer, balancer_scope)
    roles = ecs.instances("resource", "aws_iam_role", "blue_green")
    alternate = edge.instances("resource", "aws_lb_target_group", "alternate")
    if rendered.case.deploy_strategy != "blue_green":
        assert (configurations, advanced, roles, alternate) == ([], [], [], [])
        assert edge.instances("resource", "aws_lb_listener_rule", "test") == []
        return
    ((configuration, scope),) = configurations
    assert evaluated(ecs, configuration, scope) == {
        "strategy": "BLUE_GREEN",
        "bake_time_in_minutes": 10,
    }
    assert blocks(web, "lifecycle_hook", configuration, scope) == []  # none unless given
    ((block, scope),) = advanced
    (role,) = roles
    (alternate_group,) = alternate
    (test_rule,) = edge.instances("resource", "aws_lb_listener_rule", "test")
    production_rule = edge.instances("resource", "aws_lb_listener_rule", "from_cloudfront")
    web_group = edge.instances("resource", "aws_lb_target_group", "web")
    assert evaluated(ecs, block, scope) == {
        "alternate_target_group_arn": alternate_group.get("arn"),
        "production_listener_rule": production_rule.get("arn"),
        "test_listener_rule": test_rule.get("arn"),
        "role_arn": role.get("arn"),
    }
    assert ecs.evaluate(balancer.arguments["target_group_arn"], balancer_scope) == web_group.get(
        "arn"
    )


def test_ecs_may_move_the_listener_rules_and_nothing_else(rendered: Rendered) -> None:
    _, ecs = full_stack(rendered)
    if rendered.case.deploy_strategy != "blue_green":
        pytest.skip("rolling deploys: no blue/green role")
    (role,) = ecs.instances("resource", "aws_iam_role", "blue_green")
    (attachment,) = ecs.instances("resource", "aws_iam_role_policy_attachment", "blue_green")
    trust = ecs.instances("data", "aws_iam_policy_document", "ecs_trust").get("json")
    assert role.argument("assume_role_policy") == trust
    assert [(s["actions"], s["principals"]) for s in trust] == [
        (["sts:AssumeRole"], [{"type": "Service", "identifiers": ["ecs.amazonaws.com"]}])
    ]
    assert (attachment.argument("role"), attachment.argument("policy_arn")) == (
        role.argument("name"),
        MANAGED_POLICY,
    )
    assert ecs.instances("resource", "aws_iam_role_policy", "blue_green_hook") == []
    assert len(role.argument("name")) <= 64


def test_the_hook_is_called_after_test_traffic_with_permission_for_that_function(
    rendered: Rendered,
) -> None:
    _, ecs_default = full_stack(rendered)
    if rendered.case.deploy_strategy != "blue_green":
        pytest.skip("rolling deploys: no lifecycle hooks")
    hook = "arn:aws:lambda:eu-west-1:123456789012:function:shop-smoke-test"
    ecs = with_input(ecs_default, "blue_green_hook_function_arn", hook)
    web = ecs.instances("resource", "aws_ecs_service", "web")
    (role,) = ecs.instances("resource", "aws_iam_role", "blue_green")
    ((configuration, scope),) = blocks(web, "deployment_configuration")
    ((hook_block, hook_scope),) = blocks(web, "lifecycle_hook", configuration, scope)
    assert evaluated(ecs, hook_block, hook_scope) == {
        "hook_target_arn": hook,
        "role_arn": role.get("arn"),
        "lifecycle_stages": ["POST_TEST_TRAFFIC_SHIFT"],
    }
    (document,) = ecs.instances("data", "aws_iam_policy_document", "blue_green_hook")
    assert [(s["actions"], s["resources"]) for s in document.get("json")] == [
        (["lambda:InvokeFunction"], [hook])
    ]


def test_test_traffic_needs_cloudfront_and_the_secret_and_is_matched_first(
    rendered: Rendered,
) -> None:
    edge, _ = full_stack(rendered)
    production = edge.instances("resource", "aws_lb_listener_rule", "from_cloudfront")
    web_group = edge.instances("resource", "aws_lb_target_group", "web")
    if rendered.case.deploy_strategy != "blue_green":
        assert production.argument("priority") == 1
        assert forwarded_groups(edge, production) == [(web_group.get("arn"), 100)]
        return
    (test,) = edge.instances("resource", "aws_lb_listener_rule", "test")
    (alternate,) = edge.instances("resource", "aws_lb_target_group", "alternate")
    (secret,) = edge.instances("resource", "random_password", "test_header")
    assert test.argument("priority") < production.argument("priority")
    assert test.argument("listener_arn") == production.argument("listener_arn")
    headers = {}
    for condition, scope in blocks(test, "condition"):
        for header, inner in blocks(test, "http_header", condition, scope):
            values = evaluated(edge, header, inner)
            headers[values["http_header_name"]] = values["values"]
    ((production_condition, scope),) = blocks(production, "condition")
    ((origin, inner),) = blocks(production, "http_header", production_condition, scope)
    origin_values = evaluated(edge, origin, inner)
    assert headers == {
        origin_values["http_header_name"]: origin_values["values"],  # through CloudFront only
        "X-Blue-Green-Test": [secret.get("result")],
    }
    assert secret.argument("length") >= 32
    both = {(web_group.get("arn"), 100), (alternate.get("arn"), 0)}
    assert set(forwarded_groups(edge, production)) == both
    assert set(forwarded_groups(edge, test)) == both
    # ECS moves the weights: Terraform must not move them back on the next apply.
    assert production.block.ignored_changes() >= {"action"}
    assert test.block.ignored_changes() >= {"action"}


def test_the_second_target_group_checks_health_like_the_first(rendered: Rendered) -> None:
    edge, _ = full_stack(rendered)
    if rendered.case.deploy_strategy != "blue_green":
        pytest.skip("rolling deploys: one target group")
    web = edge.instances("resource", "aws_lb_target_group", "web")
    (alternate,) = edge.instances("resource", "aws_lb_target_group", "alternate")
    same = ("port", "protocol", "target_type", "vpc_id", "deregistration_delay")
    assert {k: alternate.argument(k) for k in same} == {k: web.argument(k) for k in same}
    ((check_web, scope_web),) = blocks(web, "health_check")
    ((check_alt, scope_alt),) = blocks(alternate, "health_check")
    assert evaluated(edge, check_alt, scope_alt) == evaluated(edge, check_web, scope_web)
    assert len(alternate.argument("name")) <= 32  # AWS's limit for target group names


def test_workers_and_beat_keep_rolling(rendered: Rendered) -> None:
    _, ecs = full_stack(rendered)
    workers = ecs.instances("resource", "aws_ecs_service", "worker")
    beat = ecs.instances("resource", "aws_ecs_service", "beat")
    for service in [*workers.values(), *beat]:
        assert blocks(service, "deployment_configuration") == []
        assert blocks(service, "load_balancer") == []


def test_the_workflow_keeps_the_migrate_gate_order_and_waits_out_the_bake_time(
    rendered: Rendered,
) -> None:
    if rendered.case.compute == "express":
        pytest.skip("ECS Express Mode deploys with express-deploy")
    workflow = yaml.safe_load(
        (rendered.root / ".github" / "workflows" / "django-aws-deploy.yml").read_text()
    )
    steps = [step for job in workflow["jobs"].values() for step in job.get("steps", [])]
    names = [step.get("name", "") for step in steps]
    order = [
        next(i for i, name in enumerate(names) if name.startswith(prefix))
        for prefix in ("Migrate", *(["Roll workers"] if rendered.case.celery else []), "Roll web")
    ]
    assert order == sorted(order)
    (web,) = [step for step in steps if step.get("name", "").startswith("Roll web")]
    blue_green = rendered.case.deploy_strategy == "blue_green"
    assert ("--timeout 2400" in web["run"]) == blue_green
    assert web["name"].startswith("Roll web (blue/green") == blue_green

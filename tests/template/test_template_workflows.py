"""The generated GitHub workflows: linted by actionlint and zizmor, pinned, keyless, ordered."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.moto_server import Aws
from support.template import VENV_BIN, task_definition_files
from support.template_matrix import ANSWER_SETS, Rendered

WORKFLOWS = (
    ".github/workflows/django-aws-deploy.yml",
    ".github/workflows/django-aws-pull-request.yml",
)
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
STEP_COMMAND = re.compile(r"django-aws ecs (register|run-task|deploy|express-deploy) ([^\n]*)")


def workflow(rendered: Rendered, name: str) -> dict[Any, Any]:
    document: dict[Any, Any] = yaml.safe_load((rendered.root / name).read_text())
    return document


def deploy_steps(rendered: Rendered) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = workflow(rendered, WORKFLOWS[0])["jobs"]["deploy"]["steps"]
    return steps


def tool(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{VENV_BIN}:/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run(
        [str(VENV_BIN / name), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_actionlint_with_shellcheck_reports_nothing(rendered: Rendered) -> None:
    result = tool("actionlint", *WORKFLOWS, cwd=rendered.root)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_zizmor_offline_reports_nothing(rendered: Rendered) -> None:
    result = tool("zizmor", "--offline", "--no-progress", *WORKFLOWS, cwd=rendered.root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report." in result.stdout


def test_every_action_is_pinned_to_a_commit_with_its_version(rendered: Rendered) -> None:
    for name in WORKFLOWS:
        text = (rendered.root / name).read_text()
        uses = re.findall(r"uses: (\S+)( # v[\d.]+)?", text)
        assert uses, name
        assert [ref for ref, version in uses if not PINNED.match(ref) or not version] == []


def test_no_aws_access_keys_anywhere(rendered: Rendered) -> None:
    for name in WORKFLOWS:
        text = (rendered.root / name).read_text().lower()
        assert "aws-access-key-id" not in text
        assert "aws_secret_access_key" not in text


def test_permissions_start_empty_and_only_deploy_gets_an_id_token(rendered: Rendered) -> None:
    for name in WORKFLOWS:
        document = workflow(rendered, name)
        assert document["permissions"] == {}
        granted = {job: spec.get("permissions") for job, spec in document["jobs"].items()}
        expected_deploy = {"contents": "read", "id-token": "write"}
        for job, permissions in granted.items():
            allowed = expected_deploy if job == "deploy" else {"contents": "read"}
            assert permissions in ({}, allowed), (name, job, permissions)
    assert workflow(rendered, WORKFLOWS[0])["jobs"]["deploy"]["permissions"] == {
        "contents": "read",
        "id-token": "write",
    }


def test_checkouts_do_not_persist_credentials(rendered: Rendered) -> None:
    for name in WORKFLOWS:
        for job in workflow(rendered, name)["jobs"].values():
            for step in job.get("steps", []):
                if str(step.get("uses", "")).startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False


def test_deploys_never_overlap_per_environment(rendered: Rendered) -> None:
    deploy = workflow(rendered, WORKFLOWS[0])["jobs"]["deploy"]
    assert deploy["concurrency"] == {
        "group": "deploy-${{ needs.target.outputs.environment }}",
        "cancel-in-progress": False,
    }
    assert deploy["environment"] == "${{ needs.target.outputs.environment }}"


def test_order_is_build_migrate_static_workers_beat_then_web(rendered: Rendered) -> None:
    """Workers (and beat) before web: only new workers know the tasks the new web enqueues."""
    names = [str(step.get("name", step.get("uses", ""))) for step in deploy_steps(rendered)]

    def position(prefix: str) -> int:
        return next(i for i, name in enumerate(names) if name.startswith(prefix))

    expected = ["Build and push", "Migrate"]
    if rendered.case.static_backend == "s3":
        expected.append("Publish static files to S3")
    if rendered.case.celery:
        expected.append("Roll workers")
        if rendered.case.beat_service:
            expected.append("Roll beat")
    expected += ["Roll web", "Smoke test the readiness endpoint"]
    order = [position(prefix) for prefix in expected]
    assert order == sorted(order)
    rolls = [name.split(" (")[0] for name in names if name.startswith("Roll ")]
    assert rolls == [name for name in expected if name.startswith("Roll ")]
    assert names[-1] == "Smoke test the readiness endpoint"


def test_each_register_names_a_generated_task_definition(rendered: Rendered) -> None:
    generated = {
        f"deploy/ecs/{path.name}" for path in task_definition_files(rendered.root).values()
    }
    registered = {
        arguments.split()[0]
        for step in deploy_steps(rendered)
        for command, arguments in STEP_COMMAND.findall(str(step.get("run", "")))
        if command in ("register", "express-deploy")  # Express Mode: web.json's container
    }
    assert registered == generated


# -------------------------------------------------- the deploy steps, run against moto

SHA = "3f9c2d1e5b7a4c6d8e0f1a2b3c4d5e6f7a8b9c0d"
ENVIRONMENT = "staging"
CLUSTER = f"shop-{ENVIRONMENT}"


def step_named(rendered: Rendered, prefix: str) -> dict[str, Any]:
    return next(s for s in deploy_steps(rendered) if str(s.get("name", "")).startswith(prefix))


def run_step(
    step: dict[str, Any],
    rendered: Rendered,
    aws: Aws,
    tmp_path: Path,
    environment: str = ENVIRONMENT,
) -> tuple[subprocess.CompletedProcess[str], str]:
    """A `run:` step as GitHub runs it (`bash -e`), with the deploy job's env for a deploy
    to `environment`, credentials and endpoint for moto, our venv's django-aws and the
    machine's `aws`. Returns the process and what the step wrote to $GITHUB_OUTPUT."""
    job_env = workflow(rendered, WORKFLOWS[0])["jobs"]["deploy"]["env"]
    expressions = {
        "${{ needs.target.outputs.environment }}": environment,
        "${{ needs.target.outputs.account }}": rendered.case.account(environment),
        "${{ github.sha }}": SHA,
    }
    env = {name: value for name, value in os.environ.items() if name.startswith("AWS_")}
    for name, value in job_env.items():
        for expression, replacement in expressions.items():
            value = value.replace(expression, replacement)
        env[name] = value
    output = tmp_path / "github_output"
    output.write_text("")
    script = tmp_path / "step.sh"
    script.write_text(step["run"])
    env |= {
        "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "GITHUB_SHA": SHA,
        "GITHUB_OUTPUT": str(output),
        **aws.environ(AWS_DEFAULT_REGION=aws.region),
    }
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-e", str(script)],
        cwd=rendered.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done, output.read_text()


def ecr_repository(rendered: Rendered) -> str:
    image = workflow(rendered, WORKFLOWS[0])["jobs"]["deploy"]["env"]["IMAGE"]
    return str(image).split("/", 1)[1].split(":")[0]


def push_image(aws: Aws, repository: str) -> None:
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7,
                   "digest": "sha256:" + "a" * 64},
        "layers": [],
    }  # fmt: skip
    aws.client("ecr").put_image(
        repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=SHA
    )


@pytest.mark.slow  # runs the AWS CLI
def test_image_lookup_builds_only_when_the_image_is_not_found(
    rendered: Rendered, aws: Aws, tmp_path: Path
) -> None:
    step = step_named(rendered, "Look for an image of this commit")
    repository = ecr_repository(rendered)
    builder, *promoted = rendered.case.environments

    missing_repository, nothing = run_step(step, rendered, aws, tmp_path, builder)
    aws.client("ecr").create_repository(repositoryName=repository)
    not_built, build = run_step(step, rendered, aws, tmp_path, builder)
    # The later environments may not push: they deploy what the first one built.
    not_promotable = [run_step(step, rendered, aws, tmp_path, env) for env in promoted]
    push_image(aws, repository)
    built, found = run_step(step, rendered, aws, tmp_path, builder)
    promoted_found = [run_step(step, rendered, aws, tmp_path, env)[1] for env in promoted]

    # Any other error (here RepositoryNotFoundException; AccessDenied, throttling) fails.
    assert (missing_repository.returncode, nothing) == (1, "")
    assert "(RepositoryNotFoundException)" in missing_repository.stderr
    assert (not_built.returncode, build, not_built.stderr) == (0, "found=false\n", "")
    assert (built.returncode, found) == (0, "found=true\n")
    for env, (refused, output) in zip(promoted, not_promotable, strict=True):
        assert (refused.returncode, output) == (1, "")
        assert refused.stdout.startswith(
            f"::error::no image of {SHA}: {env} deploys only images a {builder} deploy built"
        )
    assert promoted_found == ["found=true\n"] * len(promoted)


@pytest.mark.slow  # runs the AWS CLI
def test_a_failed_push_goes_on_only_with_this_commits_image(
    rendered: Rendered, aws: Aws, tmp_path: Path
) -> None:
    """Two runs of one commit (main and a v* tag) both build; the second push of the
    immutable tag fails, and that run deploys the image the first one pushed."""
    steps = deploy_steps(rendered)
    build = step_named(rendered, "Build and push")
    recheck = step_named(rendered, "Use the image another run pushed")
    assert (build["id"], build["continue-on-error"]) == ("build", True)
    assert recheck["if"] == "steps.build.outcome == 'failure'"
    assert steps.index(recheck) == steps.index(build) + 1
    repository = ecr_repository(rendered)
    aws.client("ecr").create_repository(repositoryName=repository)

    failed_build, _ = run_step(recheck, rendered, aws, tmp_path)
    push_image(aws, repository)
    lost_the_race, _ = run_step(recheck, rendered, aws, tmp_path)

    assert failed_build.returncode == 1
    assert "::error::the build failed (see the step above) and no other run pushed" in (
        failed_build.stdout
    )
    assert lost_the_race.returncode == 0
    assert lost_the_race.stdout.startswith("::notice::a concurrent run pushed")


def moto_services(aws: Aws, monkeypatch: pytest.MonkeyPatch, names: list[str]) -> None:
    """The cluster and its services as Terraform leaves them; moto completes each rollout."""
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "1")
    ecs = aws.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    ecs.register_task_definition(
        family="bootstrap",
        containerDefinitions=[{"name": "app", "image": "bootstrap", "memory": 512}],
    )
    for name in names:
        ecs.create_service(
            cluster=CLUSTER, serviceName=name, taskDefinition="bootstrap", desiredCount=1
        )
    aws.requests.reset()


@pytest.mark.slow  # runs django-aws in subprocesses
def test_roll_steps_roll_workers_together_then_beat_then_web_against_moto(
    rendered: Rendered, aws: Aws, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    case = rendered.case
    if case.compute == "express":
        pytest.skip(
            "moto has no UpdateExpressGatewayService: express-deploy runs against botocore's "
            "Stubber in tests/ops/test_express_deploy.py"
        )
    workers = [f"{CLUSTER}-worker-{queue}" for queue in case.queues]
    beat = [f"{CLUSTER}-beat"] if case.beat_service else []
    expected = [*workers, *beat, f"{CLUSTER}-web"]
    moto_services(aws, monkeypatch, expected)

    outputs = {}
    for step in deploy_steps(rendered):
        name = str(step.get("name", ""))
        if name.startswith("Roll "):
            done, _ = run_step(step, rendered, aws, tmp_path)
            assert done.returncode == 0, done.stderr
            assert all(line.startswith("registered ") for line in done.stderr.splitlines())
            outputs[name.split(" (")[0]] = done.stdout.splitlines()

    updated = [call.params["service"] for call in aws.requests.calls("UpdateService")]
    assert updated == expected
    if workers:
        # One `ecs deploy` for every queue: it sums the services up on its last line.
        assert re.fullmatch(
            rf"deploy: all {len(workers)} services ok in \d+s", outputs["Roll workers"][-1]
        )
    ecs = aws.client("ecs")
    services = ecs.describe_services(cluster=CLUSTER, services=expected)["services"]
    for service in services:
        registered = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])
        definition = registered["taskDefinition"]
        assert definition["family"] == service["serviceName"]
        assert definition["containerDefinitions"][0]["image"].endswith(f":{SHA}")


# ---------------------------------------------------------------- builds and runners


def image_builds(rendered: Rendered) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(workflow, job, build-push-action step) for every job that builds the image."""
    return [
        (name, job, step)
        for name in WORKFLOWS
        for job in workflow(rendered, name)["jobs"].values()
        for step in job.get("steps", [])
        if str(step.get("uses", "")).startswith("docker/build-push-action@")
    ]


def test_the_image_is_built_natively_on_an_arm_runner_for_arm64(rendered: Rendered) -> None:
    """QEMU-less buildx on an x86 runner cannot run an arm64 image's RUN steps."""
    arm = rendered.case.cpu_architecture == "ARM64"
    runners: dict[tuple[str, bool], set[str]] = {}
    for name in WORKFLOWS:
        for job in workflow(rendered, name)["jobs"].values():
            uses = [str(step.get("uses", "")) for step in job.get("steps", [])]
            builds = any(use.startswith("docker/build-push-action@") for use in uses)
            runners.setdefault((name, builds), set()).add(job["runs-on"])
    builder = "ubuntu-24.04-arm" if arm else "ubuntu-24.04"
    assert runners == {
        (WORKFLOWS[0], True): {builder},  # deploy
        (WORKFLOWS[0], False): {"ubuntu-24.04"},  # target
        (WORKFLOWS[1], True): {builder},  # image
        (WORKFLOWS[1], False): {"ubuntu-24.04"},  # test
    }
    platforms = {step["with"]["platforms"] for _, _, step in image_builds(rendered)}
    assert platforms == {"linux/arm64" if arm else "linux/amd64"}


def test_builds_reuse_layers_from_the_actions_cache(rendered: Rendered) -> None:
    for _, _, step in image_builds(rendered):
        options = step["with"]
        assert (options["cache-from"], options["cache-to"]) == ("type=gha", "type=gha,mode=max")


def test_the_deployed_image_carries_its_release(rendered: Rendered) -> None:
    step = step_named(rendered, "Build and push")
    assert step["with"]["build-args"] == "APP_RELEASE=${{ github.sha }}"
    dockerfile = rendered.dockerfile
    last = dockerfile.last_stage
    # The other build argument is the RDS CA bundle's URL (a mirror for offline builds).
    assert dockerfile.arguments("ARG", last) == [
        "RDS_CA_BUNDLE_URL=https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem",
        'APP_RELEASE=""',
    ]
    assert "APP_RELEASE=${APP_RELEASE}" in dockerfile.arguments("ENV", last)
    # After every RUN and COPY, so a new release rebuilds no layer.
    instructions = dockerfile.stage(last)
    release = next(n for n, i in enumerate(instructions) if i.arguments == 'APP_RELEASE=""')
    assert release > max(
        n for n, i in enumerate(instructions) if i.keyword in ("RUN", "COPY", "ADD")
    )


def test_zizmor_auditor_finds_no_cache_poisoning(rendered: Rendered) -> None:
    """The build cache is safe to read in the tag-triggered deploy: zizmor's most
    suspicious persona would report cache-poisoning if it were not."""
    result = tool(
        "zizmor", "--offline", "--no-progress", "--persona", "auditor", "--format", "json",
        *WORKFLOWS, cwd=rendered.root,
    )  # fmt: skip
    findings = json.loads(result.stdout)
    assert [f["ident"] for f in findings if f["ident"] == "cache-poisoning"] == []
    assert {f["ident"] for f in findings} <= {
        "unpinned-images", "anonymous-definition", "concurrency-limits",
        "undocumented-permissions",
    }  # fmt: skip


def test_pull_requests_lint_migrations_against_the_base_branch(rendered: Rendered) -> None:
    test_job = workflow(rendered, WORKFLOWS[1])["jobs"]["test"]
    runs = [str(step.get("run", "")) for step in test_job["steps"]]
    assert 'python manage.py lint_migrations --since "origin/$BASE_REF"' in runs
    assert "python manage.py makemigrations --check --dry-run" in runs
    checkout = test_job["steps"][0]
    assert checkout["with"]["fetch-depth"] == 0
    check = next(s for s in test_job["steps"] if "check --deploy" in str(s.get("run", "")))
    assert check["env"]["DJANGO_ENV"] == "production"
    assert "--fail-level WARNING" in check["run"]


@pytest.mark.parametrize("case", ANSWER_SETS[:1], ids=lambda case: case.id)
def test_the_matrix_is_the_render_matrix(case: object) -> None:
    # The workflow checks run on every answer set the render tests use.
    assert len(ANSWER_SETS) >= 6

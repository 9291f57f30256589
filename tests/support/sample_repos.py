"""The sample repositories (tests/sample_repos) with the template landed in them, the
generated pull-request workflow's steps, and what it takes to run those steps on this
machine: the interpreter the workflow asks for, a virtualenv holding what its install step
installs (kept between runs under .cache/), and bash as GitHub's runner calls it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from django_aws_settings.ops.repository import repository_facts
from django_aws_settings.ops.repository.derived import package_extras

from .processes import file_lock
from .template import REPO_ROOT, commit_all, git, render

SAMPLE_REPOS = REPO_ROOT / "tests" / "sample_repos"
REPOSITORIES = ("api_platform", "cms_site", "async_service")
# What no repository states: where it deploys to.
UNSTATED = {
    "aws_account_id": "123456789012",
    "domain": "app.example.com",
    "github_repository": "acme/app",
}
# Virtualenvs built from the workflows' install steps, one per repository and inputs.
VENV_CACHE = REPO_ROOT / ".cache" / "sample-venvs"
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")


def land(
    destination: Path,
    name: str,
    answers: Mapping[str, Any] | None = None,
    edit: Callable[[Path], None] | None = None,
) -> Path:
    """The sample repository `name` committed in a new git repository under
    `destination`, with the template copied into it: only the unstated answers given, and
    `answers` (what a user would choose beyond the defaults). `edit` changes the app before
    that first commit, as a team whose repository says a little more would have it."""
    root = destination / name
    shutil.copytree(SAMPLE_REPOS / name, root, ignore=_IGNORED)
    if edit is not None:
        edit(root)
    git(root, "init", "-q")
    commit_all(root, "The app as it runs on the PaaS")
    render(root, {**UNSTATED, "project_slug": name.replace("_", "-"), **(answers or {})})
    return root


# --------------------------------------------------------------- the pull-request workflow


def pull_request_job(root: Path) -> dict[str, Any]:
    workflow = yaml.safe_load(
        (root / ".github" / "workflows" / "django-aws-pull-request.yml").read_text()
    )
    job: dict[str, Any] = workflow["jobs"]["test"]
    return job


def pull_request_steps(root: Path) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = pull_request_job(root)["steps"]
    return steps


def pull_request_tests_step(root: Path) -> dict[str, Any]:
    return next(s for s in pull_request_steps(root) if s.get("name") == "Tests")


def pull_request_install_step(root: Path) -> dict[str, Any]:
    return next(s for s in pull_request_steps(root) if "Install" in s.get("name", ""))


def workflow_python_version(root: Path) -> str:
    """The `python-version` the job's actions/setup-python step asks for."""
    (setup,) = [
        s for s in pull_request_steps(root) if s.get("uses", "").startswith("actions/setup-python@")
    ]
    return str(setup["with"]["python-version"])


def bash_command(step: Mapping[str, Any], script: Path) -> list[str]:
    """How GitHub's Linux runner runs a `run` step written to `script`: `shell: bash` is
    `bash --noprofile --norc -eo pipefail {0}`; no shell at all is `bash -e {0}`."""
    shell = step.get("shell")
    if shell == "bash":
        return ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)]
    assert shell is None, f"a shell this helper does not know: {shell!r}"
    return ["bash", "-e", str(script)]


def run_step(
    step: Mapping[str, Any],
    *,
    cwd: Path,
    env: Mapping[str, str],
    runner_temp: Path,
    timeout: float,
) -> subprocess.CompletedProcess[str]:
    """Run a workflow step's `run` as the runner does: a script in RUNNER_TEMP, the
    environment given (job env, then the step's own `env` are the caller's to merge)."""
    runner_temp.mkdir(parents=True, exist_ok=True)
    script = Path(tempfile.mkstemp(suffix=".sh", dir=runner_temp)[1])
    script.write_text(step["run"])
    return subprocess.run(
        bash_command(step, script),
        cwd=cwd,
        env={**env, "RUNNER_TEMP": str(runner_temp)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# ------------------------------------------------------------------- the runner's Python


def find_python(version: str) -> Path:
    """An interpreter of `version` (major.minor) on this machine, as ./dev finds one:
    pyenv's shims answer for versions that are not selected, so each candidate is tried."""
    candidates = [
        shutil.which(f"python{version}"),
        *sorted(str(p) for p in Path("/root/.pyenv/versions").glob(f"{version}.*/bin/python")),
        f"/usr/bin/python{version}",
    ]
    for candidate in filter(None, candidates):
        done = subprocess.run(
            [candidate, "-c", "import sys; print(sys.executable, '%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        executable, _, found = done.stdout.strip().rpartition(" ")
        if done.returncode == 0 and found == version:
            return Path(executable)
    raise RuntimeError(f"no Python {version} on this machine (tried {candidates})")


def python_identity(python: Path) -> str:
    return subprocess.run(
        [str(python), "-c", "import sys; print(sys.executable, sys.version)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def ensure_build_packages(root: Path) -> None:
    """The Debian packages the repository's source-only requirements build with (the
    reader's native table, which names bookworm's packages, like this machine's): what the
    runner image has, installed here with apt-get when missing."""
    needed = sorted(
        {
            package
            for native in repository_facts(root).as_dict()["dependencies"]["native"]
            for package in native["build"]
        }
    )
    missing = [package for package in needed if not _installed(package)]
    if not missing:
        return
    install = [
        "apt-get",
        "install",
        "-y",
        "-q",
        "--no-install-recommends",
        "-o",
        "DPkg::Lock::Timeout=300",
        *missing,
    ]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(install, env=env, capture_output=True, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=True)
        subprocess.run(install, env=env, capture_output=True, check=True)


def _installed(package: str) -> bool:
    done = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True, check=False
    )
    return done.returncode == 0 and done.stdout == "install ok installed"


# ------------------------------------------------------------------ the workflow's venv


def dependency_files(root: Path) -> list[Path]:
    """What an install step reads: requirements trees, constraints, pyproject and locks."""
    names = ("pyproject.toml", "uv.lock", "poetry.lock", "Pipfile.lock")
    found = [root / name for name in names if (root / name).is_file()]
    found += [
        path for path in root.glob("*.txt") if path.name.startswith(("requirements", "constraints"))
    ]
    for folder in root.glob("requirements*/"):
        found += [path for path in folder.rglob("*") if path.is_file()]
    return sorted(set(found))


def runner_plumbing(venv: Path, home: Path) -> dict[str, str]:
    """What every step gets on this machine: the setup-python interpreter (our venv) first
    on PATH with `pythonLocation` pointing at it, as actions/setup-python exports, a HOME,
    and the machine's package-index settings (pip's own PIP_* and CA bundle)."""
    passed = {
        name: value
        for name, value in os.environ.items()
        if name.startswith("PIP_") or name in ("SSL_CERT_FILE", "SSL_CERT_DIR")
    }
    return {
        **passed,
        "PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "pythonLocation": str(venv),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "CI": "true",
        "GITHUB_ACTIONS": "true",
    }


def workflow_venv(root: Path) -> Path:
    """A virtualenv made with the Python the workflow sets up, holding exactly what the
    workflow's install step installs (its `run`, executed in `root`). Kept under
    .cache/sample-venvs/<repository>-<hash> where the hash covers the interpreter, the
    step and the files it reads, so a second run reuses it; older ones are removed."""
    install = pull_request_install_step(root)
    python = find_python(workflow_python_version(root))
    digest = hashlib.sha256()
    digest.update(python_identity(python).encode())
    digest.update(yaml.safe_dump(install, sort_keys=True).encode())
    for path in dependency_files(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    venv = VENV_CACHE / f"{root.name}-{digest.hexdigest()[:16]}"
    VENV_CACHE.mkdir(parents=True, exist_ok=True)
    with file_lock(VENV_CACHE / f"{root.name}.lock"):
        if (venv / ".installed").is_file():
            return venv
        for stale in VENV_CACHE.glob(f"{root.name}-*"):
            shutil.rmtree(stale)
        ensure_build_packages(root)
        subprocess.run([str(python), "-m", "venv", str(venv)], check=True, capture_output=True)
        with tempfile.TemporaryDirectory(prefix="runner-") as runner:
            done = run_step(
                install,
                cwd=root,
                env={**runner_plumbing(venv, Path(runner) / "home"), **install.get("env", {})},
                runner_temp=Path(runner) / "temp",
                timeout=1200,
            )
        if done.returncode != 0:
            shutil.rmtree(venv)
            raise RuntimeError(
                f"the install step failed for {root.name} ({done.returncode}):\n"
                f"{done.stdout[-6000:]}\n{done.stderr[-6000:]}"
            )
        (venv / ".installed").write_text(done.stdout)
    return venv


def workflow_venv_with_package(root: Path, destination: Path, extras: str) -> Path:
    """A copy of the workflow's virtualenv (under `destination`) with this repository's
    package and `extras` installed, as a user has it after step 1 of the copy's message
    (adding django-aws-settings[extras] to their dependencies)."""
    venv = destination / "venv"
    shutil.copytree(workflow_venv(root), venv, symlinks=True)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", f"{REPO_ROOT}[{extras}]"],
        env=runner_plumbing(venv, destination / "home"),
        capture_output=True,
        check=True,
        timeout=600,
    )
    return venv


def installed_extras(root: Path) -> str:
    """The extras the copy's message names (step 1 after `copier copy`) for the answers
    recorded in `root`."""
    answers: dict[str, Any] = yaml.safe_load((root / ".copier-answers.django-aws.yml").read_text())
    return package_extras(answers)

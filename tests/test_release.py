"""Releases: one version in one place, the release workflow, and the distributions it ships.

The slow half works on a release made here, never on this repository's own tags: this
working tree (what git tracks or would track) committed in a throwaway repository and
tagged v<__version__> there. From that tag it builds the sdist and the wheel exactly as the
release workflow does (`python -m build`, `twine check --strict`), installs the wheel into
a fresh virtual environment (the dependencies come from this venv's site-packages, so no
download), imports every module, runs the console script and serves a generated project
with it, and renders the template at the tag.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import copier
import pytest
import yaml
from copier.errors import DirtyLocalWarning
from packaging.requirements import Requirement
from support.processes import free_port, http_request, running, wait_until
from support.template import (
    ANSWERS_FILE,
    REPO_ROOT,
    REQUIRED_ANSWERS,
    VENV_BIN,
    commit_all,
    git,
    sample_copy,
)

import django_aws_settings
from django_aws_settings.ops.cli import parser as cli_parser

RELEASE_WORKFLOW = REPO_ROOT / ".github" / "workflows" / "release.yml"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
VERSION = django_aws_settings.__version__
TAG = f"v{VERSION}"
ARCHIVE = (
    "https://github.com/django-aws-settings/django-aws-settings/archive/refs/tags/{tag}.tar.gz"
)


def _load_release_notes() -> ModuleType:
    path = REPO_ROOT / ".github" / "scripts" / "release_notes.py"
    spec = importlib.util.spec_from_file_location("release_notes", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


release_notes = _load_release_notes()


# ------------------------------------------------------------------- one version


def test_package_template_and_distribution_name_one_version() -> None:
    """__version__ is the one source: hatch reads it for the distribution, and copier.yml's
    package_version (Copier cannot import Python) must repeat it."""
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()
    assert re.search(r'^dynamic = \["version"\]$', pyproject, re.M)
    assert re.search(
        r'^\[tool\.hatch\.version\]\npath = "django_aws_settings/__init__.py"$', pyproject, re.M
    )
    assert not re.search(r"^version = ", pyproject, re.M)
    copier_yml = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())
    assert copier_yml["package_version"] == {"type": "str", "default": VERSION, "when": False}
    assert release_notes.package_version(REPO_ROOT) == VERSION
    assert release_notes.template_version(REPO_ROOT) == VERSION


def _tree(root: Path, *, version: str, template_version: str, changelog: str) -> Path:
    (root / "django_aws_settings").mkdir(parents=True)
    (root / "django_aws_settings" / "__init__.py").write_text(f'__version__ = "{version}"\n')
    copier_yml = (REPO_ROOT / "copier.yml").read_text()
    pinned = re.sub(
        r'(package_version:\n  type: str\n  default: )"[^"]*"',
        rf'\g<1>"{template_version}"',
        copier_yml,
    )
    assert pinned != copier_yml or template_version == VERSION
    (root / "copier.yml").write_text(pinned)
    (root / "CHANGELOG.md").write_text(changelog)
    return root


CHANGELOG = """# Changelog

## Unreleased

### Package
- Something not released yet.

## [1.2.0] - 2026-11-30

### Package
- `databases()` reads RDS Proxy endpoints.

### Template
- The deploy workflow rolls beat after the workers.

## [1.1.9] - 2026-10-01

### Package
- Older.
"""


def test_release_notes_are_the_tags_section(tmp_path: Path) -> None:
    root = _tree(tmp_path, version="1.2.0", template_version="1.2.0", changelog=CHANGELOG)
    assert release_notes.release_notes("v1.2.0", root) == (
        "### Package\n- `databases()` reads RDS Proxy endpoints.\n\n"
        "### Template\n- The deploy workflow rolls beat after the workers.\n"
    )


def test_a_tag_the_repository_disagrees_with_names_every_disagreement(tmp_path: Path) -> None:
    root = _tree(tmp_path, version="1.2.0", template_version="1.1.9", changelog=CHANGELOG)
    with pytest.raises(release_notes.ReleaseError) as refused:
        release_notes.release_notes("v1.2.1", root)
    assert str(refused.value) == (
        "django_aws_settings.__version__ says 1.2.0, the tag v1.2.1; "
        "copier.yml's package_version says 1.1.9, the tag v1.2.1; "
        "CHANGELOG.md has no '## [1.2.1] - YYYY-MM-DD' heading"
    )


@pytest.mark.parametrize(
    ("changelog", "error"),
    [
        (CHANGELOG.replace("## [1.2.0]", "## 1.2.0"), "no '## [1.2.0] - YYYY-MM-DD' heading"),
        (CHANGELOG.replace("## [1.1.9]", "## [1.2.0]"), "2 headings for 1.2.0"),
        ("## [1.2.0] - 2026-11-30\n\n## [1.1.9] - 2026-10-01\n- x\n", "section for 1.2.0 is empty"),
    ],
)
def test_a_changelog_without_one_filled_section_is_refused(
    tmp_path: Path, changelog: str, error: str
) -> None:
    root = _tree(tmp_path, version="1.2.0", template_version="1.2.0", changelog=changelog)
    with pytest.raises(release_notes.ReleaseError, match=re.escape(error)):
        release_notes.release_notes("v1.2.0", root)


@pytest.mark.parametrize("tag", ["1.2.0", "v1.2", "v1.2.0rc1", "v01.2.0", "release-1.2.0"])
def test_only_vX_Y_Z_tags_release(tmp_path: Path, tag: str) -> None:
    root = _tree(tmp_path, version="1.2.0", template_version="1.2.0", changelog=CHANGELOG)
    with pytest.raises(release_notes.ReleaseError, match=re.escape("is not a release tag vX.Y.Z")):
        release_notes.release_notes(tag, root)


def test_the_script_prints_the_notes_and_exits_1_on_a_mismatch() -> None:
    """As the workflow runs it: the repository as it stands, a tag it does not match."""
    done = subprocess.run(
        [sys.executable, ".github/scripts/release_notes.py", "v999.0.0"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith(
        f"release_notes: django_aws_settings.__version__ says {VERSION}, the tag v999.0.0; "
    )


def test_changelog_keeps_an_unreleased_section_and_dated_release_headings() -> None:
    headings = [
        line
        for line in (REPO_ROOT / "CHANGELOG.md").read_text().splitlines()
        if line.startswith("## ")
    ]
    assert headings[0] == "## Unreleased"
    releases = [release_notes.HEADING.match(line) for line in headings[1:]]
    assert None not in releases, headings
    versions = [tuple(int(part) for part in m["version"].split(".")) for m in releases if m]
    assert versions == sorted(versions, reverse=True)


# ------------------------------------------------------------- release workflow


def _lint(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / name), *args, str(RELEASE_WORKFLOW.relative_to(REPO_ROOT))],
        cwd=REPO_ROOT,
        env={"PATH": f"{VENV_BIN}:/usr/bin:/bin", "HOME": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_release_workflow_passes_actionlint() -> None:
    done = _lint("actionlint")
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_release_workflow_passes_zizmor_even_as_auditor() -> None:
    done = _lint("zizmor", "--offline", "--no-progress", "--persona", "auditor")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report." in done.stdout


def _workflow() -> dict[Any, Any]:
    document: dict[Any, Any] = yaml.safe_load(RELEASE_WORKFLOW.read_text())
    return document


def test_release_workflow_runs_on_version_tags_with_least_privilege() -> None:
    workflow = _workflow()
    assert workflow[True] == {"push": {"tags": ["v*.*.*"]}}  # YAML 1.1 reads `on` as True
    assert workflow["permissions"] == {}
    jobs = workflow["jobs"]
    assert {name: job["permissions"] for name, job in jobs.items()} == {
        "build": {"contents": "read"},
        "publish": {"id-token": "write"},
        "github-release": {"contents": "write"},
    }
    assert jobs["publish"]["needs"] == "build"
    assert jobs["github-release"]["needs"] == "publish"


def test_release_workflow_checks_builds_publishes_keyless_then_releases_the_notes() -> None:
    jobs = _workflow()["jobs"]
    build = "\n".join(step.get("run", "") for step in jobs["build"]["steps"])
    assert 'release_notes.py "$GITHUB_REF_NAME" > notes/release-notes.md' in build
    assert build.index("release_notes.py") < build.index("python -m build")
    assert "python -m twine check --strict dist/*" in build
    assert re.search(r"^python -m pip install build==[\d.]+ twine==[\d.]+$", build, re.M)
    publish = jobs["publish"]
    assert publish["environment"]["name"] == "pypi"
    (upload,) = [s for s in publish["steps"] if "gh-action-pypi-publish" in s.get("uses", "")]
    assert "with" not in upload  # no password, no token: trusted publishing through OIDC
    release = jobs["github-release"]["steps"][-1]["run"]
    assert 'gh release create "$GITHUB_REF_NAME" dist/*' in release
    assert "--notes-file notes/release-notes.md" in release


def test_release_workflow_pins_every_action_to_a_commit_with_its_version() -> None:
    uses = re.findall(r"uses: (\S+)( # v[\d.]+)?", RELEASE_WORKFLOW.read_text())
    assert len(uses) == 8
    assert [ref for ref, version in uses if not PINNED.match(ref) or not version] == []
    for job in _workflow()["jobs"].values():
        for step in job["steps"]:
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False


# ------------------------------------------------------- a release, made here


@dataclass(frozen=True)
class Release:
    repository: Path  # the throwaway repository, tagged TAG
    wheel: Path
    sdist: Path
    archive: Path  # `git archive` of the tag: what GitHub serves at ARCHIVE
    scratch: Path


def _working_tree(destination: Path) -> Path:
    """This working tree as git sees it (tracked and untracked-but-not-ignored files)."""
    listed = git(REPO_ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in filter(None, listed.split("\0")):
        source = REPO_ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


def _run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    scratch = tmp_path_factory.mktemp("release")
    repository = _working_tree(scratch / "django-aws-settings")
    git(repository, "init", "-q")
    commit_all(repository, f"Release {VERSION}")
    git(repository, "tag", TAG)
    # As the release workflow does, but offline: hatchling comes from this venv.
    dist = scratch / "dist"
    _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, repository, cwd=scratch)
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    archive = scratch / f"{TAG}.tar.gz"
    git(
        repository,
        "archive",
        "--format=tar.gz",
        f"--prefix=django-aws-settings-{VERSION}/",
        "-o",
        str(archive),
        TAG,
    )
    return Release(repository, wheel, sdist, archive, scratch)


@pytest.mark.slow
def test_twine_check_passes(release: Release) -> None:
    out = _run(
        sys.executable,
        "-m",
        "twine",
        "check",
        "--strict",
        release.wheel,
        release.sdist,
        cwd=release.scratch,
    )
    assert out.count("PASSED") == 2, out


def _package_files() -> set[str]:
    return {
        path.relative_to(REPO_ROOT).as_posix()
        for path in (REPO_ROOT / "django_aws_settings").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


@pytest.mark.slow
def test_wheel_holds_the_package_and_nothing_else(release: Release) -> None:
    assert release.wheel.name == f"django_aws_settings-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(release.wheel) as wheel:
        names = set(wheel.namelist())
        metadata = wheel.read(f"django_aws_settings-{VERSION}.dist-info/METADATA").decode()
        entry_points = wheel.read(f"django_aws_settings-{VERSION}.dist-info/entry_points.txt")
    package = {name for name in names if not name.startswith(f"django_aws_settings-{VERSION}.")}
    assert package == _package_files()
    assert {
        "django_aws_settings/py.typed",
        "django_aws_settings/templates/django_aws_settings/maintenance.html",
    } <= package
    assert [n for n in names if n.split("/")[0] in {"tests", "bench", "template", "examples"}] == []
    assert f"\nVersion: {VERSION}\n" in metadata
    # The licence the metadata declares travels with the wheel.
    assert "\nLicense-Expression: MIT\n" in metadata
    assert f"django_aws_settings-{VERSION}.dist-info/licenses/LICENSE" in names
    assert "django-aws = django_aws_settings.ops.cli:main" in entry_points.decode()


@pytest.mark.slow
def test_sdist_holds_what_the_wheel_is_built_from_and_no_tests(release: Release) -> None:
    assert release.sdist.name == f"django_aws_settings-{VERSION}.tar.gz"
    prefix = f"django_aws_settings-{VERSION}/"
    with tarfile.open(release.sdist) as sdist:
        names = {
            member.name.removeprefix(prefix) for member in sdist.getmembers() if member.isfile()
        }
    assert _package_files() <= names
    assert {"pyproject.toml", "README.md", "CHANGELOG.md", "LICENSE", "PKG-INFO"} <= names
    top = {name.split("/")[0] for name in names}
    assert top & {"tests", "bench", "template", "examples", ".github"} == set()


@pytest.mark.slow
def test_the_tag_archive_builds_the_same_wheel(release: Release) -> None:
    """The install line before the first upload names the tag's archive on GitHub, which
    is `git archive` of the tag: pip builds it into the same wheel."""
    out = release.scratch / "from-archive"
    _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "--quiet",
        "--wheel-dir",
        out,
        release.archive,
        cwd=release.scratch,
    )
    (built,) = out.glob("*.whl")
    assert built.name == release.wheel.name
    with zipfile.ZipFile(built) as a, zipfile.ZipFile(release.wheel) as b:
        assert sorted(a.namelist()) == sorted(b.namelist())


# ----------------------------------------------------- the wheel, installed fresh


@dataclass(frozen=True)
class Installed:
    python: Path
    bin: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def installed(release: Release) -> Installed:
    """The wheel in a new venv; the dependencies from this venv's site-packages through a
    .pth line (no download). That line adds the directory only: its .pth files, such as the
    editable install's path to this checkout, are not processed."""
    venv = release.scratch / "fresh"
    _run(sys._base_executable, "-m", "venv", "--without-pip", venv, cwd=release.scratch)  # type: ignore[attr-defined]
    python = venv / "bin" / "python"
    purelib = Path(
        _run(
            python,
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            cwd=release.scratch,
        ).strip()
    )
    (purelib / "_dependencies_from_dev_venv.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n"
    )
    _run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "--quiet",
        "--no-deps",
        "--no-index",
        release.wheel,
        cwd=release.scratch,
    )
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(release.scratch), "LANG": "C.UTF-8"}
    return Installed(python, venv / "bin", env)


IMPORT_ALL = """
import importlib, json, pkgutil, sys
import django_aws_settings as package
names = [m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]
for name in names:
    importlib.import_module(name)
print(json.dumps({"file": package.__file__, "prefix": sys.prefix,
                  "version": package.__version__, "modules": sorted(names)}))
"""


@pytest.mark.slow
def test_every_module_imports_from_the_installed_wheel(
    installed: Installed, release: Release
) -> None:
    report = json.loads(
        _run(installed.python, "-c", IMPORT_ALL, cwd=release.scratch, env=installed.env)
    )
    assert report["file"].startswith(report["prefix"] + "/lib/")
    assert report["version"] == VERSION
    expected = sorted(
        ".".join(Path(name).with_suffix("").parts).removesuffix(".__init__")
        for name in _package_files()
        if name.endswith(".py")
    )
    assert report["modules"] == [m for m in expected if m != "django_aws_settings"]


@pytest.mark.slow
def test_console_script_runs_from_the_installed_wheel(
    installed: Installed, release: Release
) -> None:
    out = _run(installed.bin / "django-aws", "--help", cwd=release.scratch, env=installed.env)
    # Every command group of the source tree, from the installed wheel.
    assert out.splitlines()[0] == cli_parser().format_usage().strip()
    assert "{ecs,config,cutover,queues,inspect,media,cost}" in out.splitlines()[0]
    first = (installed.bin / "django-aws").read_text().splitlines()[0]
    assert first == f"#!{installed.python}"


# ------------------------------------------------------------ render at the tag


@dataclass(frozen=True)
class RenderedAtTag:
    root: Path
    message: str


@pytest.fixture(scope="module")
def rendered_at_tag(release: Release) -> RenderedAtTag:
    root = sample_copy(release.scratch / "user")
    message = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stderr(message):
        warnings.simplefilter("ignore", DirtyLocalWarning)
        copier.run_copy(
            str(release.repository),
            root,
            data=dict(REQUIRED_ANSWERS),
            defaults=True,
            unsafe=True,
            vcs_ref=TAG,
            quiet=False,
        )
    return RenderedAtTag(root, message.getvalue())


def _install_lines(message: str) -> list[str]:
    return re.findall(r"^ +echo '(.+)' >> requirements\.txt$", message, re.M)


@pytest.mark.slow
def test_a_render_at_the_tag_pins_that_tags_version(rendered_at_tag: RenderedAtTag) -> None:
    answers = yaml.safe_load((rendered_at_tag.root / ANSWERS_FILE).read_text())
    assert answers["_commit"] == TAG
    (line,) = _install_lines(rendered_at_tag.message)
    requirement = Requirement(line)
    assert requirement.name == "django-aws-settings"
    assert requirement.extras == {"postgres", "redis", "celery", "s3", "whitenoise"}
    # Not on PyPI yet (package_on_pypi is false): the tag's own archive, not "==VERSION".
    assert (requirement.url, str(requirement.specifier)) == (ARCHIVE.format(tag=TAG), "")
    assert "this version is not on PyPI yet" in rendered_at_tag.message

    workflow = yaml.safe_load(
        (rendered_at_tag.root / ".github/workflows/django-aws-deploy.yml").read_text()
    )
    runs = [step.get("run", "") for step in workflow["jobs"]["deploy"]["steps"]]
    (install,) = [run for run in runs if run.startswith("python -m pip install ")]
    deploy_requirement = Requirement(install.removeprefix("python -m pip install ").strip('"'))
    assert (deploy_requirement.name, deploy_requirement.url) == (
        "django-aws-settings",
        ARCHIVE.format(tag=TAG),
    )
    runbook = (rendered_at_tag.root / "docs/aws/cutover-runbook.md").read_text()
    assert f'`pip install "django-aws-settings[import] @ {ARCHIVE.format(tag=TAG)}"`' in runbook


def test_once_on_pypi_the_pin_is_the_index_version() -> None:
    """package_on_pypi switches every install line to `==VERSION` (docs/releasing.md)."""
    questions = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())
    assert questions["package_on_pypi"] == {"type": "bool", "default": False, "when": False}
    from jinja2 import Environment

    pin = Environment().from_string(questions["package_pin"]["default"])  # noqa: S701
    assert pin.render(package_on_pypi=True, package_version=VERSION) == f"=={VERSION}"
    assert pin.render(package_on_pypi=False, package_version=VERSION) == (
        f" @ {ARCHIVE.format(tag=TAG)}"
    )


@contextlib.contextmanager
def _web(rendered: RenderedAtTag, installed: Installed) -> Iterator[int]:
    env = {**installed.env, "DJANGO_SETTINGS_MODULE": "shop.settings_aws"}
    _run(installed.python, "manage.py", "migrate", "--noinput", cwd=rendered.root, env=env)
    web = json.loads((rendered.root / "deploy/ecs/web.json").read_text())
    command = web["containerDefinitions"][0]["command"]
    assert command[0] == "gunicorn"
    port = free_port()
    # The task definition's command with the fresh venv's interpreter running gunicorn
    # (importable there through the dependencies' .pth line; its script is not).
    argv = [str(installed.python), "-m", "gunicorn", *command[1:]]
    log = rendered.root.parent / "web.log"
    with running(argv, cwd=rendered.root, env={**env, "PORT": str(port)}, log=log) as server:

        def answers() -> bool:
            try:
                http_request(port, "/healthz", {"Host": "10.0.1.23:8000"}, timeout=2)
            except OSError:
                return False
            return True

        wait_until(answers, what="the web command", process=server.popen, log=log)
        yield port


@pytest.mark.slow
def test_the_installed_wheel_serves_the_generated_overlay(
    rendered_at_tag: RenderedAtTag, installed: Installed
) -> None:
    where = _run(
        installed.python,
        "manage.py",
        "shell",
        "-c",
        "import django_aws_settings, sys; print(django_aws_settings.__file__)",
        cwd=rendered_at_tag.root,
        env={**installed.env, "DJANGO_SETTINGS_MODULE": "shop.settings_aws"},
    )
    # The last line: Django 5.2's shell first reports its automatic imports.
    assert where.strip().splitlines()[-1].startswith(str(installed.python.parent.parent / "lib"))
    with _web(rendered_at_tag, installed) as port:
        health = http_request(port, "/healthz", {"Host": "10.0.1.23:8000"})
        ready = http_request(port, "/readyz", {"Host": "localhost"})
        page = http_request(port, "/", {"Host": "localhost"})
    assert (health.status, health.body) == (200, b"ok")
    assert (ready.status, json.loads(ready.body)) == (200, {"database": "ok", "cache": "ok"})
    assert page.status == 200


def test_the_readme_install_line_is_the_version_the_template_pins() -> None:
    """Until the first upload (package_on_pypi false) the README installs the tag's archive."""
    readme = (REPO_ROOT / "README.md").read_text()
    (line,) = re.findall(r'^ +pip install "(django-aws-settings\[all\][^"]*)"$', readme, re.M)
    requirement = Requirement(line)
    questions = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())
    if questions["package_on_pypi"]["default"]:
        assert (requirement.url, str(requirement.specifier)) == (None, f"=={VERSION}")
    else:
        assert (requirement.url, str(requirement.specifier)) == (ARCHIVE.format(tag=TAG), "")


@pytest.mark.slow
def test_an_update_to_a_release_on_pypi_switches_to_the_index_pin(
    release: Release, tmp_path: Path
) -> None:
    """The next release sets package_on_pypi (docs/releasing.md): `copier update` rewrites
    the deploy workflow's install and prints the line for the user's dependencies."""
    template = tmp_path / "django-aws-settings"
    git(release.scratch, "clone", "-q", str(release.repository), str(template))
    following = "9.9.9"  # the clone is tagged, never built
    init = template / "django_aws_settings" / "__init__.py"
    init.write_text(
        init.read_text().replace(f'__version__ = "{VERSION}"', f'__version__ = "{following}"')
    )
    copier_yml = (template / "copier.yml").read_text()
    bumped = copier_yml.replace(f'  default: "{VERSION}"\n', f'  default: "{following}"\n', 1)
    bumped = re.sub(r"(package_on_pypi:\n  type: bool\n  default: )false", r"\g<1>true", bumped)
    assert bumped.count(f'"{following}"') == 1
    assert "default: true" in bumped.split("package_on_pypi:")[1].split("\n\n")[0]
    (template / "copier.yml").write_text(bumped)
    commit_all(template, "Next release, on PyPI")
    git(template, "tag", "v9.9.9")

    root = sample_copy(tmp_path / "user")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DirtyLocalWarning)
        copier.run_copy(str(template), root, data=dict(REQUIRED_ANSWERS), defaults=True,
                        unsafe=True, vcs_ref=TAG, quiet=True)  # fmt: skip
    commit_all(root, "Add django-aws-settings")
    message = io.StringIO()
    with contextlib.redirect_stderr(message):
        copier.run_update(dst_path=root, answers_file=ANSWERS_FILE, defaults=True,
                          overwrite=True, unsafe=True, vcs_ref="v9.9.9", quiet=False)  # fmt: skip

    (line,) = re.findall(r"^ +(django-aws-settings\[.*)$", message.getvalue(), re.M)
    requirement = Requirement(line)
    assert (requirement.url, str(requirement.specifier)) == (None, f"=={following}")
    assert "from PyPI" in message.getvalue()
    workflow = (root / ".github/workflows/django-aws-deploy.yml").read_text()
    assert f'python -m pip install "django-aws-settings=={following}"' in workflow
    assert "archive/refs/tags" not in workflow

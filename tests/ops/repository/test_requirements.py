"""The pip requirements tree: -r / -c followed relative to the including file, cycles reported."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from django_aws_settings.ops.repository.requirements import (
    RequirementsFile,
    RequirementsTree,
    logical_lines,
    normalized,
    production_requirements,
    requirement_names,
    requirements_for_tests,
    requirements_tree,
)

RepoFactory = Callable[[Mapping[str, str | bytes]], Path]  # the make_repo fixture


def test_includes_are_relative_to_the_including_file_with_a_cycle(make_repo: RepoFactory) -> None:
    root = make_repo(
        {
            "requirements.txt": "-r requirements/production.txt\n",
            "requirements/production.txt": "-r base.txt\n--requirement=extras/sentry.txt\n"
            "gunicorn==23.0\n",
            "requirements/base.txt": "-c constraints.txt\n-r production.txt\nDjango==5.2\n",
            "requirements/constraints.txt": "kombu<6\n-c ../pins/more.txt\n",
            "requirements/extras/sentry.txt": "-r../base.txt\nsentry-sdk[django]==2.0\n",
            "pins/more.txt": "redis<7\n",
        }
    )
    assert requirements_tree(root, "requirements.txt") == RequirementsTree(
        start="requirements.txt",
        files=(
            RequirementsFile("requirements.txt", "requirements"),
            RequirementsFile("requirements/production.txt", "requirements"),
            RequirementsFile("requirements/base.txt", "requirements"),
            RequirementsFile("requirements/constraints.txt", "constraints"),
            RequirementsFile("pins/more.txt", "constraints"),
            RequirementsFile("requirements/extras/sentry.txt", "requirements"),
        ),
        packages=("django", "gunicorn", "sentry-sdk"),
        cycles=(
            "requirements/production.txt -> requirements/base.txt -> requirements/production.txt",
        ),
        missing=(),
    )


def test_a_file_including_itself_is_a_cycle(make_repo: RepoFactory) -> None:
    root = make_repo({"requirements.txt": "-r requirements.txt\nDjango\n"})
    tree = requirements_tree(root, "requirements.txt")
    assert tree.cycles == ("requirements.txt -> requirements.txt",)
    assert tree.packages == ("django",)


def test_missing_includes_are_reported_not_fatal(make_repo: RepoFactory) -> None:
    root = make_repo({"requirements.txt": "-r requirements/gone.txt\n-r ${EXTRA}\nDjango\n"})
    assert requirements_tree(root, "requirements.txt").missing == (
        "requirements/gone.txt (from requirements.txt)",
        "${EXTRA} (from requirements.txt)",
    )


def test_a_file_included_twice_is_listed_once(make_repo: RepoFactory) -> None:
    root = make_repo(
        {
            "requirements.txt": "-r a.txt\n-r b.txt\n",
            "a.txt": "-r common.txt\n",
            "b.txt": "-r common.txt\n",
            "common.txt": "celery\n",
        }
    )
    tree = requirements_tree(root, "requirements.txt")
    assert [item.path for item in tree.files] == [
        "requirements.txt",
        "a.txt",
        "common.txt",
        "b.txt",
    ]
    assert tree.cycles == ()


def test_logical_lines_join_continuations_and_drop_comments() -> None:
    text = "# comment\nDjango==5.2 \\\n    --hash=sha256:abc  # pinned\n\nurl#fragment\n"
    assert logical_lines(text) == ["Django==5.2      --hash=sha256:abc", "url#fragment"]


@pytest.mark.parametrize(
    ("line", "names"),
    [
        ("Django>=5.2,<5.3", {"django"}),
        ("django_environ[s3]==0.12", {"django-environ"}),
        ("Flask.Login ; python_version >= '3.10'", {"flask-login"}),
        ("psycopg[binary,pool]==3.2", {"psycopg", "psycopg-binary"}),
        ("psycopg[c]", {"psycopg", "psycopg-c"}),
        ("mylib @ https://example.com/mylib-1.0.tar.gz", {"mylib"}),
        ("git+https://github.com/org/repo.git@main#egg=Some_Package", {"some-package"}),
        ("-e git+https://github.com/org/repo.git#egg=editable-one", {"editable-one"}),
        ("-e .", set()),
        ("./vendor/wheel.whl", set()),
        ("--index-url https://example.com/simple", set()),
    ],
)
def test_requirement_names(line: str, names: set[str]) -> None:
    assert requirement_names(line) == names


def test_normalized_is_pep_503() -> None:
    assert normalized("Django_Celery.Beat") == "django-celery-beat"


@pytest.mark.parametrize(
    ("files", "start"),
    [
        (("requirements.txt", "requirements/production.txt"), "requirements.txt"),
        (("requirements/production.txt", "requirements/base.txt"), "requirements/production.txt"),
        (("requirements/prod.txt", "requirements/base.txt"), "requirements/prod.txt"),
        (("requirements/base.txt", "requirements/local.txt"), "requirements/base.txt"),
    ],
)
def test_production_start_file(make_repo: RepoFactory, files: tuple[str, ...], start: str) -> None:
    root = make_repo(dict.fromkeys(files, "Django\n"))
    tree = production_requirements(root)
    assert tree is not None
    assert tree.start == start


@pytest.mark.parametrize(
    ("files", "start"),
    [
        (("requirements/local.txt", "requirements/base.txt"), "requirements/local.txt"),
        (("requirements/test.txt", "requirements/local.txt"), "requirements/test.txt"),
        (("requirements-dev.txt", "requirements.txt"), "requirements-dev.txt"),
        (("requirements.txt",), None),
    ],
)
def test_test_requirements_start_file(
    make_repo: RepoFactory, files: tuple[str, ...], start: str | None
) -> None:
    tree = requirements_for_tests(make_repo(dict.fromkeys(files, "pytest\n")))
    assert (tree.start if tree else None) == start

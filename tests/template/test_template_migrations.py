"""copier.yml's `_migrations`: an update from a pre-release render turns `environments` into
the list the template now asks for, through template_migrations/environments_as_list.py."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml
from support.template import (
    ANSWERS_FILE,
    REPO_ROOT,
    REQUIRED_ANSWERS,
    commit_all,
    git,
    render,
    sample_copy,
    template_checkout,
    update,
)

sys.path.insert(0, str(REPO_ROOT / "template_migrations"))
from environments_as_list import migrate

PRE_RELEASE_QUESTION = """environments:
  type: str
  help: Comma-separated environments, in promotion order
  default: staging,production

"""


def write_answers(path: Path, environments: object) -> None:
    path.write_text(yaml.safe_dump({"_commit": "v0.0.9", "environments": environments}))


def test_text_becomes_a_list_in_promotion_order(tmp_path: Path) -> None:
    answers = tmp_path / ANSWERS_FILE
    write_answers(answers, "production, staging")
    assert migrate(answers) is True
    assert yaml.safe_load(answers.read_text()) == {
        "_commit": "v0.0.9",
        "environments": ["staging", "production"],
    }
    assert migrate(answers) is False  # already a list: untouched


def test_an_unknown_environment_stops_with_one_message(tmp_path: Path) -> None:
    answers = tmp_path / ANSWERS_FILE
    write_answers(answers, "staging,qa")
    with pytest.raises(SystemExit) as stop:
        migrate(answers)
    assert str(stop.value) == (
        f"environments: qa is not one of dev, staging, production; "
        f"edit {answers} and run the update again"
    )
    assert yaml.safe_load(answers.read_text())["environments"] == "staging,qa"


@pytest.mark.slow
def test_copier_update_runs_the_migration(tmp_path: Path) -> None:
    template = tmp_path / "django-aws-settings"
    template_checkout(template)
    current = (REPO_ROOT / "copier.yml").read_text()
    pre_release = re.sub(r"environments:\n.*?\n\n", PRE_RELEASE_QUESTION, current, flags=re.S)
    assert pre_release != current
    (template / "copier.yml").write_text(pre_release)
    git(template, "init", "-q")
    commit_all(template, "pre-release: environments as text")
    git(template, "tag", "v0.0.9")
    (template / "copier.yml").write_text(current)
    commit_all(template, "environments as a list")
    git(template, "tag", "v0.1.0")

    root = sample_copy(tmp_path)
    answers = {**REQUIRED_ANSWERS, "environments": "staging,production"}
    render(root, answers, src_path=template, vcs_ref="v0.0.9")
    assert yaml.safe_load((root / ANSWERS_FILE).read_text())["environments"] == (
        "staging,production"
    )
    commit_all(root, "Add django-aws-settings (pre-release)")

    update(root, vcs_ref="v0.1.0")

    recorded = yaml.safe_load((root / ANSWERS_FILE).read_text())
    assert (recorded["_commit"], recorded["environments"]) == ("v0.1.0", ["staging", "production"])
    deploy = yaml.safe_load((root / ".github/workflows/django-aws-deploy.yml").read_text())
    options = deploy[True]["workflow_dispatch"]["inputs"]["environment"]["options"]
    assert options == ["staging", "production"]
    assert sorted(p.name for p in (root / "infra/terraform/environments").iterdir()) == [
        "production",
        "staging",
    ]

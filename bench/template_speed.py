"""Template speed: ``copier copy`` and ``copier update`` wall time on the sample project.

The template (this working tree's template/ and copier.yml) is committed into a
throwaway git repository twice: v1.0.0, and v1.1.0 with one changed line in a generated
file, so an update has a real diff to merge. Each run takes a fresh git copy of the
sample project, then times the copier CLI as a user types it:

* ``copier copy --trust --defaults --vcs-ref v1.0.0 --data … <template> <project>``
  (the end-to-end tests' answer set: pip, WSGI, Celery with two queues and beat,
  WhiteNoise, media on S3), then the result is committed, untimed;
* ``copier update --trust --defaults --vcs-ref v1.1.0 --answers-file …``.

Baseline: the same two commands with a one-question, one-file template in the same kind
of repository: Copier's own floor (start-up, git clone of the template, answers file),
which no template can go below. The ratio is our copy over the floor's copy.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .common import Options, Result

NAME = "template_speed"
RUNS = {"tiny": 1, "small": 3, "full": 7}
OLD, NEW = "v1.0.0", "v1.1.0"
FLOOR_ANSWERS_FILE = ".copier-answers.floor.yml"
FLOOR_COPIER_YML = f"""\
_subdirectory: template
_answers_file: {FLOOR_ANSWERS_FILE}
name:
  type: str
  help: A name
  default: floor
"""
CHANGED_FILE = Path("template/deploy/gunicorn.conf.py")
CHANGE = "\n# v1.1.0: one more line, so that copier update has a diff to apply.\n"


def run(options: Options) -> Result:
    from support.template import ANSWERS_FILE, commit_all, sample_copy

    from .common import RUN_ANSWERS, Result, Sample, log

    runs = options.runs_for(RUNS)
    times: dict[str, list[float]] = {
        key: [] for key in ("copy", "update", "floor_copy", "floor_update")
    }
    with tempfile.TemporaryDirectory(prefix="bench-template-speed-") as directory:
        base = Path(directory)
        ours_template = release_repository(base / "ours-template")
        floor_template = floor_repository(base / "floor-template")
        for index in range(runs):
            pair: list[tuple[str, Path, Mapping[str, Any], str]] = [
                ("", ours_template, RUN_ANSWERS, ANSWERS_FILE),
                ("floor_", floor_template, {"name": "floor"}, FLOOR_ANSWERS_FILE),
            ]
            for prefix, template, answers, answers_file in pair if index % 2 == 0 else pair[::-1]:
                project = sample_copy(base / f"{prefix}run{index}")
                times[f"{prefix}copy"].append(copier_copy(template, project, answers))
                commit_all(project, "Add the template")
                times[f"{prefix}update"].append(copier_update(project, answers_file))
                check_updated(project, prefix == "")
            log(
                f"{NAME}: run {index + 1}/{runs}: copy {times['copy'][-1]:.2f} s,"
                f" update {times['update'][-1]:.2f} s (floor {times['floor_copy'][-1]:.2f} s,"
                f" {times['floor_update'][-1]:.2f} s)"
            )
        files = sum(
            1 for path in (base / "run0").rglob("*") if path.is_file() and ".git" not in path.parts
        )
    samples = {key: Sample.of(values) for key, values in times.items()}
    return Result(
        name=NAME,
        size=options.size,
        runs=runs,
        ours=round(samples["copy"].median, 4),
        baseline=round(samples["floor_copy"].median, 4),
        unit="seconds",
        note=f"seconds for copier copy, ours vs a one-file template (Copier's floor), median"
        f" of {runs}; copier update: ours {samples['update'].median:.3g} s, floor"
        f" {samples['floor_update'].median:.3g} s; lower is better",
        details={
            **{key: sample.as_dict() for key, sample in samples.items()},
            "project_files": files,
            "copier": copier_version(),
            "answers": {key: str(value) for key, value in RUN_ANSWERS.items()},
        },
    )


def release_repository(root: Path) -> Path:
    """This working tree's template as two tagged releases."""
    from support.template import template_checkout

    return tag_twice(template_checkout(root))


def floor_repository(root: Path) -> Path:
    """The smallest template Copier can run: one question, one file."""
    (root / "template" / "deploy").mkdir(parents=True)
    (root / "copier.yml").write_text(FLOOR_COPIER_YML)
    (root / "template" / "{{ _copier_conf.answers_file }}.jinja").write_text(
        "{{ _copier_answers|to_nice_yaml -}}\n"
    )
    (root / "template" / "deploy" / "gunicorn.conf.py").write_text("workers = 2\n")
    (root / "template" / "floor.txt.jinja").write_text("{{ name }}\n")
    return tag_twice(root)


def tag_twice(root: Path) -> Path:
    from support.template import commit_all, git

    git(root, "init", "-q")
    commit_all(root, "Release 1.0.0")
    git(root, "tag", OLD)
    with (root / CHANGED_FILE).open("a") as changed:
        changed.write(CHANGE)
    commit_all(root, "Release 1.1.0")
    git(root, "tag", NEW)
    return root


def copier_env() -> dict[str, str]:
    """Copier runs git (clones, and commits in scratch repositories during an update)."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
        "GIT_AUTHOR_NAME": "Bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "Bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }


def copier(arguments: Sequence[str], cwd: Path) -> float:
    from .common import PYTHON, timed

    copier_bin = str(Path(PYTHON).parent / "copier")
    seconds, done = timed(
        subprocess.run,
        [copier_bin, *arguments],
        cwd=cwd,
        env=copier_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"copier {' '.join(arguments)} failed:\n{done.stdout}{done.stderr}")
    return float(seconds)


def copier_copy(template: Path, project: Path, answers: Mapping[str, Any]) -> float:
    data = [
        arg for key, value in answers.items() for arg in ("--data", f"{key}={yaml_value(value)}")
    ]
    return copier(
        ["copy", "--trust", "--defaults", "--quiet", "--vcs-ref", OLD, *data, str(template), "."],
        cwd=project,
    )


def copier_update(project: Path, answers_file: str) -> float:
    return copier(
        ["update", "--trust", "--defaults", "--quiet", "--vcs-ref", NEW,
         "--answers-file", answers_file, "."],
        cwd=project,
    )  # fmt: skip


def check_updated(project: Path, ours: bool) -> None:
    """The update really applied the new release (and touched nothing it should not)."""
    changed = project / CHANGED_FILE.relative_to("template")
    if not changed.read_text().endswith(CHANGE):
        kind = "our template" if ours else "the floor template"
        raise RuntimeError(f"copier update did not apply {NEW} of {kind} to {changed}")


def yaml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def copier_version() -> str:
    from importlib.metadata import version

    return version("copier")

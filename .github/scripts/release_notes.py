"""Check a release tag against the repository and print its CHANGELOG section.

    python .github/scripts/release_notes.py v1.2.3 > release-notes.md

The release workflow runs this before it builds anything. It exits 1, naming each
disagreement, unless the tag, the package (``__version__`` in
django_aws_settings/__init__.py, which hatch reads for the distribution's version) and the
template (``package_version`` in copier.yml, the version a render pins) all name X.Y.Z and
CHANGELOG.md has a non-empty ``## [X.Y.Z] - YYYY-MM-DD`` section. Standard library only:
the workflow runs it before installing anything.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TAG = re.compile(r"^v(?P<version>(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*))$")
# A release heading in Keep a Changelog's form: "## [1.2.3] - 2026-12-03".
HEADING = re.compile(r"^## \[(?P<version>[^\]]+)\] - (?P<date>\d{4}-\d{2}-\d{2})\s*$")
# copier.yml's derived question: "package_version:" then its indented keys.
COPIER_VERSION = re.compile(
    r'^package_version:\n(?:[ \t]+.*\n)*?[ \t]+default:[ \t]*["\']?(?P<version>[^"\'\s]+)',
    re.MULTILINE,
)


class ReleaseError(Exception):
    """The tag cannot be released as the repository stands."""


def package_version(root: Path = ROOT) -> str:
    """``__version__`` from django_aws_settings/__init__.py, read without importing it."""
    module = ast.parse((root / "django_aws_settings" / "__init__.py").read_text())
    for node in module.body:
        if (
            isinstance(node, ast.Assign)
            and [getattr(target, "id", None) for target in node.targets] == ["__version__"]
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            return node.value.value
    raise ReleaseError("django_aws_settings/__init__.py assigns no __version__ string")


def template_version(root: Path = ROOT) -> str:
    """The default of copier.yml's ``package_version``: the version a render pins."""
    found = COPIER_VERSION.search((root / "copier.yml").read_text())
    if found is None:
        raise ReleaseError("copier.yml has no package_version with a default")
    return found["version"]


def changelog_section(text: str, version: str) -> str:
    """The body of ``## [version] - date`` up to the next ``## `` heading, stripped."""
    lines = text.splitlines()
    starts = [
        index
        for index, line in enumerate(lines)
        if (heading := HEADING.match(line)) and heading["version"] == version
    ]
    if not starts:
        raise ReleaseError(f"CHANGELOG.md has no '## [{version}] - YYYY-MM-DD' heading")
    if len(starts) > 1:
        raise ReleaseError(f"CHANGELOG.md has {len(starts)} headings for {version}")
    body: list[str] = []
    for line in lines[starts[0] + 1 :]:
        if line.startswith("## "):
            break
        body.append(line)
    section = "\n".join(body).strip()
    if not section:
        raise ReleaseError(f"CHANGELOG.md's section for {version} is empty")
    return section + "\n"


def release_notes(tag: str, root: Path = ROOT) -> str:
    """The CHANGELOG section for `tag`, after checking that everything names its version."""
    matched = TAG.match(tag)
    if matched is None:
        raise ReleaseError(f"{tag!r} is not a release tag vX.Y.Z")
    version = matched["version"]
    problems = [
        f"{where} says {found}, the tag {tag}"
        for where, found in (
            ("django_aws_settings.__version__", package_version(root)),
            ("copier.yml's package_version", template_version(root)),
        )
        if found != version
    ]
    try:
        notes = changelog_section((root / "CHANGELOG.md").read_text(), version)
    except ReleaseError as error:
        problems.append(str(error))
        notes = ""
    if problems:
        raise ReleaseError("; ".join(problems))
    return notes


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: release_notes.py vX.Y.Z", file=sys.stderr)
        return 2
    try:
        sys.stdout.write(release_notes(argv[0]))
    except ReleaseError as error:
        print(f"release_notes: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""ops/repository imports only the standard library: Copier loads it by path from the template
checkout, where Django, boto3 and the rest of the package may be absent."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import django_aws_settings

PACKAGE = Path(django_aws_settings.__file__).resolve().parent
REPOSITORY = PACKAGE / "ops" / "repository"
SAMPLE = PACKAGE.parent / "tests" / "sample_repos" / "api_platform"


def test_imports_only_the_standard_library_and_itself() -> None:
    outside = []
    for path in sorted(REPOSITORY.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                if node.level > 1:
                    outside.append(f"{path.name}: from {'.' * node.level}{node.module or ''}")
            elif isinstance(node, ast.ImportFrom | ast.Import):
                names = (
                    [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else [a.name for a in node.names]
                )
                outside.extend(
                    f"{path.name}: {name}"
                    for name in names
                    if name.split(".")[0] not in sys.stdlib_module_names and name != "__future__"
                )
    assert outside == []


def test_runs_with_only_the_standard_library_on_the_path(tmp_path: Path) -> None:
    """``python -S -I``: no site-packages; sys.path is the repository root and the stdlib."""
    script = (
        "import sys\n"
        "assert not [entry for entry in sys.path if 'site-packages' in entry], sys.path\n"
        f"sys.path.insert(0, {str(PACKAGE.parent)!r})\n"
        "from pathlib import Path\n"
        "from django_aws_settings.ops.repository import repository_facts\n"
        f"facts = repository_facts(Path({str(SAMPLE)!r}))\n"
        "assert facts.django.project_package == 'config'\n"
        "loaded = sorted(name for name in sys.modules if name.split('.')[0] in "
        "('django', 'boto3', 'botocore', 'environ'))\n"
        "others = sorted(name for name in sys.modules if name.startswith('django_aws_settings.') "
        "and not name.startswith('django_aws_settings.ops'))\n"
        "print(loaded, others)\n"
    )
    shown = subprocess.run(
        [sys.executable, "-S", "-I", "-c", script],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert (shown.returncode, shown.stderr, shown.stdout) == (0, "", "[] []\n")

"""Copier migration (updating to v0.1.0): `environments` became a list.

Before v0.1.0 the answer was comma-separated text ("staging,production"); it is now a
multiselect list. Run by Copier in the destination before the update, with the answers
file's path as the only argument; Copier reloads the answers afterwards. Idempotent.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

CHOICES = ("dev", "staging", "production")


def migrate(answers_file: Path) -> bool:
    """Rewrite a text `environments` answer as a list; True when the file changed."""
    answers = yaml.safe_load(answers_file.read_text()) or {}
    value = answers.get("environments")
    if not isinstance(value, str):
        return False
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in CHOICES]
    if unknown:
        sys.exit(
            f"environments: {', '.join(unknown)} is not one of {', '.join(CHOICES)}; "
            f"edit {answers_file} and run the update again"
        )
    answers["environments"] = [name for name in CHOICES if name in names]
    header = "# Changes here will be overwritten by Copier; NEVER EDIT MANUALLY\n"
    answers_file.write_text(header + yaml.safe_dump(answers, sort_keys=True))
    return True


if __name__ == "__main__":
    migrate(Path(sys.argv[1]))

"""The sample repositories play users' own projects: their tests are theirs, not ours.

tests/ops/repository reads these folders as files; nothing here is collected.
"""

collect_ignore_glob = ["*/**", "*/"]

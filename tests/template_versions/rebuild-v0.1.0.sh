#!/usr/bin/env bash
# Rebuild v0.1.0.patch (the release before today's template, as a patch on today's files)
# when template changes stop it from applying. v0.1.0 = today's copier.yml + template/ with
# the include and Dockerfile hunks of the first version of this patch (commit 92a3629)
# reverted, and the Dockerfile, .dockerignore and compose.yaml back at the root as they
# were then.
set -euo pipefail
repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
base=92a3629
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$repo/template" "$repo/copier.yml" "$work/"
cd "$work"
git init -q && git add -A && git -c user.email=t@t -c user.name=t commit -qm today
git -C "$repo" show "$base:tests/template_versions/v0.1.0.patch" >"$work.orig"
sed -n '/^diff --git a\/template\/_partials\/container/,$p' "$work.orig" >"$work.rest"
sed -n '/^diff --git a\/template\/Dockerfile.jinja/,/^diff --git a\/template\/_partials/p' \
  "$work.orig" | sed '$d' >"$work.docker"
# Files renamed since: the beat task definition is rendered for beat_service (beat not
# replaced by EventBridge Scheduler).
sed -i 's/{% if celery and celery_beat %}beat.json/{% if beat_service %}beat.json/g' "$work.rest"
git apply "$work.rest"
git rm -q template/deploy/Dockerfile.jinja template/deploy/Dockerfile.dockerignore.jinja \
  template/deploy/compose.yaml.jinja
for file in Dockerfile.jinja .dockerignore.jinja compose.yaml.jinja; do
  git -C "$repo" show "$base:template/$file" >"template/$file"
done
git apply "$work.docker"
git add -A
patch="$repo/tests/template_versions/v0.1.0.patch"
header=$(sed '/^diff --git/,$d' "$patch")
{ printf '%s\n\n' "$header"; git diff --cached -U1 HEAD; } >"$patch.new"
mv "$patch.new" "$patch"
rm -f "$work.orig" "$work.rest" "$work.docker"

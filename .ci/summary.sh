#!/usr/bin/env bash
# Append `dvc metrics diff --md` and `dvc params diff --md` (workspace against the base revision)
# to the GitHub step summary, or print them when run outside GitHub Actions.
# Base: the pull request's target branch, else the previous commit, else main.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# DVC's console script, or the module of the python that ran the setup when its scripts folder is not on PATH.
dvc() { if type -P dvc >/dev/null; then command dvc "$@"; else python -m dvc "$@"; fi; }

out=${GITHUB_STEP_SUMMARY:-/dev/stdout}
if [ -n "${GITHUB_BASE_REF:-}" ]; then
    base="origin/${GITHUB_BASE_REF}"
    git rev-parse -q --verify "$base" >/dev/null || git fetch --no-tags origin "$GITHUB_BASE_REF" || true
elif git rev-parse -q --verify HEAD~1 >/dev/null; then
    base=HEAD~1
else
    base=main
fi

{
    echo "## Pipeline metrics and params against \`$base\`"
    echo
    if ! git rev-parse -q --verify "$base^{commit}" >/dev/null; then
        echo "No base revision \`$base\` to compare with."
        exit 0
    fi
    echo "### Metrics (\`dvc metrics diff --md $base\`)"
    echo
    dvc metrics diff --md "$base" || echo "dvc metrics diff failed (exit $?)"
    echo
    echo "### Params (\`dvc params diff --md $base\`)"
    echo
    dvc params diff --md "$base" || echo "dvc params diff failed (exit $?)"
} >> "$out"

#!/usr/bin/env bash
# The smoke run's metrics, params and learning curves against those of the base run, appended to
# the GitHub step summary (printed when run outside GitHub Actions).
#
# Usage: bash .ci/summary.sh BASE_DIR [NEW_DIR]
#   BASE_DIR  the base run's files as `.ci/smoke_diff.py collect` keeps them (CI restores them from
#             the cache `smoke-metrics-<base sha>`); when it holds none, exactly one line says so.
#   NEW_DIR   the new run's files, same layout (default: this repo's workspace after the smoke run).
# Environment: BASE_NAME (what to call the base; default BASE_DIR/COMMIT), SMOKE_CURVES_PNG (where
# the base-vs-new curves figure goes; default $RUNNER_TEMP/smoke-summary/curves.png, or under $TMPDIR).
#
# `dvc metrics diff` compares git revisions, not folders, so .ci/smoke_diff.py compares the files itself.
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: bash .ci/summary.sh BASE_DIR [NEW_DIR]" >&2
    exit 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
base_dir=$1
new_dir=${2:-$here/..}
png=${SMOKE_CURVES_PNG:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}/smoke-summary/curves.png}

args=(diff "$base_dir" --new "$new_dir" --png "$png")
if [ -n "${BASE_NAME:-}" ]; then
    args+=(--name "$BASE_NAME")
fi
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    python "$here/smoke_diff.py" "${args[@]}" >> "$GITHUB_STEP_SUMMARY"
else
    python "$here/smoke_diff.py" "${args[@]}"   # (`>> /dev/stdout` would reopen a redirected stdout: later output overwrites it)
fi

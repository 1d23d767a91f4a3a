#!/usr/bin/env bash
# Smoke run of the whole DVC pipeline, then the two checks that keep it honest:
#   1. `dvc exp run` with the smoke overrides below, on a local CIFAR-10 archive;
#   2. `dvc status` must be clean afterwards;
#   3. `dvc metrics show` must list numbers only, at most 60 of them (.ci/metrics_budget.py);
#   4. a second `dvc repro` must do nothing (no stage runs, dvc.lock and every output untouched).
#
# Usage: bash .ci/pipeline.sh [path/to/cifar-10-python.tar.gz]
#   Without an argument it uses the shared sample (../shared/data/cifar10-sample beside the repo
#   root) and skips (exit 0) with a message when that is absent; a given archive must exist.
#
# It works in the repository it lives in: afterwards the workspace holds the smoke experiment
# (params.yaml with the overrides, dvc.lock, outputs), as any `dvc exp run` leaves it.
set -euo pipefail

SAMPLE_ARCHIVE=../shared/data/cifar10-sample/cifar-10-python.tar.gz   # relative to the repo root
SAMPLE_MD5=76684cd32ac2a0f71e51af6727b0c6ad

if [ $# -gt 1 ]; then
    echo "usage: bash .ci/pipeline.sh [path/to/cifar-10-python.tar.gz]" >&2
    exit 2
fi
given=${1:-}
if [ -n "$given" ]; then
    if [ ! -f "$given" ]; then
        echo "error: archive $given not found" >&2
        exit 1
    fi
    # absolute, so that it means the same file from the repo root
    archive=$(cd "$(dirname "$given")" && pwd)/$(basename "$given")
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# DVC's console script, or the module of the python that ran the setup when its scripts folder is not on PATH.
dvc() { if type -P dvc >/dev/null; then command dvc "$@"; else python -m dvc "$@"; fi; }

if [ -z "$given" ]; then
    if [ ! -f "$SAMPLE_ARCHIVE" ]; then
        echo "skipping the smoke pipeline: no CIFAR-10 sample at $SAMPLE_ARCHIVE (from $(pwd));" \
             "give an archive: bash .ci/pipeline.sh path/to/cifar-10-python.tar.gz"
        exit 0
    fi
    archive=$SAMPLE_ARCHIVE   # relative: the same params (and so DVC run-cache entries) on every machine
    md5=$SAMPLE_MD5           # the known md5: a damaged sample fails the download stage
else
    md5=$(python -c 'import hashlib, sys; print(hashlib.md5(open(sys.argv[1], "rb").read()).hexdigest())' "$archive")
fi

# The smoke settings: the whole pipeline in a few minutes on 2 CPU cores. Same recipe and stage
# graph as a full run; smaller models, 2 epochs, random AlexNet weights, a capped attack sweep.
# The report flags every one of these (it reads them back from the metrics files).
SMOKE=(
    -S "data.url=$archive"
    -S "data.md5=$md5"
    -S device=cpu                     # the same numbers on every CI machine
    -S train.epochs=2                 # two points per learning curve
    -S "cnn.channels=[16,32,64,128]"  # the seed's kernels (7, 5, 3, 2), a quarter of the channels
    -S "cnn.fc_widths=[128,64,32]"
    -S resnet.width=8
    -S "resnet.blocks=[1,1,1,1]"
    -S "fast.model.widths=[16,32,64]" # fast: its own recipe (fast.train), so its own smoke settings
    -S fast.train.epochs=2
    -S fast.train.precision=fp32      # bf16 only where a CPU has it: the same numbers on every CI machine
    -S alexnet.weights=none           # no 233 MB download; every AlexNet output says "random weights"
    -S attack.max_images=8            # ships in each bounded sweep (AlexNet at 224 px is the slow part)
    -S visualize.naive_steps=4        # feature visualisation: a few steps of each rung, a batch of 2, 4 re-scorings
    -S visualize.steps=8              #   (82 s for the four visualize@ items on 2 shared cores, AlexNet 50 s of it)
    -S visualize.diversity_batch=2
    -S visualize.robust_trials=4
    -S corrupt.images=100             # the corrupted test set: 100 test images x 14 corruptions x 5 severities
)

now() { date +%s; }
phase_start=$(now)
phase() {  # print the time the previous phase took, then announce the next
    local t
    t=$(now)
    if [ -n "${phase_name:-}" ]; then
        echo "::: ${phase_name}: $((t - phase_start)) s"
    fi
    phase_name=${1:-}
    phase_start=$t
    if [ -n "$phase_name" ]; then
        echo "::: ${phase_name}"
    fi
}

# `dvc exp run` commits the experiment to a hidden ref, so git needs an identity.
if [ -z "$(git config user.email || true)" ]; then
    git config user.email "ci@visionlab.invalid"
    git config user.name "visionlab CI"
fi

phase "smoke pipeline: dvc exp run ${SMOKE[*]}"
dvc exp run "${SMOKE[@]}"

phase "dvc status must be clean"
status=$(dvc status --json)
if ! python -c 'import json, sys; sys.exit(0 if json.loads(sys.argv[1] or "{}") == {} else 1)' "$status"; then
    dvc status
    echo "error: dvc status is not clean right after the pipeline ran" >&2
    exit 1
fi

phase "metrics a person can compare: numbers only, at most 60 values"
dvc metrics show --json | python .ci/metrics_budget.py

phase "second dvc repro must do nothing"
lock_before=$(python -c 'import hashlib; print(hashlib.sha256(open("dvc.lock", "rb").read()).hexdigest())')
marker=$(mktemp)   # outputs written after this moment were rewritten by the second repro
sleep 1            # mtime granularity
log=$(mktemp)
dvc repro 2>&1 | tee "$log"
lock_after=$(python -c 'import hashlib; print(hashlib.sha256(open("dvc.lock", "rb").read()).hexdigest())')
ran=$(grep -E "^Running stage '" "$log" || true)
touched=$(find data models reports -type f -newer "$marker" 2>/dev/null || true)
rm -f "$marker" "$log"
if [ -n "$ran" ] || [ "$lock_before" != "$lock_after" ] || [ -n "$touched" ]; then
    echo "error: the second dvc repro was not a no-op" >&2
    [ -z "$ran" ] || echo "stages that ran again: $ran" >&2
    [ "$lock_before" = "$lock_after" ] || echo "dvc.lock changed" >&2
    [ -z "$touched" ] || echo "outputs rewritten: $touched" >&2
    exit 1
fi
phase ""

echo "smoke pipeline OK: report at reports/README.md and reports/index.html"
if [ "${CI:-}" != "true" ]; then
    echo "note: params.yaml and dvc.lock now hold the smoke experiment ('dvc exp show' lists it);" \
         "'git checkout -- params.yaml' (and dvc.lock if tracked) then 'dvc checkout' goes back"
fi

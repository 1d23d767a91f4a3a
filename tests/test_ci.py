"""CI wiring: the GitHub workflow, `.ci/run`, `.ci/pipeline.sh` (with stand-ins for python and dvc), the
generated archive, the DVC cache pruning and the smoke summary."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from cifar_archive import make_cifar_archive, md5_file

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github/workflows/ci.yml"


def readme_commands(heading: str) -> list[str]:
    """The commands of the first fenced block under the README's ``## <heading>``."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.split(r"^## ", text, flags=re.MULTILINE)
    body = next(s for s in section if s.startswith(heading + "\n"))
    block = re.search(r"```[a-z]*\n(.*?)```", body, flags=re.DOTALL)
    assert block is not None, f"no fenced block under ## {heading}"
    lines = [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]
    return [line.split("  #")[0].strip() for line in lines]


(SETUP,) = readme_commands("Setup")
TESTS, SLOW = readme_commands("Tests")  # the fast suite, then the slow end-to-end group


@pytest.fixture(scope="module")
def steps() -> list[dict[str, Any]]:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    triggers = workflow.get("on", workflow.get(True))  # PyYAML reads the key `on` as True
    assert "pull_request" in triggers and "push" in triggers
    (job,) = workflow["jobs"].values()
    return job["steps"]


def index_of(steps: list[dict[str, Any]], predicate) -> int:
    matches = [i for i, step in enumerate(steps) if predicate(step)]
    assert matches, "no such step"
    return matches[0]


def runs(text: str):
    return lambda step: text in step.get("run", "")


def uses(action: str):
    return lambda step: step.get("uses", "").startswith(action + "@")


def test_workflow_installs_and_tests_with_the_readme_commands_on_python_311(steps) -> None:
    python = steps[index_of(steps, uses("actions/setup-python"))]
    assert str(python["with"]["python-version"]) == "3.11" and python["with"]["cache"] == "pip"
    install = index_of(steps, lambda s: s.get("run", "").strip() == SETUP)
    tests = index_of(steps, lambda s: s.get("run", "").strip() == TESTS)
    slow = index_of(steps, lambda s: s.get("run", "").strip() == SLOW)
    assert index_of(steps, uses("actions/setup-python")) < install < tests < slow


FORMAT = "python -m ruff format --check ."
DVC_KEY = "dvc-${{ runner.os }}-${{ github.sha }}-${{ github.run_id }}-${{ github.run_attempt }}"


def test_workflow_checks_formatting_after_setup_and_before_the_tests(steps) -> None:
    install = index_of(steps, lambda s: s.get("run", "").strip() == SETUP)
    fmt = index_of(steps, lambda s: s.get("run", "").strip() == FORMAT)
    tests = index_of(steps, lambda s: s.get("run", "").strip() == TESTS)
    assert install < fmt < tests


def test_workflow_restores_the_newest_dvc_cache_by_prefix_and_saves_one_per_run(steps) -> None:
    restore = steps[index_of(steps, lambda s: uses("actions/cache/restore")(s) and s["with"]["path"] == ".dvc/cache")]
    save = steps[index_of(steps, lambda s: uses("actions/cache/save")(s) and s["with"]["path"] == ".dvc/cache")]
    # a key of its own per run (never an exact hit, so every run saves what it ran) ...
    assert restore["with"]["key"] == save["with"]["key"] == DVC_KEY
    # ... restored by prefix: the newest cache of this very commit first, then the newest of any
    prefixes = restore["with"]["restore-keys"].strip().splitlines()
    assert prefixes == ["dvc-${{ runner.os }}-${{ github.sha }}-", "dvc-${{ runner.os }}-"]
    assert all(DVC_KEY.startswith(prefix) for prefix in prefixes)


def test_workflow_prunes_the_dvc_cache_after_a_good_smoke_run_and_saves_it_also_after_a_failed_one(steps) -> None:
    pipeline = index_of(steps, runs(".ci/pipeline.sh"))
    prune = index_of(steps, runs(".ci/prune_dvc_cache.py"))
    save = index_of(steps, lambda s: uses("actions/cache/save")(s) and s["with"]["path"] == ".dvc/cache")
    assert pipeline < prune < save
    assert steps[prune]["if"] == "${{ success() }}"
    condition = steps[save]["if"]
    assert steps[pipeline]["id"] == "smoke" and "steps.smoke.outcome == 'failure'" in condition
    assert "cancelled()" in condition and "steps.smoke.outcome == 'success'" in condition


def test_workflow_runs_the_smoke_pipeline_after_restoring_the_caches_then_the_summary(steps) -> None:
    restores = [i for i, step in enumerate(steps) if uses("actions/cache/restore")(step)]
    archive = index_of(steps, runs(".ci/ci_archive.py"))
    pipeline = index_of(steps, runs(".ci/pipeline.sh"))
    summary = index_of(steps, runs(".ci/summary.sh"))
    assert len(restores) == 2
    assert index_of(steps, uses("actions/checkout")) < min(restores) and max(restores) < archive < pipeline < summary
    assert "cancelled()" in str(steps[summary].get("if", ""))  # the summary also shows when the pipeline fails


def test_workflow_compares_with_the_base_commits_smoke_metrics_and_keeps_its_own_on_main(steps) -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    (job,) = workflow["jobs"].values()
    base_sha = job["env"]["BASE_SHA"]
    assert "github.event.pull_request.base.sha" in base_sha and "github.event.before" in base_sha
    folder = "${{ runner.temp }}/smoke-metrics"
    restore = index_of(steps, lambda s: uses("actions/cache/restore")(s) and s["with"]["path"] == folder)
    assert steps[restore]["with"]["key"] == "smoke-metrics-${{ env.BASE_SHA }}"
    assert "restore-keys" not in steps[restore]["with"]  # the base's own metrics or none: never another commit's
    summary = index_of(steps, runs(".ci/summary.sh"))
    assert '.ci/summary.sh "$RUNNER_TEMP/smoke-metrics"' in steps[summary]["run"]
    assert steps[summary]["env"]["BASE_NAME"] == "${{ env.BASE_SHA }}"
    collect = index_of(steps, runs(".ci/smoke_diff.py collect"))
    assert '"$RUNNER_TEMP/smoke-metrics"' in steps[collect]["run"]
    save = index_of(steps, lambda s: uses("actions/cache/save")(s) and s["with"]["path"] == folder)
    assert steps[save]["with"]["key"] == "smoke-metrics-${{ github.sha }}"
    assert restore < summary < collect < save  # compared first, then replaced by this run's files
    for step in (steps[collect], steps[save]):
        assert step["if"] == "${{ success() && github.event_name == 'push' }}"  # main only: on: push is main


# --- .ci/run ----------------------------------------------------------------------------------------


def test_ci_run_runs_the_readme_commands_and_the_format_check_then_the_pipeline() -> None:
    script = (ROOT / ".ci/run").read_text(encoding="utf-8")
    assert "set -euo pipefail" in script
    commands = [line.split("  #")[0].strip() for line in script.splitlines()]
    setup, fmt, tests, slow = (commands.index(c) for c in (SETUP, FORMAT, TESTS, SLOW))
    assert setup < fmt < tests < slow < commands.index("bash .ci/pipeline.sh")


def fake_bin(tmp_path: Path, scripts: dict[str, str]) -> Path:
    """A folder of stand-in executables (bash scripts), to put first on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, body in scripts.items():
        path = bin_dir / name
        path.write_text("#!/usr/bin/env bash\n" + body + "\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return bin_dir


def clean_env(bin_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "DVC_"))}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env['PATH']}", CI="true", **extra)
    return env


def ci_copy(tmp_path: Path) -> Path:
    """.ci/run and a stand-in .ci/pipeline.sh in an otherwise empty project folder."""
    project = tmp_path / "project"
    (project / ".ci").mkdir(parents=True)
    shutil.copy(ROOT / ".ci/run", project / ".ci/run")
    (project / ".ci/pipeline.sh").write_text('echo "pipeline" >> "$CALLS"\n')
    return project


@pytest.mark.parametrize("pytest_exit", [1, 5])
def test_ci_run_fails_on_test_failure_or_no_tests_and_skips_the_pipeline(tmp_path: Path, pytest_exit: int) -> None:
    project = ci_copy(tmp_path)
    calls = tmp_path / "calls"
    python = f'echo "python $*" >> "$CALLS"; case "$*" in *pytest*) exit {pytest_exit};; esac; exit 0'
    env = clean_env(fake_bin(tmp_path, {"python": python}), CALLS=str(calls))
    result = subprocess.run(
        ["bash", ".ci/run"], cwd=project, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    assert result.returncode == pytest_exit
    assert calls.read_text().splitlines() == [SETUP, FORMAT, TESTS]
    assert "tests" in result.stdout and f"FAILED, exit {pytest_exit}" in result.stdout  # timings, also on failure


def test_ci_run_runs_setup_format_tests_pipeline_in_order_and_prints_timings(tmp_path: Path) -> None:
    project = ci_copy(tmp_path)
    calls = tmp_path / "calls"
    env = clean_env(fake_bin(tmp_path, {"python": 'echo "python $*" >> "$CALLS"'}), CALLS=str(calls))
    result = subprocess.run(
        ["bash", ".ci/run"], cwd=project, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    assert result.returncode == 0, result.stderr
    assert calls.read_text().splitlines() == [SETUP, FORMAT, TESTS, SLOW, "pipeline"]
    timings = result.stdout.split("=== timings")[1]
    phases = [line.split()[0] for line in timings.strip().splitlines()]
    assert phases == ["setup", "format", "tests", "slow", "pipeline"]
    assert all(re.search(r"\d+ s$", line) for line in timings.strip().splitlines())


# --- .ci/pipeline.sh with a stand-in dvc ---------------------------------------------------------------


def pipeline_copy(tmp_path: Path, with_sample: bool) -> Path:
    """A git repo holding .ci/pipeline.sh and a dvc.lock; ../shared beside it only if ``with_sample``."""
    project = tmp_path / "work" / "project"
    (project / ".ci").mkdir(parents=True)
    shutil.copy(ROOT / ".ci/pipeline.sh", project / ".ci/pipeline.sh")
    shutil.copy(ROOT / ".ci/metrics_budget.py", project / ".ci/metrics_budget.py")
    (project / "dvc.lock").write_text("schema: '2.0'\n")
    for folder in ("data", "models", "reports"):
        (project / folder).mkdir()
        (project / folder / "out.txt").write_text("output\n")
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    if with_sample:
        sample = tmp_path / "work/shared/data/cifar10-sample/cifar-10-python.tar.gz"
        sample.parent.mkdir(parents=True)
        sample.write_bytes(b"not really an archive")
    return project


FAKE_DVC = """
echo "dvc $*" >> "$CALLS"
if [ "$1" = status ]; then
    if [ -n "${FAKE_STATUS:-}" ]; then echo "$FAKE_STATUS"; else echo '{}'; fi
elif [ "$1" = metrics ]; then
    if [ -n "${FAKE_METRICS:-}" ]; then echo "$FAKE_METRICS"
    else echo '{"": {"data": {"m.json": {"data": {"test": {"accuracy": 0.5}}}}}}'; fi
elif [ "$1" = repro ]; then
    if [ -n "${FAKE_REPRO:-}" ]; then printf '%b' "$FAKE_REPRO"; else echo "Data and pipelines are up to date."; fi
    if [ -n "${FAKE_TOUCH:-}" ]; then echo changed > "$FAKE_TOUCH"; fi
fi
"""


def run_pipeline(project: Path, tmp_path: Path, *args: str, **env_extra: str) -> subprocess.CompletedProcess[str]:
    env = clean_env(fake_bin(tmp_path, {"dvc": FAKE_DVC}), CALLS=str(tmp_path / "calls"), **env_extra)
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")  # no identity: the script sets one
    return subprocess.run(
        ["bash", ".ci/pipeline.sh", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_pipeline_skips_cleanly_without_the_sample(tmp_path: Path) -> None:
    project = pipeline_copy(tmp_path, with_sample=False)
    result = run_pipeline(project, tmp_path)
    assert result.returncode == 0
    assert "skipping the smoke pipeline" in result.stdout and "../shared/data/cifar10-sample" in result.stdout
    assert not (tmp_path / "calls").exists()  # dvc never ran


def test_pipeline_refuses_a_given_archive_that_does_not_exist(tmp_path: Path) -> None:
    project = pipeline_copy(tmp_path, with_sample=True)
    result = run_pipeline(project, tmp_path, str(tmp_path / "nope.tar.gz"))
    assert result.returncode == 1 and "nope.tar.gz not found" in result.stderr


def test_pipeline_runs_the_smoke_experiment_on_the_sample_then_checks(tmp_path: Path) -> None:
    project = pipeline_copy(tmp_path, with_sample=True)
    result = run_pipeline(project, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    assert [c.split()[1] for c in calls] == ["exp", "status", "metrics", "repro"]
    assert "1 metric values, all numbers (at most 60)" in result.stdout
    exp = calls[0]
    for override in (
        "-S data.url=../shared/data/cifar10-sample/cifar-10-python.tar.gz",
        "-S data.md5=76684cd32ac2a0f71e51af6727b0c6ad",
        "-S alexnet.weights=none",
        "-S train.epochs=2",
    ):
        assert override in exp
    identity = subprocess.run(
        ["git", "-C", str(project), "config", "--local", "user.email"], capture_output=True, text=True
    )
    assert identity.stdout.strip()  # dvc exp run commits, so the script gave the repo an identity


def test_pipeline_uses_a_given_archive_with_its_own_md5(tmp_path: Path) -> None:
    project = pipeline_copy(tmp_path, with_sample=False)
    archive = tmp_path / "mine.tar.gz"
    archive.write_bytes(b"abc")
    result = run_pipeline(project, tmp_path, str(archive))
    assert result.returncode == 0, result.stderr
    exp = (tmp_path / "calls").read_text().splitlines()[0]
    assert f"-S data.url={archive}" in exp
    assert "-S data.md5=900150983cd24fb0d6963f7d28e17f72" in exp  # md5("abc")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"FAKE_STATUS": '{"train@cnn": [{"changed deps": {}}]}'}, "dvc status is not clean"),
        ({"FAKE_REPRO": "Running stage 'report':\\n> python stages/report.py\\n"}, "stages that ran again"),
        ({"FAKE_TOUCH": "reports/out.txt"}, "outputs rewritten: reports/out.txt"),
        ({"FAKE_TOUCH": "dvc.lock"}, "dvc.lock changed"),
    ],
    ids=["status-dirty", "stage-ran", "output-rewritten", "lock-changed"],
)
def test_pipeline_fails_unless_the_second_repro_does_nothing(tmp_path: Path, env: dict[str, str], message: str) -> None:
    project = pipeline_copy(tmp_path, with_sample=True)
    result = run_pipeline(project, tmp_path, **env)
    assert result.returncode == 1
    assert message in result.stderr


def _shown(values: dict[str, Any]) -> str:
    """``dvc metrics show --json`` of a workspace with one metrics file holding ``values``."""
    return json.dumps({"": {"data": {"reports/metrics/m.json": {"data": values}}}})


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({f"v{i}": 0.5 for i in range(61)}, "error: 61 metric values, more than the 60 a person can compare"),
        (
            {"a": {"model": "cnn"}, "b": True, "c": 1},
            "error: metrics must be finite numbers, and 2 are not: "
            "a.model (reports/metrics/m.json), b (reports/metrics/m.json)",
        ),
        (
            {"a": float("nan"), "b": 1},
            "error: metrics must be finite numbers, and 1 are not: a (reports/metrics/m.json)",
        ),
        ({}, "error: dvc metrics show lists no metric at all"),
    ],
    ids=["too-many", "text-and-boolean", "nan", "none"],
)
def test_pipeline_fails_on_metrics_a_person_cannot_compare(tmp_path: Path, values: dict, message: str) -> None:
    project = pipeline_copy(tmp_path, with_sample=True)
    result = run_pipeline(project, tmp_path, FAKE_METRICS=_shown(values))
    assert result.returncode == 1
    assert message in result.stderr.splitlines()
    assert "repro" not in (tmp_path / "calls").read_text()  # it stops there


def test_metrics_dvc_could_not_read_fail_the_check(tmp_path: Path) -> None:
    project = pipeline_copy(tmp_path, with_sample=True)
    unreadable = json.dumps({"": {"error": {"type": "FileNotFoundError", "msg": "dvc.yaml"}}})
    result = run_pipeline(project, tmp_path, FAKE_METRICS=unreadable)
    assert result.returncode == 1
    assert result.stderr.startswith("error: dvc metrics show --json: dvc could not read the metrics of the workspace")


def test_sixty_numbers_pass_the_metrics_check(tmp_path: Path) -> None:
    project = pipeline_copy(tmp_path, with_sample=True)
    result = run_pipeline(project, tmp_path, FAKE_METRICS=_shown({f"v{i}": {"x": i} for i in range(60)}))
    assert result.returncode == 0, result.stderr
    assert "60 metric values, all numbers (at most 60)" in result.stdout


def test_ci_run_stops_before_the_tests_when_formatting_is_off(tmp_path: Path) -> None:
    project = ci_copy(tmp_path)
    calls = tmp_path / "calls"
    python = 'echo "python $*" >> "$CALLS"; case "$*" in *"ruff format"*) exit 1;; esac; exit 0'
    env = clean_env(fake_bin(tmp_path, {"python": python}), CALLS=str(calls))
    result = subprocess.run(
        ["bash", ".ci/run"], cwd=project, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    assert result.returncode == 1
    assert calls.read_text().splitlines() == [SETUP, FORMAT]
    assert "format" in result.stdout and "FAILED, exit 1" in result.stdout


# --- .ci/ci_archive.py: the generated archive --------------------------------------------------------


def test_ci_scripts_do_not_import_from_tests() -> None:
    for script in sorted((ROOT / ".ci").iterdir()):
        text = script.read_text(encoding="utf-8")
        assert not re.search(r"\bcifar_archive\b|\"tests\"|tests/", text), script.name


def load_ci_module(name: str):
    """A ``.ci/<name>.py`` script as a module (``.ci`` is not a package)."""
    spec = importlib.util.spec_from_file_location(f"ci_{name}", ROOT / ".ci" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_generated_archive_is_the_same_bytes_at_any_time_and_path(tmp_path: Path, monkeypatch) -> None:
    """Two builds, one by the CI script now and one here with the clock a year ahead, give the same md5."""
    out = tmp_path / "one" / "cifar-10-python.tar.gz"
    result = subprocess.run(
        [sys.executable, str(ROOT / ".ci/ci_archive.py"), "--generate", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout == f"ARCHIVE={out}\n"  # --generate: even where the shared sample exists

    ci_archive = load_ci_module("ci_archive")
    monkeypatch.setattr(time, "time", lambda: 1_900_000_000.0)  # what gzip and tarfile would stamp
    again = tmp_path / "two" / "other-name.tar.gz"
    md5 = make_cifar_archive(again, ci_archive.PER_BATCH, ci_archive.TEST, ci_archive.SEED)
    assert md5 == md5_file(out) == md5_file(again)

    header = again.read_bytes()[:10]
    assert header[3] == 0 and header[4:8] == b"\0\0\0\0"  # gzip: no file name, no time
    with tarfile.open(again) as tar:
        members = tar.getmembers()
    assert len(members) == 7
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname, m.mode) for m in members} == {(0, 0, 0, "", "", 0o644)}


def test_generated_archive_content_follows_the_seed(tmp_path: Path) -> None:
    assert make_cifar_archive(tmp_path / "a.tar.gz", seed=1) == make_cifar_archive(tmp_path / "b.tar.gz", seed=1)
    assert make_cifar_archive(tmp_path / "c.tar.gz", seed=2) != md5_file(tmp_path / "a.tar.gz")


# --- .ci/prune_dvc_cache.py ---------------------------------------------------------------------------


def lock_entry(cmd: str, dep_md5: str, outs: dict[str, str]) -> dict[str, Any]:
    return {
        "cmd": cmd,
        "deps": [{"path": "in.txt", "hash": "md5", "md5": dep_md5, "size": 3}],
        "params": {"params.yaml": {"x": 1}},
        "outs": [{"path": path, "hash": "md5", "md5": md5, "size": 10} for path, md5 in outs.items()],
    }


def put_object(cache: Path, md5: str, content: str = "x") -> Path:
    path = cache / "files/md5" / md5[:2] / md5[2:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    return path


def put_run(cache: Path, key: str, value: str, entry: dict[str, Any]) -> Path:
    path = cache / "runs" / key[:2] / key / value
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(entry))
    return path


def test_prune_keeps_the_current_pipelines_runs_and_objects_and_drops_the_rest(tmp_path: Path) -> None:
    """A synthetic cache in DVC 3's layout: runs/<key[:2]>/<key>/<value>, files/md5/<2>/<30>."""
    prune = load_ci_module("prune_dvc_cache")
    cache = tmp_path / ".dvc/cache"
    a, d, f1, f2, old, gone = ("a" * 32, "d" * 32 + ".dir", "1" * 32, "2" * 32, "0" * 32, "9" * 32)
    current_one = lock_entry("make one", "c" * 32, {"one.txt": a})
    current_two = lock_entry("make two", "c" * 32, {"two": d, "two.json": "b" * 32})
    lock = {"schema": "2.0", "stages": {"one": current_one, "two": current_two}}
    (tmp_path / "dvc.lock").write_text(yaml.safe_dump(lock))
    for md5 in (a, f1, f2, "b" * 32, old, gone):
        put_object(cache, md5)
    put_object(cache, d, json.dumps([{"md5": f1, "relpath": "x.png"}, {"md5": f2, "relpath": "y.png"}]))
    kept = [put_run(cache, "k1" * 32, "v1", current_one), put_run(cache, "k2" * 32, "v2", current_two)]
    # the same entry with other sizes still matches (DVC's key leaves sizes out)
    resized = {**current_one, "outs": [{**current_one["outs"][0], "size": 11}]}
    kept.append(put_run(cache, "k1" * 32, "v3", resized))
    stale = put_run(cache, "k3" * 32, "v4", lock_entry("make one", "e" * 32, {"one.txt": old}))  # older code
    other = {**current_one, "outs": [{"path": "one.txt", "md5": "f" * 32}]}  # same inputs, another output
    broken = put_run(cache, "k4" * 32, "v5", other)
    (cache / "runs/k5").mkdir(parents=True)
    garbage = cache / "runs/k5/k5/v6"
    garbage.parent.mkdir()
    garbage.write_text(": not yaml : [")

    counts = prune.prune(tmp_path)

    assert all(path.is_file() for path in kept)
    assert not stale.exists() and not broken.exists() and not garbage.exists()
    assert not (cache / "runs/k5").exists()  # emptied folders go too
    left = {p.parent.name + p.name for p in (cache / "files/md5").glob("*/*")}
    assert left == {a, d, f1, f2, "b" * 32}  # the .dir's files stay; the old run's output and strays go
    assert counts["runs_kept"] == 3 and counts["runs_removed"] == 3 and counts["objects_removed"] == 2


def test_prune_keeps_a_matching_run_only_if_all_its_outputs_are_cached(tmp_path: Path) -> None:
    prune = load_ci_module("prune_dvc_cache")
    cache = tmp_path / ".dvc/cache"
    entry = lock_entry("make", "c" * 32, {"a": "a" * 32, "b": "b" * 32})
    (tmp_path / "dvc.lock").write_text(yaml.safe_dump({"stages": {"s": entry}}))
    put_object(cache, "a" * 32)  # "b" was garbage-collected: DVC could not restore this run
    run = put_run(cache, "k" * 64, "v", entry)
    prune.prune(tmp_path)
    assert not run.exists() and put_object(cache, "a" * 32).is_file()


def test_prune_keeps_the_workspace_objects_of_a_stage_with_an_uncached_folder(tmp_path: Path) -> None:
    """Like train: a cached model and a `cache: false` folder, whose .dir DVC never stored (and no run-cache)."""
    prune = load_ci_module("prune_dvc_cache")
    cache = tmp_path / ".dvc/cache"
    entry = lock_entry("train", "c" * 32, {"models/cnn.pt": "a" * 32, "reports/train/cnn": "d" * 32 + ".dir"})
    (tmp_path / "dvc.lock").write_text(yaml.safe_dump({"stages": {"train": entry}}))
    model = put_object(cache, "a" * 32)
    prune.prune(tmp_path)
    assert model.is_file()


def test_prune_leaves_the_cache_alone_without_a_dvc_lock(tmp_path: Path, capsys) -> None:
    prune = load_ci_module("prune_dvc_cache")
    cache = tmp_path / ".dvc/cache"
    run = put_run(cache, "k" * 64, "v", lock_entry("make", "c" * 32, {"a": "a" * 32}))
    obj = put_object(cache, "9" * 32)
    prune.prune(tmp_path)
    assert run.is_file() and obj.is_file()
    assert "left as it is" in capsys.readouterr().out


def dvc(repo: Path, *args: str) -> str:
    env = {**clean_env(Path(sys.executable).parent), "DVC_NO_ANALYTICS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=repo, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def ran(output: str) -> set[str]:
    return set(re.findall(r"^Running stage '([^']+)'", output, flags=re.MULTILINE))


def test_pruned_cache_lets_a_fresh_clone_skip_unchanged_stages_and_rerun_a_changed_one(tmp_path: Path) -> None:
    """With real DVC: the CI sequence (run, prune, restore into a fresh clone) on a two-stage pipeline whose
    second stage writes an uncached metric, as most of ours do."""
    prune = load_ci_module("prune_dvc_cache")
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    (repo / "one.py").write_text("open('one.txt', 'w').write('1')\n")
    two = "import json\njson.dump({'v': int(open('one.txt').read()) + 1}, open('two.json', 'w'))\n"
    (repo / "two.py").write_text(two)
    stages = {
        "one": {"cmd": "python one.py", "deps": ["one.py"], "outs": ["one.txt"]},
        "two": {"cmd": "python two.py", "deps": ["two.py", "one.txt"], "metrics": [{"two.json": {"cache": False}}]},
    }
    (repo / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}))
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    dvc(repo, "init", "-q")
    assert ran(dvc(repo, "repro")) == {"one", "two"}
    (repo / "two.py").write_text((repo / "two.py").read_text().replace("+ 1", "+ 2"))  # a new version of two
    assert ran(dvc(repo, "repro")) == {"two"}
    subprocess.run([*git, "add", "one.py", "two.py", "dvc.yaml", ".dvc", ".gitignore"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "pipeline"], cwd=repo, check=True)

    counts = prune.prune(repo)
    assert counts["runs_kept"] == 2 and counts["runs_removed"] == 1  # the first version of two goes

    clone = tmp_path / "clone"  # CI: a fresh checkout (no dvc.lock, no outputs) and the restored cache
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    shutil.copytree(repo / ".dvc/cache", clone / ".dvc/cache")
    first = dvc(clone, "repro")
    assert ran(first) == set() and first.count("is cached - skipping run") == 2, first
    assert json.loads((clone / "two.json").read_text()) == {"v": 3}
    (clone / "two.py").write_text((clone / "two.py").read_text().replace("+ 2", "+ 3"))
    assert ran(dvc(clone, "repro")) == {"two"}


# --- .ci/summary.sh and .ci/smoke_diff.py -------------------------------------------------------------


def fake_smoke_run(folder: Path, accuracy: float, lr: float, val_losses: tuple[float, float]) -> Path:
    """A smoke run's files, as `.ci/smoke_diff.py collect` keeps them (and the workspace holds them)."""
    params = {"seed": 0, "train": {"epochs": 2, "lr": lr}}
    files = {
        "params.yaml": yaml.safe_dump(params),
        "reports/metrics/cnn.json": json.dumps({"epochs": 2, "test": {"accuracy": accuracy, "loss": 1.5}}),
        "reports/train/cnn/plots/metrics/val/loss.tsv": "timestamp\tstep\tloss\n"
        + "".join(f"{1000 + i}\t{i + 1}\t{v}\n" for i, v in enumerate(val_losses)),
        "reports/train/cnn/plots/metrics/train/loss.tsv": "timestamp\tstep\tloss\n1000\t1\t2.0\n1001\t2\t1.8\n",
        "reports/figures/cnn/curves.png": "not really a png",
        "reports/figures/cnn/confusion.png": "not kept",
        "models/cnn.pt": "not kept",
    }
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def run_summary(tmp_path: Path, *args: str, **env_extra: str) -> subprocess.CompletedProcess[str]:
    env = clean_env(Path(sys.executable).parent, SMOKE_CURVES_PNG=str(tmp_path / "fig/curves.png"), **env_extra)
    return subprocess.run(
        ["bash", str(ROOT / ".ci/summary.sh"), *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_summary_shows_metrics_params_and_curves_of_base_and_new_side_by_side(tmp_path: Path) -> None:
    base = fake_smoke_run(tmp_path / "base", accuracy=0.5, lr=0.001, val_losses=(2.5, 2.25))
    new = fake_smoke_run(tmp_path / "new", accuracy=0.75, lr=0.002, val_losses=(2.0, 1.5))
    summary = tmp_path / "summary.md"
    summary.write_text("before\n")
    result = run_summary(tmp_path, str(base), str(new), GITHUB_STEP_SUMMARY=str(summary), BASE_NAME="abc1234")
    assert result.returncode == 0, result.stderr
    text = summary.read_text()
    assert text.startswith("before\n## Smoke run against `abc1234`\n")  # appended, not overwritten
    assert "| reports/metrics/cnn.json | test.accuracy | 0.5 | 0.75 | +0.25 |" in text
    assert "test.loss" not in text and "2 unchanged metrics not listed." in text  # epochs and test.loss
    assert "| train.lr | 0.001 | 0.002 | +0.001 |" in text and "2 unchanged params not listed." in text
    png = tmp_path / "fig/curves.png"
    assert png.read_bytes().startswith(b"\x89PNG")
    assert f'src="data:image/png;base64,{base64.b64encode(png.read_bytes()).decode()}"' in text


def test_summary_without_a_base_prints_one_line(tmp_path: Path) -> None:
    new = fake_smoke_run(tmp_path / "new", accuracy=0.75, lr=0.002, val_losses=(2.0, 1.5))
    (tmp_path / "empty").mkdir()  # a cache miss leaves no folder; an empty one means the same
    for base in ("missing", "empty"):
        result = run_summary(tmp_path, str(tmp_path / base), str(new), BASE_NAME="abc1234")
        assert result.returncode == 0, result.stderr
        assert result.stdout == "No base smoke metrics for abc1234: nothing to compare.\n"
    summary = tmp_path / "summary.md"
    run_summary(tmp_path, str(tmp_path / "missing"), str(new), GITHUB_STEP_SUMMARY=str(summary), BASE_NAME="abc1234")
    assert summary.read_text() == "No base smoke metrics for abc1234: nothing to compare.\n"


def test_summary_lists_metrics_only_one_side_has(tmp_path: Path) -> None:
    base = fake_smoke_run(tmp_path / "base", accuracy=0.5, lr=0.001, val_losses=(2.5, 2.25))
    new = fake_smoke_run(tmp_path / "new", accuracy=0.5, lr=0.001, val_losses=(2.5, 2.25))
    (new / "reports/metrics/alexnet_attack.json").write_text(json.dumps({"success_rate": 0.25, "model": "alexnet"}))
    result = run_summary(tmp_path, str(base), str(new), BASE_NAME="b")
    assert "| reports/metrics/alexnet_attack.json | success_rate | — | 0.25 | — |" in result.stdout
    assert "| reports/metrics/alexnet_attack.json | model | — | alexnet | — |" in result.stdout
    assert "No param changed." in result.stdout


def test_collect_keeps_exactly_the_smoke_files_and_the_commit(tmp_path: Path) -> None:
    smoke_diff = load_ci_module("smoke_diff")
    repo = fake_smoke_run(tmp_path / "repo", accuracy=0.5, lr=0.001, val_losses=(2.5, 2.25))
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    git = ["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "one"], check=True)
    dest = tmp_path / "kept"
    (dest / "stale").mkdir(parents=True)  # a previous base's files go
    smoke_diff.collect(repo, dest)
    kept = {p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()}
    assert kept == {
        "COMMIT",
        "params.yaml",
        "reports/metrics/cnn.json",
        "reports/train/cnn/plots/metrics/train/loss.tsv",
        "reports/train/cnn/plots/metrics/val/loss.tsv",
        "reports/figures/cnn/curves.png",
    }
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout
    assert (dest / "COMMIT").read_text() == head
    assert smoke_diff.diff(dest, repo).startswith(f"## Smoke run against `{head.strip()}`")  # named by COMMIT
    assert "No metric changed." in smoke_diff.diff(dest, repo)


def test_pyproject_ranges_name_every_third_party_package_the_code_imports() -> None:
    """`pip install .` elsewhere gets what the stages import: each third-party import of visionlab/ and
    stages/ belongs to a distribution that pyproject.toml's dependencies list."""
    import ast
    import importlib.metadata
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    names = {re.split(r"[<>=!~\[ ]", spec, maxsplit=1)[0].lower().replace("_", "-") for spec in declared}
    imported = set()
    for path in [*(ROOT / "visionlab").rglob("*.py"), *(ROOT / "stages").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"visionlab", "stages", "__future__"}
    distributions = importlib.metadata.packages_distributions()
    missing = {
        module: distributions.get(module)
        for module in third_party
        if not {d.lower().replace("_", "-") for d in distributions.get(module, [module])} & names
    }
    assert not missing, f"imported but not in pyproject.toml's dependencies: {missing}"

"""CI wiring: the GitHub workflow, `.ci/run` and `.ci/pipeline.sh` (with stand-ins for python and dvc)."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github/workflows/ci.yml"


def readme_command(heading: str) -> str:
    """The single command of the first fenced block under the README's ``## <heading>``."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.split(r"^## ", text, flags=re.MULTILINE)
    body = next(s for s in section if s.startswith(heading + "\n"))
    block = re.search(r"```[a-z]*\n(.*?)```", body, flags=re.DOTALL)
    assert block is not None, f"no fenced block under ## {heading}"
    lines = [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]
    assert len(lines) == 1, lines
    return lines[0].split("  #")[0].strip()


SETUP = readme_command("Setup")
TESTS = readme_command("Tests")


def test_readme_commands_are_the_expected_ones() -> None:
    # If these change, CI changes with them: .ci/run and the workflow must follow the README.
    assert SETUP == "python -m pip install -r requirements.txt -e ."
    assert TESTS == "python -m pytest -q"


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
    assert index_of(steps, uses("actions/setup-python")) < install < tests


def test_workflow_caches_the_dvc_cache_keyed_on_the_pipeline_files(steps) -> None:
    cache = steps[index_of(steps, uses("actions/cache"))]
    assert cache["with"]["path"].strip() == ".dvc/cache"
    key = cache["with"]["key"]
    for name in ("dvc.lock", "params.yaml", "dvc.yaml"):
        assert f"'{name}'" in key, name
    assert "hashFiles(" in key
    prefix = cache["with"]["restore-keys"].strip()
    assert key.startswith(prefix) and prefix != key  # an older cache is restored when the key misses


def test_workflow_runs_the_smoke_pipeline_after_restoring_the_cache_then_the_diff_summary(steps) -> None:
    cache = index_of(steps, uses("actions/cache"))
    pipeline = index_of(steps, runs(".ci/pipeline.sh"))
    summary = index_of(steps, runs(".ci/summary.sh"))
    assert index_of(steps, uses("actions/checkout")) < cache < pipeline < summary
    assert steps[index_of(steps, uses("actions/checkout"))]["with"]["fetch-depth"] == 0  # base revisions
    assert "cancelled()" in str(steps[summary].get("if", ""))  # the diff also shows when the pipeline fails


def test_summary_script_writes_metrics_and_params_diff_to_the_step_summary() -> None:
    script = (ROOT / ".ci/summary.sh").read_text(encoding="utf-8")
    assert "GITHUB_STEP_SUMMARY" in script
    assert re.search(r'dvc metrics diff --md "\$base"', script)
    assert re.search(r'dvc params diff --md "\$base"', script)
    assert 'origin/${GITHUB_BASE_REF}' in script and "HEAD~1" in script


def test_summary_script_appends_both_diffs_against_the_previous_commit(tmp_path: Path) -> None:
    """Run summary.sh in a scratch repo with a stand-in dvc that echoes its arguments."""
    repo = tmp_path / "repo"
    (repo / ".ci").mkdir(parents=True)
    shutil.copy(ROOT / ".ci/summary.sh", repo / ".ci/summary.sh")
    git = ["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    for message in ("one", "two"):
        subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", message], check=True)
    bin_dir = fake_bin(tmp_path, {"dvc": 'echo "dvc $*"'})
    summary = tmp_path / "summary.md"
    summary.write_text("before\n")
    env = clean_env(bin_dir, GITHUB_STEP_SUMMARY=str(summary))
    result = subprocess.run(["bash", str(repo / ".ci/summary.sh")], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    text = summary.read_text()
    assert text.startswith("before\n")  # appended, not overwritten
    assert "dvc metrics diff --md HEAD~1" in text and "dvc params diff --md HEAD~1" in text


# --- .ci/run ----------------------------------------------------------------------------------------


def test_ci_run_runs_exactly_the_readme_commands_then_the_pipeline() -> None:
    script = (ROOT / ".ci/run").read_text(encoding="utf-8")
    assert "set -euo pipefail" in script
    commands = [line.split("  #")[0].strip() for line in script.splitlines()]
    setup, tests, pipeline = commands.index(SETUP), commands.index(TESTS), commands.index("bash .ci/pipeline.sh")
    assert setup < tests < pipeline


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
    result = subprocess.run(["bash", ".ci/run"], cwd=project, env=env, capture_output=True, text=True, timeout=60,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == pytest_exit
    assert calls.read_text().splitlines() == [f"python {SETUP.removeprefix('python ')}",
                                              f"python {TESTS.removeprefix('python ')}"]
    assert "tests" in result.stdout and f"FAILED, exit {pytest_exit}" in result.stdout  # timings, also on failure


def test_ci_run_runs_setup_tests_pipeline_in_order_and_prints_timings(tmp_path: Path) -> None:
    project = ci_copy(tmp_path)
    calls = tmp_path / "calls"
    env = clean_env(fake_bin(tmp_path, {"python": 'echo "python $*" >> "$CALLS"'}), CALLS=str(calls))
    result = subprocess.run(["bash", ".ci/run"], cwd=project, env=env, capture_output=True, text=True, timeout=60,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert calls.read_text().splitlines() == [f"python {SETUP.removeprefix('python ')}",
                                              f"python {TESTS.removeprefix('python ')}", "pipeline"]
    timings = result.stdout.split("=== timings")[1]
    assert [line.split()[0] for line in timings.strip().splitlines()] == ["setup", "tests", "pipeline"]
    assert all(re.search(r"\d+ s$", line) for line in timings.strip().splitlines())


# --- .ci/pipeline.sh with a stand-in dvc ---------------------------------------------------------------


def pipeline_copy(tmp_path: Path, with_sample: bool) -> Path:
    """A git repo holding .ci/pipeline.sh and a dvc.lock; ../shared beside it only if ``with_sample``."""
    project = tmp_path / "work" / "project"
    (project / ".ci").mkdir(parents=True)
    shutil.copy(ROOT / ".ci/pipeline.sh", project / ".ci/pipeline.sh")
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
elif [ "$1" = repro ]; then
    if [ -n "${FAKE_REPRO:-}" ]; then printf '%b' "$FAKE_REPRO"; else echo "Data and pipelines are up to date."; fi
    if [ -n "${FAKE_TOUCH:-}" ]; then echo changed > "$FAKE_TOUCH"; fi
fi
"""


def run_pipeline(project: Path, tmp_path: Path, *args: str, **env_extra: str) -> subprocess.CompletedProcess[str]:
    env = clean_env(fake_bin(tmp_path, {"dvc": FAKE_DVC}), CALLS=str(tmp_path / "calls"), **env_extra)
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")  # no identity: the script sets one
    return subprocess.run(["bash", ".ci/pipeline.sh", *args], cwd=project, env=env, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


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
    assert [c.split()[1] for c in calls] == ["exp", "status", "repro"]
    exp = calls[0]
    for override in ("-S data.url=../shared/data/cifar10-sample/cifar-10-python.tar.gz",
                     "-S data.md5=76684cd32ac2a0f71e51af6727b0c6ad", "-S alexnet.weights=none", "-S train.epochs=2"):
        assert override in exp
    identity = subprocess.run(["git", "-C", str(project), "config", "--local", "user.email"], capture_output=True,
                              text=True)
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

"""The prepared GPU check runs in its CPU mode, so that it cannot rot between the rare GPU sessions."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import committed_params

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_gpu_check_cpu_mode_prints_every_row_with_exit_status_0(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    (params := tmp_path / "shipped.yaml").write_text(committed_params())  # as committed, not a smoke run's
    result = subprocess.run(
        ["bash", ".ci/gpu-check", "--device", "cpu", "--tiny", "--budget", "400", "--out", str(tmp_path)]
        + ["--params", str(params)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    table = [line for line in result.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    assert table, result.stdout + result.stderr
    assert table[0] == "| section | item | result | status | seconds |"
    rows = [[cell.strip() for cell in line.strip("|").split(" | ")] for line in table[1:]]
    # throughput: 3 models at batch 16, 32 and their recipe's own (128; fast: 256)
    expected = {"throughput": 9, "projection": 3, "train": 3, "torchrun": 1, "stage": 19, "bf16 vs fp32": 3}
    assert {section: sum(row[0] == section for row in rows) for section in expected} == expected, rows
    failed = [row for row in rows if row[3] != "0"]
    assert not failed, failed
    assert result.returncode == 0, result.stderr[-2000:]
    assert any("SYNTHETIC images" in row[1] for row in rows if row[0] == "train")  # no sample given: said so
    stages = {row[1].split(" on ")[0] for row in rows if row[0] == "stage"}
    assert stages == {
        *(
            f"{stage}@{m}"
            for m in ("cnn", "resnet", "fast")
            for stage in ("evaluate", "maximize_class", "attack", "attribute")
        ),
        "alexnet",
        "predict",
        "filters",
        "maximize_channels",
        "maximize_class@alexnet",
        "attack@alexnet",
        "attribute@alexnet",
    }
    assert (tmp_path / "reports" / "fast.json").is_file() and (tmp_path / "models" / "fast.pt").is_file()
    attribution = next(row for row in rows if row[1] == "attribute@alexnet on cpu")  # IG's completeness, printed
    assert "sum(IG)" in attribution[2] and "delta" in attribution[2], attribution
    # the train stage ran as one torchrun rank (gloo on the CPU) and wrote its model and, with dvclive, its metrics
    torchrun = next(row for row in rows if row[0] == "torchrun")
    assert torchrun[2].startswith("rank 0 of 1 on cpu, 1 epoch(s)"), torchrun
    assert (tmp_path / "torchrun" / "fast.pt").is_file() and (tmp_path / "torchrun" / "live" / "metrics.json").is_file()

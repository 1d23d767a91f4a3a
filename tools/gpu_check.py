"""The prepared GPU check: one table that says whether and how fast the CUDA path works.

    bash .ci/gpu-check                              # on the GPU machine (see docs/fast.md)
    python -m tools.gpu_check --device cpu --tiny --out /tmp/x   # the suite's CPU mode

Rows, each with its exit status (0 = fine) and a hard time budget:

1. throughput: training images/s of the project's loop (``train_epoch``) and of a bare loop on
   50,000 full-size synthetic images held on the device, for the seed ResNet (width 64), the CNN
   and ``fast``, at batch 128 and 512 (bf16 autocast on CUDA, channels_last); their ratio, the
   achieved TFLOP/s and the fraction of the card's dense bf16 peak;
2. projections: the seed's 100 epochs on 45,000 training images (the full set less validation)
   at the measured rate, and ``fast``'s own schedule at its batch size;
3. a short training run of each model on the sample (``--sample``; synthetic images if none is
   given, and the table says so) by the train stage's ``train_model``, which writes ``models/<name>.pt``;
4. every evaluation and analysis stage's own code (``stages.evaluate`` for each model, predict,
   filters, maximize_channels, maximize_class, attack, and attribute: Integrated Gradients and Grad-CAM
   by Captum) run in this process on the device, with random AlexNet weights and few steps;
5. test accuracy of each trained model under bf16 autocast against fp32 evaluation;
6. the train stage (``fast``, ``run.processes=1``) run by torchrun as one rank: the data-parallel
   path (process group, DDP) on the device.

Nothing here imports dvc or dvclive (the GPU machine has neither); where dvclive is missing, the
torchrun row gives the stage a stand-in that logs nothing, and says so.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import math
import os
import runpy
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
import yaml
from ruamel.yaml import YAML

from tools.benchmark import measure, synthetic_data
from tools.synthetic import make_cifar_archive
from visionlab.core.params import load_params
from visionlab.data.archive import prepare_cifar10
from visionlab.data.cifar import channel_stats, load_cifar10, load_stats
from visionlab.data.params import DataParams
from visionlab.evaluation.inference import DeviceSplit, loss_and_predictions
from visionlab.models.registry import MODELS
from visionlab.training.params import model_and_recipe, train_sections
from visionlab.training.train import train_model

FULL_TRAIN_IMAGES = 45_000  # CIFAR-10's 50,000 less the 10 % validation split
SEED_EPOCHS = 100

# Dense (no sparsity) bf16 tensor-core peaks, TFLOP/s, from the vendors' data sheets.
BF16_PEAK_TFLOPS = {
    "H200": 989.0,
    "H100 SXM": 989.0,
    "H100 NVL": 835.0,
    "H100 PCIe": 756.0,
    "H100": 989.0,
    "A100": 312.0,
    "L40S": 362.0,
    "A10G": 70.0,
    "L4": 121.0,
}


@dataclass
class Sizes:
    """How big each part of the check is: the real check and the suite's tiny CPU mode."""

    synthetic_images: int
    batches: tuple[int, ...]
    steps: int  # timed steps per round (per batch size)
    rounds: int
    configs: dict[str, dict[str, Any]]
    train_epochs: int
    stage_steps: int
    attack_images: int
    row_budget_s: float
    ig_steps: int = 50  # attribute.n_steps: the real setting on the GPU


FULL = Sizes(50_000, (128, 512), 40, 3, {"resnet": {"width": 64}}, 2, 10, 16, 40.0)
TINY_CONFIGS = {
    "resnet": {"width": 4, "blocks": [1, 1, 1, 1]},
    "cnn": {"channels": [4, 4, 4, 4], "fc_widths": [16, 16, 16]},
    "fast": {"widths": [8, 8, 8]},
}
TINY = Sizes(256, (16, 32), 2, 1, TINY_CONFIGS, 1, 2, 2, 30.0, ig_steps=4)


@dataclass
class Row:
    section: str
    item: str
    result: str
    status: int | str
    seconds: float


class Check:
    """Collects rows; each part runs under ``step`` so that one failure is one row, not the end."""

    def __init__(self, budget_s: float) -> None:
        self.rows: list[Row] = []
        self.started = time.perf_counter()
        self.budget_s = budget_s

    def left(self) -> float:
        return self.budget_s - (time.perf_counter() - self.started)

    def step(self, section: str, item: str, work: Callable[[], str], reserve_s: float = 0.0) -> str | None:
        """Run ``work`` (which returns the result text) unless the overall budget is spent."""
        if self.left() <= reserve_s:
            self.rows.append(Row(section, item, "skipped: time budget spent", 124, 0.0))
            return None
        t0 = time.perf_counter()
        try:
            result, status = work(), 0
        except StageFailed as err:
            result, status = str(err), err.status
        except Exception as err:  # a check reports every failure as a row and goes on
            result, status = f"{type(err).__name__}: {err}".splitlines()[0][:200], 1
            traceback.print_exc(file=sys.stderr)
        result = " ".join(result.replace("|", "/").split())  # one table cell
        self.rows.append(Row(section, item, result, status, time.perf_counter() - t0))
        print(f"[{time.perf_counter() - self.started:6.1f} s] {section} | {item} | {result} | {status}", flush=True)
        return result if status == 0 else None

    def table(self) -> str:
        header = ["section", "item", "result", "status", "seconds"]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for r in self.rows:
            lines.append(f"| {r.section} | {r.item} | {r.result} | {r.status} | {r.seconds:.1f} |")
        return "\n".join(lines)

    @property
    def failed(self) -> list[Row]:
        return [r for r in self.rows if r.status != 0]


class StageFailed(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def peak_bf16_tflops(device: torch.device) -> tuple[str, float | None]:
    if device.type != "cuda":
        return f"CPU ({torch.get_num_threads()} threads)", None
    name = torch.cuda.get_device_name(device)
    for key, peak in BF16_PEAK_TFLOPS.items():
        if all(part in name for part in key.split()):
            return name, peak
    return name, None


# --- 1 and 2: throughput and projections ------------------------------------------------------


def throughput(check: Check, params: Any, sizes: Sizes, device: torch.device, peak: float | None) -> dict:
    """Rows of images/s per model and batch size; returns {(model, batch): project images/s}."""
    rates: dict[tuple[str, int], float] = {}
    data = synthetic_data(sizes.synthetic_images, device, params.seed)
    for name in MODELS:
        config, recipe = model_and_recipe(params, name)
        config = {**config, **sizes.configs.get(name, {})}
        batches = sorted({*sizes.batches, recipe.batch_size})  # the recipe's own batch for the projection
        for batch in batches:
            steps = max(1, min(sizes.steps, sizes.synthetic_images // batch))

            def work(name=name, config=config, recipe=recipe, batch=batch, steps=steps) -> str:
                measured = measure(
                    name,
                    config,
                    replace(recipe, batch_size=batch, precision="auto"),
                    device,
                    ["auto"],
                    steps,
                    sizes.rounds,
                    data=data,
                    old_baseline=False,
                    seed=params.seed,
                    budget_s=sizes.row_budget_s,
                )
                project, bare = measured.rate("project auto"), measured.rate("bare auto")
                rates[(name, batch)] = project
                tflops = measured.gflops("project auto") / 1e3
                of_peak = f", {100 * tflops / peak:.1f} % of peak" if peak else ""
                return (
                    f"project {project:,.0f} img/s, bare {bare:,.0f} img/s, ratio {project / bare:.3f}, "
                    f"{tflops:.2f} TFLOP/s{of_peak}"
                )

            label = f"{name} ({_config_text(config)}), batch {batch}, {steps} steps x {sizes.rounds} rounds"
            check.step("throughput", label, work)
    return rates


def projections(check: Check, params: Any, rates: dict[tuple[str, int], float]) -> None:
    for name in MODELS:
        _, recipe = model_and_recipe(params, name)
        epochs = SEED_EPOCHS if name != "fast" else recipe.epochs
        what = "the seed's" if name != "fast" else "fast's"

        def work(name=name, recipe=recipe, epochs=epochs) -> str:
            rate = rates[(name, recipe.batch_size)]
            seconds = epochs * FULL_TRAIN_IMAGES / rate
            return f"{_duration(seconds)} of training steps ({rate:,.0f} img/s; validation not included)"

        check.step(
            "projection",
            f"{name}: {what} {epochs} epochs x {FULL_TRAIN_IMAGES:,} images, batch {recipe.batch_size}",
            work,
        )


# --- 3, 4 and 5: training, stages, bf16 against fp32 ------------------------------------------


def train_short(
    name: str, params: Any, sizes: Sizes, device: torch.device, sample: Path, stats: Path, out: Path
) -> str:
    """Train ``name`` briefly on the sample with the train stage's code, which writes ``out/<name>.pt``."""
    config, recipe = model_and_recipe(params, name)
    with contextlib.redirect_stdout(io.StringIO()):
        summary, info = train_model(
            name,
            {**config, **sizes.configs.get(name, {})},
            replace(recipe, epochs=sizes.train_epochs),
            load_cifar10(sample),
            load_stats(stats),
            out / f"{name}.pt",
            out / "checkpoints" / f"{name}.pt",
            seed=params.seed,
            val_fraction=params.data.val_fraction,
            device=device,
            progress=False,
        )
    return (
        f"{summary['epochs']} epoch(s), {summary['train_images']:,} images, {info.precision}: val accuracy "
        f"{summary['history'][-1]['val_accuracy']:.3f}, {info.images_per_second:,.0f} img/s"
    )


def run_stage_module(module: str, argv: list[str]) -> str:
    """Run ``python -m stages.<module>``'s code in this process; raise StageFailed on a non-zero exit."""
    saved, grad = sys.argv, torch.is_grad_enabled()  # a stage may switch autograd off for its own process
    sys.argv = [module, *argv]
    output = io.StringIO()
    try:
        with contextlib.redirect_stdout(output):
            runpy.run_module(f"stages.{module}", run_name="__main__", alter_sys=False)
    except SystemExit as err:
        code = err.code if isinstance(err.code, int) else 1
        if code:
            raise StageFailed(f"exit {code}: {output.getvalue().strip()[-200:]}", code) from None
    finally:
        sys.argv = saved
        torch.set_grad_enabled(grad)
    lines = output.getvalue().strip().splitlines()
    return lines[-1][:160] if lines else "ok"


def stage_params(path: Path, device: torch.device, sizes: Sizes, input_dir: Path, model: str) -> None:
    """A params.yaml for the analysis stages: this device, random AlexNet weights, few steps."""
    params = {
        "seed": 0,
        "device": device.type,
        "alexnet": {"weights": "none"},
        "predict": {"input_dir": str(input_dir), "cifar_images": 2},
        "maximize_channels": {"channels": [0, 5], "steps": sizes.stage_steps},
        "maximize_class": {"steps": sizes.stage_steps, "robustness_trials": 2},
        "attack": {"steps": sizes.stage_steps, "max_images": sizes.attack_images},
        "attribute": {"n_steps": sizes.ig_steps},
        "evaluate": {"misclassified": 8},
    }
    path.write_text(yaml.safe_dump(params))


def bf16_against_fp32(path: Path, sample: Path, device: torch.device) -> str:
    from visionlab.models.trained import load_trained

    trained = load_trained(path, map_location=device)
    model = trained.model.to(device)
    test = DeviceSplit.from_split(load_cifar10(sample).test, device)
    _, fp32 = loss_and_predictions(model, test, precision="fp32")
    with torch.autocast(device.type, dtype=torch.bfloat16):  # bf16 even where it is only emulated (CPU mode)
        _, bf16 = loss_and_predictions(model, test, precision="fp32")
    labels = test.labels.cpu().numpy()
    return (
        f"test accuracy bf16 {float((bf16 == labels).mean()):.4f} vs fp32 {float((fp32 == labels).mean()):.4f}; "
        f"same prediction for {100 * float((bf16 == fp32).mean()):.1f} % of {len(labels):,} images"
    )


# --- 6: the train stage under torchrun -----------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
# Where dvclive is not installed, the stage imports this instead (rank 0 logs to it; nothing is written).
STANDIN_DVCLIVE = '''"""A stand-in for dvclive (not installed here): the GPU check's torchrun row logs nothing."""


class Live:
    def __init__(self, *args, **kwargs):
        self.step, self.summary = 0, {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def log_metric(self, *args, **kwargs):
        return None

    def make_summary(self, *args, **kwargs):
        return None
'''


def train_under_torchrun(
    params_path: Path, device: torch.device, sizes: Sizes, sample: Path, stats: Path, out: Path, timeout_s: float
) -> str:
    """``torchrun --standalone --nproc_per_node 1 -m stages.train`` for ``fast`` with ``run.processes=1``."""
    raw = YAML(typ="safe").load(params_path.read_text())  # YAML 1.2, as DVC and the stages read it
    raw["device"] = device.type
    raw["run"] = {"resume": False, "processes": 1}
    fast = raw.setdefault("fast", {})
    fast["model"] = {**fast.get("model", {}), **sizes.configs.get("fast", {})}
    fast["train"] = {**fast.get("train", {}), "epochs": sizes.train_epochs}
    folder = out / "torchrun"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "params.yaml").write_text(yaml.safe_dump(raw))
    paths = [str(ROOT)]
    standin = importlib.util.find_spec("dvclive") is None
    if standin:
        (folder / "standin" / "dvclive").mkdir(parents=True, exist_ok=True)
        (folder / "standin" / "dvclive" / "__init__.py").write_text(STANDIN_DVCLIVE)
        paths.append(str(folder / "standin"))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([*paths, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    if device.type == "cpu":
        env["OMP_NUM_THREADS"] = "1"  # the suite's CPU mode: tiny ops on a shared CPU
    command = [
        *("torch.distributed.run", "--standalone", "--nproc_per_node", "1", "-m", "stages.train", "--model", "fast"),
        *("--params", str(folder / "params.yaml"), "--data", str(sample), "--stats", str(stats)),
        *("--out", str(folder / "fast.pt"), "--resume-checkpoint", str(folder / "ckpt.pt")),
        *("--live", str(folder / "live"), "--info", str(folder / "train_info.json")),
    ]
    # Its own session, so that a timeout stops torchrun's rank too, not torchrun alone: a rank left
    # behind would hold the GPU for the rest of the check.
    child = subprocess.Popen(
        [sys.executable, "-m", *command],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = child.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        raise StageFailed(f"torchrun did not finish in {timeout_s:.0f} s", 124) from None
    if child.returncode:
        sys.stderr.write(stderr[-4000:])
        raise StageFailed(f"exit {child.returncode}: {stderr.strip()[-200:]}", child.returncode)
    from visionlab.core.record import load_record
    from visionlab.models.trained import load_trained
    from visionlab.training.record import TrainingInfo

    if "rank 0 of 1" not in stdout:  # the stage says so when it runs as a torchrun rank
        raise StageFailed("the stage did not run as a torchrun rank", 1)
    summary = load_trained(folder / "fast.pt").summary
    timing = load_record(TrainingInfo, folder / "train_info.json")
    logged = "dvclive not installed: a stand-in logged nothing" if standin else "DVCLive metrics written"
    return (
        f"rank 0 of 1 on {summary['device']}, {summary['epochs']} epoch(s), {timing.precision}: "
        f"val accuracy {summary['history'][-1]['val_accuracy']:.3f}, {timing.images_per_second:,.0f} img/s; {logged}"
    )


# --- the check ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes (the test suite's CPU mode)")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--sample", help="a CIFAR-10 npz as the download stage writes it (default: synthetic)")
    parser.add_argument("--budget", type=float, default=450.0, help="seconds for the whole check")
    parser.add_argument("--out", help="working folder (default: a temporary one)")
    args = parser.parse_args()

    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda but CUDA is not available here", file=sys.stderr)
        sys.exit(1)
    sizes = TINY if args.tiny else FULL
    if args.tiny and device.type == "cpu":
        # Tiny ops gain nothing from threads, and on a busy shared CPU every parallel region waits for
        # a descheduled thread: one thread keeps the suite's CPU mode to seconds.
        torch.set_num_threads(1)
    params = load_params(args.params, "seed", "device", data=DataParams, **train_sections(*MODELS))
    check = Check(args.budget)
    name, peak = peak_bf16_tflops(device)
    print(
        f"GPU check: {name}, torch {torch.__version__}, Python {sys.version.split()[0]}; dense bf16 peak "
        f"{f'{peak:,.0f} TFLOP/s' if peak else 'unknown'}; budget {args.budget:.0f} s",
        flush=True,
    )

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out or tmp)
        out.mkdir(parents=True, exist_ok=True)
        rates = throughput(check, params, sizes, device, peak)
        projections(check, params, rates)

        sample = Path(args.sample) if args.sample else out / "synthetic.npz"
        if not args.sample:  # the download stage's conversion of a generated archive
            archive = out / "synthetic.tar.gz"
            prepare_cifar10(str(archive), make_cifar_archive(archive, n_train_per_batch=96, n_test=120), sample)
        what = "the sample" if args.sample else "SYNTHETIC images (no --sample given)"
        stats = out / "stats.json"
        stats.write_text(
            json.dumps(dict(zip(("mean", "std"), channel_stats(load_cifar10(sample).train_images), strict=True)))
        )
        models_dir = out / "models"
        trained: dict[str, Path] = {}
        for model in MODELS:

            def work(model=model) -> str:
                text = train_short(model, params, sizes, device, sample, stats, models_dir)
                trained[model] = models_dir / f"{model}.pt"
                return text

            check.step("train", f"{model} on {what}, {device.type}", work, reserve_s=60)

        input_dir = out / "photos"
        input_dir.mkdir(exist_ok=True)
        check.step(
            "torchrun",
            f"train@fast, run.processes=1, torchrun --nproc_per_node 1, {device.type}",
            lambda: train_under_torchrun(
                Path(args.params), device, sizes, sample, stats, out, max(10.0, check.left() - 60)
            ),
            reserve_s=60,
        )
        probe = "fast" if "fast" in trained else "alexnet"
        stage_yaml = out / "stage_params.yaml"
        stage_params(stage_yaml, device, sizes, input_dir, probe)
        reports = out / "reports"
        common = ["--params", str(stage_yaml)]  # every stage but filters, which reads no params

        def outs(name: str) -> list[str]:
            return ["--metrics", str(reports / f"{name}.json"), "--info", str(reports / f"{name}.info.json")]

        stages: list[tuple[str, str, list[str]]] = []
        for m in (m for m in MODELS if m in trained):
            checkpoint = [*common, "--model", m, "--checkpoint", str(trained[m])]
            stages += [
                (f"evaluate@{m}", "evaluate", [*checkpoint, "--data", str(sample), *outs(m),
                                               "--per-class", str(reports / m / "per_class.csv"),
                                               "--predictions", str(reports / m / "predictions.csv"),
                                               "--figures", str(reports / m)]),
                (f"maximize_class@{m}", "maximize_class",
                 [*checkpoint, "--figure", str(reports / m / "mk.png"), *outs(f"{m}_mk")]),
                (f"attack@{m}", "attack",
                 [*checkpoint, "--data", str(sample), "--figure", str(reports / m / "a.png"), *outs(f"{m}_a")]),
                (f"attribute@{m}", "attribute",  # IG and Grad-CAM; a side file, no metrics
                 [*checkpoint, "--data", str(sample), "--figure", str(reports / m / "t.png"),
                  "--info", str(reports / f"{m}_t.info.json")]),
            ]  # fmt: skip
        alexnet_pt = str(out / "alexnet.pt")  # the alexnet stage's, as in the pipeline
        alexnet = [*common, "--checkpoint", alexnet_pt]
        stages += [
            ("alexnet", "alexnet", [*common, "--out", alexnet_pt]),
            ("predict", "predict", [*alexnet, "--data", str(sample), "--csv", str(reports / "p.csv"),
                                    "--markdown", str(reports / "p.md"), "--figure", str(reports / "p.png"),
                                    *outs("p")]),
            ("filters", "filters", ["--checkpoint", alexnet_pt, "--figure", str(reports / "f.png"),
                                    "--markdown", str(reports / "f.md"),
                                    "--info", str(reports / "f.info.json")]),  # no metrics: nothing to compare
            ("maximize_channels", "maximize_channels", [*alexnet, "--figures", str(reports / "mc"), *outs("mc")]),
            ("maximize_class@alexnet", "maximize_class",
             ["--model", "alexnet", *alexnet, "--figure", str(reports / "mk.png"), *outs("mk")]),
            ("attack@alexnet", "attack",
             ["--model", "alexnet", *alexnet, "--data", str(sample), "--figure", str(reports / "a.png"), *outs("a")]),
            ("attribute@alexnet", "attribute",
             ["--model", "alexnet", *alexnet, "--data", str(sample), "--figure", str(reports / "t.png"),
              "--info", str(reports / "t.info.json")]),
        ]  # fmt: skip
        for label, module, argv in stages:
            check.step(
                "stage",
                f"{label} on {device.type}",
                lambda m=module, a=argv: run_stage_module(m, a),
                reserve_s=20,
            )
        for model, path in trained.items():
            check.step("bf16 vs fp32", f"{model}, {device.type}", lambda p=path: bf16_against_fp32(p, sample, device))

    print()
    print(check.table())
    failed = check.failed
    print(
        f"\n{len(check.rows) - len(failed)} of {len(check.rows)} rows passed in "
        f"{time.perf_counter() - check.started:.0f} s" + (f"; failed: {len(failed)}" if failed else "")
    )
    sys.exit(1 if failed else 0)


def _config_text(config: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in config.items())


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "n/a"
    return f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.0f} s"


if __name__ == "__main__":
    main()

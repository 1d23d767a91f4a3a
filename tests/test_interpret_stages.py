"""The five interpretability stages end to end on tiny inputs (random AlexNet, a tiny CIFAR checkpoint),
and their one-line failures on bad input, with nothing written when they fail."""

from __future__ import annotations

import importlib.util
import json
import sys
import weakref
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from visionlab.attack.record import AttackInfo, AttackMetrics
from visionlab.attribution.record import AttributionInfo
from visionlab.channels.params import MaximizeChannelsParams
from visionlab.channels.record import ChannelsInfo, ChannelsMetrics
from visionlab.classmax.record import ClassInfo, ClassMetrics
from visionlab.core.errors import PipelineError, run_stage
from visionlab.core.params import parse_params
from visionlab.core.record import load_record
from visionlab.filters.record import FiltersInfo
from visionlab.models.registry import build_model
from visionlab.predict import predict
from visionlab.predict.record import PredictInfo, PredictMetrics
from visionlab.probe import images

REPO_ROOT = Path(__file__).resolve().parents[1]
CIFAR_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
TINY_CNN = {"channels": [4, 4, 4, 4], "kernel_sizes": [3, 3, 3, 3], "dropout": 0.0, "fc_widths": [8, 8, 8]}
TINY_SUMMARY = {  # the fields the train stage writes and load_trained checks
    "epochs": 1,
    "train_images": 4,
    "val_images": 1,
    "subset": True,
    "device": "cpu",
    "history": [{"epoch": 1, "train_loss": 2.3, "train_accuracy": 0.25, "val_loss": 2.3, "val_accuracy": 0.0}],
}
FAST = {  # every stage's work cut to a few steps
    "seed": 0,
    "device": "cpu",
    "alexnet": {"weights": "none"},
    "predict": {"cifar_images": 2, "top_k": 3},
    "maximize_channels": {"channels": [0, 7], "steps": 10},
    "maximize_class": {"steps": 2, "robustness_trials": 2},
    "attack": {"steps": 1, "max_images": 2},
    "attribute": {"n_steps": 4},
}
SCHEMAS = {  # stage -> (metrics record, info record); filters has no metrics file
    "predict": (PredictMetrics, PredictInfo),
    "filters": (None, FiltersInfo),
    "maximize_channels": (ChannelsMetrics, ChannelsInfo),
    "maximize_class": (ClassMetrics, ClassInfo),
    "attack": (AttackMetrics, AttackInfo),
    "attribute": (None, AttributionInfo),  # a side file, no metrics
}
CIFAR = {"maximize_class@cnn": "maximize_class", "attack@cnn": "attack", "attribute@cnn": "attribute"}  # --model cnn
SCHEMAS |= {name: SCHEMAS[stage] for name, stage in CIFAR.items()}


def _numbers_only(data: Any) -> bool:
    """A metrics file: nested objects of numbers (no text, no booleans, no lists, no nulls)."""
    if isinstance(data, dict):
        return all(_numbers_only(v) for v in data.values())
    return isinstance(data, int | float) and not isinstance(data, bool)


def _stage(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"stage_{name}", REPO_ROOT / "stages" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Workspace:
    """A temporary project: tiny CIFAR arrays, a params file, and stage runs writing under ``out``."""

    def __init__(
        self, root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], alexnet: Path
    ) -> None:
        self.root, self.out, self.alexnet = root, root / "out", alexnet
        self.monkeypatch, self.capsys = monkeypatch, capsys
        self.data = root / "cifar10.npz"
        rng = np.random.default_rng(0)
        test_labels = np.array([3, 8, 8, 0, 8, 1, 8, 5], dtype=np.int64)  # ships at 1, 2, 4, 6
        np.savez(
            self.data,
            train_images=rng.integers(0, 256, (4, 3, 32, 32), dtype=np.uint8),
            train_labels=np.arange(4, dtype=np.int64),
            test_images=rng.integers(0, 256, (len(test_labels), 3, 32, 32), dtype=np.uint8),
            test_labels=test_labels,
            class_names=np.array(CIFAR_NAMES),
        )
        self.images = root / "images"
        self.images.mkdir()
        (self.images / ".gitkeep").write_text("")
        self.models = root / "models"
        self.models.mkdir()

    def add_checkpoint(self, name: str = "cnn") -> None:
        """The format the train stage writes, with a tiny CNN."""
        torch.manual_seed(0)
        net = build_model("cnn", TINY_CNN)
        torch.save(
            {
                "model": "cnn",
                "config": TINY_CNN,
                "state_dict": net.state_dict(),
                "mean": [0.5] * 3,
                "std": [0.25] * 3,
                "class_names": CIFAR_NAMES,
                "summary": TINY_SUMMARY,
            },
            self.models / f"{name}.pt",
        )

    def params(self, **overrides: dict[str, Any]) -> Path:
        raw = {key: dict(value) if isinstance(value, dict) else value for key, value in FAST.items()}
        raw["predict"]["input_dir"] = str(self.images)
        for section, values in overrides.items():
            raw.setdefault(section, {}).update(values)
        path = self.root / "params.yaml"
        path.write_text(yaml.safe_dump(raw))
        return path

    def args(self, stage: str) -> list[str]:
        o, alexnet = self.out, ["--checkpoint", self.alexnet]
        specific = {
            "predict": [
                *alexnet,
                "--data",
                self.data,
                "--csv",
                o / "p.csv",
                "--markdown",
                o / "p.md",
                "--figure",
                o / "p.png",
            ],
            "filters": [*alexnet, "--figure", o / "f.png", "--markdown", o / "f.md"],
            "maximize_channels": [*alexnet, "--figures", o / "channels"],
            "maximize_class": ["--model", "alexnet", *alexnet, "--figure", o / "c.png"],
            "attack": ["--model", "alexnet", *alexnet, "--data", self.data, "--figure", o / "a.png"],
            "maximize_class@cnn": [
                "--model",
                "cnn",
                "--checkpoint",
                self.models / "cnn.pt",
                "--figure",
                o / "cc.png",
            ],
            "attack@cnn": [
                "--model",
                "cnn",
                "--data",
                self.data,
                "--checkpoint",
                self.models / "cnn.pt",
                "--figure",
                o / "ca.png",
            ],
            "attribute": ["--model", "alexnet", *alexnet, "--data", self.data, "--figure", o / "t.png"],
            "attribute@cnn": ["--model", "cnn", "--data", self.data, "--checkpoint", self.models / "cnn.pt"]
            + ["--figure", o / "ct.png"],
        }[stage]
        metrics = [] if SCHEMAS[stage][0] is None else ["--metrics", o / "metrics" / f"{stage}.json"]
        return [*specific, *metrics, "--info", o / "info" / f"{stage}.json"]

    def run(self, stage: str, **overrides: dict[str, Any]) -> tuple[int, str]:
        """Run the stage's main as its CLI does; return (exit status, stderr)."""
        params = [] if stage == "filters" else ["--params", str(self.params(**overrides))]  # filters reads none
        argv = [f"{stage}.py", *params, *map(str, self.args(stage))]
        self.monkeypatch.setattr(sys, "argv", argv)
        self.capsys.readouterr()
        try:
            run_stage(_stage(CIFAR.get(stage, stage)).main)
            status = 0
        except SystemExit as exit_:
            status = int(exit_.code)
        return status, self.capsys.readouterr().err

    def metrics(self, stage: str) -> dict[str, Any]:
        """The stage's metrics file, checked against its schema, as JSON."""
        data = json.loads((self.out / "metrics" / f"{stage}.json").read_text())
        load_record(SCHEMAS[stage][0], self.out / "metrics" / f"{stage}.json")
        assert _numbers_only(data), data
        return data

    def info(self, stage: str) -> dict[str, Any]:
        """The stage's side file, checked against its schema, as JSON."""
        load_record(SCHEMAS[stage][1], self.out / "info" / f"{stage}.json")
        return json.loads((self.out / "info" / f"{stage}.json").read_text())

    def fails_cleanly(self, stage: str, expected: str, **overrides: dict[str, Any]) -> str:
        status, err = self.run(stage, **overrides)
        assert status == 1
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], err
        assert not self.out.exists() or not any(self.out.rglob("*")), "a failed stage left outputs behind"
        return lines[0]


@pytest.fixture
def ws(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], alexnet_file: Path
) -> Workspace:
    return Workspace(tmp_path, monkeypatch, capsys, alexnet_file)


# --- the stages work -------------------------------------------------------------------------------


def test_filters_stage(ws: Workspace) -> None:
    assert ws.run("filters")[0] == 0
    info = ws.info("filters")
    weight = info["conv1_weight"]  # describes the loaded weights: a side-file detail, not a metric
    assert set(weight) == {"min", "max", "std"} and weight["min"] < 0 < weight["max"] and weight["std"] > 0
    assert not (ws.out / "metrics" / "filters.json").exists()
    assert info["model"] == {"name": "alexnet", "random_weights": True, "alexnet_weights": "none"}
    assert info["conv1"] == {
        "in_channels": 3,
        "out_channels": 64,
        "kernel": 11,
        "stride": 4,
        "padding": 2,
        "output_size": 55,
    }
    assert info["conv2"] == {
        "in_channels": 64,
        "out_channels": 192,
        "kernel": 5,
        "stride": 1,
        "padding": 2,
        "output_size": 27,
    }
    assert "RANDOM WEIGHTS" in (ws.out / "f.md").read_text()
    assert (ws.out / "f.png").stat().st_size > 0


def test_maximize_channels_stage(ws: Workspace) -> None:
    assert ws.run("maximize_channels")[0] == 0
    m, info = ws.metrics("maximize_channels"), ws.info("maximize_channels")
    assert info["model"]["random_weights"] is True
    assert info["unit"] == {"row": 27, "col": 27}
    assert info["receptive_field"] == {"row_first": 106, "row_last": 116, "col_first": 106, "col_last": 116}
    assert set(m["channels"]) == set(info["channels"]) == {"0", "7"}
    assert set(m["channels"]["0"]) == {"activation"}  # the number the seed reports: visionlab.core.seed_report
    assert set(info["channels"]["7"]) == {"initial_activation", "analytic_max"}
    for channel, detail in info["channels"].items():
        assert m["channels"][channel]["activation"] / detail["analytic_max"] >= 0.99
    names = sorted(p.name for p in (ws.out / "channels").iterdir())
    assert names == ["channel_00.png", "channel_07.png", "panel.png"]


def test_predict_stage_with_folder_images(ws: Workspace) -> None:
    Image.fromarray(np.full((60, 80, 3), 200, dtype=np.uint8)).save(ws.images / "mine.png")
    (ws.images / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    status, err = ws.run("predict")
    assert status == 0
    assert "broken.jpg" in err and ".gitkeep" not in err
    m, info = ws.metrics("predict"), ws.info("predict")
    assert set(m) == {"without_normalization", "with_normalization", "top1_agreement"}
    assert info["model"]["random_weights"] is True and info["top_k"] == 3
    names = [image["image"] for image in info["images"]]  # sample photo + 2 CIFAR + mine.png
    assert sorted(names) == ["cifar_test_0", "cifar_test_1", "grace_hopper.jpg", "mine.png"]
    rows = (ws.out / "p.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 4 * 2 * 3  # header + images x (with, without) x top-3
    assert "RANDOM WEIGHTS" in (ws.out / "p.md").read_text()


def test_predict_holds_a_few_images_at_once_whatever_the_folder_holds(ws: Workspace) -> None:
    for i in range(8):
        Image.fromarray(np.full((8, 8, 3), 10 * i, dtype=np.uint8)).save(ws.images / f"p{i:02}.png")
    ws.monkeypatch.setattr(predict, "BATCH", 1)
    ws.monkeypatch.setattr(predict, "SHOWN", 1)
    alive: list[weakref.ref[torch.Tensor]] = []  # every photo's pixels, while anything holds them
    held: list[int] = []  # photos held, as each is read
    read_photo = images.read_photo

    def counted(path: Path) -> torch.Tensor:
        alive.append(weakref.ref(pixels := read_photo(path)))
        held.append(sum(ref() is not None for ref in alive))
        return pixels

    ws.monkeypatch.setattr(images, "read_photo", counted)
    assert ws.run("predict", predict={"cifar_images": 0})[0] == 0
    assert len(held) == 9 and max(held) == 3  # the one shown (the sample), the last batch, the one being read
    assert len((ws.out / "p.csv").read_text().splitlines()) == 1 + 9 * 2 * 3  # every image's top 3, both ways
    assert "The first 1 of the 9 images" in (ws.out / "p.md").read_text()


def test_predict_with_no_image_at_all_fails_in_one_line(ws: Workspace) -> None:
    ws.monkeypatch.setattr(images, "sample_photo", lambda: None)  # matplotlib's sample data missing
    line = ws.fails_cleanly("predict", "nothing to predict", predict={"cifar_images": 0})
    assert f"predict.cifar_images is 0 and {ws.images} holds no image" in line


def test_maximize_class_on_alexnet(ws: Workspace) -> None:
    assert ws.run("maximize_class")[0] == 0
    m, info = ws.metrics("maximize_class"), ws.info("maximize_class")
    assert set(m) == {"probability"}  # the seed's number (visionlab.core.seed_report); the rest is in the info file
    robustness = info["robustness"]
    assert 0 <= robustness["min_probability"] <= robustness["mean_probability"] <= 1
    assert robustness["top1_kept_fraction"] in (0, 0.5, 1)  # of 2 trials
    assert info["model"]["name"] == "alexnet" and info["model"]["random_weights"] is True
    assert info["class_index"] == 207 and info["class_name"] == "golden retriever"
    assert [g["probability"] for g in info["top5"]] == sorted((g["probability"] for g in info["top5"]), reverse=True)
    assert len(info["top5"]) == 5 and info["robustness"]["trials"] == 2


def test_maximize_class_on_a_cifar_checkpoint(ws: Workspace) -> None:
    ws.add_checkpoint("cnn")
    status, err = ws.run("maximize_class@cnn", maximize_class={"class_index": {"cnn": 3}, "objective": "logit"})
    assert status == 0, err
    m, info = ws.metrics("maximize_class@cnn"), ws.info("maximize_class@cnn")
    assert 0 <= m["probability"] <= 1
    assert info["model"] == {
        "name": "cnn",
        "random_weights": False,
        "checkpoint": (ws.models / "cnn.pt").as_posix(),
        "trained_model": {"epochs": 1, "train_images": 4, "subset": True},
    }
    assert info["class_name"] == "cat" and info["objective"] == "logit"
    assert len(info["top5"]) == 5


def test_attack_on_a_cifar_checkpoint(ws: Workspace) -> None:
    ws.add_checkpoint("cnn")
    status, err = ws.run("attack@cnn", attack={"ship_index": 3, "max_images": 10})
    assert status == 0, err
    m, info = ws.metrics("attack@cnn"), ws.info("attack@cnn")
    assert info["ship_test_index"] == 6 and info["input_size"] == 32 and info["target_name"] == "dog"
    assert info["model"]["trained_model"]["epochs"] == 1
    assert info["bounded"]["images"] == 4  # every ship of the tiny test split
    assert info["bounded"]["max_linf"] <= 8 / 255 + 1e-6
    assert 0 <= m["bounded"]["success_rate"] <= 1 and 0 <= info["bounded"]["success_rate_uint8"] <= 1
    assert set(m) == {"unbounded", "bounded"} and set(m["unbounded"]) == {"target_probability"}


def test_attack_on_alexnet(ws: Workspace) -> None:
    assert ws.run("attack")[0] == 0
    m, info = ws.metrics("attack"), ws.info("attack")
    assert info["model"]["random_weights"] is True and info["input_size"] == 224 and info["ship_test_index"] == 1
    assert set(info["unbounded"]["before"]) == {
        "top1_index",
        "top1_name",
        "top1_probability",
        "original_top1_probability",
    }
    assert info["bounded"]["images"] == 2
    assert set(m["bounded"]) == {"success_rate"}  # the details (8-bit rounding too) are in the info file
    assert info["bounded"]["success_rate_uint8"] in (0, 0.5, 1)  # of 2 ships
    assert (ws.out / "a.png").stat().st_size > 0


def test_attribute_on_a_cifar_checkpoint(ws: Workspace) -> None:
    ws.add_checkpoint("cnn")
    status, err = ws.run("attribute@cnn", attack={"ship_index": 3, "steps": 3})
    assert status == 0, err
    info = ws.info("attribute@cnn")
    assert not (ws.out / "metrics").exists()  # no metrics: the lead's budget for this stage is 0 numbers
    assert info["ship_test_index"] == 6 and info["input_size"] == 32  # the attack stage's ship
    assert (info["ship_name"], info["target_name"], info["attack_steps"], info["n_steps"]) == ("ship", "dog", 3, 4)
    assert info["gradcam_layer"] == "1.features.3.2" and info["gradcam_single_view"] is False
    for image in ("clean", "adversarial"):
        for toward in ("toward_ship", "toward_target"):
            a = info[image][toward]
            # completeness: IG's sum is f(x) - f(black) up to Captum's delta, whatever the steps
            assert abs(a["ig_sum"] - (a["logit"] - a["baseline_logit"]) - a["convergence_delta"]) < 1e-4
    assert (ws.out / "ct.png").stat().st_size > 0


def test_attribute_sees_the_attack_stages_adversarial_image(ws: Workspace) -> None:
    ws.add_checkpoint("cnn")
    assert ws.run("attack@cnn", attack={"steps": 3})[0] == 0
    assert ws.run("attribute@cnn", attack={"steps": 3})[0] == 0
    after, adversarial = ws.info("attack@cnn")["unbounded"]["after"], ws.info("attribute@cnn")["adversarial"]
    assert (adversarial["predicted_class"], adversarial["predicted_probability"]) == pytest.approx(
        (after["top1_index"], after["top1_probability"]), abs=1e-6
    )


def test_attribute_on_alexnet(ws: Workspace) -> None:
    status, err = ws.run("attribute")
    assert status == 0, err
    info = ws.info("attribute")
    assert info["model"]["random_weights"] is True and info["input_size"] == 224
    assert (info["ship_class"], info["ship_name"]) == (510, "container ship")
    assert info["target_name"] == "golden retriever" and info["gradcam_layer"] == "1.features.11"
    assert (ws.out / "t.png").stat().st_size > 0


# --- bad input: one line, exit 1, nothing written ---------------------------------------------------


def test_attribute_refuses_a_model_without_its_last_conv_activation(ws: Workspace) -> None:
    from visionlab.models import alexnet
    from visionlab.models.classifier import Classifier
    from visionlab.probe import probed

    mlp = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 1000))
    names = tuple(alexnet.IMAGENET.meta["categories"])
    flat = Classifier("alexnet", mlp, names, 32, True, {"alexnet_weights": "none"})
    ws.monkeypatch.setattr(probed, "alexnet_classifier", lambda path, device: flat)
    ws.fails_cleanly("attribute", "model=alexnet: the network lacks conv5's ReLU (relu5)")


def test_class_index_out_of_range_for_alexnet(ws: Workspace) -> None:
    ws.fails_cleanly(  # ImageNet's 1,000 classes bound every model's in the schema
        "maximize_class",
        "maximize_class.class_index.alexnet must be an integer in 0..999, got 1000",
        maximize_class={"class_index": {"alexnet": 1000}},
    )


def test_class_index_out_of_range_for_cifar(ws: Workspace) -> None:
    ws.add_checkpoint("cnn")
    line = ws.fails_cleanly(
        "maximize_class@cnn",
        "maximize_class.class_index.cnn=10 is out of range for model=cnn",
        maximize_class={"class_index": {"cnn": 10}},
    )
    assert "0..9" in line
    assert "5=dog" in line


def test_imagenet_target_with_a_cifar_model(ws: Workspace) -> None:
    ws.add_checkpoint("cnn")
    line = ws.fails_cleanly("attack@cnn", "attack.target_class.cnn=207", attack={"target_class": {"cnn": 207}})
    assert "set attack.target_class.cnn to a CIFAR class (e.g. 5 = dog)" in line


def test_missing_trained_checkpoint(ws: Workspace) -> None:
    line = ws.fails_cleanly("maximize_class@cnn", "cnn.pt")
    assert "not found" in line
    ws.fails_cleanly("attack@cnn", "cnn.pt")


def test_a_checkpoint_of_another_model_is_refused(ws: Workspace) -> None:
    ws.add_checkpoint("cnn")
    (ws.models / "cnn.pt").rename(ws.models / "resnet.pt")
    for stage in ("maximize_class@cnn", "attack@cnn"):
        args = [str(a).replace("cnn.pt", "resnet.pt") if str(a).endswith("cnn.pt") else a for a in ws.args(stage)]
        args[args.index("cnn")] = "resnet"
        ws.monkeypatch.setattr(ws, "args", lambda stage, args=args: args)
        ws.fails_cleanly(stage, "resnet.pt holds a cnn model, not resnet")
        ws.monkeypatch.undo()


def test_ship_index_past_the_last_ship(ws: Workspace) -> None:
    ws.fails_cleanly("attack", "only 4 ships", attack={"ship_index": 4})


def test_model_file_that_is_not_the_alexnet_stages(ws: Workspace) -> None:
    ws.alexnet = ws.root / "bogus.pt"
    torch.save({"conv.weight": torch.zeros(3)}, ws.alexnet)
    ws.fails_cleanly("filters", "not an AlexNet file of the alexnet stage")
    torch.save({"weights": "none", "random_weights": True, "state_dict": {"conv.weight": torch.zeros(3)}}, ws.alexnet)
    ws.fails_cleanly("filters", "not an AlexNet state dict")


def test_input_folder_with_no_readable_image(ws: Workspace) -> None:
    (ws.images / "notes.txt").write_text("not a picture")
    ws.fails_cleanly("predict", "notes.txt", predict={"cifar_images": 0})


def test_channel_outside_conv1_is_rejected_by_the_schema() -> None:
    with pytest.raises(PipelineError, match=r"maximize_channels\.channels must be .*0\.\.63"):
        parse_params({"maximize_channels": {"channels": [0, 64]}}, maximize_channels=MaximizeChannelsParams)


def test_cli_reports_bad_input_in_one_line(run_stage, tmp_path: Path) -> None:  # the real entry point
    params = tmp_path / "params.yaml"
    params.write_text(
        yaml.safe_dump(
            {
                "seed": 0,
                "device": "cpu",
                "alexnet": {"weights": "none"},
                "maximize_class": {"class_index": {"alexnet": 5000}},
            }
        )
    )
    outs = ["--figure", tmp_path / "c.png", "--metrics", tmp_path / "c.json", "--info", tmp_path / "i.json"]
    checkpoint = ("--checkpoint", tmp_path / "alexnet.pt")  # never read: the params are refused first
    result = run_stage("maximize_class.py", "--model", "alexnet", *checkpoint, "--params", params, *outs)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {params}: maximize_class.class_index.alexnet must be an integer in 0..999, got 5000"
    ]
    assert not (tmp_path / "c.png").exists() and not (tmp_path / "c.json").exists()

"""The page: the provenance summary on top, then every section (1-2: the data and the CIFAR-10 models; 3-7: the
AlexNet analyses beside the seed's numbers; 8: two of them on our CIFAR models; 9: feature visualisation), both
files written atomically.

Provenance (why a result does not compare with the seed's) is read from the side files, never params.yaml: the
page states what the results were actually measured on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from itertools import groupby
from pathlib import Path
from typing import Any

from visionlab.attack.record import AttackInfo, AttackMetrics
from visionlab.attribution.record import AttributionInfo
from visionlab.calibration.record import CalibrationInfo, CalibrationMetrics
from visionlab.channels.record import ChannelsInfo, ChannelsMetrics
from visionlab.classmax.record import ClassInfo, ClassMetrics
from visionlab.core.errors import PipelineError
from visionlab.core.io import write_text
from visionlab.core.record import load_record
from visionlab.core.seed_report import SEED_ALEXNET, SEED_CIFAR, SEED_DATA
from visionlab.corruption.params import CorruptParams
from visionlab.corruption.record import CorruptionInfo, CorruptionMetrics
from visionlab.evaluation.record import EvalInfo, EvalMetrics
from visionlab.filters.record import FiltersInfo
from visionlab.models.params import FAST_RECIPE
from visionlab.predict.record import PredictInfo, PredictMetrics
from visionlab.probe.record import ProbedModel
from visionlab.report.blocks import (
    NOT_REPORTED,
    Alert,
    Block,
    Bullets,
    FigureRow,
    Heading,
    Para,
    Table,
    pct,
    prob,
    seed_cell,
    seed_value,
    to_html,
    to_markdown,
)
from visionlab.report.inputs import (
    MODEL_TITLES,
    MODELS,
    PROBED,
    Inputs,
    Stage,
    figure_block,
    load_channel_stats,
    load_markdown,
    load_stage,
)
from visionlab.training.record import TrainingInfo, TrainingSummary
from visionlab.visualize.params import VisualizeParams
from visionlab.visualize.record import RUNG_TITLES, RUNGS, ObjectiveScores, RungScores, VisualizeInfo

SEED_EPOCHS = int(SEED_CIFAR["resnet"]["epochs"])  # the seed's log stops at 100 (it lists 128)
# The fast model has its own short recipe: it is held to that recipe's default length, not the seed's.
FAST_EPOCHS = FAST_RECIPE["epochs"]
SEED_RESNET_WIDTH = 64  # "channels double per layer from 64 to 512"
RANDOM_ALEXNET = (
    "AlexNet has random weights (`alexnet.weights=none`), not the ImageNet ones: "
    "its predictions, filters and maximised images are meaningless."
)


@dataclass
class Provenance:
    """Why results are not comparable with the seed's, by kind; each entry is one plain sentence."""

    random_weights: list[str] = field(default_factory=list)
    sample: list[str] = field(default_factory=list)
    smoke: list[str] = field(default_factory=list)

    def kinds(self) -> list[tuple[str, list[str]]]:
        """(label, sentences) of each kind that applies."""
        kinds = [("Random weights", self.random_weights), ("Sample data", self.sample), ("Smoke settings", self.smoke)]
        return [(label, items) for label, items in kinds if items]

    def merge(self, other: Provenance) -> None:
        for kind in fields(self):
            mine = getattr(self, kind.name)
            mine.extend(item for item in getattr(other, kind.name) if item not in mine)

    def alerts(self) -> list[Block]:
        """The per-section warnings, one block per kind."""
        return [Alert(f"**{label}:** " + " ".join(items)) for label, items in self.kinds()]


def full_epochs(model: str) -> tuple[int, str]:
    """The training length below which ``model``'s run is a smoke setting, and whose length that is."""
    if model == "fast":
        return FAST_EPOCHS, "fast's default"
    return SEED_EPOCHS, "the seed"


def join_and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def model_provenance(models: dict[str, EvalInfo]) -> Provenance:
    """Sample and smoke statements for the CIFAR models; models in the same situation share one sentence."""
    sample: dict[str, list[str]] = {}
    smoke: dict[str, list[str]] = {}
    for name, info in models.items():
        title = MODEL_TITLES[name]
        if info.data.subset:
            what = (
                f"trained on the CIFAR-10 sample ({info.data.train_images:,} training and "
                f"{info.data.test_images:,} test images), not the full data set."
            )
            sample.setdefault(what, []).append(title)
        problems = []
        full, whose = full_epochs(name)
        if info.epochs < full:
            problems.append(f"{info.epochs} epoch{'s' if info.epochs != 1 else ''} ({whose}: {full})")
        width = info.config.get("width")
        if isinstance(width, int) and not isinstance(width, bool) and width < SEED_RESNET_WIDTH:
            problems.append(f"width {width} (the seed: {SEED_RESNET_WIDTH})")
        if problems:
            smoke.setdefault(f"trained with {'; '.join(problems)}.", []).append(title)
    p = Provenance()
    for statements, out in ((sample, p.sample), (smoke, p.smoke)):
        for what, titles in statements.items():
            out.append(f"{' and '.join(titles)} {'were' if len(titles) > 1 else 'was'} {what}")
    return p


def probed_provenance(model: ProbedModel) -> Provenance:
    """Random AlexNet weights, or what the probed CIFAR model was trained on (from its checkpoint)."""
    p = Provenance()
    trained, title = model.trained_model, MODEL_TITLES.get(model.name)
    if model.name == "alexnet" and model.random_weights:
        p.random_weights.append(RANDOM_ALEXNET)
    elif title is not None and trained is not None:
        if trained.subset:
            p.sample.append(f"The probed {title} was trained on the CIFAR-10 sample.")
        full, whose = full_epochs(model.name)
        if trained.epochs is not None and trained.epochs < full:
            p.smoke.append(f"The probed {title} trained {trained.epochs} epochs ({whose}: {full}).")
    return p


SEED_CNN_KERNELS = [7, 5, 3, 2]

Evaluation = Stage[EvalMetrics, EvalInfo]
Training = Stage[TrainingSummary, TrainingInfo]  # the train stage's DVCLive summary (its metrics) and side file


def data_section(inputs: Inputs, models: dict[str, Evaluation]) -> tuple[list[Block], Provenance]:
    mean, std = load_channel_stats(inputs.stats)
    cnn = models["cnn"]
    counts = _split_counts(cnn.info)
    for other in models.values():  # every model must have seen the same split
        theirs = _split_counts(other.info)
        if theirs != counts:
            raise PipelineError(f"{other.info_path}: data split {theirs} differs from {cnn.info_path}'s {counts}")
    prov = Provenance()
    if cnn.info.data.subset:
        prov.sample.append(
            f"These are the CIFAR-10 sample's {sum(counts.values()):,} images, not the full {SEED_DATA['images']:,}."
        )
    blocks: list[Block] = [
        Heading(2, "1. Data"),
        *prov.alerts(),
        Table(
            ["", "this run", "seed report"],
            [
                ["training images", f"{counts['train']:,}", NOT_REPORTED],
                ["validation images", f"{counts['val']:,}", NOT_REPORTED],
                ["test images", f"{counts['test']:,}", NOT_REPORTED],
                ["all images", f"{sum(counts.values()):,}", seed_cell(f"{SEED_DATA['images']:,}")],
            ],
        ),
        Para(
            "Per-channel mean and standard deviation of the training split (pixels in 0..1), used to "
            "normalise every split:"
        ),
        Table(
            ["channel", "mean", "std"],
            [[c, f"{mu:.4f}", f"{sd:.4f}"] for c, mu, sd in zip(("red", "green", "blue"), mean, std, strict=True)],
        ),
    ]
    return blocks, prov


def _split_counts(info: EvalInfo) -> dict[str, int]:
    return {"train": info.data.train_images, "val": info.data.val_images, "test": info.data.test_images}


def _seed_cifar(model: str, key: str, fmt: Callable[[float], str]) -> str:
    seed = SEED_CIFAR.get(model, {})
    if key in seed:
        return fmt(seed[key])
    log = seed.get("log", {})
    columns = {"train_loss": 2, "val_loss": 3}  # the seed's final logged epoch
    if key in columns and log:
        return fmt(log[max(log)][columns[key]])
    return NOT_REPORTED


def cifar_section(
    inputs: Inputs, models: dict[str, Evaluation], training: dict[str, Training], page_dir: Path
) -> tuple[list[Block], Provenance]:
    prov = model_provenance({name: m.info for name, m in models.items()})
    loss = lambda v: f"{v:.4f}"  # noqa: E731
    # label, value (test scores from evaluate, the last epoch's from the train stage's DVCLive summary), seed key
    rows_spec: list[tuple[str, Callable[[str], float], str, Callable[[float], str]]] = [
        ("test accuracy", lambda n: models[n].metrics.test.accuracy, "test_accuracy", pct),
        ("test loss", lambda n: models[n].metrics.test.loss, "test_loss", loss),
        ("validation accuracy", lambda n: training[n].metrics.val.accuracy, "val_accuracy", pct),
        ("validation loss", lambda n: training[n].metrics.val.loss, "val_loss", loss),
        ("training accuracy", lambda n: training[n].metrics.train.accuracy, "train_accuracy", pct),
        ("training loss", lambda n: training[n].metrics.train.loss, "train_loss", loss),
    ]
    header = ["", *[col for n in MODELS for col in (f"{MODEL_TITLES[n]}", f"{MODEL_TITLES[n]} (seed)")]]
    rows: list[list[str]] = []
    for label, get, seed_key, fmt in rows_spec:
        rows.append([label, *[cell for name in MODELS for cell in (fmt(get(name)), _seed_cifar(name, seed_key, fmt))]])
    extra: list[tuple[str, Callable[[str], str], str | None]] = [
        ("epochs", lambda n: str(models[n].info.epochs), "epochs"),
        ("training time", lambda n: f"{training[n].metrics.timing.train_seconds:,.0f} s", None),
        ("training speed", lambda n: f"{training[n].info.images_per_second:,.0f} images/s", None),
        ("device", lambda n: f"`{models[n].info.device}`", None),
        ("precision", lambda n: training[n].info.precision, None),
    ]
    for label, get, seed_key in extra:
        row = [label]
        for name in MODELS:
            seed = SEED_CIFAR.get(name, {})
            row += [get(name), str(int(seed[seed_key])) if seed_key and seed_key in seed else NOT_REPORTED]
        rows.append(row)
    seed_arch = {
        "cnn": f"kernel_sizes {_compact(SEED_CNN_KERNELS)}",
        "resnet": f"width {SEED_RESNET_WIDTH}",
        "fast": NOT_REPORTED,  # ours: the seed has no such model
    }
    row = ["architecture"]
    for name in MODELS:
        row += [", ".join(f"{k} {_compact(v)}" for k, v in models[name].info.config.items()), seed_arch[name]]
    rows.append(row)
    blocks: list[Block] = [
        Heading(2, "2. CIFAR-10: CNN, ResNet and Fast"),
        *prov.alerts(),
        Para(
            "Each number of this run sits beside the seed report's (— where the seed gives none; it has no fast "
            "model, so all of Fast's seed column is —). "
            "Accuracies and losses are on the test split, the held-out validation split, and the training "
            "split as logged in the last epoch."
        ),
        Table(header, rows),
    ]
    for name in MODELS:
        title = MODEL_TITLES[name]
        seed_log = " (crosses: the seed report's log)" if SEED_CIFAR.get(name, {}).get("log") else ""
        blocks += [
            Heading(3, title),
            figure_block(
                inputs,
                f"{name}_curves",
                page_dir,
                f"{title}: loss and accuracy per epoch, training and validation{seed_log}",
            ),
            FigureRow(
                [
                    figure_block(inputs, f"{name}_confusion", page_dir, f"{title}: confusion matrix on the test split"),
                    figure_block(inputs, f"{name}_misclassified", page_dir, f"{title}: misclassified test images"),
                ]
            ),
        ]
    return blocks, prov


def _compact(value: Any) -> str:
    return "-".join(map(str, value)) if isinstance(value, list) else str(value)


FULL_SWEEP_SHIPS = 100  # a full run's attack.max_images; fewer is a smoke setting


def _included(markdown: str) -> list[Block]:
    """A stage's markdown (headings, paragraphs, pipe tables) as blocks, its headings demoted below ours."""
    blocks: list[Block] = []
    lines = (line.strip() for line in markdown.splitlines())
    for kind, group in groupby(lines, key=lambda line: line[:1] if line[:1] in ("", "#", "|") else "text"):
        if kind == "#":
            for line in group:
                level = len(line) - len(line.lstrip("#"))
                blocks.append(Heading(min(6, level + 2), line[level:].strip()))
        elif kind == "|":
            rows = [_cells(line) for line in group]
            body = [r for r in rows[1:] if not all(re.fullmatch(r":?-+:?", c) for c in r)]
            blocks.append(Table(rows[0], body))
        elif kind == "text":
            blocks.append(Para(" ".join(group)))
    return blocks


def _cells(line: str) -> list[str]:
    inner = line.strip().removeprefix("|").removesuffix("|")
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", inner)]


def predict_section(
    inputs: Inputs, stage: Stage[PredictMetrics, PredictInfo], page_dir: Path
) -> tuple[list[Block], Provenance]:
    m, info = stage.metrics, stage.info
    prov = probed_provenance(info.model)
    seed = SEED_ALEXNET["predict"]
    images = len(info.images)
    if not images:
        raise PipelineError(f"{stage.info_path}: images must be a non-empty list")
    raw = [p.without_normalization.confidence for p in info.images]
    norm = [p.with_normalization.confidence for p in info.images]
    rows = [
        ["images predicted", str(images), seed_cell(str(seed["images"]))],
        [
            "top-1 confidence without normalisation (min – max)",
            f"{prob(min(raw))} – {prob(max(raw))}",
            seed_cell(f"mostly {seed_value(seed['raw_confidence_low'])} – {seed_value(seed['raw_confidence_high'])}"),
        ],
        ["top-1 confidence with normalisation (min – max)", f"{prob(min(norm))} – {prob(max(norm))}", NOT_REPORTED],
        [
            "images above 0.98 confidence without normalisation",
            f"{m.without_normalization.above_0_98} of {images}",
            NOT_REPORTED,
        ],
        [
            "images above 0.98 confidence with normalisation",
            f"{m.with_normalization.above_0_98} of {images}",
            seed_cell(f"{seed['normalised_above_0_98']} of {seed['images']}"),
        ],
        ["same top-1 class with and without", pct(m.top1_agreement, 0), NOT_REPORTED],
    ]
    blocks: list[Block] = [
        Heading(2, "3. AlexNet: predictions with and without ImageNet normalisation"),
        *prov.alerts(),
        Para(
            "The seed predicted five photos of its own; this run predicts its own images, so only the "
            "summaries compare."
        ),
        Table(["", "this run", "seed report"], rows),
        figure_block(inputs, "predict", page_dir, "Top predictions with and without normalisation"),
        *_included(load_markdown(inputs.predictions_md)),
    ]
    return blocks, prov


def filters_section(inputs: Inputs, info: FiltersInfo, page_dir: Path) -> tuple[list[Block], Provenance]:
    prov = probed_provenance(info.model)
    seed = SEED_ALEXNET["filters"]
    rows = [
        ["conv1 filters", str(info.conv1.out_channels), seed_cell(str(seed["conv1_filters"]))],
        ["conv2 input channels", str(info.conv2.in_channels), seed_cell(str(seed["conv2_in_channels"]))],
        ["conv2 output channels", str(info.conv2.out_channels), seed_cell(str(seed["conv2_out_channels"]))],
        [
            "conv2 kernel",
            f"{info.conv2.kernel}x{info.conv2.kernel}",
            seed_cell(f"{seed['conv2_kernel']}x{seed['conv2_kernel']}"),
        ],
    ]
    blocks: list[Block] = [
        Heading(2, "4. AlexNet: conv1 filters and conv2"),
        *prov.alerts(),
        Table(["", "this run", "seed report"], rows),
        figure_block(inputs, "filters", page_dir, "The 64 conv1 filters, each min–max normalised to [0, 1], as RGB"),
        *_included(load_markdown(inputs.filters_md)),
    ]
    return blocks, prov


def channels_section(
    inputs: Inputs, stage: Stage[ChannelsMetrics, ChannelsInfo], page_dir: Path
) -> tuple[list[Block], Provenance]:
    m, info = stage.metrics, stage.info
    prov = probed_provenance(info.model)
    seed = SEED_ALEXNET["maximize_channels"]
    steps, step_size = info.steps, info.step_size
    if steps < seed["steps"]:
        prov.smoke.append(f"The conv1 units were maximised for {steps} steps (the seed: {seed['steps']}).")
    comparable = not prov.random_weights and steps == seed["steps"] and step_size == seed["step_size"]
    rows = []
    for channel in sorted(m.channels, key=lambda key: _channel_number(stage.metrics_path, key)):
        scores = m.channels[channel]
        if channel not in info.channels:
            raise PipelineError(f"{stage.info_path}: missing channels.{channel}")
        detail = info.channels[channel]
        seed_act = seed["activations"].get(int(channel))
        rows.append(
            [
                channel,
                f"{detail.initial_activation:.2f}",
                f"{scores.activation:.2f}",
                f"{detail.analytic_max:.2f}",
                pct(scores.activation / detail.analytic_max, 2),
                seed_cell(seed_value(seed_act)) if seed_act is not None else NOT_REPORTED,
            ]
        )
    note = (
        "Same network, settings and starting noise as the seed: the activations compare directly."
        if comparable
        else "The seed's activations are shown for reference; with other weights or settings they do not compare."
    )
    blocks: list[Block] = [
        Heading(2, "5. AlexNet: maximising one conv1 unit per channel"),
        *prov.alerts(),
        Para(
            f"Gradient ascent on the pre-ReLU centre unit (row {info.unit.row}, column "
            f"{info.unit.col}) of each conv1 channel: {steps} steps of size {step_size:g}, clamping "
            "the image to [0, 1] after each, from the same seeded noise. The analytic maximum is the largest "
            "value the unit can take over [0, 1] images. " + note
        ),
        Table(["channel", "start", "activation", "analytic maximum", "fraction of maximum", "seed report"], rows),
        figure_block(inputs, "maximize_channels", page_dir, "Maximised images per channel"),
    ]
    return blocks, prov


def _channel_number(path: Path, key: str) -> int:
    if not key.isdigit():
        raise PipelineError(f"{path}: channels keys must be channel numbers, got {key!r}")
    return int(key)


def class_section(
    inputs: Inputs,
    stage: Stage[ClassMetrics, ClassInfo],
    page_dir: Path,
    figure: str = "alexnet_maximize_class",
    heading: tuple[int, str] = (2, "6."),
) -> tuple[list[Block], Provenance]:
    m, info = stage.metrics, stage.info
    prov = probed_provenance(info.model)
    seed = SEED_ALEXNET["maximize_class"]
    model, index, steps = info.model.name, info.class_index, info.steps
    same_task = model == seed["model"] and index == seed["class_index"]
    if same_task and steps < seed["steps"]:
        prov.smoke.append(f"The class was maximised for {steps} steps (the seed: {seed['steps']}).")
    name = info.class_name
    rows = [
        ["model", f"`{model}`", seed_cell(f"`{seed['model']}`")],
        ["class", f"{index} ({name})", seed_cell(f"{seed['class_index']}") if same_task else NOT_REPORTED],
        ["steps (objective)", f"{steps} ({info.objective})", seed_cell(str(seed["steps"]))],
        ["probability before", prob(info.initial_probability), NOT_REPORTED],
        [
            "probability after",
            prob(m.probability),
            seed_cell(seed_value(seed["probability"])) if same_task else NOT_REPORTED,
        ],
    ]
    if (robust := info.robustness) is not None:
        rows += [
            [
                f"mean probability over {robust.trials} random shifts/rescales",
                prob(robust.mean_probability),
                NOT_REPORTED,
            ],
            ["still top-1 after a shift/rescale", pct(robust.top1_kept_fraction, 0), NOT_REPORTED],
        ]
    blocks: list[Block] = [
        Heading(heading[0], f"{heading[1]} Maximising a class: {index} ({name})"),
        *prov.alerts(),
    ]
    if not same_task:
        blocks.append(
            Para(
                f"The seed maximised class {seed['class_index']} of `{seed['model']}`; this probes "
                "another model or class, so its figure does not compare."
            )
        )
    blocks += [
        Table(["", "this run", "seed report"], rows),
        figure_block(inputs, figure, page_dir, f"Noise → an image that maximises class {index} ({name})"),
    ]
    return blocks, prov


def attack_section(
    inputs: Inputs,
    stage: Stage[AttackMetrics, AttackInfo],
    page_dir: Path,
    figure: str = "alexnet_attack",
    heading: tuple[int, str] = (2, "7."),
) -> tuple[list[Block], Provenance]:
    m, info = stage.metrics, stage.info
    prov = probed_provenance(info.model)
    seed = SEED_ALEXNET["attack"]
    model, target = info.model.name, info.target_class
    same_task = model == seed["model"] and target == seed["target_class"]
    steps, ships = info.unbounded.steps, info.bounded.images
    if same_task and steps < seed["steps"]:
        prov.smoke.append(f"The attack ran {steps} steps (the seed: {seed['steps']}).")
    if ships < FULL_SWEEP_SHIPS:
        prov.smoke.append(f"The bounded attack swept {ships} ships (a full run: {FULL_SWEEP_SHIPS}).")
    target_name = info.target_name
    succeeded = info.unbounded.after.top1_index == target
    seed_if = lambda text: seed_cell(text) if same_task else NOT_REPORTED  # noqa: E731
    median = info.bounded.median_steps_to_success
    rows = [
        [
            "model, target",
            f"`{model}`, {target} ({target_name})",
            seed_cell(f"`{seed['model']}`, {seed['target_class']}"),
        ],
        [
            f"one ship (test image {info.ship_test_index}), unbounded: p(target) before → after",
            f"{prob(info.unbounded.target_probability_before)} → {prob(m.unbounded.target_probability)}",
            seed_if(f"→ {seed_value(seed['target_probability'])}"),
        ],
        [
            "one ship, unbounded: top-1 after",
            f"{info.unbounded.after.top1_name} ({'target reached' if succeeded else 'target not reached'})",
            seed_if("the target"),
        ],
        ["one ship, unbounded: largest pixel change", f"{info.unbounded.linf_255:.3g}/255", NOT_REPORTED],
        [
            f"targeted success rate, ε = {255 * info.bounded.epsilon:.0f}/255",
            f"{m.bounded.success_rate:.3f} ({info.bounded.successes} of {ships} ships)",
            seed_if(f"{seed_value(seed['success_rate'])} ({seed['ships']} of {seed['ships']} ship, unbounded)"),
        ],
        ["success rate after rounding to 8-bit pixels", f"{info.bounded.success_rate_uint8:.3f}", NOT_REPORTED],
        ["median steps to success", "no success" if median is None else f"{median:g}", NOT_REPORTED],
    ]
    blocks: list[Block] = [
        Heading(heading[0], f"{heading[1]} An adversarial ship: target {target} ({target_name})"),
        *prov.alerts(),
        Para(
            f"The seed's attack: {steps} steps of unbounded gradient ascent on p(target) from one CIFAR-10 ship "
            f"(upscaled to {info.input_size}); then a bounded one (signed gradient, each pixel within ε) "
            "over many ships."
        ),
        Table(["", "this run", "seed report"], rows),
        figure_block(inputs, figure, page_dir, "Original, adversarial and difference: unbounded and bounded attacks"),
    ]
    return blocks, prov


def cifar_analyses_section(inputs: Inputs, page_dir: Path) -> tuple[list[Block], Provenance]:
    """Sections 6 and 7 repeated on each trained CIFAR model (stages maximize_class@<model>, attack@<model>)."""
    blocks: list[Block] = [
        Heading(2, "8. The same analyses on our CIFAR-10 models"),
        Para(
            "Class maximisation and the adversarial ship, repeated on the CNN, the ResNet and the fast model "
            "trained above, with a CIFAR-10 class as the target. The seed ran them on AlexNet only, so nothing "
            "here compares."
        ),
    ]
    prov = Provenance()
    for number, name in enumerate(MODELS, start=1):
        blocks.append(Heading(3, f"8.{number} {MODEL_TITLES[name]}"))
        classes = load_stage(inputs, f"{name}_maximize_class", ClassMetrics, ClassInfo)
        attack = load_stage(inputs, f"{name}_attack", AttackMetrics, AttackInfo)
        for stage in (classes, attack):
            if stage.info.model.name != name:
                raise PipelineError(f"{stage.info_path}: holds the analysis of {stage.info.model.name!r}, not {name!r}")
        for part, part_prov in (
            class_section(inputs, classes, page_dir, f"{name}_maximize_class", (4, "·")),
            attack_section(inputs, attack, page_dir, f"{name}_attack", (4, "·")),
        ):
            blocks += part
            prov.merge(part_prov)
    return blocks, prov


COMPLETE = 0.05  # each IG map's |delta| within this fraction of its own |f(x) - f(black)|, else the page says so
SAME_PROBABILITY = 1e-3  # the attack section's adversarial and ours: equal within this, else the page says so


def _kept(value: float | None) -> str:
    return "— (a map is all zero)" if value is None else pct(value, 0)


def _provenance_tag(prov: Provenance) -> str:
    tags = [label.lower() for label, _ in prov.kinds()]
    return f" ({', '.join(tags)})" if tags else ""


def attribution_section(
    inputs: Inputs, page_dir: Path, heading: tuple[int, str] = (3, "Where does it look?")
) -> tuple[list[Block], Provenance]:
    """attribute@<model>: IG and Grad-CAM of the attack's ship, clean and adversarial, one figure row per model."""
    prov, rows, figures, kept, moved, coarse, steps = Provenance(), [], [], [], [], [], set()
    for name in PROBED:
        path = inputs.info(f"{name}_attribution")
        info = load_record(AttributionInfo, path)
        if info.model.name != name:
            raise PipelineError(f"{path}: holds the attribution of {info.model.name!r}, not {name!r}")
        attack = load_record(AttackInfo, inputs.info(f"{name}_attack"))
        model_prov = probed_provenance(info.model)
        prov.merge(model_prov)
        steps.add(info.n_steps)
        title = MODEL_TITLES.get(name, "AlexNet")
        cells = [info.clean.toward_ship, info.clean.toward_target, info.adversarial.toward_ship]
        cells.append(info.adversarial.toward_target)
        # Each map against its own change: a small map's gap must not hide behind another map's large change.
        gaps = [(abs(c.convergence_delta), abs(c.logit - c.baseline_logit)) for c in cells]
        delta, change = max(gaps, key=lambda g: g[0] / g[1] if g[1] else float("inf") if g[0] else 0.0)
        if delta > COMPLETE * change:
            coarse.append(f"{title} ({pct(delta / change, 0) if change > 0 else 'f(x) = f(black)'})")
        overlap = info.overlap
        rows.append(
            [
                f"{title}{_provenance_tag(model_prov)}",
                f"{info.clean.predicted_name} → {info.adversarial.predicted_name} (target: {info.target_name})",
                f"{delta:.2g} of {change:.3g}",
                _kept(overlap.ig_ship),
                _kept(overlap.ig_target),
                _kept(overlap.gradcam_ship),
                _kept(overlap.gradcam_target),
            ]
        )
        if overlap.ig_target is not None:
            kept.append((overlap.ig_target, title))
        after = attack.unbounded.after
        if (
            after.top1_name != info.adversarial.predicted_name
            or abs(after.top1_probability - info.adversarial.predicted_probability) > SAME_PROBABILITY
        ):
            moved.append(
                f"{title}'s recomputed adversarial image scores {info.adversarial.predicted_name} "
                f"{prob(info.adversarial.predicted_probability)}, the attack section's {after.top1_name} "
                f"{prob(after.top1_probability)} (float rounding differs between thread counts and devices)."
            )
        figures.append(
            figure_block(
                inputs,
                f"{name}_attribution",
                page_dir,
                f"{title}{_provenance_tag(model_prov)}: ship #{info.ship_test_index} clean (top row) and adversarial "
                f"(bottom row); IG and Grad-CAM toward {info.ship_name} and toward {info.target_name}",
            )
        )
    blocks: list[Block] = [
        Heading(heading[0], heading[1]),
        *prov.alerts(),
        Para(
            f"Integrated Gradients (Captum, {join_and([str(n) for n in sorted(steps)])} steps along the straight "
            "path from the black image, in pixel space) "
            "and Grad-CAM at each model's last conv activation (after its ReLU or GELU, before any pooling; the "
            "ResNet's last block after the residual sum; ReLU'd, upsampled bilinearly to the image) for the "
            "attack section's ship, before and after the seed's unbounded attack, toward the ship's class "
            "(AlexNet: ImageNet's container ship) and toward the attack's target. f is the class's logit; "
            "IG's completeness: its attributions sum to f(x) − f(black) up to Captum's convergence delta. "
            "“Kept in place”: the overlap of the clean and the adversarial map, each normalised to sum 1 "
            "(100 %: the same map; IG as |attribution| summed over colour channels)."
        ),
        Table(
            [
                "model",
                "top-1: clean → adversarial",
                "IG: |delta| of |f(x) − f(black)|, its worst map",
                "IG toward ship: kept in place",
                "IG toward target: kept in place",
                "Grad-CAM toward ship: kept in place",
                "Grad-CAM toward target: kept in place",
            ],
            rows,
        ),
    ]
    if kept:
        (low, low_model), (high, high_model) = min(kept), max(kept)
        sentence = f"Toward the target, the attack moves the IG map most on {low_model} ({pct(low, 0)} kept in place)"
        if high_model != low_model:
            sentence += f" and least on {high_model} ({pct(high, 0)})"
        blocks.append(Para(sentence + "."))
    if coarse:
        blocks.append(
            Para(
                f"IG is not complete within {pct(COMPLETE, 0)} on {join_and(coarse)}: its worst map's Captum "
                "delta against that map's |f(x) − f(black)|. Its path needs more steps (`attribute.n_steps`)."
            )
        )
    blocks += [Para(note) for note in moved]
    blocks += figures
    return blocks, prov


FULL_VISUALIZE = VisualizeParams()  # the full settings: fewer steps or a smaller batch is a smoke setting
# Which rung wins each measure: the highest activations, the lowest high-frequency share and time.
MEASURES = (
    ("activation", "highest activation", max),
    ("robust_activation", "highest robust activation", max),
    ("high_frequency", "lowest high-frequency share", min),
    ("seconds", "fastest", min),
)


def _rung_cell(scores: RungScores) -> str:
    return (
        f"act {scores.activation:.3g} · robust {scores.robust_activation:.3g} · "
        f"high freq. {pct(scores.high_frequency, 0)} · {scores.seconds:.1f} s"
    )


def ladder_reading(objectives: list[ObjectiveScores]) -> str:
    """Which rung wins which measure over the objectives, and fft + transforms against naive, from the numbers."""
    count = len(objectives)
    parts = []
    for key, phrase, best in MEASURES:
        wins: dict[str, int] = {}
        for objective in objectives:
            winner = best(objective.rungs, key=lambda rung: getattr(objective.rungs[rung], key))
            wins[winner] = wins.get(winner, 0) + 1
        ranked = sorted(wins.items(), key=lambda item: -item[1])
        parts.append(f"{phrase}: " + ", ".join(f"{RUNG_TITLES[r]} on {n} of {count}" for r, n in ranked))
    text = "Per objective, " + "; ".join(parts) + "."
    pairs = [(o.rungs["fft_transforms"], o.rungs["naive"]) for o in objectives]
    smoother = sum(t.high_frequency < n.high_frequency for t, n in pairs)
    robust = sum(t.robust_activation > n.robust_activation for t, n in pairs)
    return text + (
        f" Against naive, fft + transforms has the lower high-frequency share on {smoother} of {count} "
        f"objectives and the higher robust activation on {robust} of {count}."
    )


def visualize_section(inputs: Inputs, page_dir: Path) -> tuple[list[Block], Provenance]:
    """Section 9: the ladder (naive, fft, fft + transforms, diversity) on AlexNet and each CIFAR model."""
    blocks: list[Block] = [
        Heading(2, "9. Feature visualisation"),
        Para(
            "The seed's naive pixel ascent beside the field's method (Lucid/Lucent): the image held as a 1/f-scaled "
            "Fourier spectrum with decorrelated colours and a sigmoid, optimised with Adam (**fft**), then also "
            "through a random shift, scale and rotation at every step (**fft + transforms**), then as a batch kept "
            "apart by a Gram-matrix penalty (**diversity**; its numbers are the batch's means). Every rung starts "
            "from the same seed. Under each: the objective at the end (pre-ReLU), its mean over seeded random "
            "transforms of the result (the same for every rung), the share of spectral energy above half the "
            "Nyquist frequency, and the seconds it took. The seed has no such analysis, so nothing here compares."
        ),
    ]
    prov = Provenance()
    titles = {"alexnet": "AlexNet", **MODEL_TITLES}
    for number, name in enumerate(PROBED, start=1):
        path = inputs.visualize(name)
        info = load_record(VisualizeInfo, path)
        if info.model.name != name:
            raise PipelineError(f"{path}: holds the visualisation of {info.model.name!r}, not {name!r}")
        for objective in info.objectives:
            if tuple(objective.rungs) != RUNGS:
                found = ", ".join(objective.rungs)
                raise PipelineError(f"{path}: {objective.key} has the rungs {found}, not {', '.join(RUNGS)}")
        own = probed_provenance(info.model)
        short = [
            phrase.format(value) + f" ({phrase.format(getattr(FULL_VISUALIZE, key))} in a full run)"
            for key, phrase, value in (
                ("steps", "{} steps", info.steps),
                ("naive_steps", "{} naive steps", info.naive_steps),
                ("diversity_batch", "a diversity batch of {}", info.diversity_batch),
                ("robust_trials", "{} re-scoring transforms", info.robust_trials),
            )
            if value < getattr(FULL_VISUALIZE, key)
        ]
        if short:
            own.smoke.append(f"The {titles[name]} visualisation ran {join_and(short)}.")
        rows = [[o.title, *(_rung_cell(o.rungs[r]) for r in RUNGS)] for o in info.objectives]
        t = info.transforms
        random = " (random weights)" if info.model.random_weights else ""
        blocks += [
            Heading(3, f"9.{number} {titles[name]}"),
            *own.alerts(),
            Para(
                f"{info.input_size} px; colours decorrelated with {info.colour}; channel objectives read "
                f"{info.last_conv}. Naive: {info.naive_steps} steps of {info.naive_step_size:g}; the others "
                f"{info.steps} steps of Adam (lr {info.lr:g}); transforms: shift up to {t.shift} px, scale "
                f"{t.scale_min:g}-{t.scale_max:g}, rotate up to {t.rotate:g}°, shift up to {t.jitter} px; diversity: "
                f"batch {info.diversity_batch}, weight {info.diversity_weight:g}; robust activation over "
                f"{info.robust_trials} transforms."
            ),
            Table(["objective", *(RUNG_TITLES[r] + random for r in RUNGS)], rows),
            Para(ladder_reading(info.objectives)),
            figure_block(inputs, f"{name}_visualize", page_dir, f"{titles[name]}{random}: objectives by rung"),
        ]
        prov.merge(own)
    return blocks, prov


def beyond_accuracy_section(
    inputs: Inputs, models: dict[str, EvalInfo], page_dir: Path
) -> tuple[list[Block], Provenance]:
    """Calibration (stage calibrate@<model>) and corruption robustness (corrupt, corruption@<model>) of each model."""
    calibration = {m: load_stage(inputs, f"{m}_calibration", CalibrationMetrics, CalibrationInfo) for m in MODELS}
    corruption = {m: load_stage(inputs, f"{m}_corruption", CorruptionMetrics, CorruptionInfo) for m in MODELS}
    for name in MODELS:
        for stage in (calibration[name], corruption[name]):
            if stage.info.model != name:
                raise PipelineError(f"{stage.info_path}: holds the scores of {stage.info.model!r}, not {name!r}")
    prov = model_provenance(models)
    first = corruption[MODELS[0]].info
    full = CorruptParams()
    if first.images < min(full.images, models[MODELS[0]].data.test_images):
        prov.smoke.append(f"The corrupted test set holds {first.images:,} test images (a full run: {full.images:,}).")
    if len(first.severities) < len(full.severities):
        prov.smoke.append(f"The corruptions ran at severities {_compact(first.severities)} only (a full run: 1 to 5).")
    titles = [MODEL_TITLES[m] for m in MODELS]
    cal = calibration
    calibration_rows = [
        ["ECE, test (15 bins)", *(f"{cal[m].metrics.ece:.4f}" for m in MODELS)],
        ["ECE after temperature scaling", *(f"{cal[m].metrics.ece_temperature:.4f}" for m in MODELS)],
        ["temperature (fitted on validation)", *(f"{cal[m].metrics.temperature:.3f}" for m in MODELS)],
        [
            "validation NLL before → after",
            *(f"{cal[m].info.validation.nll:.4f} → {cal[m].info.validation.nll_temperature:.4f}" for m in MODELS),
        ],
        [
            "test NLL before → after",
            *(f"{cal[m].info.test.nll:.4f} → {cal[m].info.test.nll_temperature:.4f}" for m in MODELS),
        ],
        ["test accuracy", *(pct(cal[m].info.test_accuracy) for m in MODELS)],
    ]
    scores = {m: {s.name: s for s in corruption[m].info.corruptions} for m in MODELS}
    names = [s.name for s in first.corruptions]
    for m in MODELS:
        info = corruption[m].info
        if list(scores[m]) != names or info.images != first.images or info.severities != first.severities:
            raise PipelineError(
                f"{corruption[m].info_path}: scored another corrupted set than {corruption[MODELS[0]].info_path}"
            )

    def cell(m: str, name: str) -> str:
        text = pct(scores[m][name].mean)
        return f"**{text} (worst)**" if name == corruption[m].info.worst else text

    def relative(m: str) -> str:
        metrics = corruption[m].metrics
        if metrics.clean_accuracy == 0:
            return NOT_REPORTED
        return f"{metrics.mean_corruption_accuracy / metrics.clean_accuracy:.2f} × clean"

    corruption_rows = [
        ["clean (the same images)", *(pct(corruption[m].metrics.clean_accuracy) for m in MODELS)],
        *([name.replace("_", " "), *(cell(m, name) for m in MODELS)] for name in names),
        [
            "**mean over corruptions and severities**",
            *(f"**{pct(corruption[m].metrics.mean_corruption_accuracy)}**" for m in MODELS),
        ],
        ["mean relative to clean", *(relative(m) for m in MODELS)],
    ]
    severity_rows = [
        [
            f"severity {sev}",
            *(pct(sum(s.accuracy[i] for s in corruption[m].info.corruptions) / len(names)) for m in MODELS),
        ]
        for i, sev in enumerate(first.severities)
    ]
    blocks: list[Block] = [
        Heading(2, "10. Beyond accuracy"),
        *prov.alerts(),
        Heading(3, "Is the confidence honest?"),
        Para(
            "Expected calibration error (torchmetrics' `MulticlassCalibrationError`, 15 "
            "bins, L1) on the test split, the model run as `evaluate` runs it, before and after dividing the logits "
            "by one temperature fitted on the validation split the train stage held out (Guo et al. 2017). "
            "A temperature above 1 means the model was overconfident, below 1 underconfident."
        ),
        Table(["", *titles], calibration_rows),
        FigureRow(
            [
                figure_block(inputs, f"{m}_reliability", page_dir, f"{MODEL_TITLES[m]}: reliability before and after")
                for m in MODELS
            ]
        ),
        Heading(3, "Does it survive ordinary corruption?"),
        Para(
            f"Test accuracy on a CIFAR-10-C-style copy of the first "
            f"{first.images:,} test images (Hendrycks & Dietterich 2019; their CIFAR constants, made in code): "
            f"{len(names)} corruptions{f' (all but {join_and(first.left_out)})' if first.left_out else ''}, "
            f"each the mean over severities "
            f"{_compact(first.severities)}; the worst corruption per model in bold."
        ),
        Table(["corruption", *titles], corruption_rows),
        Table(["mean over corruptions", *titles], severity_rows),
    ]
    return blocks, prov


def build_page(inputs: Inputs, page_dir: Path) -> list[Block]:
    """All blocks of the page; raises PipelineError on the first missing or malformed input."""
    models = {name: load_stage(inputs, name, EvalMetrics, EvalInfo) for name in MODELS}
    for name, m in models.items():
        if m.info.model != name:
            raise PipelineError(f"{m.info_path}: holds the metrics of {m.info.model!r}, not {name!r}")
    training: dict[str, Training] = {}
    for name in MODELS:
        summary, info = inputs.training_metrics(name), inputs.training_info(name)
        training[name] = Stage(load_record(TrainingSummary, summary), load_record(TrainingInfo, info), summary, info)
    sections = [
        data_section(inputs, models),
        cifar_section(inputs, models, training, page_dir),
        predict_section(inputs, load_stage(inputs, "predict", PredictMetrics, PredictInfo), page_dir),
        filters_section(inputs, load_record(FiltersInfo, inputs.info("filters")), page_dir),
        channels_section(inputs, load_stage(inputs, "maximize_channels", ChannelsMetrics, ChannelsInfo), page_dir),
        class_section(inputs, load_stage(inputs, "alexnet_maximize_class", ClassMetrics, ClassInfo), page_dir),
        attack_section(inputs, load_stage(inputs, "alexnet_attack", AttackMetrics, AttackInfo), page_dir),
        cifar_analyses_section(inputs, page_dir),
        visualize_section(inputs, page_dir),
        beyond_accuracy_section(inputs, {name: m.info for name, m in models.items()}, page_dir),
        attribution_section(inputs, page_dir),
    ]
    overall = Provenance()
    for _, prov in sections:
        overall.merge(prov)
    top: list[Block] = [Heading(1, "Results: CIFAR-10 classifiers and AlexNet interpretability")]
    if kinds := overall.kinds():
        top.append(
            Alert(
                f"**Not comparable with the seed report: these results come from "
                f"{join_and([label.lower() for label, _ in kinds])}.** Each section below says what this "
                "affects."
            )
        )
        top.append(Bullets([f"**{label}:** {' '.join(items)}" for label, items in kinds]))
    else:
        top.append(
            Para(
                "Full settings: pretrained AlexNet, the full CIFAR-10 and the seed's training length (the fast "
                "model: its own recipe's), so every number below compares with the seed report's beside it."
            )
        )
    top.append(
        Para(
            "Generated by the `report` stage from the metrics in `metrics/`; the seed report's numbers "
            "are marked “(seed)”, and “—” means the seed gives none."
        )
    )
    return top + [block for blocks, _ in sections for block in blocks]


def write_report(inputs: Inputs, markdown_path: Path, html_path: Path) -> list[Block]:
    """Build the page, then write both files (each atomically); nothing is written if building fails."""
    if markdown_path.resolve().parent != html_path.resolve().parent:
        # figure links are relative to one folder
        raise PipelineError(f"{markdown_path} and {html_path} must be in the same folder")
    blocks = build_page(inputs, markdown_path.parent)
    title = next(b.text for b in blocks if isinstance(b, Heading))
    markdown, page = to_markdown(blocks), to_html(blocks, title)
    write_text(markdown_path, markdown)
    write_text(html_path, page)
    return blocks

"""The one-page report: ``reports/README.md`` and ``reports/index.html`` from the pipeline's outputs.

The page is built from the metrics files, the two markdown tables the AlexNet stages write, and the
figures (referenced by relative path, never copied or embedded). Every number on it was measured by
the pipeline or is the seed report's own, labelled as such. What the results come from (random
AlexNet weights, the CIFAR-10 sample, smoke settings) is read from the metrics files and stated at
the top and in every section it affects.

Only the files listed by :func:`input_paths` are read: the ``report`` stage in ``dvc.yaml`` lists the
same files as deps, so DVC reruns it exactly when one of them changes. A missing or malformed input
is one :class:`PipelineError` line; nothing is written until the whole page has been built.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from visionlab.errors import PipelineError
from visionlab.io import read_text, write_text
from visionlab.seed_report import SEED_ALEXNET, SEED_CIFAR, SEED_DATA

MODELS = ("cnn", "resnet")  # the seed's models: always on the page
ALL_MODELS = (*MODELS, "fast")  # fast joins with `--models cnn resnet fast` (it has no seed figures)
MODEL_TITLES = {"cnn": "CNN", "resnet": "ResNet", "fast": "fast"}
INTERPRET = ("predict", "filters", "maximize_channels", "maximize_class", "attack")
FIGURES = {
    **{f"{m}_{kind}": f"{m}/{kind}.png" for m in ALL_MODELS for kind in ("curves", "confusion", "misclassified")},
    "predict": "predict.png",
    "filters": "alexnet_conv1_filters.png",
    "maximize_channels": "maximize_channels/panel.png",
    "maximize_class": "maximize_class.png",
    "attack": "attack.png",
}
SEED_EPOCHS = int(SEED_CIFAR["resnet"]["epochs"])  # the seed's log stops at 100 (it lists 128)
SEED_RESNET_WIDTH = 64  # "channels double per layer from 64 to 512"
SEED_CNN_KERNELS = [7, 5, 3, 2]
FULL_SWEEP_SHIPS = 100  # a full run's attack.max_images; fewer is a smoke setting
NOT_REPORTED = "—"


# --- inputs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inputs:
    """Where the report's inputs live: ``reports`` (metrics, tables, figures) and ``data/stats.json``."""

    reports: Path
    stats: Path
    models: tuple[str, ...] = MODELS  # the CIFAR models shown: the seed's, and fast where asked for

    def metrics(self, name: str) -> Path:
        return self.reports / "metrics" / f"{name}.json"

    @property
    def predictions_md(self) -> Path:
        return self.reports / "predict" / "predictions.md"

    @property
    def filters_md(self) -> Path:
        return self.reports / "filters" / "summary.md"

    def figure(self, key: str) -> Path:
        return self.reports / "figures" / FIGURES[key]


def input_paths(inputs: Inputs) -> list[Path]:
    """Every file the report reads or links, in the order of ``dvc.yaml``'s deps."""
    return [
        inputs.stats,
        *(inputs.metrics(name) for name in (*inputs.models, *INTERPRET)),
        inputs.predictions_md,
        inputs.filters_md,
        *(inputs.figure(key) for key in FIGURES if key.rsplit("_", 1)[0] not in set(ALL_MODELS) - set(inputs.models)),
    ]


def load_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``, or one PipelineError line saying what is wrong with it."""
    try:
        data = json.loads(read_text(path, _missing(path)))
    except json.JSONDecodeError as err:
        raise PipelineError(f"{path}: not valid JSON (line {err.lineno}: {err.msg})") from None
    if not isinstance(data, dict):
        raise PipelineError(f"{path}: must hold a JSON object, got {type(data).__name__}")
    return data


def load_markdown(path: Path) -> str:
    return read_text(path, _missing(path))


def _missing(path: Path) -> str:
    return f"{path}: not found (run `dvc repro` to produce it)"


class Metrics:
    """One metrics file with typed, path-naming accessors: a wrong field is one clear error line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data = load_json(path)

    def _raw(self, key: str) -> Any:
        value: Any = self.data
        for part in key.split("."):
            if not isinstance(value, dict) or part not in value:
                raise PipelineError(f"{self.path}: missing {key}")
            value = value[part]
        return value

    def has(self, key: str) -> bool:
        try:
            self._raw(key)
        except PipelineError:
            return False
        return True

    def _typed(self, key: str, ok: Callable[[Any], bool], what: str) -> Any:
        value = self._raw(key)
        if not ok(value):
            raise PipelineError(f"{self.path}: {key} must be {what}, got {json.dumps(value)[:60]}")
        return value

    def number(self, key: str) -> float:
        finite = lambda v: _is_number(v) and math.isfinite(v)  # noqa: E731 - NaN would print as a result
        return float(self._typed(key, finite, "a finite number"))

    def fraction(self, key: str) -> float:
        return float(self._typed(key, lambda v: _is_number(v) and 0 <= v <= 1, "a number in [0, 1]"))

    def integer(self, key: str) -> int:
        return int(self._typed(key, lambda v: _is_number(v) and float(v).is_integer() and v >= 0,
                               "a non-negative integer"))

    def text(self, key: str) -> str:
        return str(self._typed(key, lambda v: isinstance(v, str) and v != "", "a non-empty string"))

    def flag(self, key: str) -> bool:
        return bool(self._typed(key, lambda v: isinstance(v, bool), "true or false"))

    def mapping(self, key: str) -> dict[str, Any]:
        return dict(self._typed(key, lambda v: isinstance(v, dict) and v, "a non-empty object"))

    def optional_number(self, key: str) -> float | None:
        """A number that the stage writes as null when it does not apply (e.g. no success to count)."""
        return None if self._raw(key) is None else self.number(key)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def require_file(path: Path) -> Path:
    if not path.is_file():
        raise PipelineError(f"{path}: not found (run `dvc repro` to produce it)")
    return path


# --- formatting --------------------------------------------------------------------------------


def pct(value: float, decimals: int = 1) -> str:
    return f"{100 * value:.{decimals}f} %"


def prob(value: float) -> str:
    """Probabilities: three decimals, or scientific where three decimals would print 0.000."""
    return f"{value:.3f}" if value >= 0.001 or value == 0 else f"{value:.1e}"


def seed_value(value: float | int) -> str:
    """A seed number as the seed report writes it (shortest form: 104, 62.038, 1.0)."""
    return str(value)


def seed_cell(text: str) -> str:
    return f"{text} (seed)" if text != NOT_REPORTED else text


# --- the page as blocks, rendered twice ----------------------------------------------------------


@dataclass
class Heading:
    level: int
    text: str


@dataclass
class Para:
    text: str  # inline markdown: **bold**, `code`


@dataclass
class Warning:
    text: str


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]


@dataclass
class Figure:
    path: str  # relative to the page
    caption: str


@dataclass
class FigureRow:
    figures: list[Figure]  # side by side in HTML, one after another in markdown


Block = Heading | Para | Warning | Bullets | Table | Figure | FigureRow


@dataclass
class Provenance:
    """Why results are not comparable with the seed's, by kind; each entry is one plain sentence."""

    random_weights: list[str] = field(default_factory=list)
    sample: list[str] = field(default_factory=list)
    smoke: list[str] = field(default_factory=list)

    def merge(self, other: Provenance) -> None:
        for mine, theirs in ((self.random_weights, other.random_weights), (self.sample, other.sample),
                             (self.smoke, other.smoke)):
            mine.extend(item for item in theirs if item not in mine)

    def warnings(self) -> list[Block]:
        """The per-section warnings, one block per kind."""
        blocks: list[Block] = []
        if self.random_weights:
            blocks.append(Warning("**Random weights:** " + " ".join(self.random_weights)))
        if self.sample:
            blocks.append(Warning("**Sample data:** " + " ".join(self.sample)))
        if self.smoke:
            blocks.append(Warning("**Smoke settings:** " + " ".join(self.smoke)))
        return blocks


RANDOM_ALEXNET = ("AlexNet has random weights (`alexnet.weights=none`), not the ImageNet ones: "
                  "its predictions, filters and maximised images are meaningless.")


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _sentence_list(items: Sequence[str]) -> str:
    return "; ".join(items) + "."


# --- sections ----------------------------------------------------------------------------------


def _model_provenance(models: dict[str, Metrics]) -> Provenance:
    """Sample and smoke statements for the CIFAR models; models in the same situation share one sentence."""
    sample: dict[str, list[str]] = {}
    smoke: dict[str, list[str]] = {}
    for name, m in models.items():
        title = MODEL_TITLES[name]
        if m.flag("data.subset"):
            what = (f"trained on the CIFAR-10 sample ({m.integer('data.train_images'):,} training and "
                    f"{m.integer('data.test_images'):,} test images), not the full data set.")
            sample.setdefault(what, []).append(title)
        problems = []
        epochs = m.integer("epochs")
        if name in MODELS and epochs < SEED_EPOCHS:  # fast's short schedule is its point
            problems.append(f"{epochs} epoch{'s' if epochs != 1 else ''} (the seed: {SEED_EPOCHS})")
        if m.has("config.width") and m.integer("config.width") < SEED_RESNET_WIDTH:
            problems.append(f"width {m.integer('config.width')} (the seed: {SEED_RESNET_WIDTH})")
        if problems:
            smoke.setdefault(f"trained with {_sentence_list(problems)}", []).append(title)
    p = Provenance()
    for statements, out in ((sample, p.sample), (smoke, p.smoke)):
        for what, titles in statements.items():
            out.append(f"{' and '.join(titles)} {'were' if len(titles) > 1 else 'was'} {what}")
    return p


def _trained_provenance(m: Metrics, title: str) -> Provenance:
    """For maximize_class/attack on a CIFAR model: what that model was trained on, from its summary."""
    p = Provenance()
    if m.has("trained_model.subset") and m.flag("trained_model.subset"):
        p.sample.append(f"The probed {title} was trained on the CIFAR-10 sample.")
    if m.has("trained_model.epochs") and m.integer("trained_model.epochs") < SEED_EPOCHS:
        p.smoke.append(f"The probed {title} trained {m.integer('trained_model.epochs')} epochs "
                       f"(the seed: {SEED_EPOCHS}).")
    return p


def _alexnet_provenance(m: Metrics) -> Provenance:
    p = Provenance()
    if m.text("model") == "alexnet" and m.flag("random_weights"):
        p.random_weights.append(RANDOM_ALEXNET)
    elif m.text("model") in MODELS:
        p.merge(_trained_provenance(m, MODEL_TITLES[m.text("model")]))
    return p


def _figure(inputs: Inputs, key: str, page_dir: Path, caption: str) -> Figure:
    path = require_file(inputs.figure(key))
    return Figure(Path(os.path.relpath(path, page_dir)).as_posix(), caption)


def data_section(inputs: Inputs, models: dict[str, Metrics]) -> tuple[list[Block], Provenance]:
    stats = Metrics(inputs.stats)
    mean, std = _channels(stats, "mean"), _channels(stats, "std")
    cnn = models["cnn"]
    counts = {split: cnn.integer(f"data.{split}_images") for split in ("train", "val", "test")}
    for other in models.values():  # both models must have seen the same split
        theirs = {split: other.integer(f"data.{split}_images") for split in counts}
        if theirs != counts:
            raise PipelineError(f"{other.path}: data split {theirs} differs from {cnn.path}'s {counts}")
    prov = Provenance()
    if cnn.flag("data.subset"):
        prov.sample.append(f"These are the CIFAR-10 sample's {sum(counts.values()):,} images, not the full "
                           f"{SEED_DATA['images']:,}.")
    blocks: list[Block] = [
        Heading(2, "1. Data"),
        *prov.warnings(),
        Table(
            ["", "this run", "seed report"],
            [
                ["training images", f"{counts['train']:,}", NOT_REPORTED],
                ["validation images", f"{counts['val']:,}", NOT_REPORTED],
                ["test images", f"{counts['test']:,}", NOT_REPORTED],
                ["all images", f"{sum(counts.values()):,}", seed_cell(f"{SEED_DATA['images']:,}")],
            ],
        ),
        Para("Per-channel mean and standard deviation of the training split (pixels in 0..1), used to "
             "normalise every split:"),
        Table(["channel", "mean", "std"],
              [[c, f"{mu:.4f}", f"{sd:.4f}"] for c, mu, sd in zip(("red", "green", "blue"), mean, std, strict=True)]),
    ]
    return blocks, prov


def _channels(stats: Metrics, key: str) -> list[float]:
    values = stats.data.get(key)
    if not isinstance(values, list) or len(values) != 3 or not all(_is_number(v) and math.isfinite(v) for v in values):
        raise PipelineError(f"{stats.path}: {key} must be a list of 3 numbers (red, green, blue)")
    return [float(v) for v in values]


def _seed_cifar(model: str, key: str, fmt: Callable[[float], str]) -> str:
    seed = SEED_CIFAR.get(model, {})
    if key in seed:
        return fmt(seed[key])
    log = seed.get("log", {})
    columns = {"train_loss": 2, "val_loss": 3}  # the seed's final logged epoch
    if key in columns and log:
        return fmt(log[max(log)][columns[key]])
    return NOT_REPORTED


def cifar_section(inputs: Inputs, models: dict[str, Metrics], page_dir: Path) -> tuple[list[Block], Provenance]:
    prov = Provenance()
    prov.merge(_model_provenance(models))
    loss = lambda v: f"{v:.4f}"  # noqa: E731
    rows_spec = [
        ("test accuracy", "test.accuracy", "test_accuracy", pct, "fraction"),
        ("test loss", "test.loss", "test_loss", loss, "number"),
        ("validation accuracy", "val.accuracy", "val_accuracy", pct, "fraction"),
        ("validation loss", "val.loss", "val_loss", loss, "number"),
        ("training accuracy", "train.accuracy", "train_accuracy", pct, "fraction"),
        ("training loss", "train.loss", "train_loss", loss, "number"),
    ]
    names = list(models)
    seeded = {name: name in MODELS for name in names}  # the seed trained cnn and resnet only: no column for fast
    header = ["", *[col for n in names
                    for col in (f"{MODEL_TITLES[n]}", *([f"{MODEL_TITLES[n]} (seed)"] if seeded[n] else []))]]
    rows: list[list[str]] = []
    for label, key, seed_key, fmt, kind in rows_spec:
        row = [label]
        for name in names:
            m = models[name]
            value = m.fraction(key) if kind == "fraction" else m.number(key)
            row += [fmt(value), *([_seed_cifar(name, seed_key, fmt)] if seeded[name] else [])]
        rows.append(row)
    extra = [
        ("epochs", lambda m: str(m.integer("epochs")), "epochs", lambda v: str(int(v))),
        ("training time", lambda m: f"{m.number('timing.train_seconds'):,.0f} s", None, None),
        ("training speed", lambda m: f"{m.number('timing.images_per_second'):,.0f} images/s", None, None),
        ("device", lambda m: f"`{m.text('device')}`", None, None),
    ]
    for label, get, seed_key, seed_fmt in extra:
        row = [label]
        for name in names:
            seed = SEED_CIFAR.get(name, {})
            seed_cell = seed_fmt(seed[seed_key]) if seed_key and seed_key in seed else NOT_REPORTED
            row += [get(models[name]), *([seed_cell] if seeded[name] else [])]
        rows.append(row)
    if any(m.has("config") for m in models.values()):  # the architecture, when the metrics record it
        seed_arch = {"cnn": f"kernel_sizes {_compact(SEED_CNN_KERNELS)}", "resnet": f"width {SEED_RESNET_WIDTH}"}
        row = ["architecture"]
        for name in names:
            m = models[name]
            arch = ", ".join(f"{k} {_compact(v)}" for k, v in m.mapping("config").items()) if m.has("config") \
                else NOT_REPORTED
            row += [arch, *([seed_arch[name]] if seeded[name] else [])]
        rows.append(row)
    blocks: list[Block] = [
        Heading(2, f"2. CIFAR-10: {_and([MODEL_TITLES[n] for n in names])}"),
        *prov.warnings(),
        Para("Each number of this run sits beside the seed report's (— where the seed gives none). "
             "Accuracies and losses are on the test split, the held-out validation split, and the training "
             "split as logged in the last epoch."),
        Table(header, rows),
    ]
    if "fast" in models:
        blocks.append(Para("`fast` is this project's own fast model and recipe (params section `fast`); the seed "
                           "has no such model, so its columns have no seed figures."))
    for name in names:
        title = MODEL_TITLES[name]
        seed_log = " (crosses: the seed report's log)" if SEED_CIFAR.get(name, {}).get("log") else ""
        blocks += [
            Heading(3, title),
            _figure(inputs, f"{name}_curves", page_dir,
                    f"{title}: loss and accuracy per epoch, training and validation{seed_log}"),
            FigureRow([
                _figure(inputs, f"{name}_confusion", page_dir, f"{title}: confusion matrix on the test split"),
                _figure(inputs, f"{name}_misclassified", page_dir, f"{title}: misclassified test images"),
            ]),
        ]
    return blocks, prov


def _compact(value: Any) -> str:
    return "-".join(map(str, value)) if isinstance(value, list) else str(value)


def _included(markdown: str) -> list[Block]:
    """A stage's markdown (headings, paragraphs, pipe tables) as blocks, its headings demoted below ours."""
    blocks: list[Block] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if not line:
            i += 1
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            blocks.append(Heading(min(6, level + 2), line[level:].strip()))
            i += 1
        elif line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            body = [r for r in rows[1:] if not all(re.fullmatch(r":?-+:?", c) for c in r)]
            blocks.append(Table(rows[0], body))
        else:
            text = []
            while i < len(lines) and lines[i].strip() and not lines[i].strip().startswith(("#", "|")):
                text.append(lines[i].strip())
                i += 1
            blocks.append(Para(" ".join(text)))
    return blocks


def _cells(line: str) -> list[str]:
    inner = line.strip().removeprefix("|").removesuffix("|")
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", inner)]


def predict_section(inputs: Inputs, m: Metrics, page_dir: Path) -> tuple[list[Block], Provenance]:
    prov = _alexnet_provenance(m)
    seed = SEED_ALEXNET["predict"]
    raw, norm = "without_normalization", "with_normalization"
    images = m.integer("images")
    rows = [
        ["images predicted", str(images), seed_cell(str(seed["images"]))],
        ["top-1 confidence without normalisation (min – max)",
         f"{prob(m.fraction(f'{raw}.min_top1_confidence'))} – {prob(m.fraction(f'{raw}.max_top1_confidence'))}",
         seed_cell(f"mostly {seed_value(seed['raw_confidence_low'])} – {seed_value(seed['raw_confidence_high'])}")],
        ["top-1 confidence with normalisation (min – max)",
         f"{prob(m.fraction(f'{norm}.min_top1_confidence'))} – {prob(m.fraction(f'{norm}.max_top1_confidence'))}",
         NOT_REPORTED],
        ["images above 0.98 confidence without normalisation", f"{m.integer(f'{raw}.above_0_98')} of {images}",
         NOT_REPORTED],
        ["images above 0.98 confidence with normalisation", f"{m.integer(f'{norm}.above_0_98')} of {images}",
         seed_cell(f"{seed['normalised_above_0_98']} of {seed['images']}")],
        ["same top-1 class with and without", pct(m.fraction("top1_agreement"), 0), NOT_REPORTED],
    ]
    blocks: list[Block] = [
        Heading(2, "3. AlexNet: predictions with and without ImageNet normalisation"),
        *prov.warnings(),
        Para("The seed predicted five photos of its own; this run predicts its own images, so only the "
             "summaries compare."),
        Table(["", "this run", "seed report"], rows),
        _figure(inputs, "predict", page_dir, "Top predictions with and without normalisation"),
        *_included(load_markdown(inputs.predictions_md)),
    ]
    return blocks, prov


def filters_section(inputs: Inputs, m: Metrics, page_dir: Path) -> tuple[list[Block], Provenance]:
    prov = _alexnet_provenance(m)
    seed = SEED_ALEXNET["filters"]
    rows = [
        ["conv1 filters", str(m.integer("conv1.out_channels")), seed_cell(str(seed["conv1_filters"]))],
        ["conv2 input channels", str(m.integer("conv2.in_channels")), seed_cell(str(seed["conv2_in_channels"]))],
        ["conv2 output channels", str(m.integer("conv2.out_channels")), seed_cell(str(seed["conv2_out_channels"]))],
        ["conv2 kernel", f"{m.integer('conv2.kernel')}x{m.integer('conv2.kernel')}",
         seed_cell(f"{seed['conv2_kernel']}x{seed['conv2_kernel']}")],
    ]
    blocks: list[Block] = [
        Heading(2, "4. AlexNet: conv1 filters and conv2"),
        *prov.warnings(),
        Table(["", "this run", "seed report"], rows),
        _figure(inputs, "filters", page_dir, "The 64 conv1 filters, each min–max normalised to [0, 1], as RGB"),
        *_included(load_markdown(inputs.filters_md)),
    ]
    return blocks, prov


def channels_section(inputs: Inputs, m: Metrics, page_dir: Path) -> tuple[list[Block], Provenance]:
    prov = _alexnet_provenance(m)
    seed = SEED_ALEXNET["maximize_channels"]
    steps, step_size = m.integer("steps"), m.number("step_size")
    if steps < seed["steps"]:
        prov.smoke.append(f"The conv1 units were maximised for {steps} steps (the seed: {seed['steps']}).")
    comparable = not prov.random_weights and steps == seed["steps"] and step_size == seed["step_size"]
    rows = []
    for channel, _ in sorted(m.mapping("channels").items(), key=lambda kv: _channel_number(m, kv[0])):
        key = f"channels.{channel}"
        seed_act = seed["activations"].get(_channel_number(m, channel))
        rows.append([
            channel,
            f"{m.number(f'{key}.initial_activation'):.2f}",
            f"{m.number(f'{key}.activation'):.2f}",
            f"{m.number(f'{key}.analytic_max'):.2f}",
            pct(m.number(f"{key}.fraction_of_analytic_max"), 2),
            seed_cell(seed_value(seed_act)) if seed_act is not None else NOT_REPORTED,
        ])
    note = ("Same network, settings and starting noise as the seed: the activations compare directly."
            if comparable else
            "The seed's activations are shown for reference; with other weights or settings they do not compare.")
    blocks: list[Block] = [
        Heading(2, "5. AlexNet: maximising one conv1 unit per channel"),
        *prov.warnings(),
        Para(f"Gradient ascent on the pre-ReLU centre unit (row {m.integer('unit.row')}, column "
             f"{m.integer('unit.col')}) of each conv1 channel: {steps} steps of size {step_size:g}, clamping "
             "the image to [0, 1] after each, from the same seeded noise. The analytic maximum is the largest "
             "value the unit can take over [0, 1] images. " + note),
        Table(["channel", "start", "activation", "analytic maximum", "fraction of maximum", "seed report"], rows),
        _figure(inputs, "maximize_channels", page_dir, "Maximised images per channel"),
    ]
    return blocks, prov


def _channel_number(m: Metrics, key: str) -> int:
    if not key.isdigit():
        raise PipelineError(f"{m.path}: channels keys must be channel numbers, got {key!r}")
    return int(key)


def class_section(inputs: Inputs, m: Metrics, page_dir: Path) -> tuple[list[Block], Provenance]:
    prov = _alexnet_provenance(m)
    seed = SEED_ALEXNET["maximize_class"]
    model, index, steps = m.text("model"), m.integer("class_index"), m.integer("steps")
    same_task = model == seed["model"] and index == seed["class_index"]
    if same_task and steps < seed["steps"]:
        prov.smoke.append(f"The class was maximised for {steps} steps (the seed: {seed['steps']}).")
    name = m.text("class_name")
    rows = [
        ["model", f"`{model}`", seed_cell(f"`{seed['model']}`")],
        ["class", f"{index} ({name})", seed_cell(f"{seed['class_index']}") if same_task else NOT_REPORTED],
        ["steps (objective)", f"{steps} ({m.text('objective')})", seed_cell(str(seed["steps"]))],
        ["probability before", prob(m.fraction("initial_probability")), NOT_REPORTED],
        ["probability after", prob(m.fraction("probability")),
         seed_cell(seed_value(seed["probability"])) if same_task else NOT_REPORTED],
    ]
    if m.has("robustness"):
        rows += [
            [f"mean probability over {m.integer('robustness.trials')} random shifts/rescales",
             prob(m.fraction("robustness.mean_probability")), NOT_REPORTED],
            ["still top-1 after a shift/rescale", pct(m.fraction("robustness.top1_kept_fraction"), 0), NOT_REPORTED],
        ]
    blocks: list[Block] = [
        Heading(2, f"6. Maximising a class: {index} ({name})"),
        *prov.warnings(),
    ]
    if not same_task:
        blocks.append(Para(f"The seed maximised class {seed['class_index']} of `{seed['model']}`; this run probes "
                           "another model or class, so its figure does not compare."))
    blocks += [
        Table(["", "this run", "seed report"], rows),
        _figure(inputs, "maximize_class", page_dir, f"Noise → an image that maximises class {index} ({name})"),
    ]
    return blocks, prov


def attack_section(inputs: Inputs, m: Metrics, page_dir: Path) -> tuple[list[Block], Provenance]:
    prov = _alexnet_provenance(m)
    seed = SEED_ALEXNET["attack"]
    model, target = m.text("model"), m.integer("target_class")
    same_task = model == seed["model"] and target == seed["target_class"]
    steps, ships = m.integer("unbounded.steps"), m.integer("bounded.images")
    if same_task and steps < seed["steps"]:
        prov.smoke.append(f"The attack ran {steps} steps (the seed: {seed['steps']}).")
    if ships < FULL_SWEEP_SHIPS:
        prov.smoke.append(f"The bounded attack swept {ships} ships (a full run: {FULL_SWEEP_SHIPS}).")
    target_name = m.text("target_name")
    after_top1 = m.integer("unbounded.after.top1_index")
    succeeded = after_top1 == target
    seed_if = lambda text: seed_cell(text) if same_task else NOT_REPORTED  # noqa: E731
    median = m.optional_number("bounded.median_steps_to_success")
    rows = [
        ["model, target", f"`{model}`, {target} ({target_name})",
         seed_cell(f"`{seed['model']}`, {seed['target_class']}")],
        [f"one ship (test image {m.integer('ship_test_index')}), unbounded: p(target) before → after",
         f"{prob(m.fraction('unbounded.before.target_probability'))} → "
         f"{prob(m.fraction('unbounded.after.target_probability'))}",
         seed_if(f"→ {seed_value(seed['target_probability'])}")],
        ["one ship, unbounded: top-1 after", f"{m.text('unbounded.after.top1_name')} "
         f"({'target reached' if succeeded else 'target not reached'})", seed_if("the target")],
        ["one ship, unbounded: largest pixel change", f"{m.number('unbounded.linf_255'):.3g}/255", NOT_REPORTED],
        [f"targeted success rate, ε = {255 * m.number('bounded.epsilon'):.0f}/255",
         f"{m.fraction('bounded.targeted_success_rate'):.3f} ({m.integer('bounded.successes')} of {ships} ships)",
         seed_if(f"{seed_value(seed['success_rate'])} ({seed['ships']} of {seed['ships']} ship, unbounded)")],
        ["success rate after rounding to 8-bit pixels",
         f"{m.fraction('bounded.success_rate_after_uint8_rounding'):.3f}", NOT_REPORTED],
        ["median steps to success", "no success" if median is None else f"{median:g}", NOT_REPORTED],
    ]
    blocks: list[Block] = [
        Heading(2, f"7. An adversarial ship: target {target} ({target_name})"),
        *prov.warnings(),
        Para(f"The seed's attack: {steps} steps of unbounded gradient ascent on p(target) from one CIFAR-10 ship "
             f"(upscaled to {m.integer('input_size')}); then a bounded one (signed gradient, each pixel within ε) "
             "over many ships."),
        Table(["", "this run", "seed report"], rows),
        _figure(inputs, "attack", page_dir, "Original, adversarial and difference: unbounded and bounded attacks"),
    ]
    return blocks, prov


# --- the page ----------------------------------------------------------------------------------


def build_page(inputs: Inputs, page_dir: Path) -> list[Block]:
    """All blocks of the page; raises PipelineError on the first missing or malformed input."""
    models = {name: Metrics(inputs.metrics(name)) for name in inputs.models}
    for name, m in models.items():
        if m.text("model") != name:
            raise PipelineError(f"{m.path}: holds the metrics of {m.text('model')!r}, not {name!r}")
    sections = [
        data_section(inputs, models),
        cifar_section(inputs, models, page_dir),
        predict_section(inputs, Metrics(inputs.metrics("predict")), page_dir),
        filters_section(inputs, Metrics(inputs.metrics("filters")), page_dir),
        channels_section(inputs, Metrics(inputs.metrics("maximize_channels")), page_dir),
        class_section(inputs, Metrics(inputs.metrics("maximize_class")), page_dir),
        attack_section(inputs, Metrics(inputs.metrics("attack")), page_dir),
    ]
    overall = Provenance()
    for _, prov in sections:
        overall.merge(prov)
    top: list[Block] = [Heading(1, "Results: CIFAR-10 classifiers and AlexNet interpretability")]
    kinds = [("Random weights", overall.random_weights), ("Sample data", overall.sample),
             ("Smoke settings", overall.smoke)]
    found = [label for label, items in kinds if items]
    if found:
        top.append(Warning(f"**Not comparable with the seed report: these results come from "
                           f"{_and([label.lower() for label in found])}.** Each section below says what this affects."))
        top.append(Bullets([f"**{label}:** {' '.join(items)}" for label, items in kinds if items]))
    else:
        top.append(Para("Full settings: pretrained AlexNet, the full CIFAR-10 and the seed's training length, so "
                        "every number below compares with the seed report's beside it."))
    top.append(Para("Generated by the `report` stage from the metrics in `metrics/`; the seed report's numbers "
                    "are marked “(seed)”, and “—” means the seed gives none."))
    return top + [block for blocks, _ in sections for block in blocks]


# --- rendering ---------------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def _md_alt(text: str) -> str:
    return text.replace("[", "\\[").replace("]", "\\]")  # brackets would end the image's alt text


def to_markdown(blocks: Sequence[Block]) -> str:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Para):
            out.append(block.text)
        elif isinstance(block, Warning):
            out.append(f"> ⚠️ {block.text}")
        elif isinstance(block, Bullets):
            out.append("\n".join(f"- {item}" for item in block.items))
        elif isinstance(block, Table):
            lines = ["| " + " | ".join(map(_md_cell, block.header)) + " |",
                     "|" + "---|" * len(block.header)]
            lines += ["| " + " | ".join(map(_md_cell, row)) + " |" for row in block.rows]
            out.append("\n".join(lines))
        elif isinstance(block, Figure | FigureRow):
            figures = block.figures if isinstance(block, FigureRow) else [block]
            out.append("\n\n".join(f"![{_md_alt(f.caption)}]({f.path})\n\n*{f.caption}*" for f in figures))
    return "\n\n".join(out) + "\n"


def _inline(text: str) -> str:
    """Escape, then the two inline markups the page uses: **bold** and `code`."""
    escaped = html.escape(text, quote=False)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)


STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
.warning { background: #fdecea; border-left: 6px solid #c00000; padding: 0.6em 1em; margin: 1em 0; }
figure { margin: 1em 0; } figure img { max-width: 100%; max-height: 640px; border: 1px solid #ddd; }
.row { display: flex; gap: 1em; align-items: flex-start; } .row figure { flex: 1; min-width: 0; }
figcaption { font-size: 0.9em; color: #555; }
code { background: #f4f4f4; padding: 0 0.2em; }
"""


def _html_figure(figure: Figure) -> str:
    src = html.escape(figure.path, quote=True)
    return (f'<figure><a href="{src}"><img src="{src}" alt="{html.escape(figure.caption, quote=True)}"></a>'
            f"<figcaption>{_inline(figure.caption)}</figcaption></figure>")


def to_html(blocks: Sequence[Block], title: str) -> str:
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           f"<title>{html.escape(title)}</title>", f"<style>{STYLE}</style>", "</head>", "<body>"]
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"<h{block.level}>{_inline(block.text)}</h{block.level}>")
        elif isinstance(block, Para):
            out.append(f"<p>{_inline(block.text)}</p>")
        elif isinstance(block, Warning):
            out.append(f'<div class="warning">⚠️ {_inline(block.text)}</div>')
        elif isinstance(block, Bullets):
            out.append("<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in block.items) + "</ul>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{_inline(c)}</th>" for c in block.header)
            body = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in block.rows)
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif isinstance(block, Figure):
            out.append(_html_figure(block))
        elif isinstance(block, FigureRow):
            out.append('<div class="row">' + "".join(map(_html_figure, block.figures)) + "</div>")
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


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

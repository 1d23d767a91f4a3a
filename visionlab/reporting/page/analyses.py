"""Sections 3 to 8: the AlexNet analyses beside the seed's numbers, then two of them on our CIFAR models."""

from __future__ import annotations

import re
from pathlib import Path

from visionlab.errors import PipelineError
from visionlab.metrics.attack import AttackInfo, AttackMetrics
from visionlab.metrics.channels import ChannelsInfo, ChannelsMetrics
from visionlab.metrics.classes import ClassInfo, ClassMetrics
from visionlab.metrics.filters import FiltersInfo
from visionlab.metrics.predict import PredictInfo, PredictMetrics
from visionlab.reporting.page.blocks import (
    NOT_REPORTED,
    Block,
    Heading,
    Para,
    Table,
    pct,
    prob,
    seed_cell,
    seed_value,
)
from visionlab.reporting.page.inputs import (
    MODEL_TITLES,
    MODELS,
    Inputs,
    Stage,
    figure_block,
    load_markdown,
    load_stage,
)
from visionlab.reporting.page.provenance import Provenance, probed_provenance
from visionlab.seed_report import SEED_ALEXNET

FULL_SWEEP_SHIPS = 100  # a full run's attack.max_images; fewer is a smoke setting


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
    if m.robustness is not None:
        if info.robustness is None:
            raise PipelineError(f"{stage.info_path}: missing robustness")
        rows += [
            [
                f"mean probability over {info.robustness.trials} random shifts/rescales",
                prob(m.robustness.mean_probability),
                NOT_REPORTED,
            ],
            ["still top-1 after a shift/rescale", pct(m.robustness.top1_kept_fraction, 0), NOT_REPORTED],
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
        ["success rate after rounding to 8-bit pixels", f"{m.bounded.success_rate_uint8:.3f}", NOT_REPORTED],
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

"""Sections 3-7: the AlexNet analyses beside the seed's numbers (class maximisation and the attack also serve
section 8, on our CIFAR models)."""

import re
from itertools import groupby
from pathlib import Path

from visionlab.attack.params import AttackParams
from visionlab.attack.record import AttackInfo, AttackMetrics
from visionlab.channels.record import ChannelsInfo, ChannelsMetrics
from visionlab.classmax.record import ClassInfo, ClassMetrics
from visionlab.core.errors import PipelineError
from visionlab.core.seed_report import SEED_ALEXNET
from visionlab.filters.record import FiltersInfo
from visionlab.predict.predict import MODES
from visionlab.predict.record import PredictInfo, PredictMetrics
from visionlab.report.blocks import Block, Heading, Para, Table, pct, prob, seed_cell, seed_table
from visionlab.report.inputs import Inputs, Stage, figure_block, load_markdown
from visionlab.report.provenance import Provenance, probed_provenance, section

FULL_SWEEP_SHIPS = AttackParams().max_images  # fewer is a smoke setting


def included(markdown: str) -> list[Block]:
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
    m, info, seed = stage.metrics, stage.info, SEED_ALEXNET["predict"]
    if not (images := len(info.images)):
        raise PipelineError(f"{stage.info_path}: images must be a non-empty list")
    raw, norm = ([getattr(p, mode).confidence for p in info.images] for mode in MODES)
    seed_raw = "mostly {raw_confidence_low} – {raw_confidence_high}".format(**seed)
    seed_above = "{normalised_above_0_98} of {images}".format(**seed)
    spread = "top-1 confidence with{} normalisation (min – max)"
    above = "images above 0.98 confidence with{} normalisation"
    rows = [
        ("images predicted", images, seed["images"]),
        (spread.format("out"), f"{prob(min(raw))} – {prob(max(raw))}", seed_raw),
        (spread.format(""), f"{prob(min(norm))} – {prob(max(norm))}", None),
        (above.format("out"), f"{m.without_normalization.above_0_98} of {images}", None),
        (above.format(""), f"{m.with_normalization.above_0_98} of {images}", seed_above),
        ("same top-1 class with and without", pct(m.top1_agreement, 0), None),
    ]
    return section(
        Heading(2, "3. AlexNet: predictions with and without ImageNet normalisation"),
        probed_provenance(info.model),
        Para(
            "The seed predicted five photos of its own; this run predicts its own images, so only the "
            "summaries compare."
        ),
        seed_table(rows),
        figure_block(inputs, "predict", page_dir, "Top predictions with and without normalisation"),
        *included(load_markdown(inputs.predictions_md)),
    )


def filters_section(inputs: Inputs, info: FiltersInfo, page_dir: Path) -> tuple[list[Block], Provenance]:
    seed, conv2 = SEED_ALEXNET["filters"], info.conv2
    rows = [
        ("conv1 filters", info.conv1.out_channels, seed["conv1_filters"]),
        ("conv2 input channels", conv2.in_channels, seed["conv2_in_channels"]),
        ("conv2 output channels", conv2.out_channels, seed["conv2_out_channels"]),
        ("conv2 kernel", f"{conv2.kernel}x{conv2.kernel}", "{conv2_kernel}x{conv2_kernel}".format(**seed)),
    ]
    return section(
        Heading(2, "4. AlexNet: conv1 filters and conv2"),
        probed_provenance(info.model),
        seed_table(rows),
        figure_block(inputs, "filters", page_dir, "The 64 conv1 filters, each min–max normalised to [0, 1], as RGB"),
        *included(load_markdown(inputs.filters_md)),
    )


def channels_section(
    inputs: Inputs, stage: Stage[ChannelsMetrics, ChannelsInfo], page_dir: Path
) -> tuple[list[Block], Provenance]:
    m, info, seed = stage.metrics, stage.info, SEED_ALEXNET["maximize_channels"]
    prov, steps, step_size = probed_provenance(info.model), info.steps, info.step_size
    prov.short("maximize", "alexnet", ("{} steps per conv1 unit", steps, seed["steps"]))
    comparable = "random" not in prov.cells and steps == seed["steps"] and step_size == seed["step_size"]
    if bad := [key for key in m.channels if not key.isdigit()]:
        raise PipelineError(f"{stage.metrics_path}: channels keys must be channel numbers, got {bad[0]!r}")
    rows = []
    for channel in sorted(m.channels, key=int):
        if channel not in info.channels:
            raise PipelineError(f"{stage.info_path}: missing channels.{channel}")
        act, detail = m.channels[channel].activation, info.channels[channel]
        start, top, seed_act = detail.initial_activation, detail.analytic_max, seed["activations"].get(int(channel))
        rows.append([channel, f"{start:.2f}", f"{act:.2f}", f"{top:.2f}", pct(act / top, 2), seed_cell(seed_act)])
    note = (
        "Same network, settings and starting noise as the seed: the activations compare directly."
        if comparable
        else "The seed's activations are shown for reference; with other weights or settings they do not compare."
    )
    return section(
        Heading(2, "5. AlexNet: maximising one conv1 unit per channel"),
        prov,
        Para(
            f"Gradient ascent on the pre-ReLU centre unit (row {info.unit.row}, column "
            f"{info.unit.col}) of each conv1 channel: {steps} steps of size {step_size:g}, clamping "
            "the image to [0, 1] after each, from the same seeded noise. The analytic maximum is the largest "
            "value the unit can take over [0, 1] images. " + note
        ),
        Table(["channel", "start", "activation", "analytic maximum", "fraction of maximum", "seed report"], rows),
        figure_block(inputs, "maximize_channels", page_dir, "Maximised images per channel"),
    )


def class_section(
    inputs: Inputs, stage: Stage[ClassMetrics, ClassInfo], page_dir: Path, heading: tuple[int, str] = (2, "6.")
) -> tuple[list[Block], Provenance]:
    m, info, seed = stage.metrics, stage.info, SEED_ALEXNET["maximize_class"]
    prov = probed_provenance(info.model)
    model, index, steps, name = info.model.name, info.class_index, info.steps, info.class_name
    same_task = model == seed["model"] and index == seed["class_index"]
    if same_task:
        prov.short("maximize", model, ("{} steps on the class", steps, seed["steps"]))
    rows = [
        ("model", f"`{model}`", f"`{seed['model']}`"),
        ("class", f"{index} ({name})", seed["class_index"] if same_task else None),
        ("steps (objective)", f"{steps} ({info.objective})", seed["steps"]),
        ("probability before", prob(info.initial_probability), None),
        ("probability after", prob(m.probability), seed["probability"] if same_task else None),
    ]
    if (robust := info.robustness) is not None:
        rows += [
            (f"mean probability over {robust.trials} random shifts/rescales", prob(robust.mean_probability), None),
            ("still top-1 after a shift/rescale", pct(robust.top1_kept_fraction, 0), None),
        ]
    other = (
        f"The seed maximised class {seed['class_index']} of `{seed['model']}`; this probes another model or class, "
        "so its figure does not compare."
    )
    return section(
        Heading(heading[0], f"{heading[1]} Maximising a class: {index} ({name})"),
        prov,
        *([] if same_task else [Para(other)]),
        seed_table(rows),
        figure_block(
            inputs, f"{model}_maximize_class", page_dir, f"Noise → an image that maximises class {index} ({name})"
        ),
    )


def attack_section(
    inputs: Inputs, stage: Stage[AttackMetrics, AttackInfo], page_dir: Path, heading: tuple[int, str] = (2, "7.")
) -> tuple[list[Block], Provenance]:
    m, info, seed = stage.metrics, stage.info, SEED_ALEXNET["attack"]
    prov, unbounded, bounded = probed_provenance(info.model), info.unbounded, info.bounded
    model, target, target_name = info.model.name, info.target_class, info.target_name
    same_task = model == seed["model"] and target == seed["target_class"]
    if same_task:
        prov.short("attack", model, ("{} steps", unbounded.steps, seed["steps"]))
    prov.short("attack", model, ("{} ships", bounded.images, FULL_SWEEP_SHIPS))
    success = "{success_rate} ({ships} of {ships} ship, unbounded)".format(**seed)
    theirs = (f"→ {seed['target_probability']}", "the target", success) if same_task else (None, None, None)
    reached = "target reached" if unbounded.after.top1_index == target else "target not reached"
    median = "no success" if bounded.median_steps_to_success is None else f"{bounded.median_steps_to_success:g}"
    rows = [
        ("model, target", f"`{model}`, {target} ({target_name})", f"`{seed['model']}`, {seed['target_class']}"),
        (
            f"one ship (test image {info.ship_test_index}), unbounded: p(target) before → after",
            f"{prob(unbounded.target_probability_before)} → {prob(m.unbounded.target_probability)}",
            theirs[0],
        ),
        ("one ship, unbounded: top-1 after", f"{unbounded.after.top1_name} ({reached})", theirs[1]),
        ("one ship, unbounded: largest pixel change", f"{unbounded.linf_255:.3g}/255", None),
        (
            f"targeted success rate, ε = {255 * bounded.epsilon:.0f}/255",
            f"{m.bounded.success_rate:.3f} ({bounded.successes} of {bounded.images} ships)",
            theirs[2],
        ),
        ("success rate after rounding to 8-bit pixels", f"{bounded.success_rate_uint8:.3f}", None),
        ("median steps to success", median, None),
    ]
    caption = "Original, adversarial and difference: unbounded and bounded attacks"
    return section(
        Heading(heading[0], f"{heading[1]} An adversarial ship: target {target} ({target_name})"),
        prov,
        Para(
            f"The seed's attack: {unbounded.steps} steps of unbounded gradient ascent on p(target) from one CIFAR-10 "
            f"ship (upscaled to {info.input_size}); then a bounded one (signed gradient, each pixel within ε) "
            "over many ships."
        ),
        seed_table(rows),
        figure_block(inputs, f"{model}_attack", page_dir, caption),
    )

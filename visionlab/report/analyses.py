"""Sections 8-9: the AlexNet analyses repeated on our CIFAR models, and feature visualisation on all four."""

from collections import Counter
from pathlib import Path

from visionlab.attack.record import AttackInfo, AttackMetrics
from visionlab.classmax.record import ClassInfo, ClassMetrics
from visionlab.core.errors import PipelineError
from visionlab.core.record import load_record
from visionlab.models.registry import MODELS, PROBED
from visionlab.report.alexnet import attack_section, class_section
from visionlab.report.blocks import Block, Heading, Para, Table, pct
from visionlab.report.inputs import MODEL_TITLES, Inputs, check_model, figure_block, load_stage
from visionlab.report.provenance import Provenance, probed_provenance
from visionlab.visualize.params import VisualizeParams
from visionlab.visualize.record import RUNG_TITLES, RUNGS, ObjectiveScores, RungScores, VisualizeInfo


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
            check_model(stage.info_path, stage.info.model.name, name, "analysis")
        for part, part_prov in (
            class_section(inputs, classes, page_dir, (4, "·")),
            attack_section(inputs, attack, page_dir, (4, "·")),
        ):
            blocks += part
            prov.merge(part_prov)
    return blocks, prov


FULL_VISUALIZE = VisualizeParams()  # the full settings: fewer steps or a smaller batch is a smoke setting
SHORT = (  # the settings below a full run's that the page names: (field, phrase)
    ("steps", "{} steps"),
    ("naive_steps", "{} naive steps"),
    ("diversity_batch", "a diversity batch of {}"),
    ("robust_trials", "{} re-scoring transforms"),
)
MEASURES = (  # which rung wins each measure
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
        wins = Counter(best(o.rungs, key=lambda rung: getattr(o.rungs[rung], key)) for o in objectives)
        parts.append(f"{phrase}: " + ", ".join(f"{RUNG_TITLES[r]} on {n} of {count}" for r, n in wins.most_common()))
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
    for number, name in enumerate(PROBED, start=1):
        path = inputs.visualize(name)
        info = load_record(VisualizeInfo, path)
        check_model(path, info.model.name, name, "visualisation")
        for objective in info.objectives:
            if tuple(objective.rungs) != RUNGS:
                found = ", ".join(objective.rungs)
                raise PipelineError(f"{path}: {objective.key} has the rungs {found}, not {', '.join(RUNGS)}")
        own = probed_provenance(info.model)
        own.short("visualize", name, *((phrase, getattr(info, k), getattr(FULL_VISUALIZE, k)) for k, phrase in SHORT))
        rows = [[o.title, *(_rung_cell(o.rungs[r]) for r in RUNGS)] for o in info.objectives]
        t, title = info.transforms, MODEL_TITLES[name]
        random = " (random weights)" if info.model.random_weights else ""
        blocks += [
            Heading(3, f"9.{number} {title}"),
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
            figure_block(inputs, f"{name}_visualize", page_dir, f"{title}{random}: objectives by rung"),
        ]
        prov.merge(own)
    return blocks, prov

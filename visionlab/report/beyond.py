"""Section 10, beyond accuracy: calibration and corruption robustness of each CIFAR model, and where each model
looks (attribution of the attack's ship)."""

from pathlib import Path

from visionlab.attack.record import AttackInfo
from visionlab.attribution.record import AttributionInfo
from visionlab.calibration.record import CalibrationInfo, CalibrationMetrics
from visionlab.calibration.record import SplitScores as NLLScores
from visionlab.core.errors import PipelineError
from visionlab.core.record import load_record
from visionlab.corruption.params import CorruptParams
from visionlab.corruption.record import CorruptionInfo, CorruptionMetrics, CorruptionScore
from visionlab.evaluation.record import EvalInfo
from visionlab.models.registry import MODELS, PROBED
from visionlab.report.blocks import NOT_REPORTED, Block, FigureRow, Heading, Para, Table, compact, pct, prob
from visionlab.report.inputs import MODEL_TITLES, Inputs, check_model, figure_block, load_stage
from visionlab.report.provenance import Provenance, join_and, probed_provenance, section, trained_provenance


def beyond_accuracy_section(
    inputs: Inputs, models: dict[str, EvalInfo], page_dir: Path
) -> tuple[list[Block], Provenance]:
    """Calibration (stage calibrate@<model>) and corruption robustness (corrupt, corruption@<model>) of each model."""
    cal = {m: load_stage(inputs, f"{m}_calibration", CalibrationMetrics, CalibrationInfo) for m in MODELS}
    corruption = {m: load_stage(inputs, f"{m}_corruption", CorruptionMetrics, CorruptionInfo) for m in MODELS}
    infos, first, full = {m: corruption[m].info for m in MODELS}, corruption[MODELS[0]], CorruptParams()
    scored = lambda info: ([s.name for s in info.corruptions], info.images, info.severities)  # noqa: E731
    for m in MODELS:
        for stage in (cal[m], corruption[m]):
            check_model(stage.info_path, stage.info.model, m, "scores")
        if scored(infos[m]) != scored(first.info):
            raise PipelineError(f"{corruption[m].info_path}: scored another corrupted set than {first.info_path}")
    names, images, severities = scored(first.info)
    prov = trained_provenance(models)
    for m in MODELS:  # every model scored the same corrupted set
        if images < min(full.images, models[m].data.test_images):
            prov.add("corruption", m, (f"{images:,} test images", f"{full.images:,}"))
        if len(severities) < len(full.severities):
            prov.add("corruption", m, (f"severities {compact(severities)} only", "1 to 5"))
    calibration = {
        "ECE, test (15 bins)": lambda c: f"{c.metrics.ece:.4f}",
        "ECE after temperature scaling": lambda c: f"{c.metrics.ece_temperature:.4f}",
        "temperature (fitted on validation)": lambda c: f"{c.metrics.temperature:.3f}",
        "validation NLL before → after": lambda c: _nll(c.info.validation),
        "test NLL before → after": lambda c: _nll(c.info.test),
        "test accuracy": lambda c: pct(c.info.test_accuracy),
    }

    def cell(info: CorruptionInfo, score: CorruptionScore) -> str:
        return f"**{pct(score.mean)} (worst)**" if score.name == info.worst else pct(score.mean)

    def relative(m: CorruptionMetrics) -> str:
        return NOT_REPORTED if m.clean_accuracy == 0 else f"{m.mean_corruption_accuracy / m.clean_accuracy:.2f} × clean"

    score = [corruption[m].metrics for m in MODELS]
    corruption_rows = [
        ["clean (the same images)", *(pct(s.clean_accuracy) for s in score)],
        *(
            [name.replace("_", " "), *(cell(infos[m], infos[m].corruptions[i]) for m in MODELS)]
            for i, name in enumerate(names)
        ),
        ["**mean over corruptions and severities**", *(f"**{pct(s.mean_corruption_accuracy)}**" for s in score)],
        ["mean relative to clean", *map(relative, score)],
    ]
    severity_rows = [
        [
            f"severity {sev}",
            *(pct(sum(s.accuracy[i] for s in infos[m].corruptions) / len(names)) for m in MODELS),
        ]
        for i, sev in enumerate(severities)
    ]
    titles = [MODEL_TITLES[m] for m in MODELS]
    left_out = f" (all but {join_and(first.info.left_out)})" if first.info.left_out else ""
    reliability = [
        figure_block(inputs, f"{m}_reliability", page_dir, f"{t}: reliability before and after")
        for m, t in zip(MODELS, titles, strict=True)
    ]
    return section(
        Heading(2, "10. Beyond accuracy"),
        prov,
        Heading(3, "Is the confidence honest?"),
        Para(
            "Expected calibration error (torchmetrics' `MulticlassCalibrationError`, 15 "
            "bins, L1) on the test split, the model run as `evaluate` runs it, before and after dividing the logits "
            "by one temperature fitted on the validation split the train stage held out (Guo et al. 2017). "
            "A temperature above 1 means the model was overconfident, below 1 underconfident."
        ),
        Table(["", *titles], [[label, *(get(cal[m]) for m in MODELS)] for label, get in calibration.items()]),
        FigureRow(reliability),
        Heading(3, "Does it survive ordinary corruption?"),
        Para(
            f"Test accuracy on a CIFAR-10-C-style copy of the first {images:,} test images (Hendrycks & "
            f"Dietterich 2019; their CIFAR constants, made in code): {len(names)} corruptions{left_out}, each the "
            f"mean over severities {compact(severities)}; the worst corruption per model in bold."
        ),
        Table(["corruption", *titles], corruption_rows),
        Table(["mean over corruptions", *titles], severity_rows),
    )


def _nll(scores: NLLScores) -> str:
    return f"{scores.nll:.4f} → {scores.nll_temperature:.4f}"


COMPLETE = 0.05  # each IG map's |delta| within this fraction of its own |f(x) - f(black)|, else the page says so
SAME_PROBABILITY = 1e-3  # the attack section's adversarial and ours: equal within this, else the page says so


def _kept(value: float | None) -> str:
    return "— (a map is all zero)" if value is None else pct(value, 0)


def attribution_section(inputs: Inputs, page_dir: Path) -> tuple[list[Block], Provenance]:
    """attribute@<model>: IG and Grad-CAM of the attack's ship, clean and adversarial, one figure row per model."""
    prov, rows, figures, kept, moved, coarse, steps = Provenance(), [], [], [], [], [], set()
    for name in PROBED:
        path = inputs.info(f"{name}_attribution")
        info = load_record(AttributionInfo, path)
        check_model(path, info.model.name, name, "attribution")
        attack = load_record(AttackInfo, inputs.info(f"{name}_attack"))
        model_prov = probed_provenance(info.model)
        prov.merge(model_prov)
        steps.add(info.n_steps)
        tags = ", ".join(label.lower() for _, label, _ in model_prov.caveats())
        title = MODEL_TITLES[name] + (f" ({tags})" if tags else "")
        cells = [getattr(image, f"toward_{c}") for image in (info.clean, info.adversarial) for c in ("ship", "target")]
        # Each map against its own change: a small map's gap must not hide behind another map's large change.
        gaps = [(abs(c.convergence_delta), abs(c.logit - c.baseline_logit)) for c in cells]
        delta, change = max(gaps, key=lambda g: g[0] / g[1] if g[1] else float("inf") if g[0] else 0.0)
        if delta > COMPLETE * change:
            coarse.append(f"{MODEL_TITLES[name]} ({pct(delta / change, 0) if change > 0 else 'f(x) = f(black)'})")
        overlap = info.overlap
        rows.append(
            [
                title,
                f"{info.clean.predicted_name} → {info.adversarial.predicted_name} (target: {info.target_name})",
                f"{delta:.2g} of {change:.3g}",
                *map(_kept, (overlap.ig_ship, overlap.ig_target, overlap.gradcam_ship, overlap.gradcam_target)),
            ]
        )
        if overlap.ig_target is not None:
            kept.append((overlap.ig_target, MODEL_TITLES[name]))
        after, adversarial = attack.unbounded.after, info.adversarial
        if (
            after.top1_name != adversarial.predicted_name
            or abs(after.top1_probability - adversarial.predicted_probability) > SAME_PROBABILITY
        ):
            moved.append(
                f"{MODEL_TITLES[name]}'s recomputed adversarial image scores {adversarial.predicted_name} "
                f"{prob(adversarial.predicted_probability)}, the attack section's {after.top1_name} "
                f"{prob(after.top1_probability)} (float rounding differs between thread counts and devices)."
            )
        caption = (
            f"{title}: ship #{info.ship_test_index} clean (top row) and adversarial (bottom row); IG and Grad-CAM "
            f"toward {info.ship_name} and toward {info.target_name}"
        )
        figures.append(figure_block(inputs, f"{name}_attribution", page_dir, caption))
    kept_in_place = [
        f"{map_} toward {toward}: kept in place" for map_ in ("IG", "Grad-CAM") for toward in ("ship", "target")
    ]
    notes = []
    if kept:
        (low, low_model), (high, high_model) = min(kept), max(kept)
        notes.append(
            f"Toward the target, the attack moves the IG map most on {low_model} ({pct(low, 0)} kept in place)"
        )
        notes[-1] += f" and least on {high_model} ({pct(high, 0)})." if high_model != low_model else "."
    if coarse:
        notes.append(
            f"IG is not complete within {pct(COMPLETE, 0)} on {join_and(coarse)}: its worst map's Captum "
            "delta against that map's |f(x) − f(black)|. Its path needs more steps (`attribute.n_steps`)."
        )
    return section(
        Heading(3, "Where does it look?"),
        prov,
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
            ["model", "top-1: clean → adversarial", "IG: |delta| of |f(x) − f(black)|, its worst map", *kept_in_place],
            rows,
        ),
        *(Para(note) for note in [*notes, *moved]),
        *figures,
    )

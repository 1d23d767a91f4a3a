"""The adversarial ship (seed 5): unbounded gradient ascent on p(target), then a bounded sweep over ships."""

import statistics
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from visionlab.attack.params import AttackParams
from visionlab.attack.record import (
    AttackInfo,
    AttackMetrics,
    AttackTop1,
    BoundedInfo,
    BoundedScores,
    UnboundedInfo,
    UnboundedScores,
)
from visionlab.core.errors import PipelineError
from visionlab.data.cifar import Cifar10
from visionlab.models.classifier import Classifier
from visionlab.probe.images import upscale
from visionlab.probe.objectives import class_probability
from visionlab.probe.optimize import gradient_ascent, targeted_linf_attack
from visionlab.probe.record import probed_model

SHIP = "ship"
BATCH_SIZE = 32  # images per bounded-attack batch: AlexNet at 224 keeps a few MB of activations per image


def _top1(clf: Classifier, image: torch.Tensor, original: int, target: int) -> dict[str, Any]:
    with torch.no_grad():
        probs = F.softmax(clf.model(image), dim=1)[0]
    best = int(probs.argmax())
    return {
        "top1_index": best,
        "top1_name": clf.class_names[best],
        "top1_probability": float(probs[best]),
        "target_probability": float(probs[target]),
        "original_top1_probability": float(probs[original]),
    }


@dataclass
class Unbounded:
    original: torch.Tensor  # (1, 3, S, S)
    adversarial: torch.Tensor
    metrics: dict[str, Any]


def unbounded_attack(clf: Classifier, image: np.ndarray, target: int, steps: int, step_size: float) -> Unbounded:
    """The seed's attack: ``steps`` clamped raw-gradient steps on p(target) from the (upscaled) image."""
    device = next(clf.model.parameters()).device
    original = upscale(image[None], clf.input_size).to(device)
    with torch.no_grad():
        original_top1 = int(clf.model(original).argmax(dim=1)[0])
    result = gradient_ascent(class_probability(clf.model, target), original, steps, step_size, desc="attack")
    adversarial = result.images
    delta = (adversarial - original).flatten()
    metrics = {
        "before": _top1(clf, original, original_top1, target),
        "after": _top1(clf, adversarial, original_top1, target),
        "linf": float(delta.abs().max()),
        "linf_255": float(delta.abs().max() * 255),
        "l2": float(delta.norm()),
        "rms": float(delta.pow(2).mean().sqrt()),
    }
    return Unbounded(original=original, adversarial=adversarial, metrics=metrics)


def bounded_example(
    clf: Classifier, image: np.ndarray, target: int, epsilon: float, step_size: float, steps: int
) -> tuple[torch.Tensor, dict[str, Any]]:
    """The bounded attack on one image, for the figure: the adversarial image and its scores."""
    device = next(clf.model.parameters()).device
    clean = upscale(image[None], clf.input_size).to(device)
    with torch.no_grad():
        original_top1 = int(clf.model(clean).argmax(dim=1)[0])
    result = targeted_linf_attack(clf.model, clean, target, epsilon, step_size, steps, desc="bounded example")
    return result.images, _top1(clf, result.images, original_top1, target)


def bounded_sweep(
    clf: Classifier,
    images: np.ndarray,
    target: int,
    epsilon: float,
    step_size: float,
    steps: int,
    batch_size: int = BATCH_SIZE,
) -> dict[str, Any]:
    """Targeted L-infinity attack on every image (uint8, N x 3 x 32 x 32), upscaled to the model's size. Success is
    judged after the last step, and again after rounding the image to 8-bit pixels (what saving it as a PNG would
    do)."""
    device = next(clf.model.parameters()).device
    batches = []  # per batch: steps to success, success, success after rounding, clean prediction, L-inf
    for start in range(0, len(images), batch_size):
        clean = upscale(images[start : start + batch_size], clf.input_size).to(device)
        result = targeted_linf_attack(clf.model, clean, target, epsilon, step_size, steps, desc="bounded attack")
        rounded = torch.round(result.images * 255) / 255
        with torch.no_grad():
            hit, clean_pred = clf.model(rounded).argmax(dim=1) == target, clf.model(clean).argmax(dim=1)
        linf = (result.images - clean).flatten(1).abs().max(dim=1).values
        batches.append([t.cpu() for t in (result.first_success, result.success, hit, clean_pred, linf)])
    first, success, rounded, clean_pred, linf = (torch.cat(column) for column in zip(*batches, strict=True))
    steps_to_success = [int(s) for s in first[success]]
    ship = clf.class_names.index(SHIP) if SHIP in clf.class_names else None
    return {
        "images": len(images),
        "targeted_success_rate": float(success.float().mean()),
        "successes": int(success.sum()),
        "median_steps_to_success": statistics.median(steps_to_success) if steps_to_success else None,
        "success_rate_after_uint8_rounding": float(rounded.float().mean()),
        "clean_predicted_as_target": int((clean_pred == target).sum()),
        "clean_accuracy": float((clean_pred == ship).float().mean()) if ship is not None else None,
        "max_linf": float(linf.max()),
    }


@dataclass
class ShipAttack:
    """Everything the attack stages report: the seed's unbounded attack on one ship, the bounded
    attack on the same ship (for the figure), and the bounded sweep over many ships."""

    ship: int  # position in the test split
    unbounded: Unbounded
    bounded: torch.Tensor
    bounded_scores: dict[str, Any]
    sweep: dict[str, Any]


def ships_and_target(clf: Classifier, data: Cifar10, settings: AttackParams) -> tuple[np.ndarray, int, int]:
    """The test split's ships (positions, in order), the attacked one's position, and ``clf``'s target class:
    the attack and attribute stages take the same ship and target from here."""
    target, key, hint = settings.target_class.of(clf.name), f"attack.target_class.{clf.name}", ""
    if clf.name != "alexnet":
        dog = clf.class_names.index("dog") if "dog" in clf.class_names else 0
        hint = f"; set {key} to a CIFAR class (e.g. {dog} = {clf.class_names[dog]})"
    clf.check_class(target, key, hint)
    if SHIP not in data.class_names:
        raise PipelineError(f"the CIFAR-10 data has no class {SHIP!r} (classes: {', '.join(data.class_names)})")
    ships = np.flatnonzero(data.test_labels == data.class_names.index(SHIP))  # test-split positions, in order
    if settings.ship_index >= len(ships):
        raise PipelineError(f"attack.ship_index={settings.ship_index} but the test split has only {len(ships)} ships")
    return ships, int(ships[settings.ship_index]), target


def attack_ships(clf: Classifier, data: Cifar10, settings: AttackParams) -> ShipAttack:
    """Run the unbounded and bounded attacks of ``settings`` on ``clf``, towards its own target class."""
    ships, ship, target = ships_and_target(clf, data, settings)
    image = data.test_images[ship]
    unbounded = unbounded_attack(clf, image, target, settings.steps, settings.step_size)
    bounded, scores = bounded_example(clf, image, target, settings.epsilon, settings.epsilon_step, settings.steps)
    ships = ships[: settings.max_images]
    sweep = bounded_sweep(clf, data.test_images[ships], target, settings.epsilon, settings.epsilon_step, settings.steps)
    return ShipAttack(ship, unbounded, bounded, scores, sweep)


def _top1_record(scores: dict[str, Any]) -> AttackTop1:
    return AttackTop1(
        scores["top1_index"], scores["top1_name"], scores["top1_probability"], scores["original_top1_probability"]
    )


def attack_records(clf: Classifier, settings: AttackParams, attack: ShipAttack) -> tuple[AttackMetrics, AttackInfo]:
    """The attack stages' metrics (p(target) reached, success rates) and info (what, how, the details)."""
    u, sweep, target = attack.unbounded.metrics, attack.sweep, settings.target_class.of(clf.name)
    metrics = AttackMetrics(
        UnboundedScores(target_probability=u["after"]["target_probability"]),
        BoundedScores(success_rate=sweep["targeted_success_rate"]),
    )
    info = AttackInfo(
        model=probed_model(clf.name, clf.random_weights, clf.provenance),
        target_class=target,
        target_name=clf.class_names[target],
        ship_test_index=attack.ship,
        input_size=clf.input_size,
        unbounded=UnboundedInfo(
            steps=settings.steps, step_size=settings.step_size,
            target_probability_before=u["before"]["target_probability"],
            before=_top1_record(u["before"]), after=_top1_record(u["after"]),
            linf=u["linf"], linf_255=u["linf_255"], l2=u["l2"], rms=u["rms"],
        ),
        bounded=BoundedInfo(
            epsilon=settings.epsilon, epsilon_step=settings.epsilon_step, steps=settings.steps,
            images=sweep["images"], successes=sweep["successes"],
            success_rate_uint8=sweep["success_rate_after_uint8_rounding"],
            clean_predicted_as_target=sweep["clean_predicted_as_target"], max_linf=sweep["max_linf"],
            median_steps_to_success=sweep["median_steps_to_success"], clean_accuracy=sweep["clean_accuracy"],
        ),
    )  # fmt: skip
    return metrics, info


def attack_summary(clf: Classifier, settings: AttackParams, attack: ShipAttack) -> str:
    """Two lines for the stage's log."""
    m = attack.unbounded.metrics
    before, after = m["before"], m["after"]
    sweep, target = attack.sweep, clf.class_names[settings.target_class.of(clf.name)]
    return (
        f"ship #{attack.ship}: p({target}) {before['target_probability']:.4f} -> "
        f"{after['target_probability']:.4f}; top-1 {before['top1_name']} -> {after['top1_name']}; "
        f"L-inf {m['linf_255']:.1f}/255\n"
        f"bounded sweep over {sweep['images']} ships: success {100 * sweep['targeted_success_rate']:.1f} %, "
        f"after uint8 rounding {100 * sweep['success_rate_after_uint8_rounding']:.1f} %"
    )

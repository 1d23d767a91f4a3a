"""DVC stage `attribute@<model>`: where the model looks at the attack's ship, clean and adversarial. ``--model <model>``
probes AlexNet or a CIFAR model, read from its ``--checkpoint`` (models/<model>.pt). The ship (``attack.ship_index``)
and its adversarial version (the seed's unbounded attack toward ``attack.target_class.<model>``, recomputed with the
attack stage's code and params) are attributed toward the ship's class and the target: Integrated Gradients from the
black image, Grad-CAM at the last conv activation."""

from visionlab.attack.params import AttackParams
from visionlab.attribution.attribution import attribute_ship, attribution_summary
from visionlab.attribution.figure import attribution_figure
from visionlab.attribution.params import AttributeParams
from visionlab.core.errors import run_stage
from visionlab.core.io import save_figure
from visionlab.core.record import write_record
from visionlab.data.cifar import load_cifar10
from visionlab.probe.probed import probed_classifier


def main() -> None:
    sections = {"attribute": AttributeParams, "attack": AttackParams}
    args, params, clf = probed_classifier(__doc__, data=True, outputs=("--figure", "--info"), **sections)
    result = attribute_ship(clf, load_cifar10(args.data), params.attack, params.attribute.n_steps)
    save_figure(attribution_figure(clf, result), args.figure)
    write_record(args.info, result.info)
    print(attribution_summary(result))


if __name__ == "__main__":
    run_stage(main)

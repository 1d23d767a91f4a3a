"""DVC stage `attack@<model>`: turn a CIFAR-10 ship into the model's target class (seed 5), then a bounded sweep.
``--model alexnet`` attacks ImageNet AlexNet (target 207), a CIFAR model (target 5, dog), each from its ``--checkpoint``
(models/<model>.pt). First the seed's unbounded attack on one ship (clamped raw-gradient ascent on p(target)); then a
targeted L-infinity attack (signed gradient, projected to the epsilon-ball) on up to ``attack.max_images`` ships of the
test split."""

from visionlab.attack.attack import attack_records, attack_ships, attack_summary
from visionlab.attack.figure import ship_attack_figure
from visionlab.attack.params import AttackParams
from visionlab.core.errors import run_stage
from visionlab.core.io import save_figure
from visionlab.core.record import write_record
from visionlab.data.cifar import load_cifar10
from visionlab.probe.probed import probed_classifier


def main() -> None:
    args, params, clf = probed_classifier(__doc__, data=True, attack=AttackParams)
    settings = params.attack
    attack = attack_ships(clf, load_cifar10(args.data), settings)
    save_figure(ship_attack_figure(clf, settings, attack), args.figure)
    metrics, info = attack_records(clf, settings, attack)
    write_record(args.info, info)
    write_record(args.metrics, metrics)
    print(attack_summary(clf, settings, attack))


if __name__ == "__main__":
    run_stage(main)

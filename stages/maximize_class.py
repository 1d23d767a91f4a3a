"""DVC stage `maximize_class@<model>`: gradient ascent on a class from seeded noise (seed 4). ``--model alexnet`` probes
ImageNet AlexNet (class 207), a CIFAR model (class 5, dog), each from its ``--checkpoint`` (models/<model>.pt). The
result is re-scored after small random shifts and rescales: does the class survive them?"""

from visionlab.classmax.class_maximize import class_records, class_summary, maximize_class_with
from visionlab.classmax.figure import class_figure
from visionlab.classmax.params import MaximizeClassParams
from visionlab.core.errors import run_stage
from visionlab.core.io import save_figure
from visionlab.core.record import write_record
from visionlab.probe.probed import probed_classifier


def main() -> None:
    args, params, clf = probed_classifier(__doc__, maximize_class=MaximizeClassParams)
    settings = params.maximize_class
    result = maximize_class_with(clf, settings, params.seed)
    save_figure(class_figure(result, clf, {"steps": settings.steps}), args.figure)
    metrics, info = class_records(clf, settings, result)
    write_record(args.info, info)
    write_record(args.metrics, metrics)
    print(class_summary(clf, settings, result))


if __name__ == "__main__":
    run_stage(main)

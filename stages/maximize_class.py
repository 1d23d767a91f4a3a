"""DVC stage `maximize_class`: gradient ascent on a class's probability from seeded noise (seed 4).

The result is re-scored after small random shifts and rescales: does the class survive them?
"""

import argparse

import torch

from visionlab.device import resolve_device
from visionlab.errors import run_stage
from visionlab.interpret.classifiers import load_classifier
from visionlab.interpret.maximize import maximize_class
from visionlab.io import save_figure, write_json
from visionlab.params import load_params
from visionlab.seed_report import SEED_ALEXNET

SEED = SEED_ALEXNET["maximize_class"]  # AlexNet, class 207 (golden retriever), 40 steps on the probability


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--stats", default="data/stats.json")
    parser.add_argument("--models", default="models")
    parser.add_argument("--figure", default="reports/figures/maximize_class.png")
    parser.add_argument("--metrics", default="reports/metrics/maximize_class.json")
    args = parser.parse_args()

    params = load_params(args.params)
    s = params.maximize_class
    torch.manual_seed(params.seed)
    clf = load_classifier(s.model, params.alexnet.weights, args.models, resolve_device(params.device), args.stats)
    clf.check_class(s.class_index, "maximize_class.class_index")
    result = maximize_class(clf, s.class_index, s.objective, s.steps, s.step_size, s.init_mean, s.init_std,
                            params.seed, s.robustness_trials, s.max_shift, s.max_scale)

    metrics = {
        **clf.metrics_header(),
        "class_index": s.class_index,
        "class_name": clf.class_names[s.class_index],
        "objective": s.objective,
        "steps": s.steps,
        "step_size": s.step_size,
        "initial_probability": result.initial_probability,
        "probability": result.probability,
        "logit": result.logit,
        "top5": {
            str(rank): {"class_index": i, "class_name": clf.class_names[i], "probability": p}
            for rank, (i, p) in enumerate(result.top, start=1)
        },
    }
    if s.robustness_trials:
        kept = result.jittered_top1 == s.class_index
        metrics["robustness"] = {
            "trials": s.robustness_trials,
            "max_shift": s.max_shift,
            "max_scale": s.max_scale,
            "mean_probability": float(result.jittered_probabilities.mean()),
            "min_probability": float(result.jittered_probabilities.min()),
            "top1_kept_fraction": float(kept.float().mean()),
        }
    if clf.name == SEED["model"] and s.class_index == SEED["class_index"]:  # only where comparable
        metrics["seed_report"] = {"probability": SEED["probability"], "steps": SEED["steps"]}
    from visionlab.reporting.interpret_figures import class_figure  # matplotlib: only now that it draws
    save_figure(class_figure(result, clf, {"steps": s.steps}), args.figure)
    write_json(args.metrics, metrics)
    print(f"{clf.name} class {clf.label(s.class_index)}: p {result.initial_probability:.4f} -> "
          f"{result.probability:.4f} after {s.steps} steps")
    if s.robustness_trials:
        robust = metrics["robustness"]
        print(f"after {s.robustness_trials} random shifts/rescales: mean p {robust['mean_probability']:.4f}, "
              f"still top-1 in {100 * robust['top1_kept_fraction']:.0f} %")


if __name__ == "__main__":
    run_stage(main)

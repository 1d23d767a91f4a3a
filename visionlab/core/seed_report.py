"""The seed report's own numbers (../shared/seed-report.md), shown beside the pipeline's."""

from typing import Any

# Part 1: CIFAR-10 classifiers. Accuracies are fractions in 0..1.
SEED_CIFAR: dict[str, dict[str, Any]] = {
    "cnn": {"test_accuracy": 0.847},
    "resnet": {
        "test_accuracy": 0.8919,
        "test_loss": 0.3675,
        "train_accuracy": 0.884,
        "val_accuracy": 0.898,
        "epochs": 100,
        # epoch: (train acc, val acc, train loss, val loss), from the seed's training log
        "log": {
            1: (0.3723, 0.4630, 1.7184, 1.5769),
            30: (0.8492, 0.8788, 0.4434, 0.3726),
            60: (0.8744, 0.8944, 0.3666, 0.3408),
            90: (0.8845, 0.8850, 0.3402, 0.3727),
            100: (0.8842, 0.8984, 0.3386, 0.3194),
        },
    },
}

# Part 2: AlexNet (torchvision, ImageNet weights). Values as the seed report writes them; the
# settings beside them say when a pipeline number is comparable (same model, class and steps).
SEED_ALEXNET: dict[str, dict[str, Any]] = {
    # 1a/1b: five photos of its own; typical top-1 confidence without normalisation, and how many of
    # the five rose above 0.98 with it.
    "predict": {"images": 5, "raw_confidence_low": 0.19, "raw_confidence_high": 0.53, "normalised_above_0_98": 4},
    # 2a-2d
    "filters": {"conv1_filters": 64, "conv2_in_channels": 64, "conv2_out_channels": 192, "conv2_kernel": 5},
    # 3a-3d: pre-ReLU centre unit of conv1 channels after 30 steps of size 5.0 from N(0.5, 0.01) noise
    "maximize_channels": {"steps": 30, "step_size": 5.0, "activations": {0: 62.038, 5: 34.98, 20: 104}},
    # 4: softmax probability of class 207 (golden retriever) after 40 steps from the same noise
    "maximize_class": {"model": "alexnet", "class_index": 207, "steps": 40, "step_size": 5.0, "probability": 1.0},
    # 5: one CIFAR-10 ship, 40 unbounded steps on p(golden retriever): it reached 1.0, so 1 of 1 succeeded
    "attack": {
        "model": "alexnet",
        "target_class": 207,
        "steps": 40,
        "step_size": 5.0,
        "target_probability": 1.0,
        "ships": 1,
        "success_rate": 1.0,
    },
}

# Part 1's data: "60,000 32x32 RGB images in 10 classes".
SEED_DATA: dict[str, int] = {"images": 60_000, "classes": 10}

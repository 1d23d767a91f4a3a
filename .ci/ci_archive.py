"""Print ``ARCHIVE=<path>`` for the smoke pipeline (appended to ``$GITHUB_ENV`` by the workflow).

Where the shared CIFAR-10 sample sits beside the repo, the path is empty (``.ci/pipeline.sh`` then
uses the sample). Elsewhere (GitHub's runners) it writes a generated, learnable archive in the
official CIFAR-10 layout (tests/cifar_archive.py) and prints its path, so the smoke pipeline still
runs end to end; the report labels it a subset like the sample.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT.parent / "shared/data/cifar10-sample/cifar-10-python.tar.gz"
PER_BATCH, TEST = 200, 500  # 1,000 training and 500 test images: every class in every batch


def main() -> None:
    if SAMPLE.is_file():
        print("ARCHIVE=")
        return
    sys.path.insert(0, str(ROOT / "tests"))
    from cifar_archive import make_cifar_archive

    folder = Path(os.environ.get("RUNNER_TEMP") or tempfile.gettempdir()) / "visionlab-ci"
    path = folder / "cifar-10-python.tar.gz"
    make_cifar_archive(path, n_train_per_batch=PER_BATCH, n_test=TEST)
    print(f"ARCHIVE={path}")


if __name__ == "__main__":
    main()

"""Print ``ARCHIVE=<path>`` for the smoke pipeline (appended to ``$GITHUB_ENV`` by the workflow).

Where the shared CIFAR-10 sample sits beside the repo, the path is empty (``.ci/pipeline.sh`` then
uses the sample). Elsewhere (GitHub's runners), or with ``--generate``, it writes a generated,
learnable archive in the official CIFAR-10 layout (``tools.synthetic``) and prints its
path, so the smoke pipeline still runs end to end; the report labels it a subset like the sample.

The generated archive is byte-for-byte the same on every build (seeded content, no time, owner or
file name in it), so its md5, the pipeline's ``data.md5``, and with it every DVC run-cache key
downstream, stays the same from one CI run to the next.

Usage: python .ci/ci_archive.py [--generate] [--out PATH]
  --out defaults to $RUNNER_TEMP/visionlab-ci/cifar-10-python.tar.gz (the temp folder elsewhere):
  the same path on every GitHub runner, so ``data.url`` does not change between runs either.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT.parent / "shared/data/cifar10-sample/cifar-10-python.tar.gz"
PER_BATCH, TEST = 200, 500  # 1,000 training and 500 test images: every class in every batch
SEED = 0


def default_out() -> Path:
    return Path(os.environ.get("RUNNER_TEMP") or tempfile.gettempdir()) / "visionlab-ci" / "cifar-10-python.tar.gz"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--generate", action="store_true", help="write the generated archive even if the sample exists")
    parser.add_argument("--out", type=Path, default=None, help="where to write the generated archive")
    args = parser.parse_args(argv)
    if SAMPLE.is_file() and not args.generate:
        print("ARCHIVE=")
        return
    sys.path.insert(0, str(ROOT))  # this checkout's visionlab, whatever an editable install points at
    from tools.synthetic import make_cifar_archive

    path = (args.out or default_out()).resolve()
    md5 = make_cifar_archive(path, n_train_per_batch=PER_BATCH, n_test=TEST, seed=SEED)
    print(f"generated {path} (md5 {md5})", file=sys.stderr)
    print(f"ARCHIVE={path}")


if __name__ == "__main__":
    main()

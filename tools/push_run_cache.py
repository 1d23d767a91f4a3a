"""`dvc push --run-cache`, then the outputs of every run-cache entry, so a fresh clone can restore any.

DVC 3.67's `dvc push --run-cache` sends every entry but only the outputs the workspace names
(`repo/push.py` collects the pushed entries and never pushes their outputs). A stage rerun with the
same inputs (`dvc repro -f`: only its timing differs) leaves two entries under one key; a clone's
`dvc repro --pull` restores the newest by file time, and the pull writes entries in listing order,
so the older one may win, its outputs are not on the remote, and that stage runs again.

    python -m tools.push_run_cache [-r REMOTE]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from dvc.repo import Repo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-r", "--remote", help="a DVC remote (default: the default remote)")
    args = parser.parse_args()
    remote = ["-r", args.remote] if args.remote else []
    subprocess.run([sys.executable, "-m", "dvc", "push", "--run-cache", *remote], check=True)
    repo = Repo(".")
    entries = [(run.parent.name, run.name) for run in Path(repo.stage_cache.cache_dir).glob("*/*/*")]
    used = repo.stage_cache.get_used_objs(entries)
    pushed = sum(len(repo.cloud.push(objs, remote=args.remote).transferred) for objs in used.values())
    print(f"{len(entries)} run-cache entries; {pushed} more of their output objects pushed")


if __name__ == "__main__":
    main()

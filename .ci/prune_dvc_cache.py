"""Prune DVC's local cache down to what the current pipeline needs, run-cache included.

CI keeps ``.dvc/cache`` between runs (actions/cache). After the smoke run, the workspace's
``dvc.lock`` describes every stage as it just ran or was restored. This keeps

- every run-cache entry (``.dvc/cache/runs/<key[:2]>/<key>/<value>``, one YAML file per run of a
  stage: its cmd, deps, params and outs with their hashes) that equals a stage of ``dvc.lock``
  (ignoring sizes, as DVC's own key does) and whose outputs are all in the cache;
- every object (``.dvc/cache/files/md5/..``) that such an entry or ``dvc.lock`` names, with the
  files listed in a directory's ``.dir`` object;

and deletes every other run-cache entry and object. The next run restores this cache: an unchanged
stage finds its entry and DVC checks its outputs out ("Stage 'x' is cached - skipping run"); a
changed stage and those downstream of it miss and run. The cache stays one pipeline's worth.

Why not ``dvc gc --workspace``: it keeps only the objects of *cached* outputs, but the run-cache
also keeps copies of ``cache: false`` outputs (metrics, DVCLive folders) and needs them to restore a
stage; after ``dvc gc -w`` such stages run again every time (treeverse/dvc#4634). And it never
touches ``runs/`` (treeverse/dvc#9420), so entries pile up, and DVC tries only the newest entry of a
key, which may be one whose outputs gc removed.

Only ``dvc.lock`` is read (this project has no ``.dvc`` files). Without a ``dvc.lock`` (the pipeline
failed before any stage finished) nothing is deleted.

Usage: python .ci/prune_dvc_cache.py [--repo DIR] [--dry-run]      (stdlib and PyYAML only)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

SIZE_FIELDS = ("size", "nfiles")  # left out of the comparison, as DVC leaves them out of its run-cache key


def normalised(entry: dict[str, Any]) -> str:
    """A stage's lock entry (or a run-cache entry) as a canonical string, sizes left out."""

    def files(items: Iterable[dict[str, Any]] | None) -> list[dict[str, Any]]:
        rows = [{k: v for k, v in item.items() if k not in SIZE_FIELDS} for item in items or []]
        return sorted(rows, key=lambda row: json.dumps(row, sort_keys=True))

    canonical = {
        "cmd": entry.get("cmd"),
        "deps": files(entry.get("deps")),
        "params": entry.get("params") or {},
        "outs": files(entry.get("outs")),
    }
    return json.dumps(canonical, sort_keys=True, default=str)


class Cache:
    def __init__(self, repo: Path) -> None:
        self.root = repo / ".dvc" / "cache"
        self.objects = self.root / "files" / "md5"
        self.runs = self.root / "runs"

    def object_path(self, md5: str) -> Path:
        return self.objects / md5[:2] / md5[2:]

    def referenced(self, entry: dict[str, Any]) -> set[str]:
        """The object ids the outputs of ``entry`` need: each output's hash and, for a directory, the
        files its ``.dir`` object lists. An output without a hash, or a ``.dir`` that is missing (an
        uncached folder DVC never stored) or unreadable, adds an id no object has, so the entry is
        not :meth:`complete`; the other outputs' objects are still listed."""
        ids: set[str] = set()
        for out in entry.get("outs") or []:
            md5 = out.get("md5")
            if not isinstance(md5, str) or len(md5) < 3:
                ids.add(f"(no hash: {out.get('path')})")
                continue
            ids.add(md5)
            if md5.endswith(".dir") and self.object_path(md5).is_file():
                try:
                    listing = json.loads(self.object_path(md5).read_text(encoding="utf-8"))
                    ids |= {item["md5"] for item in listing}
                except (OSError, ValueError, TypeError, KeyError):
                    ids.add(f"(unreadable: {md5})")
        return ids

    def complete(self, ids: set[str]) -> bool:
        return all(not md5.startswith("(") and self.object_path(md5).is_file() for md5 in ids)

    def run_entries(self) -> Iterator[Path]:
        if self.runs.is_dir():
            yield from sorted(p for p in self.runs.glob("*/*/*") if p.is_file())

    def object_files(self) -> Iterator[tuple[str, Path]]:
        if self.objects.is_dir():
            for path in sorted(self.objects.glob("*/*")):
                if path.is_file() and len(path.parent.name) == 2:
                    yield path.parent.name + path.name, path


def load_lock(repo: Path) -> dict[str, dict[str, Any]]:
    path = repo / "dvc.lock"
    if not path.is_file():
        return {}
    lock = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return dict(lock.get("stages") or {})


def remove_empty_dirs(top: Path) -> None:
    if not top.is_dir():
        return
    for folder in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()


def prune(repo: Path, dry_run: bool = False) -> dict[str, int]:
    """Delete what the current ``dvc.lock`` does not need (see the module docstring); return counts."""
    cache = Cache(repo)
    stages = load_lock(repo)
    counts = dict.fromkeys(("runs_kept", "runs_removed", "objects_kept", "objects_removed", "bytes_removed"), 0)
    if not stages:
        print(f"no stages in {repo / 'dvc.lock'}: the DVC cache is left as it is")
        return counts

    current = {normalised(entry) for entry in stages.values()}
    keep: set[str] = set()
    for entry in stages.values():  # the workspace's outputs, as `dvc gc --workspace` keeps them
        keep |= cache.referenced(entry)

    for path in cache.run_entries():
        try:
            entry = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            entry = None
        needed = cache.referenced(entry) if isinstance(entry, dict) and normalised(entry) in current else None
        if needed is None or not cache.complete(needed):  # a stale run, or one DVC could not restore
            counts["runs_removed"] += 1
            if not dry_run:
                path.unlink()
        else:
            counts["runs_kept"] += 1
            keep |= needed

    for md5, path in cache.object_files():
        if md5 in keep:
            counts["objects_kept"] += 1
        else:
            counts["objects_removed"] += 1
            counts["bytes_removed"] += path.stat().st_size
            if not dry_run:
                path.unlink()

    if not dry_run:
        remove_empty_dirs(cache.runs)
        remove_empty_dirs(cache.objects)
    verb = "would remove" if dry_run else "removed"
    print(
        f"DVC cache: kept {counts['runs_kept']} run-cache entries and {counts['objects_kept']} objects; "
        f"{verb} {counts['runs_removed']} entries and {counts['objects_removed']} objects "
        f"({counts['bytes_removed'] / 1e6:.1f} MB)"
    )
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1], help="the DVC repo")
    parser.add_argument("--dry-run", action="store_true", help="only count what would be removed")
    args = parser.parse_args(argv)
    prune(args.repo, dry_run=args.dry_run)
    return 0


if __name__ == "__main__":
    sys.exit(main())

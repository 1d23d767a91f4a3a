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
import logging
from pathlib import Path

from dvc.config import NoRemoteError, RemoteNotFoundError
from dvc.exceptions import DvcException, NotDvcRepoError, UploadError
from dvc.repo import Repo

from visionlab.core.errors import PipelineError, run_stage


class Failures(logging.Handler):
    """DVC logs a run-cache entry it could not copy and goes on (dvc_objects' `log_exceptions`): keep the
    errors to raise the first, and print none of DVC's log (each failure here is one line of ours)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.errors: list[BaseException] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.errors.append(record.exc_info[1] if record.exc_info else UploadError(1))


def push(remote: str | None) -> str:
    """Push the run-cache and every entry's outputs to ``remote`` (None: the default); the summary line."""
    try:
        repo = Repo(".")
    except NotDvcRepoError as err:
        raise PipelineError(f"{err}: run it in the project's checkout") from None
    with repo:
        known = list(repo.config["remote"])
        name = remote or repo.config["core"].get("remote")
        try:
            repo.cloud.get_remote_odb(remote, "push")
        except NoRemoteError:
            fix = f"set one: dvc remote default {known[0]}" if known else "add one: dvc remote add -d storage <url>"
            raise PipelineError(f"no {'default ' if known else ''}DVC remote configured; {fix}") from None
        except RemoteNotFoundError:
            raise PipelineError(f"no DVC remote {remote!r} (configured: {', '.join(known) or 'none'})") from None
        except ImportError as err:  # DVC's word for a remote type whose plugin is not installed
            module = getattr(err.__cause__, "name", None)  # dvc_ssh, from the ModuleNotFoundError it raised
            fix = f"install it: pip install {module.replace('_', '-')}" if module else "install the package it names"
            raise PipelineError(f"remote {name!r}: {err}; {fix}") from None
        url = repo.config["remote"][name]["url"]
        entries = [(run.parent.name, run.name) for run in Path(repo.stage_cache.cache_dir).glob("*/*/*")]
        used = set().union(*repo.stage_cache.get_used_objs(entries).values())
        failures = Failures()
        for logger in ("dvc", "dvc_data", "dvc_objects"):  # where DVC's own handlers are
            logging.getLogger(logger).handlers = [failures]
        try:
            # Checked first, so that a refusal has pushed nothing: a clone would rerun the stage instead.
            if missing := sorted(repo.cloud.status(used, remote=remote).missing, key=str):
                raise PipelineError(
                    f"{len(missing)} output(s) of the run-cache in neither the local cache nor remote {name!r} "
                    f"(first: {missing[0].obj_name}, {missing[0]}): rebuild with `dvc repro`, then push again"
                )
            pushed = repo.push(run_cache=True, remote=remote)
            more = repo.cloud.push(used, remote=remote)
            failed = failures.errors or ([UploadError(len(more.failed))] if more.failed else [])
        except (OSError, UploadError) as err:
            failed = [err]
        if failed:
            raise PipelineError(
                f"cannot write to DVC remote {name!r} ({url}): {failed[0]}; check its url and permissions"
            )
    return f"{pushed} files pushed; {len(entries)} run-cache entries, {len(more.transferred)} more of their outputs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-r", "--remote", help="a DVC remote (default: the default remote)")
    args = parser.parse_args()
    try:
        print(push(args.remote))
    except DvcException as err:  # any other refusal of DVC's (a broken .dvc/config ...): its own first line
        raise PipelineError(str(err).splitlines()[0]) from None


if __name__ == "__main__":
    run_stage(main)

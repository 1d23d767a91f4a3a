"""Each stage's code deps in ``dvc.yaml`` are exactly the project modules it imports, transitively.

The import closure is derived from the source (every ``import`` statement, also inside functions). A code
dep is the stage's own file in ``stages/`` or a whole ``visionlab/<package>`` folder, which stands for every
module in it: allowed only where the closure holds each of them (a package's face imports all its modules).
The comparison goes both ways: a missing dep lets an edit go unnoticed, an extra one wastes a rerun.
"""

from __future__ import annotations

import ast
import importlib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from visionlab.models.registry import MODELS, PROBED

ROOT = Path(__file__).resolve().parents[1]
PROJECT_PACKAGES = ("visionlab", "stages")
# Command-line flags whose value a stage reads, and those whose value it writes.
# report's --reports: test_report checks its files
INPUT_FLAGS = {"--data", "--stats", "--checkpoint", "--colour-stats"}
OUTPUT_FLAGS = {
    "--out",
    "--live",
    "--metrics",
    "--info",
    "--predictions",
    "--per-class",
    "--figures",
    "--figure",
    "--csv",
    "--markdown",
    "--html",
    "--plot",
    "--colour",
}


def module_file(module: str, root: Path = ROOT) -> Path | None:
    """The source file of a project module (a package's ``__init__.py``), or None if it is not one."""
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(path: Path) -> set[str]:
    """Project modules that ``path`` imports, with the packages Python executes on the way."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] not in PROJECT_PACKAGES:
                continue
            for i in range(1, len(parts) + 1):
                if module_file(".".join(parts[:i])) is not None:
                    found.add(".".join(parts[:i]))
    return found


def import_closure(*modules: str, skip: frozenset[str] = frozenset()) -> set[str]:
    """Repo-relative paths of every project source file that importing ``modules`` executes (``skip`` aside)."""
    todo, seen = list(modules), set()
    while todo:
        module = todo.pop()
        if module in seen or module in skip:
            continue
        seen.add(module)
        parent = module.rpartition(".")[0]
        if parent:
            todo.append(parent)
        path = module_file(module)
        if path is None and (ROOT / module.replace(".", "/")).is_dir():
            continue  # a namespace package (visionlab): no code of its own
        assert path is not None, f"no source for {module}"
        todo.extend(imported_modules(path))
    return {path.relative_to(ROOT).as_posix() for m in seen if (path := module_file(m)) is not None}


def resolved_stages() -> dict[str, dict]:
    """``dvc.yaml``'s stages with matrix and foreach items expanded: name -> (item, definition).

    A ``foreach`` over a dict (inline, or ``${var}`` from ``dvc.yaml``'s ``vars``) gives one stage per
    key, ``${key}`` the key and ``${item.<field>}`` the item's fields; over a list, one per ``${item}``. Its
    ``item`` here is ``{"model": key, **fields}``. Any ``${key}`` or ``${item...}`` left over fails.
    """
    document = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))
    variables = {k: v for entry in document.get("vars", []) if isinstance(entry, dict) for k, v in entry.items()}
    resolved = {}
    for name, stage in document["stages"].items():
        if "foreach" in stage:
            items = stage["foreach"]
            if isinstance(items, str):
                match = re.fullmatch(r"\$\{(\w+)\}", items)
                assert match and match.group(1) in variables, f"{name}: foreach {items!r} names no dvc.yaml var"
                items = variables[match.group(1)]
            assert isinstance(items, dict | list), f"{name}: foreach must be a dict or a list of items"
            assert set(stage) == {"foreach", "do"}, f"{name}: a foreach stage holds only foreach and do"
            if isinstance(items, list):  # a list's item is ${item}: a key without fields
                stage = {"do": yaml.safe_load(yaml.safe_dump(stage["do"]).replace("${item}", "${key}"))}
                items = dict.fromkeys(items, {})
            for key, fields in items.items():
                text = yaml.safe_dump(stage["do"]).replace("${key}", str(key))
                for field, value in fields.items():
                    text = text.replace("${item." + field + "}", str(value))
                assert "${key}" not in text and "${item." not in text, f"{name}@{key}: unresolved {text!r}"
                resolved[f"{name}@{key}"] = {"item": {"model": key, **fields}, **yaml.safe_load(text)}
            continue
        if "matrix" not in stage:
            resolved[name] = {"item": {}, **stage}
            continue
        ((key, values),) = stage["matrix"].items()
        for value in values:
            text = yaml.safe_dump({k: v for k, v in stage.items() if k != "matrix"})
            expanded = yaml.safe_load(text.replace("${item." + key + "}", str(value)))
            resolved[f"{name}@{value}"] = {"item": {key: value}, **expanded}
    return resolved


STAGES = resolved_stages()


def stage_module(stage: dict) -> str:
    match = re.match(r"python -m (stages\.\w+)", stage["cmd"])
    assert match, f"stage command must run a stage module: {stage['cmd']!r}"
    return match.group(1)


def expected_code(stage: dict) -> set[str]:
    return import_closure(stage_module(stage))


def dep_paths(stage: dict) -> list[str]:
    return [next(iter(d)) if isinstance(d, dict) else d for d in stage.get("deps", [])]


def out_paths(stage: dict) -> set[str]:
    return {
        next(iter(o)) if isinstance(o, dict) else o
        for kind in ("outs", "metrics", "plots")
        for o in stage.get(kind, [])
    }


@pytest.mark.parametrize("name", sorted(STAGES))
def test_code_deps_are_exactly_the_import_closure(name: str) -> None:
    stage = STAGES[name]
    code = [d for d in dep_paths(stage) if d.startswith(PROJECT_PACKAGES)]
    files = [d for d in code if not (ROOT / d).is_dir()]
    assert all(re.fullmatch(r"stages/\w+\.py", f) for f in files), f"{name}: a code dep is a stages/ file or a folder"
    listed = set(files)
    for folder in (d for d in code if (ROOT / d).is_dir()):
        # A code folder stands for every file DVC hashes in it: each must be a module the stage imports.
        files = [f for f in (ROOT / folder).rglob("*") if f.is_file() and "__pycache__" not in f.parts]
        assert all(f.suffix == ".py" for f in files), f"{name}: {folder} holds more than modules"
        listed |= {str(f.relative_to(ROOT)) for f in files}
    expected = expected_code(stage)
    assert not expected - listed, f"{name} imports but does not depend on: {sorted(expected - listed)}"
    assert not listed - expected, f"{name} depends on but does not import: {sorted(listed - expected)}"


@pytest.mark.parametrize("name", sorted(STAGES))
def test_data_deps_and_outs_are_the_paths_in_the_command(name: str) -> None:
    stage = STAGES[name]
    words = shlex.split(stage["cmd"])
    given = {flag: value for flag, value in zip(words, words[1:], strict=False) if flag.startswith("--")}
    reads = {v for f, v in given.items() if f in INPUT_FLAGS}
    writes = {v for f, v in given.items() if f in OUTPUT_FLAGS}
    data_deps = {d for d in dep_paths(stage) if not d.endswith(".py")}
    assert reads <= data_deps, f"{name} reads {sorted(reads - data_deps)} without depending on it"
    outs = out_paths(stage)
    assert writes <= outs | {str(Path(o).parent) for o in outs}, f"{name} writes {sorted(writes - outs)} undeclared"


def test_the_closure_follows_imports_inside_functions(tmp_path: Path) -> None:
    # A lazily imported module is still run by the stage: the closure must see it.
    (tmp_path / "stages").mkdir()
    (tmp_path / "stages" / "x.py").write_text("def main():\n    from visionlab.core.device import resolve_device\n")
    assert "visionlab.core.device" in imported_modules(tmp_path / "stages" / "x.py")
    # Importing one module of a package runs the package's face, which imports every module of it.
    closure = import_closure("visionlab.models.alexnet")
    assert "visionlab/models/trained.py" in closure and "visionlab/training/loop.py" not in closure


def test_each_analysis_reads_its_own_model_file_only() -> None:
    # AlexNet too is a tracked file (the alexnet stage's): no analysis reads alexnet.weights itself.
    for name, stage in STAGES.items():
        model = stage["item"].get("model", "alexnet" if name in ("predict", "filters", "maximize_channels") else None)
        model_files = [d for d in dep_paths(stage) if d.startswith("models/")]
        assert model_files == ([f"models/{model}.pt"] if model and name.split("@")[0] != "train" else []), name
        assert "alexnet" not in stage.get("params", []) or name == "alexnet", name


def test_dvc_plots_html_is_git_ignored() -> None:
    # `dvc plots show` / `dvc plots diff` write dvc_plots/ (HTML and copies of every PNG plot) in the repo root.
    paths = ["dvc_plots/index.html", "dvc_plots/static/HEAD_reports_figures_attack.png"]
    ignored = subprocess.run(["git", "check-ignore", *paths], cwd=ROOT, capture_output=True, text=True)
    assert ignored.stdout.split() == paths


def test_ci_scripts_do_not_import_the_tests() -> None:
    for path in (ROOT / ".ci").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "tests" not in {
            a.name.split(".")[0] for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Import) for a in n.names
        }, path
        assert "sys.path.insert" not in text or "tests" not in text, f"{path} puts tests/ on sys.path"


def test_a_stage_runs_the_code_of_the_checkout_it_stands_in(tmp_path: Path) -> None:
    # Two clones, one environment: whatever `pip install -e` points at (here: this checkout, or
    # nothing), a stage command run in the second clone imports the second clone's library.
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    marker = "clone's own visionlab"
    init = clone / "visionlab" / "core" / "__init__.py"
    init.write_text(init.read_text() + f"\nprint({marker!r}, __file__)\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    stage = STAGES["check_params"]
    command = shlex.split(stage["cmd"].replace("reports/params.json", str(tmp_path / "params.json")))
    result = subprocess.run(
        [sys.executable, *command[1:]], cwd=clone, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert f"{marker} {init}" in result.stdout


class _Loaded(Exception):
    pass


@pytest.mark.parametrize("name", sorted(n for n in STAGES if n != "check_params"))
def test_params_are_the_sections_the_stage_loads(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The stage's own command line, run until it loads its params: the sections (and top-level keys) it asks
    # the loader for are exactly those dvc.yaml lists, whole or by key (a key where a section spans families).
    stage = STAGES[name]
    module = importlib.import_module(stage_module(stage))
    listed = {entry.split(".")[0] for entry in stage.get("params", [])}
    if not listed:  # then it must not load any
        assert not {"load_params", "probed_classifier"} & set(vars(module)), name
        return
    asked: list[set[str]] = []

    def record(path: str, *keys: str, **sections: type) -> None:
        asked.append({*keys, *sections})
        raise _Loaded

    for holder in (module, importlib.import_module("visionlab.probe.probed")):
        if hasattr(holder, "load_params"):
            monkeypatch.setattr(holder, "load_params", record)
    monkeypatch.setattr(sys, "argv", shlex.split(stage["cmd"])[2:])
    with pytest.raises(_Loaded):
        module.main()
    assert asked == [listed], name


def test_train_reads_run_processes_but_not_run_resume() -> None:
    # A resumed run equals an uninterrupted one, so switching resume must not invalidate a finished model;
    # N processes equal one only to rounding.
    for model in MODELS:
        listed = STAGES[f"train@{model}"]["params"]
        assert "run.processes" in listed and not {"run", "run.resume"} & set(listed), model


def test_the_model_lists_are_the_registrys() -> None:
    # One list of models: dvc.yaml's vars spell the registry's, and each family has one stage per model.
    document = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))
    variables = {k: v for entry in document["vars"] for k, v in entry.items()}
    assert tuple(variables["cifar_models"]) == MODELS and tuple(variables["probed_models"]) == PROBED
    for family, models in (("train", MODELS), ("evaluate", MODELS), ("calibrate", MODELS), ("corruption", MODELS),
                           ("maximize_class", PROBED), ("attack", PROBED), ("attribute", PROBED),
                           ("visualize", PROBED)):  # fmt: skip
        assert {name for name in STAGES if name.startswith(f"{family}@")} == {f"{family}@{m}" for m in models}


def test_the_library_holds_only_what_the_stages_run() -> None:
    # Tools, generators and test helpers live in tools/ and tests/: a module no stage imports does not
    # belong in visionlab/.
    run = set().union(*(expected_code(stage) for stage in STAGES.values()))
    library = {str(path.relative_to(ROOT)) for path in (ROOT / "visionlab").rglob("*.py")}
    assert library - run == set()

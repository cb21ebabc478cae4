"""The shape of the code (docs/design.md, "Layers"): which package may import which, and no circle.

Every module's imports are read from its source (ast), those inside functions included: a circle
that closes through an import inside a function is still a circle, it only fails later. Imports
under `if TYPE_CHECKING:` are left out (they never run).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("trainers", "analysis", "orchestrator")

# Bottom to top: a module imports from its own layer or the layers before it, never after. The data
# flow of `ncsweep run` (spec -> trials -> Ray -> tracking -> tables -> output) is the CLI calling
# down through these, each step handing its result to the next.
LAYERS = (
    "trainers",  # one trial: config -> data -> model -> loop -> metrics; no Ray, no MLflow
    "analysis.store",  # how runs sit in MLflow, and reading them back
    "analysis.tables",  # tables and statistics over trials
    "analysis.figures",  # figures from those tables
    "analysis.outputs",  # Parquet, Markdown/LaTeX, publishing: everything written
    "orchestrator.errors",  # bad input and exit codes
    "orchestrator.sweep",  # the sweep file and its expansion into trials
    "orchestrator.cluster",  # what fits on a cluster, what it costs, Ray jobs and tokens
    "orchestrator.tracking",  # the MLflow store and the driver's tracker
    "orchestrator.output",  # what the terminal shows
    "orchestrator.running",  # trials on Ray Tune
    "orchestrator.cli",  # the commands
)
# What analysis may read of the trainer: the metric registry (names and order, no torch).
ANALYSIS_READS = ("trainers.metrics", "trainers.metrics.registry")


def modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_names(path: Path, module: str, is_package: bool) -> set[str]:
    """The dotted names a module imports anywhere in its body (`from a import b` gives `a.b`)."""
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                names.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parts = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join(parts + ([child.module] if child.module else []))
                names.update(f"{base}.{alias.name}" for alias in child.names)
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    return names


def graph() -> dict[str, set[str]]:
    """module -> the project modules it imports (a name resolves to its longest module prefix)."""
    found = modules()

    def resolve(name: str) -> str | None:
        while name and name not in found:
            name = name.rpartition(".")[0]
        return name or None

    edges = {}
    for module, path in found.items():
        targets = {resolve(name) for name in imported_names(path, module, path.name == "__init__.py")}
        edges[module] = {t for t in targets if t and t != module}
    return edges


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strongconnect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            strongconnect(v)
    return found


def layer(module: str) -> int | None:
    """The index of a module's layer; a package's root (its docstring only) sits under its first layer."""
    matches = [
        i
        for i, prefix in enumerate(LAYERS)
        if module == prefix or module.startswith(prefix + ".") or prefix.startswith(module + ".")
    ]
    return (
        (matches[-1] if module in LAYERS or any(module.startswith(p + ".") for p in LAYERS) else matches[0])
        if matches
        else None
    )


def test_no_import_circle_anywhere():
    found = circles(graph())
    paths = modules()
    assert not found, "import circles:\n" + "\n".join(
        " <-> ".join(str(paths[m].relative_to(ROOT)) for m in c) for c in found
    )


def test_the_circle_finder_finds_a_circle_through_an_import_inside_a_function(tmp_path):
    """The check itself can fail: a two-module circle closed inside a function is found."""
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("import b\n")
    b.write_text("def f():\n    from a import x\n")
    edges = {
        "a": {n for n in imported_names(a, "a", False) if n in ("a", "b")},
        "b": {n.rpartition(".")[0] for n in imported_names(b, "b", False)},
    }
    assert circles(edges) == [["a", "b"]]
    b.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from a import x\n")
    assert imported_names(b, "b", False) == {"typing.TYPE_CHECKING"}


def test_every_module_sits_in_a_layer_and_imports_nothing_above_it():
    wrong = []
    for module, targets in graph().items():
        own = layer(module)
        assert own is not None, f"{module}: in no layer of LAYERS (add its package there)"
        for target in targets:
            if layer(target) > own:
                wrong.append(f"{module} imports {target}, a layer above it ({LAYERS[layer(target)]} > {LAYERS[own]})")
    assert not wrong, "\n".join(sorted(wrong))


def test_analysis_reads_only_the_metric_registry_of_the_trainer():
    for module, targets in graph().items():
        if module.startswith("analysis"):
            from_trainers = {t for t in targets if t.startswith("trainers")}
            assert from_trainers <= set(ANALYSIS_READS), (module, from_trainers)


def test_every_folder_says_what_lives_there():
    for package in PACKAGES:
        for init in (ROOT / package).rglob("__init__.py"):
            doc = ast.get_docstring(ast.parse(init.read_text()))
            assert doc and len(doc) > 20, f"{init.relative_to(ROOT)}: no docstring saying what lives in the folder"


def test_trainers_import_neither_ray_nor_mlflow():
    code = "import sys, trainers, trainers.loop; print(sorted(m for m in ('ray', 'mlflow') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_analysis_imports_neither_torch_nor_orchestrator_nor_ray():
    code = (
        "import sys, analysis.outputs.export, analysis.tables.summary, analysis.tables.paper, "
        "analysis.figures.paper, analysis.outputs.publish\n"
        "print(sorted(m for m in ('torch', 'orchestrator', 'ray') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_plugin_registries_and_sweep_validation_import_no_torch():
    """Every loss, head, model and dataset module is imported to register it: none may pay torch's
    import at module level (reading a sweep file stays fast), and each imports on its own (no cycle
    between a config class and its implementation)."""
    code = (
        "import sys, importlib, pkgutil, trainers.config, orchestrator.sweep.spec, orchestrator.cli\n"
        "import trainers.losses, trainers.heads, trainers.models, trainers.data\n"
        "print(sorted(m for m in ('torch', 'torchvision', 'timm', 'sklearn', 'ray') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    import trainers.data
    import trainers.models

    for package in (trainers.models, trainers.data):
        for module in (m.name for m in __import__("pkgutil").iter_modules(package.__path__)):
            name = f"{package.__name__}.{module}"
            alone = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True, text=True)
            assert alone.returncode == 0, (name, alone.stderr[-500:])

"""The dependency direction of DESIGN.md: trainers know nothing of Ray or MLflow."""

import pkgutil
import subprocess
import sys


def test_trainers_import_neither_ray_nor_mlflow():
    code = "import sys, trainers, trainers.loop; print(sorted(m for m in ('ray', 'mlflow') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_analysis_imports_neither_trainers_nor_orchestrator():
    code = "import sys, analysis.export, analysis.summary, analysis.paper, analysis.figures, analysis.publish; print(sorted(m for m in ('trainers', 'orchestrator', 'ray') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_plugin_registries_and_sweep_validation_import_no_torch():
    """Every loss, head, model and dataset module is imported to register it: none may pay torch's
    import at module level (reading a sweep file stays fast), and each imports on its own (no cycle
    between a config class and its implementation)."""
    code = (
        "import sys, importlib, pkgutil, trainers.config, orchestrator.spec\n"
        "import trainers.losses, trainers.heads, trainers.models, trainers.data\n"
        "print(sorted(m for m in ('torch', 'torchvision', 'timm', 'sklearn') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    import trainers.data
    import trainers.models

    for package in (trainers.models, trainers.data):
        for module in (m.name for m in pkgutil.iter_modules(package.__path__)):
            name = f"{package.__name__}.{module}"
            alone = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True, text=True)
            assert alone.returncode == 0, (name, alone.stderr[-500:])

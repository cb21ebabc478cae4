"""The dependency direction of DESIGN.md: trainers know nothing of Ray or MLflow."""

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

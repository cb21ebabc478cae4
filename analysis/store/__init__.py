"""How ncsweep lays runs out in MLflow (layout.py: tags, artifact names, the best-epoch rule, shared
by the writer and the readers) and reading the runs back (read.py, history.py).
"""

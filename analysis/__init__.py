"""MLflow runs -> pandas tables -> Parquet, Markdown/LaTeX tables and figures. No Ray, no torch: it
reads the store alone (and the trainer's metric registry, for the names and order of the metrics).
Layers, bottom to top:

- store/: how runs sit in MLflow (layout.py, shared with the tracker), reading them back (read.py, history.py)
- tables/: tables and statistics: seeds, settings, losses, paired comparisons, the paper's claims and tables
- figures/: the figures drawn from them (headless matplotlib)
- outputs/: everything written: Parquet schemas, the export of a sweep, Markdown/LaTeX, publishing
"""

"""Everything analysis writes: Parquet with explicit schemas (parquet.py), one sweep's whole export
(export.py), Markdown and LaTeX tables (formats.py), the paper's tables and figures logged to MLflow (publish.py).
"""

"""Tables and statistics over the trials table: seed statistics with t intervals (seeds.py), which
trials count (selection.py), the summary and settings (summary.py), losses compared (losses.py),
paired tests (compare.py), the paper's claims (claims.py) and tables (paper.py), plain text (text.py).
"""

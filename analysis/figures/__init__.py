"""Figures from the tables: what they share (plotting.py), the paper's NC curves and violins
(paper.py), the loss comparison (losses.py), collapse across depth (layers.py).
"""

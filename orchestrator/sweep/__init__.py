"""The sweep file and its expansion: the YAML schema (spec.py), the `search:` and `scheduler:` sections
(search.py), and the readable names of trials and points (names.py). No Ray, no MLflow, no torch.
"""

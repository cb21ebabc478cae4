"""The cluster as a sweep sees it: how many trials fit at once (capacity.py), what a sweep costs in
wall time and GPU hours (cost.py), sweeps as Ray Jobs (jobs.py), and the token of a local Ray (ray_token.py).
"""

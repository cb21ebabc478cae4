"""Trials on Ray Tune: the checks before anything starts (preflight.py), the Tune session of a sweep
(session.py: Ray, the parent run, the tracker, signals), a grid sweep or a resume (run.py), a search
(search.py), the trainable each worker runs (trainable.py) and the results folder (storage.py).
"""

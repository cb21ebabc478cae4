"""ncsweep's driver side: a sweep file becomes trials, Ray Tune runs them, MLflow records them, the
terminal says how it went. Layers, bottom to top (each imports only the ones before it):

- errors.py: bad input (one message naming the file, the dotted key, the allowed values) and the exit codes
- sweep/: the sweep file, its validation and its expansion into named trials
- cluster/: what fits on a cluster and what a sweep costs there; Ray jobs and Ray's token
- tracking/: the MLflow store (reachability, retries) and the driver's tracker (runs, params, metrics)
- output/: what the terminal shows (live progress, result tables, `ncsweep list`)
- running/: trials on Ray Tune (a grid, a search, a resume), the trainable, preflight checks
- cli/: the `ncsweep` commands, which call down through the layers above
"""

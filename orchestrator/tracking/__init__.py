"""MLflow from the driver: which store a command uses (uri.py), the store as a remote service that may
be slow or down (store.py), a sweep's parent run and its summary (parent.py), and the tracker that
turns Tune's results into child runs (tracker.py).
"""

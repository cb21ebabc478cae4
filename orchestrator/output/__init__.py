"""What the terminal shows: the live view of a running sweep (progress.py), the result tables after
one (results.py), `ncsweep train`'s lines (train.py) and `ncsweep list` (listing.py).
"""

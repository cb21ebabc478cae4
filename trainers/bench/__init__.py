"""`ncsweep bench`: how fast a trial trains on this device, against the paper's official input
pipeline, with and without bf16 / channels_last / torch.compile, and how many trials fit on one
device. Each module measures one thing; `report.py` runs them and prints the table."""

"""The progress view's arithmetic: counts by status, epochs done, and the ETA from observed epoch times."""

import io

from orchestrator.output.progress import SweepProgress, format_duration


def test_eta_spreads_the_epochs_left_over_the_trials_running_at_once():
    out = io.StringIO()
    progress = SweepProgress({"a": 10, "b": 10, "c": 10, "d": 10}, stream=out)
    assert progress.eta_seconds() is None and "ETA unknown" in progress.line()
    for epoch in (1, 2):
        progress.on_result("a", {"epoch": epoch, "time/epoch_s": 2.0, "test/acc": 0.5, "node_id": "abcdef1234"})
        progress.on_result("b", {"epoch": epoch, "time/epoch_s": 4.0})
    # left: a 8 + b 8 + c 10 + d 10 = 36 epochs x 3 s mean / 2 at once
    assert progress.eta_seconds() == 54.0
    progress.on_done("a", "finished", {"epoch": 10, "test/acc": 0.9})
    assert out.getvalue() == "[1/4] a: finished after 10 epochs  test/acc 0.9000\n"
    assert progress.counts() == {"finished": 1, "running": 1, "pending": 2}
    assert progress.line() == "progress: 1 finished, 1 running, 2 pending; epochs 12/40; ETA 42s"
    assert format_duration(3725) == "1h02m" and format_duration(125) == "2m05s"


def test_lines_every_interval_off_a_terminal():
    out = io.StringIO()
    progress = SweepProgress({"a": 3}, stream=out, interval=0.05)
    progress.start()
    progress.on_result("a", {"epoch": 1, "time/epoch_s": 1.0})
    import time

    time.sleep(0.3)
    progress.stop()
    lines = out.getvalue().splitlines()
    assert len(lines) >= 2 and all(
        line.startswith("progress: 1 running, 0 pending; epochs 1/3; ETA 2s") for line in lines
    )

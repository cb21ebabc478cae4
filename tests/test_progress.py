"""The progress view's arithmetic: counts by status, epochs done, and the ETA from observed epoch times."""

import io

from orchestrator.output.progress import SweepProgress, format_duration


class Clock:
    """A clock the test moves by hand."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run_wave(progress: SweepProgress, clock: Clock, names, start: float, startup: float, epochs: int, epoch_s: float):
    """Trials `names` start together at `start`, report after `startup` + each epoch, and end."""
    clock.now = start
    for name in names:
        progress.on_start(name)
    for epoch in range(1, epochs + 1):
        clock.now = start + startup + epoch * epoch_s
        for name in names:
            progress.on_result(name, {"epoch": epoch, "test/acc": 0.5})
        yield epoch


def test_eta_counts_start_up_and_metric_time_and_spreads_the_trials_left_over_the_slots():
    """Four trials of 10 epochs, two at a time, 5 s of start-up, 1 s per epoch (metrics included):
    after two reports of the first wave the time left is exactly 23 s (the wave's 8 epochs, then the
    second wave's start-up and 10 epochs), and the ETA says so; an ETA from the epoch time alone
    (the training steps) would say 18 s and miss the second wave's start-up."""
    clock = Clock()
    out = io.StringIO()
    progress = SweepProgress({"a": 10, "b": 10, "c": 10, "d": 10}, stream=out, clock=clock)
    first_wave = run_wave(progress, clock, ["a", "b"], start=0.0, startup=5.0, epochs=10, epoch_s=1.0)
    assert next(first_wave) == 1 and progress.eta_seconds() is None and "ETA unknown" in progress.line()
    assert next(first_wave) == 2 and clock.now == 7.0
    assert progress.eta_seconds() == 23.0  # the sweep ends at 30 s: (10 + 10 + 10) after the first 5 + ...
    for _ in first_wave:
        pass
    for name in ("a", "b"):
        progress.on_done(name, "finished", {"epoch": 10, "test/acc": 0.9})
    assert progress.eta_seconds() == 15.0  # the second wave: 5 s start-up + 10 epochs
    second_wave = run_wave(progress, clock, ["c", "d"], start=15.0, startup=5.0, epochs=10, epoch_s=1.0)
    next(second_wave)
    assert progress.eta_seconds() == 9.0 and clock.now == 21.0  # it ends at 30 s
    assert out.getvalue().splitlines()[0] == "[1/4] a: finished after 10 epochs  test/acc 0.9000"
    assert progress.counts() == {"finished": 2, "running": 2, "pending": 0}
    assert progress.line() == "progress: 2 finished, 2 running, 0 pending; epochs 22/40; ETA 9s"
    assert format_duration(3725) == "1h02m" and format_duration(125) == "2m05s"


def test_an_ended_trial_leaves_the_live_table_even_if_a_report_comes_late():
    progress = SweepProgress({"a": 3, "b": 3}, stream=io.StringIO(), clock=Clock())
    progress.on_start("a")
    progress.on_result("a", {"epoch": 3})
    progress.on_done("a", "finished", {"epoch": 3})
    progress.on_result("a", {"epoch": 3})  # Tune's last result can reach the driver after the trial ended
    assert "a" not in progress.running and progress.counts()["running"] == 0


def test_the_progress_line_fits_100_columns_and_sits_above_the_table():
    from rich.console import Console

    names = {f"trial-{i}": 400 for i in range(1200)}
    progress = SweepProgress(names, stream=io.StringIO(), clock=Clock())
    for i, status in enumerate(["finished", "diverged", "error", "stopped", "interrupted"] * 100):
        progress.ended[f"trial-{i}"] = status
    for i in range(500, 520):
        progress.on_start(f"trial-{i}")
    assert len(progress.line()) <= 100
    console = Console(file=io.StringIO(), width=100, record=True)
    console.print(progress.render())
    first = console.export_text().splitlines()[0]
    assert first.startswith("progress: ") and first.rstrip() == progress.line()


def test_lines_every_interval_off_a_terminal():
    out = io.StringIO()
    progress = SweepProgress({"a": 3}, stream=out, interval=0.05)
    progress.start()
    progress.on_result("a", {"epoch": 1, "time/epoch_s": 1.0})
    import time

    time.sleep(0.3)
    progress.stop()
    lines = out.getvalue().splitlines()
    assert len(lines) >= 2 and all(line == "progress: 1 running, 0 pending; epochs 1/3; ETA unknown" for line in lines)

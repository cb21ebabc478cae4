"""The sweep in MLflow's own UI, in a real headless browser (Debian's chromium, driven by
Playwright): the `Compare:` link that `ncsweep run` prints opens the sweep's runs table (not MLflow
3's GenAI view), and "Group by" on the ncsweep.group tag shows one group per setting holding its
seeds, and a second run of the same sweep gets groups of its own (never pooled with the first).
Skipped, with the reason, where no Chromium is installed (apt-get install chromium)."""

from __future__ import annotations

import re
import shutil

import pytest
from conftest import tiny_sweep
from mlflow.tracking import MlflowClient

from orchestrator.cli.parser import main

pytestmark = pytest.mark.integration
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# The flags the machine notes give for a headless Chromium on a closed network.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (apt-get install chromium)")
def test_the_compare_link_opens_the_runs_table_and_groups_seeds_by_setting(
    mlflow_server, tmp_path, capsys, monkeypatch
):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    monkeypatch.chdir(tmp_path)
    sweep = tiny_sweep(tmp_path / "ui.yaml", "ui", grid={"loss.name": ["ce", "bce"]}, seeds=[0, 1])
    for _ in range(2):  # the same sweep twice: its groups must not pool the two runs
        assert main(["run", str(sweep), "--tracking-uri", mlflow_server, "--storage", str(tmp_path / "results")]) == 0
    link = re.findall(r"Compare:  (\S+)", capsys.readouterr().out)[-1]
    assert link.startswith(mlflow_server) and "/runs?workflowType=machine_learning&viewStateShareKey=" in link
    client = MlflowClient(mlflow_server)
    runs = client.search_runs([client.get_experiment_by_name("test-ui").experiment_id])
    sweeps = sorted(r.info.run_name for r in runs if "mlflow.parentRunId" not in r.data.tags)
    assert len(sweeps) == 2
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1400})
            # The printed link opens the sweep's saved view: its runs only, grouped by setting already.
            page.goto(link)
            for loss in ("ce", "bce"):
                page.get_by_text(f"Group: {loss} in {sweeps[1]}", exact=True).wait_for(timeout=60_000)
            saved, saved_url = page.inner_text("body"), page.url
            page.screenshot(path=str(tmp_path / "saved_view.png"), full_page=True)
            # The whole experiment, grouped by hand (a fresh page: the UI keeps a view's state per browser).
            page = browser.new_page(viewport={"width": 1600, "height": 1400})
            page.goto(link.split("&viewStateShareKey=")[0])
            page.get_by_role("button", name="Group by").click(timeout=60_000)  # the runs table's toolbar
            page.get_by_text("ncsweep.group", exact=True).click()
            page.keyboard.press("Escape")
            for name in sweeps:
                for loss in ("ce", "bce"):
                    page.get_by_text(f"Group: {loss} in {name}", exact=True).wait_for(timeout=30_000)
            body, url = page.inner_text("body"), page.url
            page.screenshot(path=str(tmp_path / "runs_grouped.png"), full_page=True)
        finally:
            browser.close()
    assert f"in {sweeps[0]}" not in saved and "test/acc" in saved  # one sweep run; the paper's metrics as columns
    assert "workflowType=machine_learning" in saved_url
    assert "Group by: ncsweep.group" in body
    for run in ("ce-s0", "ce-s1", "bce-s0", "bce-s1"):  # each setting's seeds under its group
        assert body.count(run) >= 2  # once under each sweep run's group
    assert (
        "/runs?" in url and "workflowType=machine_learning" in url
    )  # still the runs view: the UI did not send it to GenAI's traces
    assert (tmp_path / "runs_grouped.png").stat().st_size > 10_000

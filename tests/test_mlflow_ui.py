"""The sweep in MLflow's own UI, in a real headless browser (Debian's chromium, driven by
Playwright): the `Compare:` link that `ncsweep run` prints opens the sweep's runs table (not MLflow
3's GenAI view), and "Group by" on the ncsweep.group tag shows one group per setting holding its
seeds. Skipped, with the reason, where no Chromium is installed (apt-get install chromium)."""

from __future__ import annotations

import re
import shutil

import pytest
from conftest import tiny_sweep

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
    assert main(["run", str(sweep), "--tracking-uri", mlflow_server, "--storage", str(tmp_path / "results")]) == 0
    link = re.search(r"Compare:  (\S+)", capsys.readouterr().out).group(1)
    assert link.startswith(mlflow_server) and link.endswith("/runs?workflowType=machine_learning")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(link)
            page.get_by_role("button", name="Group by").click(timeout=60_000)  # the runs table's toolbar
            page.get_by_text("ncsweep.group", exact=True).click()
            page.keyboard.press("Escape")
            for group in ("ce", "bce"):
                page.get_by_text(f"Group: {group}", exact=True).wait_for(timeout=30_000)
            body, url = page.inner_text("body"), page.url
        finally:
            browser.close()
    assert "Group by: ncsweep.group" in body
    for run in ("ce-s0", "ce-s1", "bce-s0", "bce-s1"):  # each setting's seeds under its group
        assert run in body
    assert (
        "/runs?" in url and "workflowType=machine_learning" in url
    )  # still the runs view: the UI did not send it to GenAI's traces

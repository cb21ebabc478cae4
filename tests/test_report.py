"""report.html: one self-contained page per sweep, written by `ncsweep run` into the results folder
next to the Markdown tables, and logged to the sweep's parent run. In a real headless Chromium
(Debian's, driven by Playwright; skipped with the reason where absent): no console error, no
request leaves the page, every image loaded, every table there; and the same page inside MLflow's
artifact viewer. Screenshots go to the test's tmp folder."""

from __future__ import annotations

import re

import pytest
from conftest import tiny_sweep
from mlflow.tracking import MlflowClient
from test_mlflow_ui import ARGS, CHROMIUM

from orchestrator.cli.parser import main

pytestmark = pytest.mark.integration
TABLES = ("settings", "comparisons")


@pytest.fixture(scope="module")
def swept(mlflow_server, tmp_path_factory):
    """CE and BCE x two seeds, logged to a real MLflow server: (results folder, parent run id)."""
    root = tmp_path_factory.mktemp("report")
    sweep = tiny_sweep(root / "report.yaml", "report", grid={"loss.name": ["ce", "bce"]}, seeds=[0, 1])
    argv = ["run", str(sweep), "--tracking-uri", mlflow_server, "--storage", str(root / "results")]
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        assert main(argv) == 0
    results = next((root / "results").glob("report-*"))
    client = MlflowClient(mlflow_server)
    experiment = client.get_experiment_by_name("test-report")
    parents = [r for r in client.search_runs([experiment.experiment_id]) if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1
    return results, parents[0].info.run_id, experiment.experiment_id


def test_run_writes_the_page_and_the_markdown_tables_and_logs_the_page(swept, mlflow_server):
    results, parent, experiment = swept
    page = (results / "report.html").read_text()
    for name in TABLES:
        assert (results / f"{name}.md").read_text().startswith("Table: ")
        assert f'<h2 id="{name}">' in page
    # Self-contained: images inline, no script, no stylesheet or image fetched from anywhere.
    assert page.count('src="data:image/png;base64,') >= 2 and "<script" not in page and "<link" not in page
    assert not re.search(r'src="(?!data:)', page)
    # Each child run linked into the UI, under its setting.
    assert len(re.findall(rf'href="{re.escape(mlflow_server)}/#/experiments/{experiment}/runs/\w+"', page)) == 4
    artifacts = [f.path for f in MlflowClient(mlflow_server).list_artifacts(parent)]
    assert "report.html" in artifacts


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (apt-get install chromium)")
def test_the_page_opens_in_chromium_and_inside_mlflows_artifact_view(swept, mlflow_server, tmp_path):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    results, parent, experiment = swept
    errors, outside = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: None if r.url.startswith(("data:", "file:")) else outside.append(r.url))
            page.goto((results / "report.html").as_uri())
            page.wait_for_load_state("load")
            images = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.complete && i.naturalWidth > 0)")
            captions = page.eval_on_selector_all("table caption", "cs => cs.map(c => c.textContent)")
            headings = page.eval_on_selector_all("h2", "hs => hs.map(h => h.textContent)")
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
            # The same page as MLflow's artifact viewer shows it, in the parent run's artifacts.
            ui = browser.new_page(viewport={"width": 1600, "height": 1000})
            ui.goto(f"{mlflow_server}/#/experiments/{experiment}/runs/{parent}/artifacts")
            ui.get_by_text("report.html", exact=True).first.click(timeout=60_000)
            frame = ui.frame_locator("iframe").first
            frame.get_by_role("heading", name="Settings").wait_for(timeout=30_000)
            inside = frame.locator("img").count()
            ui.screenshot(path=str(tmp_path / "report_in_mlflow.png"), full_page=True)
        finally:
            browser.close()
    assert not errors and not outside, (errors, outside)
    assert len(images) >= 2 and all(images)
    assert any("95% t interval" in c for c in captions) and any("Holm" in c for c in captions)
    assert {"Settings", "Paired comparisons", "Child runs per setting"} <= set(headings)
    assert inside == len(images)
    assert (tmp_path / "report.png").stat().st_size > 10_000 and (tmp_path / "report_in_mlflow.png").exists()

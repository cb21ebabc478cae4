"""Sweeps on a multi-node Ray cluster on this host (ray.cluster_utils.Cluster: a head and two
worker nodes, each its own raylet): trials spread over the nodes, and losing a node mid-sweep
costs only the epochs since the lost trial's last checkpoint."""

from __future__ import annotations

import pytest
from clusterkit import BIN, Runs, clean_env, slow_sweep, start, stop_tree

pytestmark = pytest.mark.integration

TRIALS = {"ce-s0", "ce-s1", "bce-s0", "bce-s1"}


@pytest.fixture
def three_nodes():
    from ray.cluster_utils import Cluster

    # A dead node is noticed after 2 missed 1 s health checks instead of Ray's default 5 x 3 s.
    health = {"health_check_initial_delay_ms": 0, "health_check_period_ms": 1000, "health_check_failure_threshold": 2}
    cluster = Cluster(
        initialize_head=True,
        connect=False,
        head_node_args={"num_cpus": 1, "include_dashboard": False, "_system_config": health},
    )
    try:
        workers = [cluster.add_node(num_cpus=1) for _ in range(2)]
        cluster.wait_for_nodes()
        yield cluster, workers
    finally:
        cluster.shutdown()  # stops every node's processes by pid


def test_trials_spread_over_nodes_and_a_lost_node_costs_no_trial(three_nodes, tmp_path):
    cluster, workers = three_nodes
    path = slow_sweep(tmp_path / "nodes.yaml", "nodes", failure={"max_retries": 2})
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    log = tmp_path / "run.log"
    args = [str(BIN / "ncsweep"), "run", str(path), "--tracking-uri", uri, "--storage", str(tmp_path / "results")]
    driver = start(args, tmp_path, clean_env(RAY_ADDRESS=cluster.address), log)
    runs = Runs(uri, "test-nodes")
    by_id = {w.node_id: w for w in workers}
    seen_nodes: set[str] = set()
    try:

        def checkpointed_on_a_worker(children):
            seen_nodes.update(
                r.data.tags["ncsweep.ray_node_id"] for r in children if "ncsweep.ray_node_id" in r.data.tags
            )
            for run in children:
                node = run.data.tags.get("ncsweep.ray_node_id")
                if node in by_id and run.data.tags.get("ncsweep.status") == "running" and len(runs.epochs(run)) >= 2:
                    return run.data.tags["ncsweep.trial"], node
            return None

        victim, node = runs.wait(checkpointed_on_a_worker, 240, "a trial with 2 epochs on a worker node", driver, log)
        cluster.remove_node(by_id[node])  # its raylet and the trial's worker process die
        code = driver.wait(timeout=300)
    finally:
        stop_tree(driver)
    output = log.read_text()
    assert code == 0, output[-4000:]
    final = runs.assert_complete(TRIALS)
    # The node tags seen while it ran (MLflow gets them up to a few seconds late) and the last ones.
    seen_nodes.update(run.data.tags["ncsweep.ray_node_id"] for run in final.values())
    assert len(seen_nodes) >= 2, seen_nodes  # placed on at least two of the three nodes
    moved = final[victim].data.tags
    assert moved["ncsweep.ray_node_id"] != node  # finished elsewhere...
    assert int(moved.get("ncsweep.resumed_from_epoch", 0)) >= 2, moved  # ...from its checkpoint, not epoch 0

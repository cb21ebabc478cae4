"""The files of docker/ agree with the project and keep a cluster private: the image installs
exactly the pinned dependencies, every Ray process needs the token, nothing is published
beyond 127.0.0.1 or a ClusterIP, and one image tag is used everywhere.

Static checks only (no Docker engine, no Kubernetes): the YAML is parsed, the Dockerfile read.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
PIN = re.compile(r"""(?<![\w.-])([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s"'\\]+)""")
RAY_SERVICES = ("ray-head", "ray-worker")


def norm(name: str) -> str:
    """PEP 503 name: case and -_. runs don't matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(text: str) -> list[tuple[str, str]]:
    return [(norm(m.group(1)), m.group(3)) for m in PIN.finditer(text)]


def project() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def project_pins() -> dict[str, str]:
    found = dict(pins("\n".join(project()["dependencies"])))
    assert found, "pyproject.toml pins nothing with =="
    return found


def dockerfile_instructions(path: Path = DOCKER / "Dockerfile") -> list[str]:
    """One string per instruction: comments dropped, backslash continuations joined."""
    out: list[str] = []
    current = ""
    for line in path.read_text().splitlines():
        if line.lstrip().startswith("#"):
            continue  # comment lines, also between continued lines
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current += line
        if current.strip():
            out.append(current.strip())
        current = ""
    if current.strip():
        out.append(current.strip())
    return out


def dependency_install(instructions: list[str]) -> str:
    """The RUN that installs the dependencies (not the project's own --no-deps install)."""
    runs = [i for i in instructions if i.startswith("RUN ") and "pip install" in i and "--no-deps" not in i]
    assert len(runs) == 1, f"expected one dependency `pip install` RUN, found {len(runs)}"
    return runs[0]


def load(name: str) -> list[Any]:
    with open(DOCKER / name) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def compose_services() -> dict[str, dict[str, Any]]:
    return load("compose.yaml")[0]["services"]


def as_text(command: str | list[str] | None) -> str:
    return command if isinstance(command, str) else " ".join(command or [])


def as_args(command: str | list[str]) -> list[str]:
    """Compose `command` in either form (shell string, or exec list) as a list of arguments."""
    return shlex.split(command) if isinstance(command, str) else [str(a) for a in command]


def env_dict(env: dict[str, Any] | list[str] | None) -> dict[str, str]:
    """Compose `environment` in either form (mapping, or KEY=VALUE list)."""
    if isinstance(env, dict):
        return {k: "" if v is None else str(v) for k, v in env.items()}
    return dict(item.partition("=")[::2] for item in env or [])


def cluster_start_commands() -> list[str]:
    cfg = load("cluster.yaml")[0]
    cmds = [c for key in ("head_start_ray_commands", "worker_start_ray_commands") for c in cfg[key]]
    return [c for c in cmds if "ray start" in c]


def rayjob() -> dict[str, Any]:
    jobs = [d for d in load("rayjob.yaml") if d.get("kind") == "RayJob"]
    assert len(jobs) == 1
    return jobs[0]


def rayjob_pod_specs(job: dict[str, Any]) -> Iterator[dict[str, Any]]:
    cluster = job["spec"]["rayClusterSpec"]
    yield cluster["headGroupSpec"]["template"]["spec"]
    for group in cluster["workerGroupSpecs"]:
        yield group["template"]["spec"]
    if "submitterPodTemplate" in job["spec"]:
        yield job["spec"]["submitterPodTemplate"]["spec"]


def walk(node: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair of a nested YAML document."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield k, v
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


# (a) the image installs exactly the project's pins


def test_dockerfile_installs_every_pyproject_pin():
    install = dict(pins(dependency_install(dockerfile_instructions())))
    expected = project_pins()
    assert {name: install.get(name) for name in expected} == expected


def test_dockerfile_pins_no_project_dependency_at_another_version():
    expected = project_pins()
    other = [
        f"{name}=={version}"
        for instruction in dockerfile_instructions()
        for name, version in pins(instruction)
        if name in expected and version != expected[name]
    ]
    assert other == []


def test_dockerfile_pins_the_postgres_driver_and_installs_the_project_without_deps():
    instructions = dockerfile_instructions()
    assert "psycopg2-binary" in dict(pins(dependency_install(instructions)))
    assert any(i.startswith("RUN ") and "pip install" in i and "--no-deps ." in i for i in instructions)


def test_dockerfile_runs_as_non_root_with_token_auth_and_no_telemetry():
    instructions = dockerfile_instructions()
    users = [i.split(None, 1)[1] for i in instructions if i.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    env = " ".join(i for i in instructions if i.startswith("ENV "))
    for setting in ("RAY_AUTH_MODE=token", "RAY_USAGE_STATS_ENABLED=0", "MLFLOW_DISABLE_TELEMETRY=true"):
        assert setting in env.split()
    assert "WORKDIR /app" in instructions


def test_dockerignore_keeps_local_state_out_of_the_context():
    patterns = {
        line.strip()
        for line in (DOCKER / "Dockerfile.dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".git", "mlflow.db", "mlruns", "ncsweep_results"} <= patterns


# (b) compose: the services, MLflow on PostgreSQL, ports on loopback, token auth


def test_compose_has_the_four_services():
    assert {"postgres", "mlflow", "ray-head", "ray-worker"} <= set(compose_services())


def test_compose_mlflow_uses_postgres_and_an_artifact_volume():
    compose = load("compose.yaml")[0]
    mlflow = compose["services"]["mlflow"]
    args = as_args(mlflow["command"])
    backend = args[args.index("--backend-store-uri") + 1]
    # the scheme names the driver the image installs: SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3
    assert backend.startswith("postgresql+psycopg2://") and "@postgres" in backend
    assert "psycopg2-binary" in dict(pins(dependency_install(dockerfile_instructions())))
    assert "--serve-artifacts" in args
    destination = args[args.index("--artifacts-destination") + 1]
    mounts = dict(v.split(":")[1::-1] for v in mlflow["volumes"] if isinstance(v, str))
    assert mounts.get(destination) in (compose.get("volumes") or {}), f"{destination} is not on a named volume"


def test_compose_publishes_ports_on_loopback_only():
    published = []
    for name, service in compose_services().items():
        for port in service.get("ports", []):
            host_ip = port.get("host_ip") if isinstance(port, dict) else str(port).rsplit(":", 2)[0]
            published.append((name, host_ip))
            assert host_ip == "127.0.0.1", f"{name}: port {port} is published beyond 127.0.0.1"
    assert {name for name, _ in published} >= {"mlflow", "ray-head"}


def test_compose_postgres_password_and_token_are_required_not_defaulted():
    services = compose_services()
    assert env_dict(services["postgres"]["environment"])["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    for name in RAY_SERVICES:
        assert env_dict(services[name]["environment"])["RAY_AUTH_TOKEN"].startswith("${RAY_AUTH_TOKEN:?")


@pytest.mark.parametrize("name", RAY_SERVICES)
def test_compose_ray_services_use_token_auth(name):
    service = compose_services()[name]
    assert "ray start" in as_text(service["command"])
    env = env_dict(service["environment"])
    assert env.get("RAY_AUTH_MODE") == "token"
    assert env.get("MLFLOW_TRACKING_URI") == "http://mlflow:5000"
    assert any(v.endswith(":/data/ncsweep") for v in service["volumes"])


def test_compose_every_ray_start_has_token_auth():
    services = [s for s in compose_services().values() if "ray start" in as_text(s.get("command"))]
    assert len(services) >= 2
    assert all(env_dict(s.get("environment")).get("RAY_AUTH_MODE") == "token" for s in services)


def test_compose_worker_reserves_nvidia_gpus():
    devices = compose_services()["ray-worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert any(d.get("driver") == "nvidia" and "gpu" in d.get("capabilities", []) for d in devices)


# (b, d) cluster launcher: token auth, dashboard not on every interface


def test_cluster_start_commands_use_token_auth():
    commands = cluster_start_commands()
    assert len(commands) == 2  # the head's and the workers'
    for command in commands:
        assert "RAY_AUTH_MODE=token" in command and "RAY_AUTH_TOKEN=" in command, command


def test_cluster_dashboard_is_not_on_every_interface():
    head = [c for c in cluster_start_commands() if "--head" in c]
    hosts = re.findall(r"--dashboard-host[= ]+(\S+)", " ".join(head))
    assert hosts, "set --dashboard-host on the head explicitly (its default has changed across Ray versions)"
    assert all(h.strip("'\"") not in ("0.0.0.0", "::", "[::]") for h in hosts)


def test_cluster_uses_internal_ips():
    assert load("cluster.yaml")[0]["provider"]["use_internal_ips"] is True


# (b, c) KubeRay RayJob


def test_rayjob_is_a_rayjob_that_cleans_up():
    job = rayjob()
    assert job["apiVersion"] == "ray.io/v1"
    assert job["spec"]["shutdownAfterJobFinishes"] is True
    assert job["spec"]["rayClusterSpec"]["authOptions"]["mode"] == "token"
    assert "orchestrator.cli run sweeps/" in job["spec"]["entrypoint"]


def test_rayjob_containers_use_token_auth_from_a_secret():
    containers = [c for spec in rayjob_pod_specs(rayjob()) for c in spec["containers"]]
    assert len(containers) >= 3  # head, a worker group, the submitter
    for c in containers:
        env = {e["name"]: e for e in c.get("env", [])}
        assert env.get("RAY_AUTH_MODE", {}).get("value") == "token", c["name"]
        assert "secretKeyRef" in env.get("RAY_AUTH_TOKEN", {}).get("valueFrom", {}), c["name"]


def test_rayjob_exposes_no_loadbalancer_or_nodeport():
    exposed = [
        (key, value)
        for doc in load("rayjob.yaml")
        for key, value in walk(doc)
        if key in ("serviceType", "type") and value in ("LoadBalancer", "NodePort")
    ]
    assert exposed == []
    assert rayjob()["spec"]["rayClusterSpec"]["headGroupSpec"]["serviceType"] == "ClusterIP"


def test_rayjob_mounts_a_pvc_at_the_shared_path():
    for spec in rayjob_pod_specs(rayjob()):
        if spec.get("restartPolicy") == "Never":
            continue  # the submitter only talks to the job API
        claims = {v["name"] for v in spec.get("volumes", []) if "persistentVolumeClaim" in v}
        mounts = {
            m["name"]
            for c in spec["containers"]
            for m in c.get("volumeMounts", [])
            if m["mountPath"] == "/data/ncsweep"
        }
        assert claims and claims & mounts


# (e) one image everywhere


def project_images() -> dict[str, str]:
    """Where the ncsweep image is named -> that name, across compose, cluster and rayjob."""
    images = {f"compose:{n}": s["image"] for n, s in compose_services().items() if n != "postgres"}
    docker = load("cluster.yaml")[0]["docker"]
    images.update({f"cluster:{k}": docker[k] for k in ("image", "head_image", "worker_image") if k in docker})
    for i, spec in enumerate(rayjob_pod_specs(rayjob())):
        images.update({f"rayjob:{i}:{c['name']}": c["image"] for c in spec["containers"]})
    return images


def test_one_image_tag_everywhere_matching_the_project_version():
    images = project_images()
    assert len(images) >= 7
    # The registry prefix may differ (a cloud cluster pulls from a registry); name:tag may not.
    assert {ref.rsplit("/", 1)[-1] for ref in images.values()} == {f"ncsweep:{project()['version']}"}, images

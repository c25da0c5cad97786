"""Helpers of the release tests: a region's stable agent and mesh objects as the agent and mesh
steps render them, applied to a namespace of the local cluster, and readers of the live objects."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

from ansible_collections.agentic.platform.plugins.module_utils.kube_apply import Applier
from ansible_collections.agentic.platform.plugins.module_utils.release import objects
from site_support import render_role_template

from tests.monitoring_support import free_port

STABLE = {"version": "v1.0.0", "image": "agent-registry/mcp-agent:v1.0.0"}
FIELD_MANAGER = "agentic-platform"
PLACEHOLDER = "release-test-namespace"


def render_region(tmp: Path, **agent_vars) -> list[dict]:
    """The agent step's Deployment, Service, PodDisruptionBudget (2 replicas, at least 1 available;
    ``agent_vars`` over these) and the mesh step's Istio objects, for a placeholder namespace
    (replaced in names and hosts by apply_region)."""
    agent = render_role_template("agent", "agent.yml.j2", {
        "agentic_namespace": PLACEHOLDER, "agentic_region": "local", "agent_replicas": 2,
        "agent_pdb_min_available": 1, "agent_version": STABLE["version"], "agent_image": STABLE["image"],
        **agent_vars}, tmp)
    mesh = render_role_template("mesh", "mesh.yml.j2", {"agentic_namespace": PLACEHOLDER, "agentic_region": "local"},
                                tmp)
    return agent + mesh


def apply_region(client, rendered: list[dict], namespace: str) -> list[dict]:
    """Applies as the site steps do (their field manager); returns each apply's result."""
    applier = Applier(client, FIELD_MANAGER)
    applier.apply({"apiVersion": "v1", "kind": "ServiceAccount",  # the namespace step's
                   "metadata": {"name": "mcp-agent", "namespace": namespace}})
    results = [applier.apply(json.loads(json.dumps(obj).replace(PLACEHOLDER, namespace))) for obj in rendered]
    applier.wait([r["after"] for r in results if r["after"]["kind"] == "Deployment"], 180)
    return results


def live(client, namespace: str) -> dict:
    """What a reader of the region sees: stable and canary Deployments, the mesh's weights and
    subsets, the release state."""
    get = lambda api, kind, name: client.get(api, kind, name, namespace)  # noqa: E731
    stable = get("apps/v1", "Deployment", "mcp-agent")
    vs = get("networking.istio.io/v1", "VirtualService", "mcp-agent")
    dr = get("networking.istio.io/v1", "DestinationRule", "mcp-agent")
    state = get("v1", "ConfigMap", "mcp-agent-release")
    return {"stable": objects.release_of(stable, "mcp-agent"),
            "canary": get("apps/v1", "Deployment", "mcp-agent-canary"),
            "weights": objects.weights(vs, f"mcp-agent.{namespace}.svc.cluster.local"),
            "ab_routes": [r["name"] for r in vs["spec"]["http"] if r["name"].startswith("release-ab")],
            "subsets": {s["name"]: s["labels"]["app.kubernetes.io/version"] for s in dr["spec"].get("subsets", [])},
            "state": json.loads(state["data"]["state"]) if state else None}


def assert_settled(view: dict, version: str) -> None:
    """Not half-way: every route all on the stable subset, which runs ``version``; no canary."""
    assert view["canary"] is None
    assert view["weights"] and all(w == {"stable": 100} for w in view["weights"]), view["weights"]
    assert view["ab_routes"] == []
    assert view["subsets"] == {"stable": version}
    assert view["stable"]["version"] == version


class TrafficDriver(threading.Thread):
    """Stands in for Envoy: reads the weights of the live VirtualService's API route (every
    ``refresh`` seconds) and sends each workflow request to the stable or the canary agent process
    in those proportions (smooth weighted round robin); requests with the A/B header would go to
    the canary, but this driver sends none. ``canary_failure_share`` of the canary's workflows fail,
    and ``canary_delay`` seconds slow its requests down (the reference agent does what it is told).
    """

    def __init__(self, client, namespace: str, stable_port: int, canary_port: int, per_second: float = 25,
                 refresh: float = 0.5):
        super().__init__(daemon=True)
        self.client, self.namespace = client, namespace
        self.ports = {"stable": stable_port, "canary": canary_port}
        self.interval, self.refresh = 1 / per_second, refresh
        self.canary_failure_share = 0.0
        self.canary_delay = 0.0
        self.sent = {"stable": 0, "canary": 0}
        self.canary_first_sent: float | None = None
        self.stopping = threading.Event()

    def weights(self) -> dict[str, int]:
        vs = self.client.get("networking.istio.io/v1", "VirtualService", "mcp-agent", self.namespace)
        routes = objects.weights(vs, f"mcp-agent.{self.namespace}.svc.cluster.local") if vs else []
        # a destination without a subset is the whole Service: only the stable pods before a release
        return {subset or "stable": weight for subset, weight in routes[0].items()} if routes else {"stable": 100}

    def run(self) -> None:
        credit = {"stable": 0.0, "canary": 0.0}
        weights, read_at = {"stable": 100}, 0.0
        while not self.stopping.is_set():
            if time.monotonic() - read_at > self.refresh:
                weights, read_at = self.weights(), time.monotonic()
            for subset in credit:
                credit[subset] += weights.get(subset, 0)
            subset = max(credit, key=credit.get)
            credit[subset] -= sum(weights.values())
            canary = subset == "canary"
            failed = canary and (self.sent["canary"] % 20) < round(self.canary_failure_share * 20)
            body = {"workflow_type": "research", "outcome": "failed" if failed else "completed",
                    "duration_seconds": self.canary_delay if canary else 0}
            req = urllib.request.Request(
                f"http://127.0.0.1:{self.ports[subset]}/api/v1/workflows", data=json.dumps(body).encode(),
                headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
                    resp.read()
            except OSError:
                pass  # a slow moment on a loaded machine: keep driving
            else:
                self.sent[subset] += 1
                if canary and self.canary_first_sent is None:
                    self.canary_first_sent = time.monotonic()
            self.stopping.wait(self.interval)

    def stop(self) -> None:
        self.stopping.set()
        if self.is_alive():
            self.join(15)


class Prometheus:
    """Debian's Prometheus binary (as test_prometheus_e2e.py runs it) scraping agent processes on
    loopback every ``scrape_s`` seconds; each target carries its region's namespace as a static
    label (in a cluster, Kubernetes discovery gives it)."""

    def __init__(self, workdir: Path, targets: dict[str, list[int]], scrape_s: int = 1):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {"global": {"scrape_interval": f"{scrape_s}s", "scrape_timeout": f"{scrape_s}s"},
                  "scrape_configs": [{"job_name": "mcp-agent", "static_configs": [
                      {"targets": [f"127.0.0.1:{p}" for p in ports], "labels": {"namespace": ns}}
                      for ns, ports in targets.items()]}]}
        (workdir / "prometheus.yml").write_text(json.dumps(config))
        self.log = (workdir / "prometheus.log").open("w")
        self.proc = subprocess.Popen(
            [shutil.which("prometheus") or "/usr/bin/prometheus", f"--config.file={workdir / 'prometheus.yml'}",
             f"--storage.tsdb.path={workdir / 'data'}", f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT)

    def targets_up(self) -> int:
        try:
            with urllib.request.urlopen(f"{self.url}/api/v1/query?query=sum(up)", timeout=2) as resp:  # noqa: S310
                result = json.loads(resp.read())["data"]["result"]
        except OSError:
            return 0
        return int(float(result[0]["value"][1])) if result else 0

    def stop(self) -> None:
        self.proc.terminate()  # by PID
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

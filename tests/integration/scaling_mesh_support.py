"""Helpers of the autoscaling/mesh tests and the multi-region benchmark: run the steps of
issue 4 (agentic, autoscaling, mesh) and read what they changed."""

from __future__ import annotations

import json
from pathlib import Path

from site_support import Run, run_site

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "tests" / "integration" / "playbooks" / "autoscaling_mesh.yml"
ISTIO = {"VirtualService", "DestinationRule", "PeerAuthentication", "AuthorizationPolicy"}


def deployment(name: str = "mcp-agent") -> dict:
    labels = {"app.kubernetes.io/name": name}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "agent", "image": "agent-registry/mcp-agent:v1.0.0",
                                                       "resources": {"requests": {"cpu": "100m",
                                                                                  "memory": "128Mi"}}}]}}},
    }


def converge(namespace: str, *args: str, extra: dict | None = None, record: Path | None = None,
             inventories: list[Path | str] | None = None) -> Run:
    """Run the steps on the given inventories (default: the local one) in one ansible-playbook,
    pointed at `namespace` (the prometheus-adapter rules go there too)."""
    inventories = inventories or ["inventories/local"]
    more = [arg for inv in inventories[1:] for arg in ("-i", str(inv))]
    evars = {"agentic_namespace": namespace, "autoscaling_adapter_namespace": namespace, **(extra or {})}
    return run_site(None, *more, "-e", json.dumps(evars), *args, inventory=inventories[0], playbook=PLAYBOOK,
                    record=record)


def changed_objects(run: Run, host: str = "local") -> list[str]:
    """Kind/name of every object a k8s task changed (or would change, in check mode)."""
    out = []
    for play in run.data["plays"]:
        for task in play["tasks"]:
            res = task["hosts"].get(host, {})
            if res.get("action") != "agentic.platform.k8s_apply" or not res.get("changed"):
                continue
            for line in res.get("objects", []):  # "<Kind> [<namespace>/]<name> <operation>"
                kind, name, operation = line.split(" ")
                if operation in ("created", "updated", "deleted"):
                    out.append(f"{kind}/{name.rsplit('/', 1)[-1]}")
    return out


def failure(run: Run, host: str = "local") -> tuple[str, str]:
    for play in run.data["plays"]:
        for task in play["tasks"]:
            res = task["hosts"].get(host, {})
            if res.get("failed"):
                return task["task"]["name"], res.get("msg", "")
    raise AssertionError(f"no failed task in {run.output[-2000:]}")

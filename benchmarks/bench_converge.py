"""Converge one region with site.yml vs. kubectl applying the identical objects.

    .venv/bin/python benchmarks/bench_converge.py [--cluster local|bench] [--repeat N] [--profile]

In the same run, on the same cluster:
  ansible converge   site.yml on a fresh namespace (objects recorded by the callback
                     record_k8s_objects as the roles rendered them)
  ansible no-op      site.yml again on the converged namespace
  kubectl converge   the identical objects (namespace renamed; the Secret read back from the
                     cluster, since its task is no_log) on a second fresh namespace, step by
                     step like site.yml: `kubectl apply --server-side` per step, then the
                     step's `kubectl wait` (quota counted, StatefulSet ready, Deployment and
                     DaemonSet rolled out, HPA AbleToScale)
  kubectl no-op      the same again on the converged namespace
Prints the times and the ratios ansible/kubectl (targets: converge 1.3x, no-op 1.5x). With
--profile, the ansible runs use the profile_tasks callback and the slowest tasks are printed.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "integration")]

from site_support import clean_for_apply, recycle_volumes, run_site  # noqa: E402

from localcluster import build, cluster  # noqa: E402

TARGET = {"converge": 1.3, "no-op": 1.5}
MAIN_MANAGER = "agentic.platform"


class Kubectl:
    def __init__(self, name: str):
        self.kubeconfig = str(cluster.kubeconfig_path(name))
        self.binary = str(build.binary("kubectl"))

    def run(self, *args: str, input_text: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        res = subprocess.run([self.binary, f"--kubeconfig={self.kubeconfig}", *args], input=input_text,
                             capture_output=True, text=True, check=False)
        if check and res.returncode != 0:
            raise SystemExit(f"kubectl {' '.join(args[:4])} failed: {res.stderr}")
        return res

    def json(self, *args: str) -> dict:
        return json.loads(self.run(*args, "-o", "json").stdout)


def baseline_steps(objects: list[dict], tasks: list[str], managers: list[str],
                   secrets: list[dict]) -> list[tuple[str, list[dict]]]:
    """The recorded objects grouped by the task that applied them, in order, each group with its
    field manager; the Secret step (not recorded: no_log) goes where site.yml applies it, right
    before Redis."""
    steps: list[tuple[str, list[dict]]] = []
    last = None
    for obj, task, manager in zip(objects, tasks, managers, strict=True):
        if task != last:
            steps.append((manager, []))
            last = task
        steps[-1][1].append(obj)
    at = next((i for i, (_, s) in enumerate(steps) if any(o["kind"] == "StatefulSet" for o in s)), len(steps))
    return [*steps[:at], (MAIN_MANAGER, secrets), *steps[at:]] if secrets else steps


def kubectl_converge(kubectl: Kubectl, steps: list[tuple[str, list[dict]]], namespace: str,
                     timeout: int = 300) -> float:
    started = time.monotonic()
    for manager, step in steps:
        # A partial apply (one field under a manager of its own, e.g. the autoscaled replicas)
        # is valid server-side apply, but fails kubectl's client-side required-field check.
        partial = ["--validate=false"] if manager != MAIN_MANAGER else []
        kubectl.run("apply", "--server-side", "--force-conflicts", f"--field-manager={manager}", *partial, "-f", "-",
                    input_text=json.dumps({"apiVersion": "v1", "kind": "List", "items": step}))
        for obj in step:
            kind, name = obj["kind"], obj["metadata"]["name"]
            ns = obj["metadata"].get("namespace", namespace)
            if kind == "ResourceQuota":
                kubectl.run("-n", ns, "wait", f"resourcequota/{name}", "--for=jsonpath={.status.hard}",
                            f"--timeout={timeout}s")
            elif kind == "StatefulSet":
                kubectl.run("-n", ns, "rollout", "status", f"statefulset/{name}", f"--timeout={timeout}s")
            elif kind == "HorizontalPodAutoscaler":
                kubectl.run("-n", ns, "wait", f"hpa/{name}", "--for=condition=AbleToScale", f"--timeout={timeout}s")
            elif kind in ("Deployment", "DaemonSet"):
                kubectl.run("-n", ns, "rollout", "status", f"{kind.lower()}/{name}", f"--timeout={timeout}s")
    return time.monotonic() - started


def rename(objects: list[dict], old: str, new: str) -> list[dict]:
    """The objects for another namespace (names are random, so a text replace is exact)."""
    return json.loads(re.sub(rf"\b{re.escape(old)}\b", new, json.dumps(objects)))


def profile_lines(output: str, top: int = 12) -> list[str]:
    lines = [ln for ln in output.splitlines() if re.search(r"-{3,} \d+\.\d+s$", ln)]
    return sorted(lines, key=lambda ln: -float(ln.rsplit(" ", 1)[1][:-1]))[:top]


def one_round(kubectl: Kubectl, args, extra: list[str], record: Path) -> dict:
    ns_a, ns_b = f"bench-{uuid.uuid4().hex[:8]}", f"bench-{uuid.uuid4().hex[:8]}"
    env = {"ANSIBLE_CALLBACKS_ENABLED": "record_k8s_objects,ansible.posix.profile_tasks",
           "ANSIBLE_CALLBACK_PLUGINS": str(ROOT / "tests" / "support" / "callback_plugins")} if args.profile else None
    try:
        converge = run_site(ns_a, *extra, as_json=False, record=record, extra_env=env, playbook=args.playbook)
        if converge.rc != 0:
            raise SystemExit(f"site.yml failed:\n{converge.output[-4000:]}")
        recorded = [json.loads(line) for line in record.read_text().splitlines() if line.strip()]
        tasks, managers = [r["task"] for r in recorded], [r["field_manager"] for r in recorded]
        noop = run_site(ns_a, *extra, as_json=False, extra_env=env, playbook=args.playbook)
        if noop.rc != 0:
            raise SystemExit(f"site.yml re-run failed:\n{noop.output[-4000:]}")
        changed = re.findall(r"changed=(\d+)", noop.output)
        if changed != ["0"]:
            tasks_changed, task = [], ""
            for line in noop.output.splitlines():
                task = line[6:line.find("]")] if line.startswith("TASK [") else task
                if line.startswith("changed:"):
                    tasks_changed.append(task)
            print(f"WARNING: the no-op re-run reported changed={changed}: {tasks_changed}")
        secrets = [clean_for_apply(s) for s in kubectl.json("-n", ns_a, "get", "secrets")["items"]
                   if s["metadata"].get("labels", {}).get("app.kubernetes.io/managed-by") == "agentic.platform"]
        steps = baseline_steps(rename(converge.objects, ns_a, ns_b), tasks, managers, rename(secrets, ns_a, ns_b))
        base_converge = kubectl_converge(kubectl, steps, ns_b)
        base_noop = kubectl_converge(kubectl, steps, ns_b)
        if args.profile:
            print("slowest tasks, converge:\n  " + "\n  ".join(profile_lines(converge.output)))
            print("slowest tasks, no-op:\n  " + "\n  ".join(profile_lines(noop.output)))
        return {"objects": sum(len(s) for _, s in steps), "steps": len(steps),
                "ansible converge": converge.seconds, "ansible no-op": noop.seconds,
                "kubectl converge": base_converge, "kubectl no-op": base_noop}
    finally:
        for ns in (ns_a, ns_b):
            kubectl.run("delete", "namespace", ns, "--wait=false", check=False)
        for ns in (ns_a, ns_b):
            recycle_volumes(kubectl, ns)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cluster", default="local", help="local cluster to use (default: local)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds; medians are reported")
    parser.add_argument("--profile", action="store_true", help="print the slowest tasks (profile_tasks)")
    parser.add_argument("--playbook", type=Path, default=ROOT / "playbooks" / "site.yml", help=argparse.SUPPRESS)
    args = parser.parse_args()
    build.build_all()
    cluster.up(args.cluster, quiet=True)
    kubectl = Kubectl(args.cluster)
    extra = []
    if args.cluster != "local":
        extra = ["-e", f"agentic_kubeconfig={cluster.kubeconfig_path(args.cluster)}",
                 "-e", f"agentic_context={cluster.context_name(args.cluster)}"]
    record = Path(f"/tmp/bench-converge-{uuid.uuid4().hex[:6]}.jsonl")
    rounds = [one_round(kubectl, args, extra, record) for _ in range(max(1, args.repeat))]
    record.unlink(missing_ok=True)
    med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    print(f"cluster {args.cluster}, {int(med['objects'])} objects in {int(med['steps'])} steps, "
          f"{len(rounds)} round(s), medians")
    print(f"{'':10} {'site.yml':>10} {'kubectl':>10} {'ratio':>7} {'target':>7}")
    for what in ("converge", "no-op"):
        a, k = med[f"ansible {what}"], med[f"kubectl {what}"]
        ratio = a / k
        verdict = "met" if ratio <= TARGET[what] else "MISSED"
        print(f"{what:10} {a:9.2f}s {k:9.2f}s {ratio:6.2f}x {TARGET[what]:6.1f}x  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

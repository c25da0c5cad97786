"""One region's release: canary, weight steps judged by analysis, then promotion or rollback.

The state (version, phase, step, verdicts) is a ConfigMap ``<service>-release`` written before
each action, and every action is an idempotent apply: a run killed anywhere is taken up by the
next, which resumes a step, finishes a promotion or finishes a rollback, never leaving weight on
a canary that is gone. A run for another version first finishes what the killed run started
(a promotion is completed, anything else rolled back).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from ansible_collections.agentic.platform.plugins.module_utils.kube_apply import Applier, ApplyError
from ansible_collections.agentic.platform.plugins.module_utils.kube_client import ApiError, KubeClient
from ansible_collections.agentic.platform.plugins.module_utils.release import objects
from ansible_collections.agentic.platform.plugins.module_utils.release.analysis import (
    FAIL,
    INCONCLUSIVE,
    PASS,
    AnalysisError,
    Limits,
    Verdict,
    judge,
)

PROGRESSING, PROMOTING, ROLLING_BACK = "progressing", "promoting", "rolling-back"
PROMOTED, ROLLED_BACK = "promoted", "rolled-back"
ACTIVE = (PROGRESSING, PROMOTING, ROLLING_BACK)
KEPT_VERDICTS = 50  # the state keeps the last verdicts; the audit log keeps every decision


class ReleaseError(Exception):
    """The release cannot start (nothing was written)."""


class ReleaseFailed(Exception):
    """The canary was rolled back; the message names version, step, metric, observed and limit."""

    def __init__(self, message: str, result: dict):
        super().__init__(message)
        self.result = result


@dataclass
class ReleaseSpec:
    namespace: str
    version: str
    image: str
    field_manager: str
    model_version: str = ""
    config_snapshot: str = ""
    service: str = "mcp-agent"
    container: str = "mcp-agent"
    host: str = ""                       # the mesh host; default <service>.<namespace>.svc.cluster.local
    steps: tuple = (5, 25, 50, 100)
    interval_s: float = 60
    max_inconclusive: int = 3
    canary_replicas: int = 1
    ab_header: str = "x-agentic-canary"
    wait_timeout: float = 300
    labels: dict = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    audit_log: str = ""
    region: str = ""

    @property
    def target(self) -> dict:
        return {"version": self.version, "image": self.image, "model_version": self.model_version,
                "config_snapshot": self.config_snapshot}

    @property
    def mesh_host(self) -> str:
        return self.host or f"{self.service}.{self.namespace}.svc.cluster.local"


class Release:
    def __init__(self, client: KubeClient, spec: ReleaseSpec, source, *, check_mode: bool = False,
                 sleep=time.sleep, clock=time.monotonic, wall=time.time):
        self.client, self.spec, self.source = client, spec, source
        self.check_mode = check_mode
        self.sleep, self.clock, self.wall = sleep, clock, wall
        self.applier = Applier(client, f"{spec.field_manager}/release", check_mode=False, clock=clock, sleep=sleep)
        self.actions: list[str] = []
        self.audit: list[dict] = []

    # ---- reads -----------------------------------------------------------------------------
    def _get(self, api_version: str, kind: str, name: str) -> dict | None:
        return self.client.get(api_version, kind, name, self.spec.namespace)

    def _stable(self) -> dict:
        live = self._get("apps/v1", "Deployment", self.spec.service)
        if live is None:
            raise ReleaseError(f"Deployment {self.spec.namespace}/{self.spec.service} does not exist: converge "
                               "the region with site.yml first (the release replaces its version)")
        return live

    def _mesh(self) -> tuple[dict, dict]:
        vs = self._get("networking.istio.io/v1", "VirtualService", self.spec.service)
        dr = self._get("networking.istio.io/v1", "DestinationRule", self.spec.service)
        if vs is None or dr is None:
            raise ReleaseError(f"VirtualService and DestinationRule {self.spec.namespace}/{self.spec.service} "
                               "must exist (the mesh step): the canary's weights are theirs")
        return vs, dr

    def read_state(self) -> dict | None:
        cm = self._get("v1", "ConfigMap", f"{self.spec.service}-release")
        return json.loads(cm["data"]["state"]) if cm and "state" in (cm.get("data") or {}) else None

    # ---- writes ----------------------------------------------------------------------------
    def _apply(self, obj: dict, what: str) -> dict:
        self.actions.append(what)
        return self.applier.apply(obj)["after"]

    def write_state(self, state: dict) -> None:
        state["updated"] = round(self.wall(), 3)
        state["verdicts"] = state.get("verdicts", [])[-KEPT_VERDICTS:]
        cm = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": f"{self.spec.service}-release", "namespace": self.spec.namespace,
                           "labels": self.spec.labels},
              "data": {"state": json.dumps(state, sort_keys=True), "phase": state["phase"],
                       "version": state["version"], "stable-version": state["stable"]["version"]}}
        self.applier.apply(cm)

    def _set_weight(self, stable_version: str, canary_version: str | None, weight: int) -> None:
        """The DestinationRule's subsets first (a route never names a missing subset), then the
        VirtualService's weights, each one apply."""
        vs, dr = self._mesh()
        self._apply(objects.destination_rule(dr, stable_version, canary_version), f"subsets stable={stable_version}"
                    + (f" canary={canary_version}" if canary_version else ""))
        self._apply(objects.virtual_service(vs, self.spec.mesh_host, weight, self.spec.ab_header),
                    f"weights stable={100 - weight} canary={weight}")

    def _remove_canary(self) -> None:
        name = f"{self.spec.service}-canary"
        if self._get("autoscaling/v2", "HorizontalPodAutoscaler", name) is not None:
            try:  # its autoscaler first: nothing scales the canary back up while it goes
                self.client.call("DELETE", self.client.path("autoscaling/v2", "HorizontalPodAutoscaler",
                                                            self.spec.namespace, name))
            except ApiError as exc:
                if exc.status != 404:
                    raise ApplyError(f"removing HorizontalPodAutoscaler {self.spec.namespace}/{name} failed: "
                                     f"{exc}") from None
            self.actions.append("canary HorizontalPodAutoscaler removed")
        if self._get("apps/v1", "Deployment", name) is None:
            return
        path = self.client.path("apps/v1", "Deployment", self.spec.namespace, name)
        try:  # zero first: its pods stop taking traffic even if the delete were slow
            self.client.call("PATCH", path, {"fieldManager": f"{self.spec.field_manager}/release"},
                             {"spec": {"replicas": 0}}, content_type="application/merge-patch+json")
            self.client.call("DELETE", path, {"propagationPolicy": "Background"})
        except ApiError as exc:
            if exc.status != 404:
                raise ApplyError(f"removing Deployment {self.spec.namespace}/{name} failed: {exc}") from None
        self.actions.append("canary scaled to 0 and removed")

    def _event(self, reason: str, message: str, kind: str = "Warning") -> None:
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.wall()))
        event = {"apiVersion": "v1", "kind": "Event",
                 "metadata": {"generateName": f"{self.spec.service}-release-", "namespace": self.spec.namespace},
                 "involvedObject": {"apiVersion": "apps/v1", "kind": "Deployment", "name": self.spec.service,
                                    "namespace": self.spec.namespace},
                 "reason": reason, "message": message[:1000], "type": kind, "firstTimestamp": now,
                 "lastTimestamp": now, "count": 1, "source": {"component": self.spec.field_manager}}
        self.client.call("POST", self.client.path("v1", "Event", self.spec.namespace), None, event)

    def _audit(self, record: dict) -> None:
        record = {"time": round(self.wall(), 3), "region": self.spec.region, "namespace": self.spec.namespace,
                  **record}
        self.audit.append(record)
        if self.spec.audit_log:
            from ansible_collections.agentic.platform.plugins.module_utils.secret_rotation.audit import append_jsonl
            append_jsonl(self.spec.audit_log, record)

    # ---- phases ----------------------------------------------------------------------------
    def _rollback(self, state: dict) -> None:
        """All weight to stable in one apply, canary subset dropped, canary zeroed and removed,
        then the Event and the audit record."""
        stable_version = state["stable"]["version"]
        self._set_weight(stable_version, None, 0)
        self._remove_canary()
        message = state["message"]
        self._event("CanaryRolledBack", message)
        self._audit({"action": "rollback", **state["reason"]})
        state["phase"] = ROLLED_BACK
        self.write_state(state)

    def _promote(self, state: dict, stable: dict) -> None:
        """Stable to the new version (rolling: the Deployment's maxUnavailable 0 keeps it at or
        above the PodDisruptionBudget) while the canary takes the traffic, then the stable subset
        to the new version, weights 100/0, canary removed."""
        version = state["version"]
        self._set_weight(state["stable"]["version"], version, 100)
        promoted = self._apply(objects.promoted_stable(stable, state["target"], self.spec.container),
                               f"stable Deployment to {version}")
        self.actions.append("stable rollout waited")
        self.applier.wait([promoted], self.spec.wait_timeout)
        self._set_weight(version, version, 0)
        self._set_weight(version, None, 0)
        self._remove_canary()
        self._event("CanaryPromoted", f"{self.spec.service} {version} promoted (was {state['stable']['version']})",
                    "Normal")
        self._audit({"action": "promote", "version": version, "stable_version": state["stable"]["version"]})
        state["phase"] = PROMOTED
        self.write_state(state)

    def _fail(self, state: dict, verdict: Verdict, why: str) -> ReleaseFailed:
        step, weight = state["step"] + 1, state["weight"]
        observed = "" if verdict.observed is None else f" observed {verdict.observed:g}"
        limit = "" if verdict.limit is None else f" limit {verdict.limit:g}"
        message = (f"release {state['version']} rolled back in {self.spec.region or self.spec.namespace} at step "
                   f"{step}/{len(state['steps'])} ({weight}% canary): {why}: {verdict.metric}{observed}{limit}"
                   f" ({verdict.reason})")
        state.update(phase=ROLLING_BACK, message=message,
                     reason={"version": state["version"], "stable_version": state["stable"]["version"],
                             "step": step, "weight": weight, "metric": verdict.metric, "observed": verdict.observed,
                             "limit": verdict.limit, "why": why})
        self.write_state(state)
        self._rollback(state)
        return ReleaseFailed(message, self._result(state, True))

    def _analyse(self, state: dict) -> Verdict:
        try:
            canary, stable = self.source.samples((state["version"], state["stable"]["version"]),
                                                 int(self.spec.interval_s))
        except AnalysisError as exc:
            return Verdict(INCONCLUSIVE, "prometheus", reason=str(exc))
        return judge(canary, stable, self.spec.limits)

    def _progress(self, state: dict, stable: dict) -> None:
        canary = objects.canary_deployment(stable, state["target"], self.spec.container, self.spec.canary_replicas)
        applied = self._apply(canary, f"canary Deployment {canary['metadata']['name']} ({state['version']})")
        stable_hpa = self._get("autoscaling/v2", "HorizontalPodAutoscaler", self.spec.service)
        if stable_hpa is not None:  # the canary scales with its share of the traffic, as stable does
            self._apply(objects.canary_hpa(stable_hpa, canary, self.spec.canary_replicas),
                        f"canary HorizontalPodAutoscaler {canary['metadata']['name']}")
        self.applier.wait([applied], self.spec.wait_timeout)
        steps = state["steps"]
        while state["step"] < len(steps):
            i = state["step"]
            if state["weight"] != steps[i]:
                state.update(weight=steps[i], inconclusive=0)
                self.write_state(state)
            self._set_weight(state["stable"]["version"], state["version"], steps[i])
            while True:
                self.sleep(self.spec.interval_s)  # the step is held for one analysis interval
                verdict = self._analyse(state)
                state["verdicts"].append({"step": i + 1, "weight": steps[i], "time": round(self.wall(), 3),
                                          **{k: v for k, v in verdict.record().items() if k != "figures"}})
                if verdict.result == FAIL:
                    raise self._fail(state, verdict, "analysis failed")
                if verdict.result == PASS:
                    break
                state["inconclusive"] = state.get("inconclusive", 0) + 1
                if state["inconclusive"] >= self.spec.max_inconclusive:
                    raise self._fail(state, verdict, f"inconclusive {state['inconclusive']} intervals in a row")
                self.write_state(state)
            state["step"] = i + 1
            state["inconclusive"] = 0
            self.write_state(state)
        state["phase"] = PROMOTING
        self.write_state(state)

    def _finish(self, state: dict, stable: dict) -> None:
        """Takes an active state to its end (promoted or rolled back); raises ReleaseFailed on a rollback."""
        if state["phase"] == PROGRESSING:
            self._progress(state, stable)
        if state["phase"] == PROMOTING:
            self._promote(state, stable)
        elif state["phase"] == ROLLING_BACK:
            self._rollback(state)
            raise ReleaseFailed(state["message"], self._result(state, True))

    def _abandon(self, state: dict, stable: dict) -> None:
        """An interrupted release of another version: a promotion is completed, anything else rolled back."""
        if state["phase"] == PROMOTING:
            self._promote(state, stable)
            return
        if state["phase"] == PROGRESSING:
            message = (f"release {state['version']} rolled back in {self.spec.region or self.spec.namespace}: "
                       f"interrupted, superseded by {self.spec.version}")
            state.update(phase=ROLLING_BACK, message=message,
                         reason={"version": state["version"], "stable_version": state["stable"]["version"],
                                 "step": state["step"] + 1, "weight": state["weight"], "metric": "superseded",
                                 "why": f"superseded by {self.spec.version}"})
            self.write_state(state)
        self._rollback(state)

    def _result(self, state: dict | None, changed: bool, **extra) -> dict:
        return {"changed": changed, "phase": state["phase"] if state else None,
                "version": state["version"] if state else self.spec.version,
                "stable_version": (state["version"] if state and state["phase"] == PROMOTED
                                   else state["stable"]["version"] if state else None),
                "actions": self.actions, "verdicts": state.get("verdicts", []) if state else [],
                "audit": self.audit, **extra}

    # ---- the run ---------------------------------------------------------------------------
    def plan(self, state: dict | None, stable_release: dict) -> list[str]:
        out = []
        if state and state["phase"] in ACTIVE and state["version"] != self.spec.version:
            out.append(f"finish the interrupted release of {state['version']} "
                       + ("(promote)" if state["phase"] == PROMOTING else "(roll back)"))
        if state and state["phase"] in ACTIVE and state["version"] == self.spec.version:
            out.append(f"resume {state['phase']} at step {state['step'] + 1}")
            steps = list(state["steps"][state["step"]:]) if state["phase"] == PROGRESSING else []
        else:
            out.append(f"canary Deployment {self.spec.service}-canary running {self.spec.version} "
                       f"({self.spec.image}) beside stable {stable_release['version']} ({stable_release['image']})")
            steps = list(self.spec.steps)
        out += [f"step {self.spec.steps.index(w) + 1}: {w}% to the canary, held {self.spec.interval_s:g}s and judged"
                for w in steps]
        out.append(f"promote: stable Deployment to {self.spec.version}, weights 100/0, canary removed")
        return out

    def run(self) -> dict:
        stable = self._stable()
        self._mesh()
        current = objects.release_of(stable, self.spec.container)
        if not self.spec.model_version:  # none given: the stable one's, as site.yml's agent_model_version set it
            self.spec.model_version = current["model_version"]
        state = self.read_state()
        active = state if state and state["phase"] in ACTIVE else None
        if active is None and current["version"] == self.spec.version:
            for what in ("image", "model_version"):
                if current[what] != self.spec.target[what]:
                    words = what.replace("_", " ")
                    raise ReleaseError(f"release_version {self.spec.version} is already stable with {words} "
                                       f"'{current[what]}', not '{self.spec.target[what]}': a new {words} needs "
                                       "a new version")
            return self._result(state, False, stable_version=current["version"], plan=[])
        snapshot = self.spec.config_snapshot
        if snapshot and active is None and self._get("v1", "ConfigMap", snapshot) is None:
            raise ReleaseError(f"release_config_snapshot {snapshot} does not exist in {self.spec.namespace}: "
                               "name one of the config step's agentic-ai-config-<checksum> ConfigMaps")
        if self.check_mode:
            return self._result(active, True, plan=self.plan(active, current))
        if active is not None and active["version"] != self.spec.version:
            self._abandon(active, stable)
            stable = self._stable()
            current = objects.release_of(stable, self.spec.container)
            if current["version"] == self.spec.version:
                return self._result(active, True)
            active = None
        if active is None:
            active = {"version": self.spec.version, "target": self.spec.target, "stable": current,
                      "steps": list(self.spec.steps), "phase": PROGRESSING, "step": 0, "weight": None,
                      "inconclusive": 0, "verdicts": [], "started": round(self.wall(), 3)}
            self.write_state(active)
        self._finish(active, stable)
        return self._result(active, True)

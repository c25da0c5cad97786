"""The objects a release step applies, rendered from data (the live stable Deployment and the
mesh step's VirtualService and DestinationRule), never from text.

- the canary Deployment ``<service>-canary``: the stable one's spec with the release's image,
  version and model-version labels, runtime environment (AGENT_VERSION, AGENT_MODEL_VERSION, read
  by the runtime's info metric) and configuration snapshot; its selector adds the track label, so
  the stable Deployment's ReplicaSets never count its pods, while the Service, the
  PodDisruptionBudget and the NetworkPolicies (name + instance) select both;
- the canary's HorizontalPodAutoscaler, when the stable Deployment has one: its metrics, scaling
  the canary;
- the DestinationRule with the subsets ``stable`` and ``canary`` by version label;
- the VirtualService whose routes send ``weight`` % to the canary (the two weights always sum to
  100), preceded by a route for the A/B header that sends everything to the canary.
"""

from __future__ import annotations

import copy

VERSION_LABEL = "app.kubernetes.io/version"
MODEL_LABEL = "agentic.platform/model-version"
TRACK_LABEL = "agentic.platform/track"
_SERVER_FIELDS = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink")


def _plain(obj: dict) -> dict:
    out = copy.deepcopy(obj)
    out.pop("status", None)
    meta = out["metadata"]
    for key in _SERVER_FIELDS:
        meta.pop(key, None)
    annotations = meta.get("annotations") or {}
    for key in list(annotations):
        if key.startswith(("deployment.kubernetes.io/", "kubectl.kubernetes.io/last-applied")):
            annotations.pop(key)
    if not annotations:
        meta.pop("annotations", None)
    return out


def container(deployment: dict, name: str) -> dict:
    for c in deployment["spec"]["template"]["spec"]["containers"]:
        if c["name"] == name:
            return c
    raise KeyError(f"Deployment {deployment['metadata']['name']} has no container {name}")


def release_of(deployment: dict, container_name: str) -> dict:
    """What a Deployment runs: {version, image, model_version, config_snapshot}."""
    labels = deployment["spec"]["template"]["metadata"].get("labels") or {}
    c = container(deployment, container_name)
    refs = [e["configMapRef"]["name"] for e in c.get("envFrom") or [] if e.get("configMapRef")]
    return {"version": labels.get(VERSION_LABEL, ""), "image": c.get("image", ""),
            "model_version": labels.get(MODEL_LABEL, ""), "config_snapshot": refs[0] if refs else ""}


def _set_release(template: dict, c: dict, release: dict) -> None:
    labels = template["metadata"].setdefault("labels", {})
    labels[VERSION_LABEL] = release["version"]
    if release.get("model_version"):
        labels[MODEL_LABEL] = release["model_version"]
    c["image"] = release["image"]
    env = [e for e in c.get("env") or [] if e["name"] not in ("AGENT_VERSION", "AGENT_MODEL_VERSION")]
    env.append({"name": "AGENT_VERSION", "value": release["version"]})
    if release.get("model_version"):
        env.append({"name": "AGENT_MODEL_VERSION", "value": release["model_version"]})
    c["env"] = env
    if release.get("config_snapshot"):
        for ref in c.get("envFrom") or []:
            if ref.get("configMapRef"):
                ref["configMapRef"]["name"] = release["config_snapshot"]
                break


def canary_deployment(stable: dict, release: dict, container_name: str, replicas: int) -> dict:
    """The canary Deployment beside ``stable`` (live), running ``release``."""
    out = _plain(stable)
    name = stable["metadata"]["name"]
    out["metadata"] = {"name": f"{name}-canary", "namespace": stable["metadata"]["namespace"],
                       "labels": {**(stable["metadata"].get("labels") or {}), VERSION_LABEL: release["version"],
                                  TRACK_LABEL: "canary"}}
    spec = out["spec"]
    spec["replicas"] = replicas
    spec["selector"] = {"matchLabels": {**spec["selector"]["matchLabels"], TRACK_LABEL: "canary"}}
    template = spec["template"]
    template["metadata"]["labels"][TRACK_LABEL] = "canary"
    _set_release(template, container(out, container_name), release)
    return out


def canary_hpa(stable_hpa: dict, canary: dict, min_replicas: int) -> dict:
    """The canary's own HorizontalPodAutoscaler: the stable one's metrics and behaviour, scaling the
    canary Deployment from ``min_replicas`` up to the stable one's maximum, so that the canary keeps
    up with its share of the traffic (all of it at the 100 % step) while the stable HPA scales down."""
    out = _plain(stable_hpa)
    out["metadata"] = {"name": canary["metadata"]["name"], "namespace": canary["metadata"]["namespace"],
                       "labels": canary["metadata"]["labels"]}
    spec = out["spec"]
    spec["scaleTargetRef"] = {"apiVersion": "apps/v1", "kind": "Deployment", "name": canary["metadata"]["name"]}
    spec["minReplicas"] = min(min_replicas, spec["maxReplicas"])
    return out


def promoted_stable(stable: dict, release: dict, container_name: str) -> dict:
    """The fields the release applies to the stable Deployment to promote: image, version and model
    labels of the pod template, runtime environment, configuration snapshot (a partial object,
    under the release's own field manager; the rest stays the agent step's)."""
    full = _plain(stable)
    c = container(full, container_name)
    _set_release(full["spec"]["template"], c, release)
    partial_container = {"name": container_name, "image": c["image"], "env": [
        e for e in c["env"] if e["name"] in ("AGENT_VERSION", "AGENT_MODEL_VERSION")]}
    if release.get("config_snapshot"):
        partial_container["envFrom"] = c.get("envFrom")
    labels = {VERSION_LABEL: release["version"]}
    if release.get("model_version"):
        labels[MODEL_LABEL] = release["model_version"]
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": stable["metadata"]["name"], "namespace": stable["metadata"]["namespace"],
                         "labels": {VERSION_LABEL: release["version"]}},
            "spec": {"selector": stable["spec"]["selector"],
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [partial_container]}}}}


def destination_rule(live: dict, stable_version: str, canary_version: str | None) -> dict:
    """The mesh step's DestinationRule with the subsets by version (no canary subset: None)."""
    out = _plain(live)
    subsets = [{"name": "stable", "labels": {VERSION_LABEL: stable_version}}]
    if canary_version is not None:
        subsets.append({"name": "canary", "labels": {VERSION_LABEL: canary_version}})
    out["spec"]["subsets"] = subsets
    return out


def _is_ab_route(route: dict) -> bool:
    return route.get("name", "").startswith("release-ab")


def virtual_service(live: dict, host: str, weight: int, ab_header: str | None, ab_value: str = "canary") -> dict:
    """The mesh step's VirtualService with every route to ``host`` split stable/canary by
    ``weight`` (% to the canary, 0..100) and, when ``ab_header`` and a canary, a first route for
    requests carrying the header, to the canary alone. With weight 0 and no header, the routes
    go to the stable subset only: no destination names the canary."""
    if not 0 <= weight <= 100:
        raise ValueError(f"weight {weight} outside 0..100")
    out = _plain(live)
    routes = [r for r in out["spec"].get("http") or [] if not _is_ab_route(r)]
    split, ab_routes = [], []
    for route in routes:
        dests = route.get("route") or []
        ours = [d for d in dests if d["destination"]["host"] == host]
        if not ours:
            split.append(route)
            continue
        template = {k: v for k, v in ours[0]["destination"].items() if k != "subset"}
        new = [{"destination": {**template, "subset": "stable"}, "weight": 100 - weight}]
        if weight > 0:
            new.append({"destination": {**template, "subset": "canary"}, "weight": weight})
        split.append({**route, "route": new})
        if ab_header and weight > 0:
            ab = copy.deepcopy(route)
            ab["name"] = f"release-ab-{route.get('name', len(ab_routes))}"
            header = {"headers": {ab_header: {"exact": ab_value}}}
            ab["match"] = [{**m, **header} for m in route.get("match") or [{}]]
            ab["route"] = [{"destination": {**template, "subset": "canary"}, "weight": 100}]
            ab_routes.append(ab)
    out["spec"]["http"] = ab_routes + split
    return out


def weights(vs: dict, host: str) -> list[dict[str, int]]:
    """Per route to ``host`` (A/B routes left out): {subset: weight}. For tests and checks."""
    out = []
    for route in vs["spec"].get("http") or []:
        if _is_ab_route(route):
            continue
        dests = [d for d in route.get("route") or [] if d["destination"]["host"] == host]
        if dests:
            out.append({d["destination"].get("subset", ""): d.get("weight", 100) for d in dests})
    return out

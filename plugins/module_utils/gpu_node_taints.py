"""The taints the gpu_nodes step applies to a node, merged with everybody else's.

``spec.taints`` is an atomic list for server-side apply: whoever applies it sets the whole list,
so an apply of "our" taints alone would delete every other taint of the node (the node
controllers' ``node.kubernetes.io/unreachable``, an operator's ``out-of-service``, a cloud
provider's ``uninitialized``). The list applied is therefore the node's live list with only our
own entries changed:

- a taint the step wants is set (at its place in the live list, or appended);
- a taint the step applied before and no longer wants is removed;
- every other taint stays exactly as it is (value and ``timeAdded`` included).

What the step applied before cannot be read from ``managedFields`` (an atomic list is owned as
one field), so the node carries it in the annotation :data:`OWNED_ANNOTATION`.
"""

from __future__ import annotations

OWNED_ANNOTATION = "agentic.platform/gpu-nodes-taints"


def taint_id(taint: dict) -> str:
    """A taint's identity on a node: its key and effect (the API refuses two taints with both equal)."""
    return f"{taint['key']}:{taint['effect']}"


def owned_before(node: dict) -> set[str]:
    """The taints (``key:effect``) the step applied to ``node`` in its last run."""
    text = ((node.get("metadata") or {}).get("annotations") or {}).get(OWNED_ANNOTATION) or ""
    return {part for part in text.split(",") if part}


def merged_taints(node: dict, wanted: list[dict]) -> dict:
    """``{"taints": [...], "annotations": {...}}``: the node's taint list to apply and the
    annotation recording ours. ``wanted`` are the pool's taints (key, effect, optional value)."""
    want = {}
    for taint in wanted:
        entry = {"key": str(taint["key"]), "effect": str(taint["effect"])}
        if taint.get("value") not in (None, ""):
            entry["value"] = str(taint["value"])
        want[taint_id(entry)] = entry
    drop = owned_before(node) - set(want)
    out, placed = [], set()
    for live in (node.get("spec") or {}).get("taints") or []:
        ident = taint_id(live)
        if ident in want:
            entry = dict(want[ident])
            if live.get("timeAdded") and live.get("value") == entry.get("value"):
                entry["timeAdded"] = live["timeAdded"]  # unchanged: keep when it was added
            out.append(entry)
            placed.add(ident)
        elif ident not in drop:
            out.append(live)
    out.extend(entry for ident, entry in want.items() if ident not in placed)
    return {"taints": out, "annotations": {OWNED_ANNOTATION: ",".join(sorted(want))}}

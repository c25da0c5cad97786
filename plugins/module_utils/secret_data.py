"""Which values of Secret agentic-ai-secrets are given, reused, generated or kept sealed.

Pure functions of plain dicts, shared by the secrets role's filters and unit tests.
- given: key -> value from the inventory ("" when not set)
- existing: key -> value already in the cluster's Secret (decoded)
- sealed_keys: keys already present in the SealedSecret manifest (GitOps mode), whose values
  the role cannot read back
- groups: name -> keys made together (a JWT key pair, a TLS chain, one password)
"""

from __future__ import annotations

import base64

from ansible_collections.agentic.platform.plugins.module_utils.secret_fingerprint import secrets_version
from ansible_collections.agentic.platform.plugins.module_utils.secret_rotation.common import (
    ANNOTATION_PREFIX,
    LAST_ROTATED_SUFFIX,
    SECRETS_VERSION_ANNOTATION,
)


def b64decode_values(data: dict | None) -> dict:
    """A Secret's .data with every value base64-decoded to text. A value that is not UTF-8 (legal
    in a Secret: a keystore, a binary key) keeps its bytes as surrogates (surrogateescape), which
    Ansible's ``b64encode`` filter turns back into the same bytes."""
    return {key: base64.b64decode(value).decode("utf-8", "surrogateescape") for key, value in (data or {}).items()}


def _source(keys: list, given: dict, existing: dict, sealed_keys: list) -> str:
    if all(given.get(key) for key in keys):
        return "given"
    if all(existing.get(key) for key in keys):
        return "existing"
    if all(key in sealed_keys for key in keys):
        return "sealed"
    return "generate"


def plan(groups: dict, given: dict, existing: dict, sealed_keys: list | None = None) -> list:
    """Names of the groups that must be generated now (never those the cluster already holds)."""
    sealed_keys = list(sealed_keys or [])
    return [name for name, keys in groups.items() if _source(keys, given, existing, sealed_keys) == "generate"]


def assemble(groups: dict, given: dict, existing: dict, generated: dict, sealed_keys: list | None = None,
             provided_keys: list | None = None) -> dict:
    """{'data': key -> value to write, 'kept': keys left as they are sealed, 'generated': keys made now}.

    Issued keys (provided_keys) always come from the inventory; a makeable group comes from
    the inventory when given, else from the cluster, else stays sealed, else is generated.
    """
    sealed_keys = list(sealed_keys or [])
    data = {key: given[key] for key in (provided_keys or [])}
    kept, made = [], []
    for keys in groups.values():
        source = _source(keys, given, existing, sealed_keys)
        for key in keys:
            if source == "given":
                data[key] = given[key]
            elif source == "existing":
                data[key] = existing[key]
            elif source == "sealed":
                kept.append(key)
            else:
                if key not in generated:
                    raise ValueError(f"no generated value for {key}")
                data[key] = generated[key]
                made.append(key)
    return {"data": data, "kept": sorted(kept), "generated": sorted(made)}


def rotation_conflicts(annotations: dict | None, existing: dict, given: dict, key_vars: dict) -> list:
    """The inventory variables whose value would undo a rotation: the cluster's value of the key
    was rotated (the rotation playbook's last-rotated annotation of the key, or of the slot it
    belongs to, such as jwt for jwt-private-key) and the inventory gives another one. Names
    only, never values: '<variable> (key <key>, rotated <when>)'."""
    rotated = {name[len(ANNOTATION_PREFIX):-len(LAST_ROTATED_SUFFIX)]: when
               for name, when in (annotations or {}).items()
               if name.startswith(ANNOTATION_PREFIX) and name.endswith(LAST_ROTATED_SUFFIX)}
    out = []
    for key, var in key_vars.items():
        when = next((w for slot, w in rotated.items() if key == slot or key.startswith(slot + "-")), None)
        if when and given.get(key) and existing.get(key) and given[key] != existing[key]:
            out.append(f"{var} (key {key}, rotated {when})")
    return sorted(out)


# ---- the secrets step's decisions (action secret_data) --------------------------------------

def decide(live: dict | None, groups: dict, key_vars: dict, given: dict, sealed_keys: list | None = None) -> dict:
    """What the step does before anything is generated, from the Secret in the cluster (``live``,
    None when there is none), the inventory's values (``given``: key -> value, as set) and, in
    GitOps mode, the keys already sealed. ``key_vars`` maps every key to its inventory variable.

    Returns {given, existing, existing_version, sealed_keys, generate, conflicts}: ``generate``
    the groups to make now (never what the cluster or the sealed manifest holds), ``conflicts``
    the variables whose value would undo a rotation (names only)."""
    given = {key: "" if given.get(key) is None else str(given[key]) for key in key_vars}
    existing = b64decode_values((live or {}).get("data"))
    annotations = ((live or {}).get("metadata") or {}).get("annotations") or {}
    sealed_keys = sorted(sealed_keys or [])
    return {"given": given, "existing": existing, "existing_version": annotations.get(SECRETS_VERSION_ANNOTATION, ""),
            "sealed_keys": sealed_keys, "generate": plan(groups, given, existing, sealed_keys),
            "conflicts": rotation_conflicts(annotations, existing, given, key_vars)}


def assemble_secret(decided: dict, groups: dict, generated: dict, provided_keys: list, mode: str = "apply") -> dict:
    """The data to write, as ``assemble``, and its ``version`` (the pod-template annotation): in
    apply mode the version already on the Secret while the cluster holds this very data (keys
    other writers added do not count, and the rotation module's version survives), a new one
    when it changed; empty in sealed mode, which versions the sealed manifest instead."""
    out = assemble(groups, decided["given"], decided["existing"], generated, decided["sealed_keys"], provided_keys)
    version = ""
    if mode == "apply":
        existing, data = decided["existing"], out["data"]
        held = {key: existing[key] for key in data if key in existing} == data
        version = decided["existing_version"] if held and decided["existing_version"] else secrets_version(data)
    return {**out, "version": version}


def step_data(live: dict | None, groups: dict, key_vars: dict, given: dict, provided_keys: list, make,
              mode: str = "apply", sealed_keys: list | None = None) -> dict:
    """The secrets step from the Secret in the cluster to the data to write: ``decide``, then,
    unless an inventory value would undo a rotation, ``make`` (a function of the group names
    to generate, returning key -> value) for what nobody gave and nobody holds, then
    ``assemble_secret``. Returns {conflicts} alone when there are conflicts, else
    {conflicts: [], data, kept, generated, version}."""
    decided = decide(live, groups, key_vars, given, sealed_keys)
    if decided["conflicts"]:
        return {"conflicts": decided["conflicts"]}
    generated = make(decided["generate"]) if decided["generate"] else {}
    return {"conflicts": [], **assemble_secret(decided, groups, generated, provided_keys, mode)}

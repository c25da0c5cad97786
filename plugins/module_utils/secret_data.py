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


def b64decode_values(data: dict | None) -> dict:
    """A Secret's .data with every value base64-decoded to text."""
    return {key: base64.b64decode(value).decode() for key, value in (data or {}).items()}


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

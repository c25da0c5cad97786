"""Non-secret fingerprints of Secret data.

`secrets_version` is the value of the pod-template annotation agentic.platform/secrets-version:
an HMAC-SHA256 of the whole data, keyed with one of its own high-entropy generated values
(redis-admin-password), so the annotation changes whenever any value changes but reveals
nothing about the values, not even a weak provided one (no offline guessing without the key).
The secrets role uses it only when it changes the data itself; when the data in the cluster
is what the role would apply, it keeps the annotation already on the Secret (which the
secret_rotation module may have set), so a rotation followed by a site.yml run does not
roll the pods twice.

`sealed_fingerprint` is for GitOps mode, where the role cannot read back the values it sealed:
a salted scrypt digest of what was sealed, stored in the SealedSecret manifest, that tells
whether the inventory changed without keeping any value in the clear.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os

VERSION_KEY = "redis-admin-password"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def canonical(data: dict) -> bytes:
    """The data as canonical JSON bytes (sorted keys, no spaces)."""
    # surrogateescape: values that are not UTF-8 text (see secret_data.b64decode_values) as their bytes
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "surrogateescape")


def secrets_version(data: dict, key_name: str = VERSION_KEY) -> str:
    """16 hex characters of HMAC-SHA256(data[key_name], canonical(data))."""
    key = data.get(key_name)
    if not key:
        raise ValueError(f"secrets_version needs a non-empty '{key_name}' in the data as its key")
    return hmac.new(str(key).encode("utf-8", "surrogateescape"), canonical(data), hashlib.sha256).hexdigest()[:16]


def sealed_fingerprint(data: dict, salt: bytes | None = None) -> str:
    """'scrypt$<salt>$<digest>' (base64) of the canonical data, with a fresh salt unless given."""
    salt = os.urandom(16) if salt is None else salt
    digest = hashlib.scrypt(canonical(data), salt=salt, maxmem=64 * 1024 * 1024, **_SCRYPT)
    return f"scrypt${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def sealed_fingerprint_matches(data: dict, stored: str | None) -> bool:
    """Whether `stored` (from sealed_fingerprint) was made from this same data."""
    if not stored or not isinstance(stored, str) or stored.count("$") != 2:
        return False
    scheme, salt_b64, _digest = stored.split("$")
    if scheme != "scrypt":
        return False
    try:
        salt = base64.b64decode(salt_b64, validate=True)
    except ValueError:
        return False
    return hmac.compare_digest(sealed_fingerprint(data, salt), stored)

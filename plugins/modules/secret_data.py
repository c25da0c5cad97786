# The work is done by the action plugin of the same name (plugins/action/secret_data.py), in the
# controller; this file documents it.
from __future__ import annotations

DOCUMENTATION = r"""
module: secret_data
short_description: Decide, generate and assemble the data of the secrets step's Secret
version_added: 0.1.0
description:
  - Reads the Secret O(name) in O(namespace) and decides, per group of keys made together, whether
    its values come from the inventory (O(given)), from the Secret in the cluster (reused, never
    regenerated), stay sealed (O(sealed_keys), GitOps mode) or are generated now.
  - Names the inventory variables whose value would undo a rotation (the rotation playbook's
    last-rotated annotation on the Secret, and another value given); then nothing is generated
    and no data is returned.
  - Generates what nobody gave and the cluster does not hold, in the controller (random passwords,
    an RSA JWT signing key pair, a development TLS chain (an ECDSA CA and a server certificate it
    signs)). Needs the Python package C(cryptography) for the key pair and the chain.
  - Changes nothing. Returns the values, so use it only on a task with C(no_log).
options:
  name:
    description: The Secret's name.
    type: str
    required: true
  namespace:
    description: The Secret's namespace.
    type: str
    required: true
  groups:
    description: Group name to the keys made together (C(redis-password), C(redis-admin-password), C(jwt), C(tls)).
    type: dict
    required: true
  key_vars:
    description: Every key of the Secret to the inventory variable that gives it (named in conflicts).
    type: dict
    required: true
  given:
    description: Every key to the inventory's value (empty when not set).
    type: dict
    required: true
  provided_keys:
    description: The keys issued by others, always taken from O(given).
    type: list
    elements: str
    default: []
  sealed_keys:
    description: The keys the SealedSecret manifest already holds (GitOps mode).
    type: list
    elements: str
    default: []
  mode:
    description: C(apply) versions the data (RV(version)); C(sealed) leaves the version to the sealed manifest.
    type: str
    choices: [apply, sealed]
    default: apply
  password_length:
    description: Length of a generated password (letters and digits).
    type: int
    default: 32
  jwt_key_size:
    description: RSA bits of a generated JWT signing key.
    type: int
    default: 3072
  tls_dns_names:
    description: DNS names of a generated server certificate (the first is its common name).
    type: list
    elements: str
    default: []
  ca_common_name:
    description: Common name of a generated CA.
    type: str
    default: development CA
  ca_validity_days:
    description: Days a generated CA is valid.
    type: int
    default: 3650
  tls_validity_days:
    description: Days a generated server certificate is valid.
    type: int
    default: 365
extends_documentation_fragment:
  - agentic.platform.kube_auth
  - agentic.platform.read_only
author:
  - agentic.platform developers (@agentic)
"""

EXAMPLES = r"""
- name: Decide, generate and assemble the Secret data
  agentic.platform.secret_data:
    name: agentic-ai-secrets
    namespace: agents
    groups: {redis-password: [redis-password], jwt: [jwt-private-key, jwt-public-key]}
    key_vars: {redis-password: secrets_redis_password, jwt-private-key: secrets_jwt_private_key,
               jwt-public-key: secrets_jwt_public_key}
    given: {redis-password: "", jwt-private-key: "", jwt-public-key: ""}
  register: assembled
  no_log: true
"""

RETURN = r"""
conflicts:
  description: The inventory variables whose value would undo a rotation (names, never values).
  returned: always
  type: list
  elements: str
data:
  description: Key to value, the data to write.
  returned: when there are no conflicts
  type: dict
kept:
  description: Keys left as they are sealed (GitOps mode).
  returned: when there are no conflicts
  type: list
  elements: str
generated:
  description: Keys generated now.
  returned: when there are no conflicts
  type: list
  elements: str
version:
  description:
    - In apply mode the Secret's C(agentic.platform/secrets-version) while the cluster holds this
      very data, a new fingerprint when it changed; empty in sealed mode.
  returned: when there are no conflicts
  type: str
"""

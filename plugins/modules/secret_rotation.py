#!/usr/bin/python
# Copyright: agentic.platform developers
# Apache License 2.0
"""Ansible module: rotate one credential of a Kubernetes Secret with zero downtime."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: secret_rotation
short_description: Rotate a credential in a Kubernetes Secret with zero downtime, resumably, with an audit trail
version_added: "0.1.0"
description:
  - Rotates one credential kept in a Kubernetes Secret (by default C(agentic-ai-secrets)) and rolls the
    Deployments that mount it, recording every phase on the Secret's annotations so that a run interrupted
    at any point is completed (or, before the Secret changed, rolled back) by the next run.
  - I(kind=redis) adds a generated password to the Redis ACL user next to the old one, verifies both
    authenticate, updates the Secret, rolls the agent pods (pod-template annotation
    C(agentic.platform/secrets-version)) and waits until every pod runs the new template, waits a drain
    window, then removes the old password and verifies it is refused. The pending password is kept in the
    Secret under C(<key>-next) and the old one under C(<key>-previous) until the rotation ends.
  - I(kind=jwt) keeps next / current / previous signing keys with key ids (RFC 7638 thumbprints) and a
    published JWKS (C(<key>-jwks.json)); the next public key is published (and the pods rolled) before it
    signs, and the previous public key is dropped only after I(jwt_max_token_lifetime).
    C(<key>-private-key)/C(<key>-public-key) always hold the CURRENT pair.
  - I(kind=external) stores an externally issued credential (LLM provider key, cloud credential) given in
    I(new_value), keeps the old one under C(<key>-previous) for I(rollback), and rolls the pods.
  - A key is due when the Secret's C(rotation-schedule) label (daily, weekly, monthly, quarterly) has
    elapsed since the C(rotation.agentic.platform/<key>.last-rotated) annotation (or the Secret's creation);
    I(force) rotates anyway. Nothing due and nothing in progress means no change.
  - Each run that does something writes an audit record (actor, UTC times, Secret, key, version before and
    after, keyed HMAC fingerprints, per-phase outcome; never a value) to I(audit_log) on the host that runs
    the module, to the ConfigMap C(agentic-rotation-audit) and as a Kubernetes Event on the Secret.
    Fingerprints are keyed with I(audit_key) or the Secret C(agentic-rotation-audit-key) (created on first use).
  - In check mode it reports, from metadata only, whether the key is due and what would happen.
  - One rotation of a Secret at a time, whoever runs it (a CronJob, an AWX job, a person) - the run
    holds the Lease C(<secret_name>.rotation) (C(coordination.k8s.io/v1), holder and expiry) from
    before it reads the Secret until its audit is written, renewed while it runs and released on every
    way out. A second run waits up to I(lock_timeout) and then fails naming the holder; a Lease its
    holder stopped renewing 30 seconds ago (or whose holder process on this host is gone) is taken over.
author:
  - agentic.platform developers (@agentic)
extends_documentation_fragment:
  - agentic.platform.kube_auth
options:
  kind:
    description: What is rotated.
    type: str
    required: true
    choices: [redis, jwt, external]
  namespace:
    description: Namespace of the Secret, the Deployments and the audit objects.
    type: str
    required: true
  secret_name:
    description: The Secret holding the credential.
    type: str
    default: agentic-ai-secrets
  key:
    description:
      - Secret data key rotated. Defaults to C(redis-password) for I(kind=redis) and to the prefix C(jwt)
        for I(kind=jwt); required for I(kind=external) (for example C(openai-api-key)).
    type: str
  force:
    description: Rotate even if the schedule says the key is not due.
    type: bool
    default: false
  schedule:
    description: Override the Secret's C(rotation-schedule) label.
    type: str
    choices: [daily, weekly, monthly, quarterly]
  default_schedule:
    description: Schedule used when the Secret has no C(rotation-schedule) label.
    type: str
    default: monthly
    choices: [daily, weekly, monthly, quarterly]
  deployments:
    description:
      - Deployments (in I(namespace)) rolled after the Secret changes; rotation waits until all their
        pods run the new template.
    type: list
    elements: str
    default: [mcp-agent]
  allow_missing_deployments:
    description: Rotate even if a Deployment in I(deployments) does not exist (otherwise that is an error).
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for each Deployment roll.
    type: int
    default: 300
  drain_seconds:
    description:
      - Seconds between the end of the roll and removing the old Redis password. The rolled pods read
        the new password at start; a pod that mounts the Secret without being rolled (Redis itself, for its
        readiness probe; any other client) sees the new file only when the kubelet next syncs it (its sync
        period, 1 min, with up to 50% jitter), so the default waits 120 s.
    type: int
    default: 120
  redis_host:
    description: Redis endpoint reachable from the host running the module (required for I(kind=redis)).
    type: str
  redis_port:
    description: Redis port.
    type: int
    default: 6379
  redis_nodes:
    description:
      - Sentinel mode - C(host:port) of every data node and Sentinel; the password is added, checked and
        removed on each (I(redis_host) is then not used). Empty - the one endpoint I(redis_host).
    type: list
    elements: str
    default: []
  redis_user:
    description: The agents' ACL user whose password rotates.
    type: str
    default: agent
  redis_admin_user:
    description: ACL user with the rights to change users.
    type: str
    default: admin
  redis_admin_password:
    description: Password of I(redis_admin_user); by default read from the Secret key I(redis_admin_key).
    type: str
  redis_admin_key:
    description: Secret data key holding the admin password.
    type: str
    default: redis-admin-password
  redis_tls:
    description: Connect to Redis with TLS.
    type: bool
    default: false
  redis_ca_cert:
    description: CA bundle to verify the Redis server certificate.
    type: path
  redis_tls_verify:
    description: Verify the Redis server certificate.
    type: bool
    default: true
  jwt_algorithm:
    description:
      - Algorithm of newly generated JWT signing keys; C(auto) keeps the current key's type and
        (for RSA) its size, at least 3072 bits.
    type: str
    default: auto
    choices: [auto, ES256, RS256]
  jwt_max_token_lifetime:
    description:
      - Longest lifetime (seconds) of a token signed by the agents; the previous public key stays
        published at least this long after the switch.
    type: int
    default: 3600
  jwt_publish_lead:
    description:
      - Minimum seconds between publishing the next public key and signing with it (for verifiers
        that cache the JWKS outside the cluster).
    type: int
    default: 0
  new_value:
    description:
      - The new externally issued credential for I(kind=external) (feed it from a vaulted variable,
        a file, the environment or a lookup).
    type: str
  rollback:
    description: For I(kind=external), put C(<key>-previous) back as the current value and roll the pods.
    type: bool
    default: false
  audit_log:
    description: JSON lines audit file on the host running the module (empty string disables it).
    type: path
    default: ~/.local/state/agentic-platform/rotation-audit.jsonl
  audit_configmap:
    description: Also keep audit records in the ConfigMap C(agentic-rotation-audit) (newest 200).
    type: bool
    default: true
  audit_events:
    description: Also emit a Kubernetes Event on the Secret per run.
    type: bool
    default: true
  audit_key:
    description: HMAC key for fingerprints; by default kept in the Secret C(agentic-rotation-audit-key).
    type: str
  actor:
    description: Who rotates, for the audit trail (default user@host running the module).
    type: str
  lock_timeout:
    description: Seconds to wait for another run of the same Secret to finish before failing (0 fails at once).
    type: int
    default: 60
  field_manager:
    description: Field manager of the Secret and Deployment patches.
    type: str
    default: agentic.platform.rotation
requirements:
  - PyYAML (to read a kubeconfig)
  - redis (for I(kind=redis))
  - cryptography (for I(kind=jwt))
notes:
  - Never logs a value; every value option is C(no_log). Values are only ever written to the Secret's data.
  - Unlike M(agentic.platform.k8s_apply) this is a module, not an in-controller action - it runs where the
    inventory host runs (the controller for the region hosts, C(ansible_connection=local); the pod of the
    CronJob in docs/examples) because the Redis endpoint must be reachable from there (in-cluster CronJob,
    port-forward or a routable Service). It talks to the API server with the collection's own client,
    like the actions, with the same connection options (module defaults group C(agentic.platform.platform)).
"""

EXAMPLES = r"""
- name: Rotate the agents' Redis password when the schedule says so
  agentic.platform.secret_rotation:
    kind: redis
    namespace: agentic-ai-prod
    redis_host: redis.agentic-ai-prod.svc.cluster.local
    drain_seconds: 120

- name: Rotate the JWT signing key now (2 h token lifetime)
  agentic.platform.secret_rotation:
    kind: jwt
    namespace: agentic-ai-prod
    jwt_max_token_lifetime: 7200
    force: true

- name: Install a new LLM provider key issued by the provider, from a vaulted variable
  agentic.platform.secret_rotation:
    kind: external
    namespace: agentic-ai-prod
    key: openai-api-key
    new_value: "{{ vault_openai_api_key }}"
  no_log: true

- name: Report what is due, changing nothing
  agentic.platform.secret_rotation:
    kind: redis
    namespace: agentic-ai-prod
    redis_host: 127.0.0.1
  check_mode: true
"""

RETURN = r"""
outcome:
  description: >-
    What this run did, one of not-due, unchanged, completed, waiting (JWT overlap or lead), rolled-back, failed,
    would-rotate / would-resume / would-promote / would-drop-previous / would-roll-back (check mode).
  returned: always
  type: str
  sample: completed
due:
  description: Whether the schedule says the key is due.
  returned: always
  type: bool
next_due:
  description: UTC time the key next falls due (null if never rotated).
  returned: always
  type: str
schedule:
  description: The schedule applied.
  returned: always
  type: str
  sample: monthly
phase:
  description: Rotation phase recorded on the Secret after this run (completed when idle).
  returned: always
  type: str
phases:
  description: Phases this run went through, with outcome and UTC time.
  returned: always
  type: list
  elements: dict
rotation_id:
  description: Id of the current/last rotation of this key.
  returned: always
  type: str
version_before:
  description: Version counter of the key before this run.
  returned: always
  type: int
version_after:
  description: Version counter of the key after this run.
  returned: always
  type: int
fingerprint_before:
  description: Keyed HMAC-SHA256 fingerprint of the current value before this run (never the value).
  returned: always
  type: str
fingerprint_after:
  description: Keyed fingerprint of the current value after this run.
  returned: always
  type: str
would_rotate:
  description: In check mode, whether a real run would change something.
  returned: when a run would change something
  type: bool
audit:
  description: The audit record written by this run.
  returned: when a run changed something or failed
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.agentic.platform.plugins.module_utils.kube_args import AUTH_ARG_SPEC
from ansible_collections.agentic.platform.plugins.module_utils.kube_client import ApiError, KubeClient, KubeError
from ansible_collections.agentic.platform.plugins.module_utils.redis_topology import parse_address
from ansible_collections.agentic.platform.plugins.module_utils.secret_rotation.common import RotationError
from ansible_collections.agentic.platform.plugins.module_utils.secret_rotation.engine import Options, run_rotation
from ansible_collections.agentic.platform.plugins.module_utils.secret_rotation.kube import Kube
from ansible_collections.agentic.platform.plugins.module_utils.secret_rotation.redis_acl import RedisEndpoint

SCHEDULES = ["daily", "weekly", "monthly", "quarterly"]


def argument_spec():
    return dict(
        AUTH_ARG_SPEC,
        kind=dict(type="str", required=True, choices=["redis", "jwt", "external"]),
        namespace=dict(type="str", required=True),
        secret_name=dict(type="str", default="agentic-ai-secrets"),
        key=dict(type="str", no_log=False),
        force=dict(type="bool", default=False),
        schedule=dict(type="str", choices=SCHEDULES),
        default_schedule=dict(type="str", default="monthly", choices=SCHEDULES),
        deployments=dict(type="list", elements="str", default=["mcp-agent"]),
        allow_missing_deployments=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=300),
        drain_seconds=dict(type="int", default=120),
        redis_host=dict(type="str"),
        redis_port=dict(type="int", default=6379),
        redis_nodes=dict(type="list", elements="str", default=[]),
        redis_user=dict(type="str", default="agent"),
        redis_admin_user=dict(type="str", default="admin"),
        redis_admin_password=dict(type="str", no_log=True),
        redis_admin_key=dict(type="str", default="redis-admin-password", no_log=False),
        redis_tls=dict(type="bool", default=False),
        redis_ca_cert=dict(type="path"),
        redis_tls_verify=dict(type="bool", default=True),
        jwt_algorithm=dict(type="str", default="auto", choices=["auto", "ES256", "RS256"]),
        jwt_max_token_lifetime=dict(type="int", default=3600, no_log=False),
        jwt_publish_lead=dict(type="int", default=0),
        new_value=dict(type="str", no_log=True),
        rollback=dict(type="bool", default=False),
        audit_log=dict(type="path", default="~/.local/state/agentic-platform/rotation-audit.jsonl"),
        audit_configmap=dict(type="bool", default=True),
        audit_events=dict(type="bool", default=True),
        audit_key=dict(type="str", no_log=True),
        actor=dict(type="str"),
        lock_timeout=dict(type="int", default=60),
        field_manager=dict(type="str", default="agentic.platform.rotation"),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_if=[("kind", "redis", ["redis_host", "redis_nodes"], True),
                                        ("kind", "external", ["key"])])
    p = module.params
    for name in ("wait_timeout", "jwt_max_token_lifetime"):
        if p[name] <= 0:
            module.fail_json(msg=f"{name} must be a positive number of seconds, got {p[name]}")
    for name in ("drain_seconds", "jwt_publish_lead", "lock_timeout"):
        if p[name] < 0:
            module.fail_json(msg=f"{name} must be zero or more seconds, got {p[name]}")
    try:
        client = KubeClient.from_config(kubeconfig=p["kubeconfig"], context=p["context"], host=p["host"],
                                        api_key=p["api_key"], validate_certs=p["validate_certs"], ca_cert=p["ca_cert"])
        redis_ep, redis_nodes = None, []
        if p["kind"] == "redis":
            def endpoint(host, port):
                return RedisEndpoint(host=host, port=port, admin_user=p["redis_admin_user"],
                                     admin_password=p["redis_admin_password"], user=p["redis_user"],
                                     tls=p["redis_tls"], ca_cert=p["redis_ca_cert"], tls_verify=p["redis_tls_verify"])
            bad = [address for address in p["redis_nodes"] if parse_address(address) is None]
            if bad:
                module.fail_json(msg="redis_nodes entries must be host:port with a port from 1 to 65535, got "
                                     + ", ".join(repr(address) for address in bad))
            redis_nodes = [endpoint(*parse_address(address)) for address in p["redis_nodes"]]
            if not redis_nodes:
                redis_ep = endpoint(p["redis_host"], p["redis_port"])
        opts = Options(
            namespace=p["namespace"], kind=p["kind"], key=p["key"], secret_name=p["secret_name"], force=p["force"],
            schedule=p["schedule"], default_schedule=p["default_schedule"], deployments=p["deployments"],
            allow_missing_deployments=p["allow_missing_deployments"], wait_timeout=p["wait_timeout"],
            drain_seconds=p["drain_seconds"], redis=redis_ep, redis_nodes=redis_nodes,
            redis_admin_key=p["redis_admin_key"],
            jwt_algorithm=p["jwt_algorithm"], jwt_max_token_lifetime=p["jwt_max_token_lifetime"],
            jwt_publish_lead=p["jwt_publish_lead"], new_value=p["new_value"], rollback=p["rollback"],
            audit_log=p["audit_log"] or None,  # type path: already expanded
            audit_configmap=p["audit_configmap"], audit_events=p["audit_events"], audit_key=p["audit_key"],
            actor=p["actor"], lock_timeout=p["lock_timeout"], check_mode=module.check_mode)
    except (RotationError, KubeError, ApiError) as exc:
        module.fail_json(msg=str(exc))
    try:
        result = run_rotation(Kube(client, p["namespace"], p["field_manager"]), opts)
    finally:
        client.close()
    diff = result.pop("diff", None)
    if module._diff and diff is not None:
        result["diff"] = diff
    for warning in result.pop("warnings", []) or []:
        module.warn(warning)
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

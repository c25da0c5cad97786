"""Secret agentic-ai-secrets (role secrets).

Most of these variables hold secret values: a message names the variable and what is wrong,
never the value (not even a part of it). Only the labels, the generation settings and the DNS
names, which are not secret, are quoted. The GitOps settings (secrets_sealed_cert, which needs
the certificate file read) stay in roles/secrets/tasks/validate.yml.
"""

from __future__ import annotations

import json
import re

from ansible_collections.agentic.platform.plugins.module_utils.inputs.common import (
    MISSING,
    Problems,
    as_int,
    is_label_value,
    pem_certificates,
    pem_private_key,
    public_key_bytes,
    text,
)

# Secret key -> inventory variable (roles/secrets/vars/main.yml _secrets_provided): issued outside
# this platform, required.
PROVIDED = {
    "openai-api-key": "secrets_openai_api_key",
    "anthropic-api-key": "secrets_anthropic_api_key",
    "azure-openai-key": "secrets_azure_openai_key",
    "postgres-username": "secrets_postgres_username",
    "postgres-password": "secrets_postgres_password",
    "aws-access-key-id": "secrets_aws_access_key_id",
    "aws-secret-access-key": "secrets_aws_secret_access_key",
    "gcp-service-account": "secrets_gcp_service_account",
}
# Values the role makes when not given, checked per group (_secrets_groups): passwords alone, the
# JWT pair and the TLS chain each given complete or not at all.
PASSWORDS = ("secrets_redis_password", "secrets_redis_admin_password", "secrets_redis_replication_password",
             "secrets_redis_sentinel_password")
PEM_GROUPS = (("secrets_jwt_private_key", "secrets_jwt_public_key"),
              ("secrets_tls_crt", "secrets_tls_key", "secrets_ca_crt"))
# The variables whose values are secret: never in a message.
SECRET_VARIABLES = (*PROVIDED.values(), *PASSWORDS, *(name for group in PEM_GROUPS for name in group))

MIN_PASSWORD = 16
AWS_ACCESS_KEY_ID = re.compile(r"^(AKIA|ASIA)[A-Z0-9]{16}$")
PEM_BLOCK = re.compile(r"^-----BEGIN [A-Z ]+-----")
DNS_NAME = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

VARIABLES = (*SECRET_VARIABLES, "secrets_security_tier", "secrets_rotation_schedule", "secrets_password_length",
             "secrets_tls_validity_days", "secrets_ca_validity_days", "secrets_tls_dns_names")


def as_text(value) -> str:
    """The value as the role uses it (Jinja's ``| string``); undefined is empty."""
    return "" if value is MISSING else str(value)


def json_object(value) -> dict | None:
    """The JSON object a value holds (a mapping as is), else None (a gcp service-account key file)."""
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(as_text(value))
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def jwt_pair_problem(private_pem: str, public_pem: str) -> str | None:
    """What is wrong with a given JWT key pair (never quoting either key)."""
    from cryptography.hazmat.primitives import serialization

    key, why = pem_private_key(private_pem)
    if key is None:
        return f"secrets_jwt_private_key {why}"
    try:
        public = serialization.load_pem_public_key(public_pem.strip().encode())
    except (ValueError, TypeError):
        return "secrets_jwt_public_key is not a readable PEM public key"
    if public_key_bytes(public) != public_key_bytes(key):
        return "secrets_jwt_public_key is not the public half of secrets_jwt_private_key"
    return None


def tls_chain_problem(crt_pem: str, key_pem: str, ca_pem: str) -> str | None:
    """What is wrong with a given TLS chain: the certificate, its key and the CA that signed it must
    belong together, and the certificate may not outlive the CA (never quoting a value)."""
    from cryptography.exceptions import InvalidSignature

    leaf = pem_certificates(crt_pem)
    if leaf is None:
        return "secrets_tls_crt is not a PEM certificate (-----BEGIN CERTIFICATE-----)"
    ca = pem_certificates(ca_pem)
    if ca is None:
        return "secrets_ca_crt is not a PEM certificate (-----BEGIN CERTIFICATE-----)"
    key, why = pem_private_key(key_pem)
    if key is None:
        return f"secrets_tls_key {why}"
    leaf, ca = leaf[0], ca[0]
    if public_key_bytes(leaf.public_key()) != public_key_bytes(key):
        return "secrets_tls_key does not match secrets_tls_crt (the certificate holds another public key)"
    try:
        leaf.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return "secrets_tls_crt is not signed by secrets_ca_crt"
    if leaf.not_valid_after_utc > ca.not_valid_after_utc:
        return (f"secrets_tls_crt expires after secrets_ca_crt ({leaf.not_valid_after_utc:%Y-%m-%d} > "
                f"{ca.not_valid_after_utc:%Y-%m-%d}): clients stop trusting it when the CA expires")
    return None


def _between(value, low: int, high: int) -> bool:
    number = as_int(value)
    return number is not None and low <= number <= high


def check(v: dict) -> list[str]:
    p = Problems()
    # The values issued by others must be set (null is not a value: it would become the text "None").
    for key, name in PROVIDED.items():
        p.add(v[name] is not None and as_text(v[name]) != "",
              f"{name} is required: the {key} of Secret agentic-ai-secrets, issued outside this platform. Set it "
              "in the region's host_vars (encrypted with Ansible Vault)")
    # Their form, when set (an empty or null one fails the check above).
    aws_id = as_text(v["secrets_aws_access_key_id"]) if v["secrets_aws_access_key_id"] is not None else ""
    p.add(aws_id == "" or bool(AWS_ACCESS_KEY_ID.fullmatch(aws_id)),
          "secrets_aws_access_key_id must be an AWS access key id: AKIA or ASIA and 16 capital letters or digits")
    gcp = as_text(v["secrets_gcp_service_account"]) if v["secrets_gcp_service_account"] is not None else ""
    key_file = json_object(v["secrets_gcp_service_account"]) if gcp else None
    p.add(gcp == "" or (key_file is not None and key_file.get("type", "") == "service_account"
                        and str(key_file.get("client_email", "")) != ""),
          'secrets_gcp_service_account must be the JSON key file of a GCP service account (a JSON object with '
          '"type": "service_account" and a client_email)')
    # The values the role makes when not given: given complete and well formed, or not at all.
    for name in PASSWORDS:
        length = len(as_text(v[name]))
        p.add(length == 0 or length >= MIN_PASSWORD,
              f"{name}: give a value of at least {MIN_PASSWORD} characters or leave it empty (empty = generated once)")
    for group, pair_problem in zip(PEM_GROUPS, (jwt_pair_problem, tls_chain_problem), strict=True):
        given = [as_text(v[name]) for name in group if as_text(v[name])]
        complete = p.add(len(given) in (0, len(group)) and all(PEM_BLOCK.search(value) for value in given),
                         f"{', '.join(group)}: give all of them or none (none = generated once); each a PEM block "
                         "(-----BEGIN ...)")
        if complete and given:
            problem = pair_problem(*given)
            p.add(problem is None, f"{problem}")
    # Not secret: quoted.
    for name in ("secrets_security_tier", "secrets_rotation_schedule"):
        p.add(is_label_value(v[name]) and str(v[name]) != "",
              f"{name} '{text(v[name])}' must be a Kubernetes label value (1 to 63 of letters, digits, '-', '_', '.')")
    p.add(_between(v["secrets_password_length"], 16, 256),
          f"secrets_password_length must be from 16 to 256 characters, got '{text(v['secrets_password_length'])}'")
    for name in ("secrets_tls_validity_days", "secrets_ca_validity_days"):
        p.add(_between(v[name], 1, 36500), f"{name} must be a number of days from 1 to 36500, got '{text(v[name])}'")
    # The generated chain: its certificate may not outlive its CA (a given chain is checked above).
    leaf_days, ca_days = as_int(v["secrets_tls_validity_days"]), as_int(v["secrets_ca_validity_days"])
    p.add(leaf_days is None or ca_days is None or leaf_days <= ca_days or as_text(v["secrets_tls_crt"]) != "",
          f"secrets_tls_validity_days ({leaf_days}) must not exceed secrets_ca_validity_days ({ca_days}): the "
          "generated certificate would outlive its CA")
    names = v["secrets_tls_dns_names"]
    p.add(isinstance(names, list) and len(names) > 0
          and all(isinstance(n, str) and DNS_NAME.fullmatch(n) and len(n) <= 253
                  and all(len(label) <= 63 for label in n.split(".")) for n in names),
          f"secrets_tls_dns_names must be a non-empty list of DNS names, got {text(names)}")
    return p

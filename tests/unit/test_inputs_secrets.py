"""The secrets step's input checks (plugins/module_utils/inputs/secrets.py): pure Python, no cluster.

No message may hold a secret value: every case below looks for the value in the messages."""

from __future__ import annotations

import datetime

import pytest
from ansible_collections.agentic.platform.plugins.module_utils.inputs import secrets
from ansible_collections.agentic.platform.plugins.module_utils.inputs.common import MISSING
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

PEM_CERT = "-----BEGIN CERTIFICATE-----\nMIIBleakycert\n-----END CERTIFICATE-----\n"
PEM_KEY = "-----BEGIN PRIVATE KEY-----\nMIIEleakykey\n-----END PRIVATE KEY-----\n"
PEM_PUBLIC = "-----BEGIN PUBLIC KEY-----\nMIIBleakypub\n-----END PUBLIC KEY-----\n"


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key, password: bytes | None = None) -> str:
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption).decode()


def _public_pem(key) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _cert(subject: str, key, issuer: str, issuer_key, days: int, ca: bool = False) -> str:
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(issuer_key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


# A real chain and key pair (the role's generated ones are of this kind), and broken variants.
CA_KEY, LEAF_KEY, OTHER_KEY, JWT_KEY = _key(), _key(), _key(), _key()
CA = _cert("agentic-ca", CA_KEY, "agentic-ca", CA_KEY, 3650, ca=True)
LEAF = _cert("mcp-agent", LEAF_KEY, "agentic-ca", CA_KEY, 365)
CHAIN = {"secrets_tls_crt": LEAF, "secrets_tls_key": _key_pem(LEAF_KEY), "secrets_ca_crt": CA}
JWT = {"secrets_jwt_private_key": _key_pem(JWT_KEY), "secrets_jwt_public_key": _public_pem(JWT_KEY)}
GCP = ('{"type": "service_account", "project_id": "agentic-dev-not-real", '
       '"client_email": "agentic-dev@agentic-dev-not-real.iam.gserviceaccount.com"}')

# The local inventory (inventories/local/host_vars/local/secrets.yml) over the role defaults
# (roles/secrets/defaults/main.yml), agentic_namespace agentic-ai-prod.
VALID = {
    "secrets_openai_api_key": "dev-not-a-real-openai-key-0000000000000000",
    "secrets_anthropic_api_key": "dev-not-a-real-anthropic-key-000000000000",
    "secrets_azure_openai_key": "dev-not-a-real-azure-openai-key-0000000000",
    "secrets_postgres_username": "agentic_dev",
    "secrets_postgres_password": "dev-not-a-real-postgres-password",
    "secrets_aws_access_key_id": "AKIADEVNOTREAL000000",
    "secrets_aws_secret_access_key": "dev-not-a-real-aws-secret-access-key-000000",
    "secrets_gcp_service_account": GCP,
    "secrets_redis_password": "",
    "secrets_redis_admin_password": "",
    "secrets_redis_replication_password": "",
    "secrets_redis_sentinel_password": "",
    "secrets_jwt_private_key": "",
    "secrets_jwt_public_key": "",
    "secrets_tls_crt": "",
    "secrets_tls_key": "",
    "secrets_ca_crt": "",
    "secrets_password_length": 32,
    "secrets_tls_dns_names": ["mcp-agent", "mcp-agent.agentic-ai-prod", "mcp-agent.agentic-ai-prod.svc",
                              "mcp-agent.agentic-ai-prod.svc.cluster.local"],
    "secrets_tls_validity_days": 365,
    "secrets_ca_validity_days": 3650,
    "secrets_security_tier": "high",
    "secrets_rotation_schedule": "monthly",
}


def problems(**overrides) -> list[str]:
    return secrets.check({**VALID, **overrides})


def test_valid_inventory_has_no_problem():
    assert sorted(VALID) == sorted(secrets.VARIABLES)
    assert problems() == []


@pytest.mark.parametrize("overrides", [
    {"secrets_redis_password": "given-redis-password-0001", "secrets_redis_admin_password": "x" * 16},
    JWT,
    CHAIN,
    {"secrets_aws_access_key_id": "ASIA0123456789ABCDEF"},
    {"secrets_gcp_service_account": {"type": "service_account", "client_email": "a@b.iam.gserviceaccount.com"}},
    {"secrets_tls_dns_names": ["*.agents.example.com"]},
    {"secrets_password_length": "16", "secrets_tls_validity_days": 1, "secrets_ca_validity_days": 36500},
    {**CHAIN, "secrets_tls_validity_days": 3650, "secrets_ca_validity_days": 365},
    {"secrets_security_tier": "tier_2.a", "secrets_rotation_schedule": "weekly"},
], ids=["passwords", "jwt-pair", "tls-chain", "aws-asia", "gcp-mapping", "wildcard-dns", "bounds",
        "given-chain-ignores-days", "labels"])
def test_valid_variants_have_no_problem(overrides):
    assert problems(**overrides) == []


@pytest.mark.parametrize("name", list(secrets.PROVIDED.values()))
@pytest.mark.parametrize("value", ["", None, MISSING], ids=["empty", "null", "undefined"])
def test_a_missing_issued_value_is_required(name, value):
    found = problems(**{name: value})
    assert any(m.startswith(f"{name} is required") for m in found), found
    assert all(name in m for m in found), found


# case -> (overrides, a phrase every message must hold); each value holds "leaky" where it could leak.
BAD = {
    "aws-id-malformed": ({"secrets_aws_access_key_id": "leaky-value-aws-0001"}, "secrets_aws_access_key_id"),
    "aws-id-lowercase": ({"secrets_aws_access_key_id": "akialeaky00000000000"}, "secrets_aws_access_key_id"),
    "aws-id-newline": ({"secrets_aws_access_key_id": "AKIALEAKY00000000000\n"}, "secrets_aws_access_key_id"),
    "gcp-not-json": ({"secrets_gcp_service_account": "leaky-value-gcp-0002"}, "secrets_gcp_service_account"),
    "gcp-json-list": ({"secrets_gcp_service_account": '["leaky"]'}, "secrets_gcp_service_account"),
    "gcp-wrong-type": ({"secrets_gcp_service_account": '{"type": "user", "client_email": "leaky@x"}'},
                       "secrets_gcp_service_account"),
    "gcp-no-email": ({"secrets_gcp_service_account": '{"type": "service_account", "private_key": "leaky"}'},
                     "secrets_gcp_service_account"),
    "redis-short": ({"secrets_redis_password": "leaky-short"}, "secrets_redis_password"),
    "redis-admin-short": ({"secrets_redis_admin_password": "leaky-admin"}, "secrets_redis_admin_password"),
    "redis-null": ({"secrets_redis_password": None}, "secrets_redis_password"),
    "jwt-half": ({"secrets_jwt_private_key": PEM_KEY}, "secrets_jwt_private_key, secrets_jwt_public_key"),
    "jwt-not-pem": ({"secrets_jwt_private_key": "leaky-jwt-key", "secrets_jwt_public_key": PEM_PUBLIC},
                    "secrets_jwt_private_key, secrets_jwt_public_key"),
    "tls-partial": ({"secrets_tls_crt": PEM_CERT}, "secrets_tls_crt, secrets_tls_key, secrets_ca_crt"),
    "tls-two-of-three": ({"secrets_tls_crt": PEM_CERT, "secrets_tls_key": PEM_KEY},
                         "secrets_tls_crt, secrets_tls_key, secrets_ca_crt"),
    "tls-not-pem": ({"secrets_tls_crt": PEM_CERT, "secrets_tls_key": "leaky-key", "secrets_ca_crt": PEM_CERT},
                    "secrets_tls_crt, secrets_tls_key, secrets_ca_crt"),
    "jwt-encrypted": ({**JWT, "secrets_jwt_private_key": _key_pem(JWT_KEY, b"leaky-passphrase")},
                      "secrets_jwt_private_key is an encrypted private key"),
    "jwt-mismatch": ({**JWT, "secrets_jwt_public_key": _public_pem(OTHER_KEY)},
                     "secrets_jwt_public_key is not the public half of secrets_jwt_private_key"),
    "jwt-public-not-a-key": ({**JWT, "secrets_jwt_public_key": PEM_PUBLIC}, "secrets_jwt_public_key"),
    "tls-key-encrypted": ({**CHAIN, "secrets_tls_key": _key_pem(LEAF_KEY, b"leaky-passphrase")},
                          "secrets_tls_key is an encrypted private key"),
    "tls-key-mismatch": ({**CHAIN, "secrets_tls_key": _key_pem(OTHER_KEY)},
                         "secrets_tls_key does not match secrets_tls_crt"),
    "tls-key-garbage": ({**CHAIN, "secrets_tls_key": PEM_KEY}, "secrets_tls_key"),
    "tls-crt-garbage": ({**CHAIN, "secrets_tls_crt": PEM_CERT}, "secrets_tls_crt is not a PEM certificate"),
    "tls-crt-is-a-key": ({**CHAIN, "secrets_tls_crt": _key_pem(LEAF_KEY)}, "secrets_tls_crt"),
    "tls-ca-garbage": ({**CHAIN, "secrets_ca_crt": PEM_CERT}, "secrets_ca_crt is not a PEM certificate"),
    "tls-not-signed-by-ca": ({**CHAIN, "secrets_tls_crt": _cert("mcp-agent", LEAF_KEY, "agentic-ca", OTHER_KEY, 365)},
                             "secrets_tls_crt is not signed by secrets_ca_crt"),
    "tls-outlives-ca": ({**CHAIN, "secrets_tls_crt": _cert("mcp-agent", LEAF_KEY, "agentic-ca", CA_KEY, 5000)},
                        "secrets_tls_crt expires after secrets_ca_crt"),
    "generated-leaf-outlives-ca": ({"secrets_tls_validity_days": 3650, "secrets_ca_validity_days": 365},
                                   "secrets_tls_validity_days (3650) must not exceed secrets_ca_validity_days"),
    "tier-not-label": ({"secrets_security_tier": "very high!"}, "secrets_security_tier"),
    "tier-empty": ({"secrets_security_tier": ""}, "secrets_security_tier"),
    "tier-too-long": ({"secrets_security_tier": "a" * 64}, "secrets_security_tier"),
    "schedule-not-label": ({"secrets_rotation_schedule": "-monthly"}, "secrets_rotation_schedule"),
    "password-length-short": ({"secrets_password_length": 8}, "secrets_password_length"),
    "password-length-absurd": ({"secrets_password_length": 100000}, "secrets_password_length"),
    "password-length-type": ({"secrets_password_length": "long"}, "secrets_password_length"),
    "tls-days-zero": ({"secrets_tls_validity_days": 0}, "secrets_tls_validity_days"),
    "tls-days-negative": ({"secrets_tls_validity_days": -5}, "secrets_tls_validity_days"),
    "ca-days-absurd": ({"secrets_ca_validity_days": 36501}, "secrets_ca_validity_days"),
    "ca-days-type": ({"secrets_ca_validity_days": [365]}, "secrets_ca_validity_days"),
    "dns-empty": ({"secrets_tls_dns_names": []}, "secrets_tls_dns_names"),
    "dns-string": ({"secrets_tls_dns_names": "mcp-agent"}, "secrets_tls_dns_names"),
    "dns-uppercase": ({"secrets_tls_dns_names": ["MCP-Agent"]}, "secrets_tls_dns_names"),
    "dns-not-string": ({"secrets_tls_dns_names": [{"name": "mcp-agent"}]}, "secrets_tls_dns_names"),
    "dns-label-too-long": ({"secrets_tls_dns_names": ["a" * 64 + ".example.com"]}, "secrets_tls_dns_names"),
    "dns-name-too-long": ({"secrets_tls_dns_names": [".".join(["a" * 60] * 5)]}, "secrets_tls_dns_names"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_value_is_named_and_never_quoted(case):
    overrides, phrase = BAD[case]
    found = problems(**overrides)
    assert found, f"{case}: no problem found"
    assert all(phrase in m for m in found), found
    for name, value in overrides.items():
        if name in secrets.SECRET_VARIABLES:
            assert not any(str(value) in m or "leaky" in m for m in found), found


def test_every_failing_check_is_reported_at_once():
    found = problems(secrets_openai_api_key="", secrets_redis_password="leaky-short", secrets_password_length=1,
                     secrets_tls_dns_names=[])
    assert len(found) == 4, found


@pytest.mark.parametrize("value", [None, True, 0, -1, 3.5, "", "leaky-x", ["leaky-x"], {"leaky": "leaky-x"}, MISSING],
                         ids=repr)
def test_no_type_crashes_the_checks_or_leaks(value):
    for name in secrets.VARIABLES:
        found = problems(**{name: value})
        assert isinstance(found, list)
        if name in secrets.SECRET_VARIABLES:
            assert not any("leaky" in m for m in found), (name, found)

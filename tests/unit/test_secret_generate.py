"""The values the secrets step generates (plugins/module_utils/secret_generate.py): what the
community.crypto modules made before, checked with the cryptography package."""

from __future__ import annotations

import pytest
from ansible_collections.agentic.platform.plugins.module_utils.secret_generate import generate
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

NAMES = ["mcp-agent", "mcp-agent.ns", "mcp-agent.ns.svc", "mcp-agent.ns.svc.cluster.local"]


def test_only_the_groups_asked_for_are_generated():
    made = generate(["redis-password"], password_length=20)
    assert list(made) == ["redis-password"] and len(made["redis-password"]) == 20 and made["redis-password"].isalnum()
    assert generate(["redis-password"])["redis-password"] != generate(["redis-password"])["redis-password"]
    assert generate([]) == {}
    with pytest.raises(ValueError, match="no way to generate the group"):
        generate(["redis-password", "mystery"])


def test_the_jwt_key_pair_is_an_rsa_key_and_its_public_key():
    made = generate(["jwt"], jwt_key_size=2048)
    assert made["jwt-private-key"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    key = serialization.load_pem_private_key(made["jwt-private-key"].encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    public = serialization.load_pem_public_key(made["jwt-public-key"].encode())
    assert made["jwt-public-key"].startswith("-----BEGIN PUBLIC KEY-----")
    assert public.public_numbers() == key.public_key().public_numbers()


def test_the_tls_chain_is_a_ca_and_a_server_certificate_it_signs():
    made = generate(["tls"], tls_dns_names=NAMES, ca_common_name="dev CA", ca_validity_days=30, tls_validity_days=7)
    ca = x509.load_pem_x509_certificate(made["ca.crt"].encode())
    cert = x509.load_pem_x509_certificate(made["tls.crt"].encode())
    key = serialization.load_pem_private_key(made["tls.key"].encode(), None)
    assert made["tls.key"].startswith("-----BEGIN EC PRIVATE KEY-----")
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    cert.verify_directly_issued_by(ca)
    ca.verify_directly_issued_by(ca)
    ext = ca.extensions
    assert ext.get_extension_for_class(x509.BasicConstraints).critical
    assert ext.get_extension_for_class(x509.BasicConstraints).value == x509.BasicConstraints(ca=True, path_length=0)
    usage = ext.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign and not usage.value.digital_signature
    assert ca.public_key().curve.name == "secp384r1"
    assert (ca.not_valid_after_utc - ca.not_valid_before_utc).days == 30
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days == 7
    assert cert.subject.rfc4514_string() == "CN=mcp-agent" and cert.issuer.rfc4514_string() == "CN=dev CA"
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert sans == NAMES
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest

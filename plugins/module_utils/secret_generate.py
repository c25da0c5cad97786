"""The values of Secret agentic-ai-secrets that the secrets step makes itself, in the controller:
random passwords, the JWT signing key pair and a development TLS chain (a CA and a server
certificate it signs). The keys and certificates are what community.crypto's openssl_privatekey,
openssl_csr and x509_certificate modules make (traditional OpenSSL PEM keys, X.509 v3, SHA-256),
without a module run per value."""

from __future__ import annotations

import datetime
import secrets
import string

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError:  # reported when a key or certificate is asked for
    x509 = None

PASSWORD_CHARS = string.ascii_letters + string.digits
PASSWORD_GROUPS = ("redis-password", "redis-admin-password", "redis-replication-password", "redis-sentinel-password")


def generate(groups: list, *, password_length: int = 32, jwt_key_size: int = 3072, tls_dns_names: list | None = None,
             ca_common_name: str = "development CA", ca_validity_days: int = 3650,
             tls_validity_days: int = 365) -> dict:
    """key -> value for each group named in ``groups`` (redis-password, redis-admin-password,
    jwt, tls)."""
    unknown = sorted(set(groups) - {*PASSWORD_GROUPS, "jwt", "tls"})
    if unknown:
        raise ValueError(f"no way to generate the group(s) {', '.join(unknown)}")
    if x509 is None and ({"jwt", "tls"} & set(groups)):
        raise ValueError("the Python package cryptography is needed to generate the JWT key pair and the TLS chain")
    made = {name: password(password_length) for name in PASSWORD_GROUPS if name in groups}
    if "jwt" in groups:
        made.update(jwt_key_pair(jwt_key_size))
    if "tls" in groups:
        made.update(tls_chain(tls_dns_names or [], ca_common_name, ca_validity_days, tls_validity_days))
    return made


def password(length: int) -> str:
    return "".join(secrets.choice(PASSWORD_CHARS) for _position in range(length))


def _key_pem(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


def jwt_key_pair(key_size: int) -> dict:
    """An RSA signing key (RS256) and its public key (SubjectPublicKeyInfo PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return {"jwt-private-key": _key_pem(key), "jwt-public-key": public}


def _certificate(subject: str, issuer: str, public_key, signing_key, days: int, extensions: list):
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
               .public_key(public_key).serial_number(x509.random_serial_number())
               .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=days)))
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(signing_key, hashes.SHA256())


def _key_usage(**usages) -> x509.KeyUsage:
    names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement",
             "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
    return x509.KeyUsage(**{name: usages.get(name, False) for name in names})


def tls_chain(dns_names: list, ca_common_name: str, ca_days: int, server_days: int) -> dict:
    """A CA (P-384, may sign servers only) and a server certificate (P-256) for ``dns_names``,
    its common name the first of them."""
    if not dns_names:
        raise ValueError("the TLS certificate needs at least one DNS name")
    ca_key, server_key = ec.generate_private_key(ec.SECP384R1()), ec.generate_private_key(ec.SECP256R1())
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = _certificate(ca_common_name, ca_common_name, ca_key.public_key(), ca_key, ca_days, [
        (_key_usage(key_cert_sign=True, crl_sign=True), True),
        (x509.BasicConstraints(ca=True, path_length=0), True),
        (ca_ski, False)])
    server = _certificate(dns_names[0], ca_common_name, server_key.public_key(), ca_key, server_days, [
        (x509.SubjectAlternativeName([x509.DNSName(name) for name in dns_names]), False),
        (_key_usage(digital_signature=True, key_encipherment=True), False),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), False),
        (x509.SubjectKeyIdentifier.from_public_key(server_key.public_key()), False),
        (x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), False)])
    return {"tls.crt": server.public_bytes(serialization.Encoding.PEM).decode(), "tls.key": _key_pem(server_key),
            "ca.crt": ca.public_bytes(serialization.Encoding.PEM).decode()}

"""JWT signing keys: generation, key ids (RFC 7638 thumbprints) and the published JWKS."""

from __future__ import annotations

import base64
import hashlib
import json

from .common import RotationError

try:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
except ImportError:  # pragma: no cover
    serialization = None

ALGORITHMS = ("RS256", "ES256")


def algorithm_of(public_pem: str) -> tuple[str, int]:
    """(algorithm, RSA key size or 0) of an existing public key: a rotation keeps the key type."""
    key = serialization.load_pem_public_key(public_pem.encode())
    if isinstance(key, rsa.RSAPublicKey):
        return "RS256", key.key_size
    return jwk(public_pem)["alg"], 0


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_bytes(n: int, length: int | None = None) -> bytes:
    length = length or (n.bit_length() + 7) // 8
    return n.to_bytes(length, "big")


def generate(algorithm: str, rsa_bits: int = 3072) -> tuple[str, str]:
    """(private PEM (PKCS#8), public PEM) for a fresh key pair."""
    if serialization is None:
        raise RotationError("the cryptography Python package is required for kind=jwt")
    if algorithm == "RS256":
        key = rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
    elif algorithm == "ES256":
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        raise RotationError(f"jwt_algorithm {algorithm!r} is not one of {', '.join(ALGORITHMS)}")
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


def public_from_private(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def jwk(public_pem: str) -> dict:
    """Public JWK with kid = RFC 7638 SHA-256 thumbprint."""
    if serialization is None:
        raise RotationError("the cryptography Python package is required for kind=jwt")
    key = serialization.load_pem_public_key(public_pem.encode())
    if isinstance(key, rsa.RSAPublicKey):
        nums = key.public_numbers()
        members = {"e": _b64u(_int_bytes(nums.e)), "kty": "RSA", "n": _b64u(_int_bytes(nums.n))}
        alg = "RS256"
    elif isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1":
        nums = key.public_numbers()
        members = {"crv": "P-256", "kty": "EC", "x": _b64u(_int_bytes(nums.x, 32)), "y": _b64u(_int_bytes(nums.y, 32))}
        alg = "ES256"
    else:
        raise RotationError("JWT public key must be RSA or EC P-256")
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    kid = _b64u(hashlib.sha256(canonical).digest())
    return {**members, "kid": kid, "use": "sig", "alg": alg}


def kid_of(public_pem: str) -> str:
    return jwk(public_pem)["kid"]


def jwks(*public_pems: str | None) -> str:
    """The JWKS document: every key a verifier must accept, in slot order (next, current, previous)."""
    keys = [jwk(p) for p in public_pems if p]
    return json.dumps({"keys": keys}, sort_keys=True, indent=1)

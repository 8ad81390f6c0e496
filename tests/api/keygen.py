"""Public keys for tests, in the OpenSSH one-line form the API takes."""

from __future__ import annotations

from functools import cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa


def _openssh(public_key: object) -> str:
    return public_key.public_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()


@cache
def rsa_public(bits: int = 2048, n: int = 0) -> str:
    """A fresh RSA key (`n` tells cached keys apart)."""
    return _openssh(rsa.generate_private_key(65537, bits).public_key())


def weak_rsa_public(bits: int = 768) -> str:
    """An RSA public key of `bits` bits (too small for ssh-keygen to make)."""
    modulus = (1 << (bits - 1)) | 0xF00D
    return _openssh(rsa.RSAPublicNumbers(65537, modulus).public_key())


def ed25519_public() -> str:
    return _openssh(ed25519.Ed25519PrivateKey.generate().public_key())


def ecdsa_public() -> str:
    return _openssh(ec.generate_private_key(ec.SECP256R1()).public_key())

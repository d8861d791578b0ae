"""RSA key generation and the encryption of private keys at rest.

A private key is stored as PKCS#8 DER sealed with AES-256-GCM under a key derived (HKDF-SHA256)
from the key-encryption key in the settings; the key id is bound as associated data, so a
sealed key copied to another row does not open.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12
FORMAT_V1 = b"\x01"


def _aead(kek: str) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"artstore signing keys v1").derive(
        kek.encode()
    )
    return AESGCM(derived)


def seal(private_key: rsa.RSAPrivateKey, *, kid: str, kek: str) -> bytes:
    der = private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    nonce = os.urandom(NONCE_BYTES)
    return FORMAT_V1 + nonce + _aead(kek).encrypt(nonce, der, kid.encode())


def unseal(sealed: bytes, *, kid: str, kek: str) -> rsa.RSAPrivateKey:
    if sealed[:1] != FORMAT_V1:
        raise ValueError("unknown sealed-key format")
    nonce, body = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
    der = _aead(kek).decrypt(nonce, body, kid.encode())
    key = serialization.load_der_private_key(der, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("sealed key is not an RSA key")
    return key


def generate(key_size: int) -> tuple[str, rsa.RSAPrivateKey, dict[str, Any]]:
    """A new key: its id, the private key and its public JWK."""
    kid = uuid.uuid4().hex
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key()))
    jwk.update({"kid": kid, "use": "sig", "alg": "RS256"})
    return kid, private_key, jwk

"""A development grant issuer for the local backend only.

It keeps an RSA key in the data directory (0600) and signs grant tokens with it, so a
newcomer can store a credential and exchange it on a laptop without a real issuer.
The local server trusts this key when no ``VAULT_GRANT_JWKS_URL`` is set; the ``gcp``
backend never does.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from vault.adapters.secret_files import read_or_create

KEY_ID = "local-dev-1"


def _new_private_key() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


class LocalDevIssuer:
    def __init__(self, data_dir: Path, issuer: str) -> None:
        pem = read_or_create(data_dir / "grant-issuer.pem", _new_private_key)
        self._private_key = serialization.load_pem_private_key(pem, password=None)
        self.issuer = issuer

    def jwks(self) -> dict[str, Any]:
        public = json.loads(RSAAlgorithm.to_jwk(self._private_key.public_key()))  # type: ignore[arg-type]
        public.update({"kid": KEY_ID, "alg": "RS256", "use": "sig"})
        return {"keys": [public]}

    def mint(
        self,
        developer_id: str,
        principal_id: str,
        scopes: Sequence[str],
        ttl_seconds: int = 3600,
        grant_id: str | None = None,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": principal_id,
            "dev": developer_id,
            "scp": list(scopes),
            "jti": "tok_" + secrets.token_hex(12),
            "grnt": grant_id or "grnt_" + secrets.token_hex(12),
            "iat": now,
            "exp": now + ttl_seconds,
        }
        return jwt.encode(
            claims,
            self._private_key,  # type: ignore[arg-type]
            algorithm="RS256",
            headers={"kid": KEY_ID},
        )

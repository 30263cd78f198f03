"""A grant issuer for tests: RSA keys, a JWKS file, and tokens with any claims."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://issuer.grantex.test"


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": kid, "alg": "RS256", "use": "sig"})
    return dict(jwk)


class TestIssuer:
    __test__ = False  # not a test class

    def __init__(self, directory: Path) -> None:
        self.key = new_rsa_key()
        self.kid = "test-key-1"
        self.jwks_path = directory / "jwks.json"
        self.jwks_path.write_text(json.dumps({"keys": [public_jwk(self.key, self.kid)]}))

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": "user-1",
            "dev": "dev-1",
            "scp": ["vault:github:exchange"],
            "jti": "tok_" + secrets.token_hex(8),
            "grnt": "grnt_" + secrets.token_hex(8),
            "iat": now,
            "exp": now + 600,
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def mint(
        self,
        key: Any = None,
        kid: str | None = None,
        algorithm: str = "RS256",
        **overrides: Any,
    ) -> str:
        return jwt.encode(
            self.claims(**overrides),
            key if key is not None else self.key,
            algorithm=algorithm,
            headers={"kid": kid or self.kid},
        )

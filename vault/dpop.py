"""DPoP proofs (RFC 9449) for key-bound grant tokens.

A grant token with ``cnf.jkt`` releases a credential only together with a proof, a JWT
signed by the private key whose RFC 7638 thumbprint is ``jkt``: so a stolen token alone
is useless. The proof names the request (``htm``, ``htu``), its time (``iat``), the token
(``ath``) and itself (``jti``, refused a second time on every instance).

Checks, in order (the first failure answers): one ``DPoP`` header; a compact JWS whose
header has ``typ`` dpop+jwt, an allowed ``alg`` and a public ``jwk``; the signature
under that ``jwk``; ``htm``, ``htu``, ``iat``, ``jti``, ``ath``; the thumbprint against
``cnf.jkt`` (``DPOP_KEY_MISMATCH``); and last the replay store, so a proof that fails
any other check is never recorded. joserfc does the JOSE work (signature, key import,
thumbprint) and is imported on the first key-bound exchange, not at start.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import math
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from vault.errors import DpopKeyMismatch, InvalidDpopProof
from vault.ports import ProofReplayStore

EXCHANGE_PATH = "/v1/vault/credentials/exchange"
PROOF_ALGORITHMS = ("ES256", "ES384", "ES512", "RS256", "EdDSA")
MAX_AGE_SECONDS = 300
AHEAD_SECONDS = 30  # a client clock this far ahead is tolerated
# A proof is refused by its iat once older than MAX_AGE_SECONDS; its jti is kept until
# then, and for the clock allowance a proof dated ahead may add.
REPLAY_WINDOW_SECONDS = MAX_AGE_SECONDS + AHEAD_SECONDS
_MAX_PROOF_CHARS = 8192
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_MIN_RSA_BITS = 2048
_DEFAULT_PORTS = {"http": 80, "https": 443}


class ProofVerifier:
    def __init__(
        self,
        replays: ProofReplayStore,
        public_base_url: str | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._replays = replays
        self._target = None if public_base_url is None else public_base_url + EXCHANGE_PATH
        self._clock = clock

    def confirm(
        self,
        thumbprint: str | None,
        access_token: str,
        proofs: Sequence[str],
        method: str,
        request_url: str,
    ) -> bool:
        """True when the grant token is bound to a key (``thumbprint``, its ``cnf.jkt``)
        and the request carries a valid proof by that key; False for a bearer token,
        whose proofs are not looked at. Raises ``InvalidDpopProof`` or
        ``DpopKeyMismatch`` (401), or ``DependencyUnavailable`` when the replay store
        cannot be reached (the proof is then refused, never accepted unrecorded)."""
        if thumbprint is None:
            return False
        # A server joins repeated headers with commas; a compact JWS has none.
        values = [part.strip() for value in proofs for part in value.split(",")]
        if not values or values == [""]:
            raise InvalidDpopProof(reason="dpop_missing")
        if len(values) > 1:
            raise InvalidDpopProof("send exactly one DPoP header", reason="dpop_several")
        now = self._clock()
        claims, signer = _verified_claims(values[0])
        _check_claims(claims, method, self._target or request_url, access_token, now)
        if signer != thumbprint:
            raise DpopKeyMismatch(reason="dpop_key_mismatch")
        expires_at = math.ceil((now + REPLAY_WINDOW_SECONDS) * 1_000_000)
        if not self._replays.remember(thumbprint, claims["jti"], expires_at):
            raise InvalidDpopProof("this DPoP proof was already used", reason="dpop_replayed")
        return True


def access_token_hash(access_token: str) -> str:
    """``ath``: base64url (unpadded) SHA-256 of the token's ASCII bytes."""
    digest = hashlib.sha256(access_token.encode("utf-8")).digest()  # a JWT is ASCII
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _verified_claims(proof: str) -> tuple[dict[str, Any], str]:
    """The proof's claims, once its signature holds, and its key's thumbprint."""
    from joserfc import jws
    from joserfc.errors import JoseError
    from joserfc.jwk import JWKRegistry

    invalid = InvalidDpopProof("the DPoP proof is not a valid JWT", reason="dpop_malformed")
    if len(proof) > _MAX_PROOF_CHARS or not proof.isascii():
        raise invalid
    registry = _registry()
    try:
        token = jws.extract_compact(proof.encode("ascii"), registry=registry)
    except (JoseError, ValueError, TypeError):
        raise invalid from None
    header = token.protected
    if header.get("typ") != "dpop+jwt":
        raise InvalidDpopProof("the DPoP proof's typ must be dpop+jwt", reason="dpop_typ")
    if header.get("alg") not in PROOF_ALGORITHMS:
        raise InvalidDpopProof(
            "the DPoP proof's alg must be one of " + ", ".join(PROOF_ALGORITHMS),
            reason="dpop_alg",
        )
    jwk = header.get("jwk")
    bad_key = InvalidDpopProof("the DPoP proof's jwk must be a public key", reason="dpop_jwk")
    if not isinstance(jwk, dict) or _PRIVATE_MEMBERS & jwk.keys():
        raise bad_key
    if jwk.get("kty") == "RSA" and _modulus_bits(jwk.get("n")) < _MIN_RSA_BITS:
        raise bad_key  # before joserfc sees it (it would only warn)
    try:
        key = JWKRegistry.import_key(jwk)
    except (JoseError, ValueError, TypeError, KeyError):
        raise bad_key from None
    if key.key_type not in ("EC", "RSA", "OKP") or key.is_private:
        raise bad_key
    try:
        verified = jws.validate_compact(token, key, registry=registry)
    except (JoseError, ValueError, TypeError):
        verified = False  # e.g. an ES256 proof with a P-384 key
    if not verified:
        raise InvalidDpopProof(
            "the DPoP proof's signature does not verify", reason="dpop_signature"
        )
    try:
        claims = json.loads(token.payload)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise invalid from None
    if not isinstance(claims, dict):
        raise invalid
    return claims, key.thumbprint()


def _check_claims(
    claims: dict[str, Any], method: str, target: str, access_token: str, now: float
) -> None:
    if claims.get("htm") != method:
        raise InvalidDpopProof("the DPoP proof's htm does not match the request", reason="dpop_htm")
    htu = claims.get("htu")
    if not isinstance(htu, str) or _comparable(htu) != _comparable(target):
        raise InvalidDpopProof("the DPoP proof's htu does not match the request", reason="dpop_htu")
    iat = claims.get("iat")
    # An int is compared exactly (math.isfinite would overflow on one beyond a double).
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise InvalidDpopProof("the DPoP proof needs a numeric iat", reason="dpop_iat")
    if isinstance(iat, float) and not math.isfinite(iat):
        raise InvalidDpopProof("the DPoP proof needs a numeric iat", reason="dpop_iat")
    if iat < now - MAX_AGE_SECONDS:
        raise InvalidDpopProof("the DPoP proof is too old", reason="dpop_stale")
    if iat > now + AHEAD_SECONDS:
        raise InvalidDpopProof("the DPoP proof is dated in the future", reason="dpop_future")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 16 <= len(jti) <= 256 or not _is_text(jti):
        raise InvalidDpopProof("the DPoP proof's jti must be 16-256 characters", reason="dpop_jti")
    if claims.get("ath") != access_token_hash(access_token):
        raise InvalidDpopProof("the DPoP proof's ath does not match the token", reason="dpop_ath")


def _comparable(url: str) -> tuple[str, str, int | None, str] | None:
    """RFC 9449 section 4.3: the URI without query and fragment, compared after RFC 3986
    syntax- and scheme-based normalisation (case of scheme and host, default port, an
    empty path). None (never equal) for a URL that does not parse."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port if parts.port is not None else _DEFAULT_PORTS.get(scheme)
    except ValueError:
        return None
    if not parts.hostname or parts.username is not None or parts.password is not None:
        return None
    return scheme, parts.hostname.lower(), port, parts.path or "/"


def _modulus_bits(modulus: Any) -> int:
    if not isinstance(modulus, str) or len(modulus) > 2048:
        return 0
    try:
        raw = base64.urlsafe_b64decode(modulus + "=" * (-len(modulus) % 4))
    except ValueError:
        return 0
    return int.from_bytes(raw, "big").bit_length()


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


@functools.cache
def _registry() -> Any:
    """joserfc's JWS registry for the contract's proof algorithms. ``EdDSA`` is in the
    contract (RFC 8037, as Grantex lists it); joserfc warns on each use that RFC 9864
    deprecates the name, which would be a warning per exchange, so this registry looks
    algorithms up without it (the allow-list is checked before, in the header)."""
    from joserfc.errors import UnsupportedAlgorithmError
    from joserfc.jws import JWSRegistry

    class ProofAlgorithms(JWSRegistry):
        max_header_length = 4096  # the header carries the jwk: an RSA-4096 key fits

        def get_alg(self, name: str) -> Any:
            if name not in PROOF_ALGORITHMS:
                raise UnsupportedAlgorithmError(f"'{name}' is not a DPoP proof algorithm")
            return self.algorithms[name]

    return ProofAlgorithms(algorithms=PROOF_ALGORITHMS, strict_check_header=False)

"""The parts of DPoP checking that need no proof: the ``ath`` hash (RFC 9449's own
example), the ``htu`` comparison, what a bearer token's request is spared, the error
shapes, and that joserfc is not loaded until a key-bound exchange needs it. Proofs
themselves come from panva's `dpop` package: tests/integration/test_http_dpop.py."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from vault.dpop import EXCHANGE_PATH, ProofVerifier, _comparable, access_token_hash
from vault.errors import DpopKeyMismatch, InvalidDpopProof, Unauthorized
from vault.routes import match_route

ROOT = Path(__file__).resolve().parents[2]
URL = "https://vault.example.test" + EXCHANGE_PATH


class RecordingReplays:
    """A fake of the port: records what it is asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str, int]] = []

    def remember(self, thumbprint: str, jti: str, expires_at: int) -> bool:
        self.asked.append((thumbprint, jti, expires_at))
        return True


def test_ath_is_rfc_9449s_example():
    # RFC 9449 section 7.1: the access token and the ath of its example proof.
    token = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"

    assert access_token_hash(token) == "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"


@pytest.mark.parametrize(
    "htu",
    [
        URL,
        URL + "?query=1",
        URL + "#fragment",
        "HTTPS://Vault.Example.TEST" + EXCHANGE_PATH,
        "https://vault.example.test:443" + EXCHANGE_PATH,
    ],
)
def test_htu_matches_ignoring_query_fragment_case_and_default_port(htu):
    assert _comparable(htu) == _comparable(URL)


@pytest.mark.parametrize(
    "htu",
    [
        "http://vault.example.test" + EXCHANGE_PATH,
        "https://vault.example.test:8443" + EXCHANGE_PATH,
        "https://other.example.test" + EXCHANGE_PATH,
        "https://vault.example.test" + EXCHANGE_PATH + "/",
        "https://vault.example.test/v1/vault/credentials/EXCHANGE",
        "https://user@vault.example.test" + EXCHANGE_PATH,
        "https://vault.example.test:99999" + EXCHANGE_PATH,
        "/v1/vault/credentials/exchange",
        "",
    ],
)
def test_htu_of_another_url_never_matches(htu):
    assert _comparable(htu) != _comparable(URL)


def test_a_bearer_token_is_spared_the_proof_and_the_store():
    replays = RecordingReplays()
    verifier = ProofVerifier(replays, None)

    assert verifier.confirm(None, "token", ["garbage", "more"], "POST", URL) is False
    assert replays.asked == []


@pytest.mark.parametrize(
    ("proofs", "reason"),
    [([], "dpop_missing"), ([""], "dpop_missing"), (["a", "b"], "dpop_several")],
)
def test_a_key_bound_token_needs_exactly_one_proof(proofs, reason):
    replays = RecordingReplays()

    with pytest.raises(InvalidDpopProof) as raised:
        ProofVerifier(replays, None).confirm("jkt", "token", proofs, "POST", URL)

    assert raised.value.reason == reason
    assert replays.asked == []


def test_joined_headers_count_as_two_proofs():
    with pytest.raises(InvalidDpopProof) as raised:
        ProofVerifier(RecordingReplays(), None).confirm("jkt", "t", ["a.b.c, d.e.f"], "POST", URL)

    assert raised.value.reason == "dpop_several"


def test_the_two_errors_are_401s_with_their_challenges():
    invalid, mismatch = InvalidDpopProof(), DpopKeyMismatch()

    assert (invalid.status, invalid.code) == (401, "INVALID_DPOP_PROOF")
    assert invalid.headers == {"WWW-Authenticate": 'DPoP error="invalid_dpop_proof"'}
    assert (mismatch.status, mismatch.code) == (401, "DPOP_KEY_MISMATCH")
    assert mismatch.headers == {"WWW-Authenticate": 'DPoP error="invalid_token"'}
    # The guard counts Unauthorized as a failed authentication of the client address.
    assert isinstance(invalid, Unauthorized) and isinstance(mismatch, Unauthorized)


def test_the_proof_target_is_the_exchange_route():
    route, _ = match_route(EXCHANGE_PATH)

    assert route.operations["POST"].auth == "grant"


def test_joserfc_is_not_loaded_at_start_or_on_the_store_path(tmp_path):
    script = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {str(ROOT)!r})
        for name in list(os.environ):
            if name.startswith("VAULT_"):
                del os.environ[name]
        os.environ.update(VAULT_BACKEND="local", VAULT_DATA_DIR={str(tmp_path)!r})
        from tests.support.http_app import PATH, bearer, make_client
        from vault.bootstrap import get_vault
        client = make_client()
        key = get_vault().keys.create("dev-1", "t")[0]
        body = {{"principalId": "u", "service": "github", "accessToken": "t"}}
        assert client.post(PATH, json=body, headers=bearer(key)).status_code == 201
        assert client.get(PATH, headers=bearer(key)).status_code == 200
        print(sorted(name for name in sys.modules if name.split(".")[0] == "joserfc"))
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )

    assert completed.stdout.strip().splitlines()[-1] == "[]"


def _signed_proof(claims: dict[str, object]) -> tuple[str, str]:
    """A proof signed here with joserfc (node cannot write an integer beyond a double)."""
    import base64
    import json

    from joserfc.jwk import ECKey
    from joserfc.jws import JWSRegistry

    key = ECKey.generate_key("P-256")
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)}

    def part(value: dict[str, object]) -> bytes:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=")

    signing_input = part(header) + b"." + part(claims)
    signature = JWSRegistry.algorithms["ES256"].sign(signing_input, key)
    proof = signing_input + b"." + base64.urlsafe_b64encode(signature).rstrip(b"=")
    return proof.decode(), key.thumbprint()


@pytest.mark.parametrize("iat", [10**400, -(10**400)])
def test_an_iat_beyond_any_float_is_a_401_not_a_500(iat):
    # math.isfinite() raises OverflowError on such an int; anyone holding a bound token
    # can sign a proof with any key, since the thumbprint is compared after the claims.
    claims = {"htm": "POST", "htu": URL, "iat": iat, "jti": "j" * 16, "ath": access_token_hash("t")}
    proof, thumbprint = _signed_proof(claims)
    replays = RecordingReplays()

    with pytest.raises(InvalidDpopProof) as raised:
        ProofVerifier(replays, None).confirm(thumbprint, "t", [proof], "POST", URL)

    assert raised.value.reason in ("dpop_stale", "dpop_future")
    assert replays.asked == []

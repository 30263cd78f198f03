"""DPoP proofs made by an independent implementation: panva's `dpop` package (npm, pinned
in tests/node/package-lock.json), driven through node by tests/node/dpop-proof.mjs.

One node process per call; a call takes a list of requests, so a test that needs many
proofs pays for one process. Keys live in a directory of their own (private JWKs, test
keys only) and are named, so a token can be bound to a key before proofs are made.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / "tests" / "node"
SCRIPT = NODE_DIR / "dpop-proof.mjs"
UNDER_CI = os.environ.get("CI", "").lower() == "true"


@dataclass(frozen=True, slots=True)
class ProofKey:
    name: str
    alg: str  # the key pair's algorithm: ES256, ES384, RS256 or Ed25519
    thumbprint: str  # RFC 7638, as panva's calculateThumbprint computes it
    jwk: dict[str, Any]  # the public key


class ProofMaker:
    def __init__(self, node: str, key_dir: Path) -> None:
        self._node = node
        self._key_dir = key_dir

    def make_keys(self, **algorithms: str) -> dict[str, ProofKey]:
        """``make_keys(a="ES256", b="RS256")``: new key pairs, by name."""
        requests = [{"key": name, "alg": alg} for name, alg in algorithms.items()]
        results = self._run(requests)
        return {
            name: ProofKey(name, alg, result["thumbprint"], result["jwk"])
            for (name, alg), result in zip(algorithms.items(), results, strict=True)
        }

    def proofs(self, *requests: dict[str, Any]) -> list[str]:
        """Each request: ``key`` (a name), ``htu``, and optionally ``htm`` (default
        POST), ``accessToken`` (for ``ath``), ``iatOffset``, ``jti``, ``header``,
        ``claims``, ``sign``, ``privateJwk`` (see dpop-proof.mjs)."""
        results = self._run([{"htm": "POST", **request} for request in requests])
        return [result["proof"] for result in results]

    def proof(self, key: ProofKey | str, htu: str, access_token: str | None, **changes: Any) -> str:
        name = key if isinstance(key, str) else key.name
        request: dict[str, Any] = {"key": name, "htu": htu, **changes}
        if access_token is not None:
            request["accessToken"] = access_token
        return self.proofs(request)[0]

    def _run(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        completed = subprocess.run(
            [self._node, str(SCRIPT)],
            input=json.dumps({"keyDir": str(self._key_dir), "requests": requests}),
            capture_output=True,
            text=True,
            cwd=NODE_DIR,
            timeout=60,
            check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"dpop-proof.mjs failed:\n{completed.stderr}")
        return list(json.loads(completed.stdout))


def proof_maker(key_dir: Path) -> ProofMaker:
    """The maker, or a loud skip (a failure under CI=true) when node or the npm
    packages are missing."""
    node = shutil.which("node")
    installed = (NODE_DIR / "node_modules" / "dpop" / "package.json").is_file()
    if node is None or not installed:
        missing = "node" if node is None else "tests/node/node_modules (run `make dev-setup`)"
        message = (
            f"\n\n*** {missing.upper()} IS MISSING ***\n"
            "DPoP proofs come from panva's `dpop` package through node (npm ci in tests/node);\n"
            "the DPoP checks are NOT being tested against an independent implementation.\n"
        )
        if UNDER_CI:
            pytest.fail(message, pytrace=False)
        sys.stderr.write(message)
        pytest.skip(f"{missing} not installed")
    key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return ProofMaker(node, key_dir)

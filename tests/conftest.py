"""Shared fixtures: an isolated environment, the Firestore emulator, the fake KMS, and
one parametrised fixture that runs a suite against every backend."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.fake_kms import FakeKms  # noqa: E402
from tests.support.firestore_emulator import FirestoreEmulator, find_emulator  # noqa: E402
from tests.support.issuer import ISSUER, TestIssuer  # noqa: E402
from tests.support.oidc_provider import OidcProvider, find_node  # noqa: E402

_OURS = ("VAULT_", "FIRESTORE_EMULATOR_HOST", "GOOGLE_CLOUD_PROJECT", "WORKERS", "THREADS")
for _name in list(os.environ):
    if _name.startswith(_OURS) and not _name.startswith("VAULT_TEST_"):
        del os.environ[_name]

UNDER_CI = os.environ.get("CI", "").lower() == "true"

# Every Firestore query the session runs must have its index (firestore.indexes.json).
pytest_plugins = ("tests.support.firestore_queries",)


@pytest.fixture(autouse=True)
def isolated_environment() -> Iterator[None]:
    """Each test may change os.environ; the next one starts from the same state."""
    saved = dict(os.environ)
    from vault import bootstrap

    bootstrap.reset()
    yield
    os.environ.clear()
    os.environ.update(saved)
    bootstrap.reset()


@pytest.fixture(scope="session")
def firestore_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FirestoreEmulator]:
    executable = find_emulator()
    if executable is None:
        message = (
            "\n\n*** THE CLOUD FIRESTORE EMULATOR IS NOT INSTALLED ***\n"
            "Install the Debian package google-cloud-cli-firestore-emulator (and Java);\n"
            "the Firestore adapter is NOT being tested.\n"
        )
        if UNDER_CI:
            pytest.fail(message, pytrace=False)
        sys.stderr.write(message)
        pytest.skip("Firestore emulator not installed")
    emulator = FirestoreEmulator(executable, tmp_path_factory.mktemp("emulator") / "emulator.log")
    try:
        emulator.wait_ready()
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="session")
def fake_kms() -> Iterator[FakeKms]:
    server = FakeKms().start()
    yield server
    server.stop()


@pytest.fixture
def kms(fake_kms: FakeKms) -> FakeKms:
    fake_kms.reset()
    return fake_kms


def start_oidc_provider(config: dict[str, Any] | None = None) -> OidcProvider:
    """panva's oidc-provider under node; a loud skip without node, a failure under CI."""
    node = find_node()
    if node is None:
        message = (
            "\n\n*** NODE OR tests/node/node_modules IS MISSING ***\n"
            "Install nodejs and run `npm ci` in tests/node; the OAuth refresh, revocation\n"
            "and provider tests are NOT being run.\n"
        )
        if UNDER_CI:
            pytest.fail(message, pytrace=False)
        sys.stderr.write(message)
        pytest.skip("node / oidc-provider not installed")
    return OidcProvider.start(node, config)


@pytest.fixture(scope="session")
def oidc_server() -> Iterator[OidcProvider]:
    """One authorization server for the session (tests reset its counters and controls)."""
    server = start_oidc_provider()
    yield server
    server.stop()


@pytest.fixture
def oidc_provider(oidc_server: OidcProvider) -> OidcProvider:
    oidc_server.reset()
    return oidc_server


FAKE_KMS_KEY = "projects/demo-vault/locations/global/keyRings/vault/cryptoKeys/tokens"


def unique_project() -> str:
    return "demo-vault-" + uuid.uuid4().hex[:12]


@pytest.fixture(scope="session")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> TestIssuer:
    return TestIssuer(tmp_path_factory.mktemp("issuer"))


@pytest.fixture(params=["local", "gcp"])
def backend_env(
    request: pytest.FixtureRequest, tmp_path: Path, issuer: TestIssuer
) -> dict[str, str]:
    """Environment for one backend: SQLite + key file, or Firestore emulator + fake KMS;
    both trust the test grant issuer.

    Each gcp test gets its own emulator project, so its data starts empty."""
    grants = {"VAULT_GRANT_ISSUER": ISSUER, "VAULT_GRANT_JWKS_URL": str(issuer.jwks_path)}
    if request.param == "local":
        env = {"VAULT_BACKEND": "local", "VAULT_DATA_DIR": str(tmp_path / "data"), **grants}
    else:
        emulator = request.getfixturevalue("firestore_emulator")
        kms = request.getfixturevalue("kms")
        env = {
            "VAULT_BACKEND": "gcp",
            "GOOGLE_CLOUD_PROJECT": unique_project(),
            "FIRESTORE_EMULATOR_HOST": emulator.host,
            "VAULT_KMS_KEY": FAKE_KMS_KEY,
            "VAULT_KMS_ENDPOINT": kms.endpoint,
            **grants,
        }
    os.environ.update(env)
    return env


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """How much of the OpenAPI document the suite's responses exercised."""
    from tests.support import openapi_check

    schemathesis_module = sys.modules.get("tests.integration.test_schemathesis")
    sent = getattr(schemathesis_module, "SENT", None)
    if sent:
        server_errors = sum(count for (_, status), count in sent.items() if status >= 500)
        terminalreporter.write_line(
            f"schemathesis: {sum(sent.values())} generated requests, "
            f"{server_errors} answered 5xx; by status: "
            + ", ".join(f"{m} {s}: {n}" for (m, s), n in sorted(sent.items()))
        )

    if not openapi_check.SEEN:
        return
    documented = openapi_check.default_checker().documented()
    missing = sorted(documented - openapi_check.SEEN)
    terminalreporter.write_line(
        f"OpenAPI coverage: {len(documented) - len(missing)}/{len(documented)} documented "
        f"(method, path, status) seen and checked; {len(openapi_check.SEEN)} distinct checked"
    )
    for method, path, status in missing:
        terminalreporter.write_line(f"  not exercised: {method} {path} {status}")

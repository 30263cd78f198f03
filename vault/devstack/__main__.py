"""``python -m vault.devstack`` (``make run-gcp``): the whole gcp backend on a laptop.

DEVELOPMENT STAND-INS, NOT FOR PRODUCTION: the Firestore emulator (data in memory, gone
when this stops), the fake Cloud KMS of ``vault.devstack.fake_kms`` (its keys too), and
the local development grant issuer, whose public keys are written to a JWKS file the
vault is configured with. Then ``python -m vault serve`` on the gcp backend against
them, a fresh API key printed like ``make run`` does, until Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PROJECT = "demo-vault-dev"  # a demo- project: the emulator needs no credentials for it
KMS_KEY = "projects/demo-vault-dev/locations/global/keyRings/dev/cryptoKeys/tokens"
DEVELOPER = "local-dev"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vault.devstack", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--data-dir", type=Path, default=Path(".vault-data-gcp"))

    arguments = parser.parse_args(argv)

    from vault.devstack.firestore_emulator import FirestoreEmulator, find_emulator

    executable = find_emulator()
    if executable is None:
        print(
            "error: the Cloud Firestore emulator is not installed: install the Debian "
            "package google-cloud-cli-firestore-emulator (and a Java runtime)",
            file=sys.stderr,
        )
        return 2
    from vault.adapters.secret_files import secure_directory
    from vault.errors import ConfigurationError

    data_dir: Path = arguments.data_dir
    secure_directory(data_dir)
    signal.signal(signal.SIGTERM, _stop)
    with (data_dir / "firestore-emulator.log").open("wb") as log:
        emulator = FirestoreEmulator(executable, log)
        try:
            return _run(arguments, data_dir, emulator)
        except ConfigurationError as error:
            print(f"error: {error.message}", file=sys.stderr)
            return 2
        finally:
            emulator.stop()


def _stop(_signal: int, _frame: Any) -> None:
    raise SystemExit(0)


def _run(arguments: argparse.Namespace, data_dir: Path, emulator: Any) -> int:
    import json

    from vault.adapters.local_issuer import LocalDevIssuer
    from vault.bootstrap import LOCAL_ISSUER, build
    from vault.config import Settings
    from vault.devstack.fake_kms import FakeKms

    emulator.wait_ready()
    kms = FakeKms().start()
    try:
        jwks = data_dir / "dev-issuer-jwks.json"
        jwks.write_text(json.dumps(LocalDevIssuer(data_dir, LOCAL_ISSUER).jwks()))
        # In this process too: the Firestore client reads the emulator's address there.
        os.environ.update(
            {
                "VAULT_BACKEND": "gcp",
                "GOOGLE_CLOUD_PROJECT": PROJECT,
                "FIRESTORE_EMULATOR_HOST": emulator.host,
                "VAULT_KMS_KEY": KMS_KEY,
                "VAULT_KMS_ENDPOINT": kms.endpoint,
                "VAULT_GRANT_ISSUER": LOCAL_ISSUER,
                "VAULT_GRANT_JWKS_URL": str(jwks.resolve()),
            }
        )
        # The emulator starts empty every time, so the key is made anew every time.
        api_key, _ = build(Settings.from_env()).keys.create(DEVELOPER, "make run-gcp")
        key_file = data_dir / "dev-api-key"
        key_file.unlink(missing_ok=True)
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(api_key + "\n")
        _print_start(arguments, data_dir, api_key, emulator.host)
        command = [sys.executable, "-m", "vault", "serve", "--host", arguments.host]
        command += ["--port", str(arguments.port)]
        command += ["--example-key-file", str(key_file)]
        server = subprocess.Popen(command)  # noqa: S603 - our own interpreter
        try:
            return server.wait()
        finally:
            if server.poll() is None:
                server.terminate()
                server.wait(timeout=15)
    finally:
        kms.stop()


def _print_start(arguments: argparse.Namespace, data_dir: Path, api_key: str, host: str) -> None:
    lines = [
        "gcp backend on DEVELOPMENT STAND-INS: Firestore emulator at "
        f"{host}, fake Cloud KMS; data is lost when this stops",
        f"API key for developer {DEVELOPER} (kept in {data_dir}/dev-api-key):",
        api_key,
        "grant tokens: VAULT_BACKEND=local VAULT_DATA_DIR="
        f"{data_dir} python -m vault grants mint --developer {DEVELOPER} "
        "--principal alice --scope vault:github:exchange",
    ]
    for line in lines:
        print(line, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())

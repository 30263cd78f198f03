"""``python -m vault.devstack.dev_key FILE``: the API key ``make run`` prints.

Reuses the key saved in FILE while the vault still accepts it; makes (and saves, 0600)
a new one when there is none, or the saved one was revoked or belongs to another data
dir. Prints it the way ``make run`` always has, on stderr."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vault.devstack.dev_key")
    parser.add_argument("file", type=Path)
    parser.add_argument("--developer", default="local-dev")
    parser.add_argument("--name", default="make run")
    arguments = parser.parse_args(argv)

    from vault.bootstrap import get_vault
    from vault.errors import ConfigurationError, Unauthorized

    path: Path = arguments.file
    try:
        vault = get_vault()
        saved = path.read_text().strip() if path.exists() else ""
        try:
            usable = bool(saved) and vault.guard.admit_api_key(saved, "make-run")[0] is not None
        except Unauthorized:
            usable = False
        if not usable:
            api_key, _ = vault.keys.create(arguments.developer, arguments.name)
            path.unlink(missing_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(api_key + "\n")
            if saved:
                print("the saved API key no longer works; made a new one", file=sys.stderr)
            saved = api_key
    except ConfigurationError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    print(f"API key for developer {arguments.developer} (kept in {path}):", file=sys.stderr)
    print(saved, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

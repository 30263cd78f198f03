"""``python -m vault rewrap`` and ``python -m vault keys rotate-master | retire-master |
list-master``: the command line of key rotation.

The summary of a rewrap is a JSON object alone on stdout (``vault.progress``); the bar
and messages go to stderr. Exit status: 0 when nothing failed, 1 when a record failed
or a dependency stopped the run (run it again: it resumes), 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from vault.errors import ConfigurationError, DependencyUnavailable

_KEY_FILE = "master.key"


def register(commands: Any, keys: Any) -> None:
    """Add ``rewrap`` to the commands and the master-key actions to ``keys``."""
    rewrap = commands.add_parser(
        "rewrap",
        help="re-seal every token and provider secret not yet under the primary key version",
    )
    rewrap.add_argument("--dry-run", action="store_true", help="count only; write nothing")
    rewrap.add_argument("--batch", type=int, default=100, help="records per query (1-500)")
    rewrap.add_argument("--developer", help="only this developer's records")
    rewrap.add_argument(
        "--workers", type=int, default=4, help="records of a batch in flight at once (1-32)"
    )
    rewrap.add_argument(
        "--pause", type=float, default=0.0, help="seconds to wait between batches (load)"
    )
    rewrap.set_defaults(run=_rewrap)

    rotate = keys.add_parser("rotate-master", help="local backend: add a new primary key version")
    rotate.set_defaults(run=_rotate_master)
    retire = keys.add_parser(
        "retire-master", help="local backend: destroy a key version no record uses any more"
    )
    retire.add_argument("version", type=int)
    retire.set_defaults(run=_retire_master)
    listing = keys.add_parser(
        "list-master", help="local backend: the key versions and how many records use each"
    )
    listing.set_defaults(run=_list_master)


def _rewrap(arguments: argparse.Namespace) -> int:
    from vault.bootstrap import get_vault
    from vault.keys.rewrap import Rewrap, RewrapPlan
    from vault.keys.wiring import sealed_sources

    if not 1 <= arguments.batch <= 500:
        raise ValueError("--batch must be between 1 and 500")
    if not 1 <= arguments.workers <= 32:
        raise ValueError("--workers must be between 1 and 32")
    if not 0 <= arguments.pause <= 3600:
        raise ValueError("--pause must be between 0 and 3600 seconds")
    vault = get_vault()
    sources, state = sealed_sources(vault.settings)
    job = Rewrap(vault.envelope, sources, state, vault.credentials.record)
    plan = RewrapPlan(
        batch=arguments.batch,
        developer_id=arguments.developer,
        dry_run=arguments.dry_run,
        pause_seconds=arguments.pause,
        workers=arguments.workers,
    )
    try:
        summary = job.run(plan)
    except KeyboardInterrupt:
        print("rewrap interrupted; run it again to resume", file=sys.stderr)
        return 130
    except DependencyUnavailable:
        print(
            "rewrap stopped: a dependency is unavailable; run it again to resume", file=sys.stderr
        )
        return 1
    return 1 if summary["failed"] else 0


def _local_key_file() -> Path:
    from vault.config import Settings

    settings = Settings.from_env()
    if settings.backend != "local":
        raise ConfigurationError(
            "on the gcp backend Cloud KMS keeps the key versions: rotate, disable and destroy"
            " them with gcloud (SECURITY.md, key rotation runbook)"
        )
    path = settings.data_dir / _KEY_FILE
    if not path.exists():
        raise ConfigurationError(f"no key file at {path}; the vault makes one on first use")
    return path


def _census(path: Path) -> Any:
    from vault.adapters.local_kms import LocalKeyFileAead
    from vault.config import Settings
    from vault.keys.rewrap import census
    from vault.keys.wiring import sealed_sources

    ring = LocalKeyFileAead(path)
    sources, _ = sealed_sources(Settings.from_env())
    return ring, census(sources, ring.version_of)


def _rotate_master(arguments: argparse.Namespace) -> int:
    from vault.adapters.local_kms import rotate

    number = rotate(_local_key_file())
    print(
        f"key version {number} is now the primary; new writes use it from now on."
        " Run `python -m vault rewrap` to move existing records onto it.",
        file=sys.stderr,
    )
    print(number)
    return 0


def _retire_master(arguments: argparse.Namespace) -> int:
    from vault.adapters.local_kms import retire

    path = _local_key_file()
    _, counts = _census(path)
    if counts.get(arguments.version, 0):
        print(
            f"refused: key version {arguments.version} still wraps"
            f" {counts[arguments.version]} record(s); run `python -m vault rewrap` first",
            file=sys.stderr,
        )
        return 1
    retire(path, arguments.version)
    print(f"key version {arguments.version} is destroyed", file=sys.stderr)
    return 0


def _list_master(arguments: argparse.Namespace) -> int:
    ring, counts = _census(_local_key_file())
    for version in ring.ring.versions:
        print(
            json.dumps(
                {
                    "version": version.version,
                    "primary": version.version == ring.ring.primary,
                    "createdAt": version.created_at,
                    "records": counts.get(version.version, 0),
                }
            )
        )
    return 0

"""Run the real `terraform` binary against stand-in providers (server.py), offline.

``StandIns.create(directory)`` writes, under ``directory``: each provider's schema (the
google one reconstructed from the jsii assembly for the resource types the module
uses), an executable ``terraform-provider-<name>`` per provider, and a CLI config whose
``dev_overrides`` point Terraform at them. ``run(...)`` then runs terraform with that
config and ``TF_DISABLE_PLUGIN_TLS=1``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.infra.provider_schema import ProviderSchema
from tests.infra.standin.schema import ARCHIVE_FILE, TIME_SLEEP, SchemaBuilder
from tests.infra.support import REPO_ROOT

_USES = re.compile(r'^\s*(resource|data)\s+"((?:google|archive|time)_\w+)"', re.MULTILINE)
EMPTY = {"attributes": [], "block_types": []}


def used_types(module: Path) -> set[tuple[str, str]]:
    found = set()
    for path in module.glob("*.tf"):
        found |= {(kind, name) for kind, name in _USES.findall(path.read_text())}
    return found


@dataclass(frozen=True)
class StandIns:
    directory: Path
    terraform: str

    @classmethod
    def create(
        cls, directory: Path, terraform: str, provider: ProviderSchema, module: Path
    ) -> StandIns:
        builder = SchemaBuilder(provider)
        google: dict[str, dict[str, object]] = {
            "provider": builder.provider_block(),
            "resources": {},
            "data_sources": {},
        }
        for kind, name in sorted(used_types(module)):
            if name.startswith("google_"):
                table = "resources" if kind == "resource" else "data_sources"
                google[table][name] = builder.resource(kind, name)
        schemas = {
            "google": google,
            "archive": {
                "provider": EMPTY,
                "resources": {},
                "data_sources": {"archive_file": ARCHIVE_FILE},
            },
            "time": {
                "provider": EMPTY,
                "resources": {"time_sleep": TIME_SLEEP},
                "data_sources": {},
            },
        }
        overrides = []
        for name, schema in schemas.items():
            home = directory / name
            home.mkdir(parents=True)
            (home / "schema.json").write_text(json.dumps(schema))
            executable = home / f"terraform-provider-{name}"
            executable.write_text(
                "#!/bin/sh\n"
                f'PYTHONPATH={shlex.quote(str(REPO_ROOT))}"${{PYTHONPATH:+:$PYTHONPATH}}" '
                f"exec {shlex.quote(sys.executable)} "
                f"-m tests.infra.standin.server {shlex.quote(str(home / 'schema.json'))}\n"
            )
            executable.chmod(0o755)
            overrides.append(f'    "hashicorp/{name}" = "{home}"')
        (directory / "terraformrc").write_text(
            "provider_installation {\n  dev_overrides {\n"
            + "\n".join(overrides)
            + "\n  }\n  direct {}\n}\n"
        )
        return cls(directory, terraform)

    def run(self, module: Path, *args: str) -> subprocess.CompletedProcess[str]:
        environment = {
            **os.environ,
            "TF_CLI_CONFIG_FILE": str(self.directory / "terraformrc"),
            "TF_DISABLE_PLUGIN_TLS": "1",
            "TF_IN_AUTOMATION": "1",
            "CHECKPOINT_DISABLE": "1",
            "TF_DATA_DIR": str(self.directory / "data" / module.name),
        }
        return subprocess.run(
            [self.terraform, f"-chdir={module}", *args],
            capture_output=True,
            text=True,
            timeout=600,
            env=environment,
            check=False,
        )

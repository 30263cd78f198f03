"""The google provider's schema, offline, and a checker of terraform/*.tf against it.

``terraform validate`` needs the provider binary, which cannot be downloaded here. The
prebuilt CDK-for-Terraform package ``cdktf-cdktf-provider-google`` (16.12.1 = provider
6.50.0) ships a jsii assembly, a JSON description of every generated class: for each
resource and data source a ``...Config`` struct whose properties are the arguments
(camelCase, ``optional`` unless required) and whose struct-typed properties are the
nested blocks. Each property's docs link to the registry page with the argument's real
name as the anchor (``...#uniform_bucket_level_access``), which is used as the name.

The package is only read, never imported (importing it would need node and jsii).
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import re
import tarfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.infra.hcl import Block, TerraformConfig, as_blocks, labelled

PACKAGE = "cdktf_cdktf_provider_google"
PACKAGE_VERSION = "16.12.1"
PROVIDER_VERSION = "6.50.0"

_PREFIX = "@cdktf/provider-google."
_CLASS_LINK = re.compile(r"docs/(resources|data-sources)/\w+ (google_\w+)\}")
_ARGUMENT_ANCHOR = re.compile(r"registry\.terraform\.io/providers/hashicorp/google/[^ ]*#(\w+) ")
_PROVIDER_VERSION = re.compile(r"providers/hashicorp/google/(\d+\.\d+\.\d+)/docs")
_REFERENCE = re.compile(
    r"(?<![\w.])(?P<data>data\.)?(?P<type>google_[a-z0-9_]+)\.(?P<name>[A-Za-z_][\w-]*)"
    r"(?:\[[^\]]*\])?(?:\.(?P<attribute>[A-Za-z_]\w*))?"
)

RESOURCE_META = {"count", "for_each", "depends_on", "provider", "provisioner", "connection"}
DATA_META = {"count", "for_each", "depends_on", "provider"}
RESOURCE_LIFECYCLE = {
    "create_before_destroy",
    "prevent_destroy",
    "ignore_changes",
    "replace_triggered_by",
    "precondition",
    "postcondition",
}
DATA_LIFECYCLE = {"precondition", "postcondition"}


@dataclass(frozen=True)
class Argument:
    name: str
    required: bool
    block: str | None  # the nested block's struct, when this argument is a block


def assembly_path() -> Path:
    """The .jsii.tgz inside the installed package, found without importing it."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LookupError(f"{PACKAGE} is not installed")
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(package_dir.glob("_jsii/*.jsii.tgz"))
    if not found:
        raise LookupError(f"no jsii assembly in {package_dir / '_jsii'}")
    return found[0]


def read_assembly(path: Path) -> dict[str, Any]:
    with tarfile.open(path, "r:gz") as archive:
        for member in archive:
            if member.name == "package/.jsii":
                handle = archive.extractfile(member)
                assert handle is not None
                loaded: dict[str, Any] = json.load(handle)
                return loaded
    raise LookupError(f"{path} has no package/.jsii")


class ProviderSchema:
    def __init__(self, assembly: Mapping[str, Any]) -> None:
        self.package_version: str = assembly["version"]
        self._types: Mapping[str, Any] = assembly["types"]
        self.provider_version = ""
        self.resources: dict[str, str] = {}  # type -> config struct fqn
        self.data_sources: dict[str, str] = {}
        self._classes: dict[tuple[str, str], str] = {}  # (kind, type) -> class fqn
        self.provider_config = ""
        for fqn, definition in self._types.items():
            base = definition.get("base")
            if definition.get("kind") != "class":
                continue
            if base == "cdktf.TerraformProvider":
                self.provider_config = _config_struct(definition)
            elif base in ("cdktf.TerraformResource", "cdktf.TerraformDataSource"):
                link = _CLASS_LINK.search(definition["docs"]["summary"])
                assert link, f"cannot tell which Terraform type {fqn} is"
                version = _PROVIDER_VERSION.search(definition["docs"]["summary"])
                self.provider_version = version.group(1) if version else self.provider_version
                kind = "resource" if link.group(1) == "resources" else "data"
                table = self.resources if kind == "resource" else self.data_sources
                table[link.group(2)] = _config_struct(definition)
                self._classes[(kind, link.group(2))] = fqn

    @classmethod
    def from_installed_package(cls) -> ProviderSchema:
        return cls(read_assembly(assembly_path()))

    def arguments(self, struct: str) -> dict[str, Argument]:
        arguments = {}
        for prop in self._types[struct].get("properties", []):
            docs = prop.get("docs", {})
            anchor = _ARGUMENT_ANCHOR.search(f"{docs.get('summary', '')} {docs.get('remarks', '')}")
            name = anchor.group(1) if anchor else _snake(prop["name"])
            nested = [fqn for fqn in _fqns(prop["type"]) if self._types[fqn].get("datatype")]
            arguments[name] = Argument(
                name, not prop.get("optional"), nested[0] if nested else None
            )
        return arguments

    def attributes(self, kind: str, type_name: str) -> set[str]:
        """Everything ``<type>.<name>.<attribute>`` may read, normalised (see _norm)."""
        definition = self._types[self._classes[(kind, type_name)]]
        return {
            _norm(prop["name"])
            for prop in definition.get("properties", [])
            if not prop.get("static") and not prop["name"].endswith("Input")
        } | {"id"}

    # -- checks -------------------------------------------------------------------

    def check(self, config: TerraformConfig) -> list[str]:
        problems: list[str] = []
        for block in config.blocks("provider"):
            if block.type == "google":
                problems += self._check_body(block.body, self.provider_config, block.address)
        for block in config.blocks("resource") + config.blocks("data"):
            if block.type.startswith("google"):
                problems += self.check_block(block)
        problems += self.check_references(config)
        return problems

    def check_block(self, block: Block) -> list[str]:
        table = self.resources if block.kind == "resource" else self.data_sources
        where = f"{block.file}: {block.address}"
        if block.type not in table:
            kind = "resource" if block.kind == "resource" else "data source"
            return [f"{where}: no {kind} type {block.type!r} in provider {self.provider_version}"]
        meta = RESOURCE_META if block.kind == "resource" else DATA_META
        lifecycle = RESOURCE_LIFECYCLE if block.kind == "resource" else DATA_LIFECYCLE
        problems = []
        body = {}
        for key, value in block.body.items():
            if key == "lifecycle":
                for item in as_blocks(value):
                    unknown = sorted(set(_keys(item)) - lifecycle)
                    problems += [f"{where}: lifecycle has no {name!r}" for name in unknown]
            elif key not in meta:
                body[key] = value
        return problems + self._check_body(body, table[block.type], where)

    def check_references(self, config: TerraformConfig) -> list[str]:
        declared = {(b.kind, b.type, b.name) for b in config.blocks("resource")}
        declared |= {(b.kind, b.type, b.name) for b in config.blocks("data")}
        problems = set()
        for text in config.strings():
            for found in _REFERENCE.finditer(text):
                kind = "data" if found["data"] else "resource"
                type_name, name, attribute = found["type"], found["name"], found["attribute"]
                shown = found.group(0)
                if (kind, type_name, name) not in declared:
                    problems.add(f"reference to undeclared {shown!r}")
                elif attribute and (kind, type_name) in self._classes:
                    known = self.attributes(kind, type_name)
                    if (
                        _norm(attribute) not in known
                        and _norm(attribute) + "attribute" not in known
                    ):
                        problems.add(f"{shown!r}: {type_name} has no attribute {attribute!r}")
        return sorted(problems)

    def _check_body(self, body: Mapping[str, Any], struct: str, where: str) -> list[str]:
        arguments = self.arguments(struct)
        problems: list[str] = []
        present = set()
        for key, value in body.items():
            if key.startswith("__"):
                continue
            if key == "dynamic":
                for dynamic in value if isinstance(value, list) else [value]:
                    for name, spec in labelled(dynamic):
                        argument = arguments.get(name)
                        if argument is None or argument.block is None:
                            problems.append(
                                f"{where}: no nested block {name!r} for dynamic"
                                + _suggest(name, arguments)
                            )
                            continue
                        present.add(name)
                        for content in as_blocks(spec.get("content", [])):
                            problems += self._check_body(content, argument.block, f"{where}.{name}")
                continue
            argument = arguments.get(key)
            if argument is None:
                problems.append(f"{where}: unknown argument {key!r}" + _suggest(key, arguments))
                continue
            present.add(key)
            blocks = as_blocks(value)
            if argument.block is None and blocks:
                problems.append(f"{where}: {key!r} is an argument, write `{key} = ...`")
            elif argument.block is not None:
                if not blocks or len(blocks) != len(value if isinstance(value, list) else [value]):
                    problems.append(f"{where}: {key!r} is a block, write `{key} {{ ... }}`")
                for nested in blocks:
                    problems += self._check_body(nested, argument.block, f"{where}.{key}")
        missing = sorted(n for n, a in arguments.items() if a.required and n not in present)
        problems += [f"{where}: required argument {name!r} is not set" for name in missing]
        return problems


def _config_struct(definition: Mapping[str, Any]) -> str:
    parameters = definition["initializer"]["parameters"]
    config = next(p for p in parameters if p["name"] == "config")
    fqn: str = config["type"]["fqn"]
    return fqn


def _fqns(type_ref: Any) -> Iterator[str]:
    if isinstance(type_ref, dict):
        fqn = type_ref.get("fqn")
        if isinstance(fqn, str) and fqn.startswith(_PREFIX):
            yield fqn
        for inner in type_ref.values():
            yield from _fqns(inner)
    elif isinstance(type_ref, list):
        for inner in type_ref:
            yield from _fqns(inner)


def _keys(body: Mapping[str, Any]) -> list[str]:
    return [key for key in body if not key.startswith("__")]


def _snake(camel: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).lower()


def _norm(name: str) -> str:
    """``service_config`` and ``serviceConfig`` both become ``serviceconfig``."""
    return name.replace("_", "").lower()


def _suggest(name: str, arguments: Mapping[str, Argument]) -> str:
    close = difflib.get_close_matches(name, list(arguments), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""

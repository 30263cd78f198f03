"""Terraform schemas for the stand-in providers: the google provider's reconstructed
from the cdktf jsii assembly (tests/infra/provider_schema.py reads it), archive's and
time's written by hand.

A schema here is plain data: ``{"attributes": [...], "block_types": [...]}``, each
attribute with its cty type in Terraform's JSON form (``"string"``,
``["list", "string"]``, ``["object", {...}]``) and required/optional/computed; each
nested block with its nesting and item limits. What the assembly cannot say is kept
lenient: every repeatable block is a list, and an argument is never also computed
(except ``id``).
"""

from __future__ import annotations

import re
from typing import Any

from tests.infra.provider_schema import _ARGUMENT_ANCHOR, ProviderSchema, _fqns, _snake

Block = dict[str, Any]
_NOT_ATTRIBUTES = {
    "internalValue",
    "fqn",
    "creationStack",
    "terraformAttribute",
    "terraformResource",
    "complexObjectIndex",
    "complexObjectIsFromSet",
    "tfResourceType",
    "terraformMetaArguments",
    "terraformGeneratorMetadata",
    "friendlyUniqueId",
    "node",
    "cdktfStack",
    "rawOverrides",
    "provider",
    "lifecycle",
    "dependsOn",
    "count",
    "forEach",
    "connection",
    "provisioners",
}
_SCALAR_MAPS = {
    "cdktf.StringMap": ["map", "string"],
    "cdktf.NumberMap": ["map", "number"],
    "cdktf.BooleanMap": ["map", "bool"],
    "cdktf.AnyMap": ["map", "string"],
    "cdktf.StringMapList": ["list", ["map", "string"]],
}


class SchemaBuilder:
    def __init__(self, provider: ProviderSchema) -> None:
        self._p = provider
        self._types: dict[str, Any] = provider._types

    def provider_block(self) -> Block:
        return self._config_block(self._p.provider_config, None)

    def resource(self, kind: str, type_name: str) -> Block:
        table = self._p.resources if kind == "resource" else self._p.data_sources
        klass = self._p._classes[(kind, type_name)]
        return self._config_block(table[type_name], klass)

    # -- blocks ---------------------------------------------------------------------

    def _config_block(self, struct: str, output_class: str | None) -> Block:
        top = output_class is not None and self._is_top_level(output_class)
        attributes: list[dict[str, Any]] = []
        blocks: list[dict[str, Any]] = []
        inputs = set()
        for prop in self._types[struct].get("properties", []):
            name = self._name(prop)
            if prop["name"] in _NOT_ATTRIBUTES or name in ("alias", "count", "depends_on"):
                continue
            inputs.add(prop["name"])
            nested = self._struct_of(prop["type"])
            if nested is not None:
                single = "collection" not in repr(prop["type"])
                blocks.append(
                    {
                        "type_name": name,
                        "nesting": "LIST",
                        "min_items": 0 if prop.get("optional") else 1,
                        "max_items": 1 if single else 0,
                        "block": self._config_block(nested, nested + "OutputReference"),
                    }
                )
                continue
            attribute = {
                "name": name,
                "type": self._cty(prop["type"]),
                "required": not prop.get("optional"),
                "optional": bool(prop.get("optional")),
                "computed": name == "id" and top and bool(prop.get("optional")),
            }
            attributes.append(attribute)
        known = {a["name"] for a in attributes} | {b["type_name"] for b in blocks}
        if output_class and output_class in self._types:
            for prop in self._getters(output_class):
                name = _snake(prop["name"])
                if prop["name"] in inputs or name in known:
                    continue
                cty = self._cty(prop["type"])
                if cty is None:
                    continue
                attributes.append(
                    {
                        "name": name,
                        "type": cty,
                        "required": False,
                        "optional": False,
                        "computed": True,
                    }
                )
                known.add(name)
        if "id" not in known and output_class and self._is_top_level(output_class):
            attributes.append(
                {
                    "name": "id",
                    "type": "string",
                    "required": False,
                    "optional": True,
                    "computed": True,
                }
            )
        return {"attributes": attributes, "block_types": blocks}

    def _getters(self, klass: str) -> list[dict[str, Any]]:
        found = []
        for prop in self._types[klass].get("properties", []):
            name = prop["name"]
            if prop.get("static") or name.endswith("Input") or name in _NOT_ATTRIBUTES:
                continue
            found.append(prop)
        return found

    def _is_top_level(self, klass: str) -> bool:
        base = self._types.get(klass, {}).get("base")
        return base in ("cdktf.TerraformResource", "cdktf.TerraformDataSource")

    # -- types ----------------------------------------------------------------------

    def _struct_of(self, type_ref: Any) -> str | None:
        for fqn in _fqns(type_ref):
            if self._types[fqn].get("datatype"):
                return fqn
        return None

    def _cty(self, type_ref: Any) -> Any:
        if "primitive" in type_ref:
            return {
                "string": "string",
                "number": "number",
                "boolean": "bool",
                "any": "dynamic",
            }.get(type_ref["primitive"], "dynamic")
        if "union" in type_ref:
            options = [t for t in type_ref["union"]["types"] if t.get("fqn") != "cdktf.IResolvable"]
            return self._cty(options[0]) if options else "dynamic"
        if "collection" in type_ref:
            collection = type_ref["collection"]
            element = self._cty(collection["elementtype"])
            return ["map" if collection["kind"] == "map" else "list", element or "dynamic"]
        fqn = type_ref.get("fqn", "")
        if fqn in _SCALAR_MAPS:
            return _SCALAR_MAPS[fqn]
        if fqn not in self._types:
            return None
        definition = self._types[fqn]
        base = definition.get("base", "")
        if base in ("cdktf.ComplexList", "cdktf.ComplexMap"):
            (get,) = [m for m in definition.get("methods", []) if m["name"] == "get"]
            element = self._cty(get["returns"]["type"])
            element = element[1] if isinstance(element, list) and element[0] == "list" else element
            return ["map" if base == "cdktf.ComplexMap" else "list", element]
        if base == "cdktf.ComplexObject" or fqn.endswith("OutputReference"):
            fields = {}
            for prop in self._getters(fqn):
                cty = self._cty(prop["type"])
                if cty is not None:
                    fields[_snake(prop["name"])] = cty
            return ["list", ["object", fields]]
        if definition.get("datatype"):
            return ["list", ["object", {}]]
        return None

    @staticmethod
    def _name(prop: dict[str, Any]) -> str:
        docs = prop.get("docs", {})
        anchor = _ARGUMENT_ANCHOR.search(f"{docs.get('summary', '')} {docs.get('remarks', '')}")
        return anchor.group(1) if anchor else _snake(prop["name"])


def _attr(name: str, cty: Any, *, required: bool = False, computed: bool = False) -> dict[str, Any]:
    return {
        "name": name,
        "type": cty,
        "required": required,
        "optional": not required and not computed,
        "computed": computed,
    }


# hashicorp/archive 2.x: archive_file (data source), by hand.
ARCHIVE_FILE: Block = {
    "attributes": [
        _attr("type", "string", required=True),
        _attr("output_path", "string", required=True),
        _attr("output_file_mode", "string"),
        _attr("source_content", "string"),
        _attr("source_content_filename", "string"),
        _attr("source_file", "string"),
        _attr("source_dir", "string"),
        _attr("excludes", ["set", "string"]),
        _attr("exclude_symlink_directories", "bool"),
        *(
            _attr(name, "string", computed=True)
            for name in (
                "id",
                "output_sha",
                "output_sha256",
                "output_sha512",
                "output_base64sha256",
                "output_base64sha512",
                "output_md5",
            )
        ),
        _attr("output_size", "number", computed=True),
    ],
    "block_types": [
        {
            "type_name": "source",
            "nesting": "SET",
            "min_items": 0,
            "max_items": 0,
            "block": {
                "attributes": [
                    _attr("content", "string", required=True),
                    _attr("filename", "string", required=True),
                ],
                "block_types": [],
            },
        }
    ],
}

# hashicorp/time 0.x: time_sleep, by hand.
TIME_SLEEP: Block = {
    "attributes": [
        _attr("create_duration", "string"),
        _attr("destroy_duration", "string"),
        _attr("triggers", ["map", "string"]),
        _attr("id", "string", computed=True),
    ],
    "block_types": [],
}

DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")

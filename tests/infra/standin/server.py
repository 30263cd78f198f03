"""A stand-in Terraform provider: serves a schema over the tfplugin5 gRPC protocol, so
`terraform validate` and `terraform plan` run with no provider download.

    python -m tests.infra.standin.server SCHEMA.json

Terraform starts it as a plugin (dev_overrides, TF_DISABLE_PLUGIN_TLS=1), reads the
go-plugin handshake line from stdout, and talks gRPC. Terraform core does the checking
(arguments, types, block counts, references) against the schema; this process only
plans: a created resource is its configuration with every unset computed attribute
unknown, and a data source read now gets a placeholder for each computed one. It
never creates anything: apply is refused.
"""

from __future__ import annotations

import json
import sys
import threading
from concurrent import futures
from typing import Any

import grpc
import msgpack
from inmanta_tfplugin import tfplugin5_pb2 as pb
from inmanta_tfplugin import tfplugin5_pb2_grpc as pb_grpc

UNKNOWN = msgpack.ExtType(0, b"")
HEALTH_SERVING = b"\x08\x01"  # grpc.health.v1.HealthCheckResponse{status: SERVING}


def _unpack(value: pb.DynamicValue) -> Any:
    if value.msgpack:
        return msgpack.unpackb(value.msgpack, raw=False, strict_map_key=False)
    if value.json:
        return json.loads(value.json)
    return None


def _pack(value: Any) -> pb.DynamicValue:
    return pb.DynamicValue(msgpack=msgpack.packb(value, use_bin_type=True))


def _schema(block: dict[str, Any]) -> pb.Schema.Block:
    return pb.Schema.Block(
        attributes=[
            pb.Schema.Attribute(
                name=a["name"],
                type=json.dumps(a["type"]).encode(),
                required=a["required"],
                optional=a["optional"],
                computed=a["computed"],
            )
            for a in block["attributes"]
        ],
        block_types=[
            pb.Schema.NestedBlock(
                type_name=b["type_name"],
                block=_schema(b["block"]),
                nesting=pb.Schema.NestedBlock.NestingMode.Value(b["nesting"]),
                min_items=b["min_items"],
                max_items=b["max_items"],
            )
            for b in block["block_types"]
        ],
    )


def planned(block: dict[str, Any], value: Any) -> Any:
    """The configuration, with each computed attribute it leaves unset unknown."""
    if not isinstance(value, dict):
        return value
    result = dict(value)
    for attribute in block["attributes"]:
        if attribute["computed"] and result.get(attribute["name"]) is None:
            result[attribute["name"]] = UNKNOWN
    for nested in block["block_types"]:
        items = result.get(nested["type_name"])
        if isinstance(items, list):
            result[nested["type_name"]] = [planned(nested["block"], item) for item in items]
    return result


def placeholder(cty: Any, name: str) -> Any:
    if cty == "string":
        return f"standin-{name}"
    if cty == "number":
        return 0
    if cty == "bool":
        return False
    if isinstance(cty, list) and cty[0] in ("list", "set"):
        return []
    if isinstance(cty, list) and cty[0] == "map":
        return {}
    if isinstance(cty, list) and cty[0] == "object":
        return {field: placeholder(inner, field) for field, inner in cty[1].items()}
    return None


def read(block: dict[str, Any], value: Any) -> Any:
    """A data source's result: its configuration, each unset computed attribute filled."""
    result = dict(value or {})
    for attribute in block["attributes"]:
        if attribute["computed"] and result.get(attribute["name"]) is None:
            result[attribute["name"]] = placeholder(attribute["type"], attribute["name"])
    for nested in block["block_types"]:
        items = result.get(nested["type_name"])
        if isinstance(items, list):
            result[nested["type_name"]] = [read(nested["block"], item) for item in items]
    return result


class StandIn(pb_grpc.ProviderServicer):
    def __init__(self, schema: dict[str, Any], stop: threading.Event) -> None:
        self._schema = schema
        self._stop = stop

    def GetSchema(self, request: Any, context: Any) -> Any:
        return pb.GetProviderSchema.Response(
            provider=pb.Schema(block=_schema(self._schema["provider"])),
            resource_schemas={
                name: pb.Schema(block=_schema(block))
                for name, block in self._schema["resources"].items()
            },
            data_source_schemas={
                name: pb.Schema(block=_schema(block))
                for name, block in self._schema["data_sources"].items()
            },
        )

    def PrepareProviderConfig(self, request: Any, context: Any) -> Any:
        return pb.PrepareProviderConfig.Response(prepared_config=request.config)

    def ValidateResourceTypeConfig(self, request: Any, context: Any) -> Any:
        return pb.ValidateResourceTypeConfig.Response()

    def ValidateDataSourceConfig(self, request: Any, context: Any) -> Any:
        return pb.ValidateDataSourceConfig.Response()

    def Configure(self, request: Any, context: Any) -> Any:
        return pb.Configure.Response()

    def UpgradeResourceState(self, request: Any, context: Any) -> Any:
        state = json.loads(request.raw_state.json) if request.raw_state.json else None
        return pb.UpgradeResourceState.Response(upgraded_state=_pack(state))

    def ReadResource(self, request: Any, context: Any) -> Any:
        return pb.ReadResource.Response(new_state=request.current_state, private=request.private)

    def PlanResourceChange(self, request: Any, context: Any) -> Any:
        proposed = _unpack(request.proposed_new_state)
        block = self._schema["resources"][request.type_name]
        prior = _unpack(request.prior_state)
        state = proposed if prior is not None or proposed is None else planned(block, proposed)
        return pb.PlanResourceChange.Response(planned_state=_pack(state))

    def ApplyResourceChange(self, request: Any, context: Any) -> Any:
        return pb.ApplyResourceChange.Response(diagnostics=[_error("the stand-in never applies")])

    def ImportResourceState(self, request: Any, context: Any) -> Any:
        return pb.ImportResourceState.Response(diagnostics=[_error("the stand-in never imports")])

    def ReadDataSource(self, request: Any, context: Any) -> Any:
        block = self._schema["data_sources"][request.type_name]
        return pb.ReadDataSource.Response(state=_pack(read(block, _unpack(request.config))))

    def Stop(self, request: Any, context: Any) -> Any:
        self._stop.set()
        return pb.Stop.Response()


def _error(summary: str) -> Any:
    return pb.Diagnostic(severity=pb.Diagnostic.Severity.Value("ERROR"), summary=summary)


def _raw(handler: Any) -> grpc.RpcMethodHandler:
    return grpc.unary_unary_rpc_method_handler(handler)  # bytes in, bytes out


def main() -> None:
    with open(sys.argv[1]) as handle:
        schema = json.load(handle)
    stop = threading.Event()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    pb_grpc.add_ProviderServicer_to_server(StandIn(schema, stop), server)
    server.add_generic_rpc_handlers(
        [
            grpc.method_handlers_generic_handler(
                "grpc.health.v1.Health", {"Check": _raw(lambda request, context: HEALTH_SERVING)}
            ),
            grpc.method_handlers_generic_handler(
                "plugin.GRPCController",
                {"Shutdown": _raw(lambda request, context: (stop.set(), b"")[1])},
            ),
        ]
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    # go-plugin's handshake: core protocol 1, tfplugin 5, where, and that it is gRPC.
    sys.stdout.write(f"1|5|tcp|127.0.0.1:{port}|grpc\n")
    sys.stdout.flush()
    stop.wait()
    server.stop(grace=0.5)


if __name__ == "__main__":
    main()

"""Every Firestore query the test session really runs must be served by an index that
firestore.indexes.json declares (or by Firestore's automatic single-field indexes).

A pytest plugin (registered in tests/conftest.py): it puts a recording interceptor on
every channel the google-cloud-firestore client opens to the emulator, keeps the shape
of each RunQuery / RunAggregationQuery, and at the end of the session fails the run,
naming the index to add, if one is not covered. The emulator serves any query without
an index; production Firestore refuses it (FAILED_PRECONDITION), so this is where a
missing index is caught before a deploy.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

INDEXES_FILE = Path(__file__).resolve().parents[2] / "firestore.indexes.json"
QUERY_METHODS = (
    "/google.firestore.v1.Firestore/RunQuery",
    "/google.firestore.v1.Firestore/RunAggregationQuery",
)
EQUALITY = {"EQUAL", "IN", "ARRAY_CONTAINS", "ARRAY_CONTAINS_ANY", "IS_NULL", "IS_NAN"}
ASC, DESC = "ASCENDING", "DESCENDING"


@dataclass(frozen=True)
class QueryShape:
    """What an index must serve: equality fields (any order) then the sort order, with
    Firestore's implicit orders made explicit (inequality fields, then __name__)."""

    collection: str
    scope: str  # COLLECTION or COLLECTION_GROUP
    equalities: frozenset[str]
    orders: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        fields = [f"{f} ==" for f in sorted(self.equalities)]
        fields += [f"{f} {d}" for f, d in self.orders]
        return f"{self.collection} ({self.scope}): {', '.join(fields)}"

    def suggested_index(self) -> dict[str, Any]:
        fields = [{"fieldPath": f, "order": ASC} for f in sorted(self.equalities)]
        fields += [{"fieldPath": f, "order": d} for f, d in self.orders]
        return {"collectionGroup": self.collection, "queryScope": self.scope, "fields": fields}


def shape_of(structured_query: Any) -> QueryShape:
    """A raw protobuf StructuredQuery -> its QueryShape."""
    # The proto field is `from`; proto-plus's generated message names it `from_`.
    (source,) = getattr(structured_query, "from_", None) or getattr(structured_query, "from")
    equalities: set[str] = set()
    inequalities: list[str] = []
    for field, operator in _filters(structured_query.where):
        (equalities.add(field) if operator in EQUALITY else inequalities.append(field))
    orders = [
        (order.field.field_path, _names().Direction(order.direction).name)
        for order in structured_query.order_by
    ]
    ordered = {field for field, _ in orders}
    orders += [(field, ASC) for field in dict.fromkeys(inequalities) if field not in ordered]
    return QueryShape(
        collection=source.collection_id,
        scope="COLLECTION_GROUP" if source.all_descendants else "COLLECTION",
        equalities=frozenset(equalities),
        orders=_with_name(tuple(orders)),
    )


def _filters(where: Any) -> list[tuple[str, str]]:
    kind = where.WhichOneof("filter_type")
    if kind == "composite_filter":
        return [pair for inner in where.composite_filter.filters for pair in _filters(inner)]
    if kind == "field_filter":
        f = where.field_filter
        return [(f.field.field_path, _names().FieldFilter.Operator(f.op).name)]
    if kind == "unary_filter":
        u = where.unary_filter
        return [(u.field.field_path, _names().UnaryFilter.Operator(u.op).name)]
    return []


def _names() -> Any:
    """The enums that name directions and operators (the raw messages carry numbers)."""
    from google.cloud.firestore_v1.types.query import StructuredQuery

    return StructuredQuery


def _with_name(orders: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """Firestore orders by the document name last, in the direction of the last order."""
    if orders and orders[-1][0] == "__name__":
        return orders
    return (*orders, ("__name__", orders[-1][1] if orders else ASC))


def uncovered(shapes: set[QueryShape], declared: dict[str, Any]) -> list[QueryShape]:
    exempt = {
        (o["collectionGroup"], o["fieldPath"])
        for o in declared.get("fieldOverrides", [])
        if o.get("indexes") == []
    }
    return sorted(
        (s for s in shapes if not _covered(s, declared.get("indexes", []), exempt)),
        key=QueryShape.describe,
    )


def _covered(shape: QueryShape, indexes: list[dict[str, Any]], exempt: set[Any]) -> bool:
    sorted_by = [field for field, _ in shape.orders if field != "__name__"]
    single_field = shape.scope == "COLLECTION"
    automatic = not {(shape.collection, f) for f in (*shape.equalities, *sorted_by)} & exempt
    if single_field and automatic and not sorted_by:
        return True  # equality only: Firestore merges the single-field indexes
    if single_field and automatic and not shape.equalities and len(sorted_by) == 1:
        return True  # one sorted field: its single-field index, in either direction
    for index in indexes:
        if (index["collectionGroup"], index["queryScope"]) != (shape.collection, shape.scope):
            continue
        fields = _with_name(tuple((f["fieldPath"], f.get("order", ASC)) for f in index["fields"]))
        count = len(shape.equalities)
        if {f for f, _ in fields[:count]} == shape.equalities and fields[count:] == shape.orders:
            return True
    return False


class QueryRecorder(grpc.UnaryStreamClientInterceptor):
    def __init__(self) -> None:
        self.shapes: set[QueryShape] = set()
        self._lock = threading.Lock()

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        if details.method in QUERY_METHODS:
            raw = getattr(request, "_pb", request)
            query = (
                raw.structured_aggregation_query.structured_query
                if details.method.endswith("RunAggregationQuery")
                else raw.structured_query
            )
            with self._lock:
                self.shapes.add(shape_of(query))
        return continuation(details, request)


RECORDER = QueryRecorder()


def pytest_configure(config: Any) -> None:
    from google.cloud.firestore_v1.base_client import BaseClient

    original = BaseClient._emulator_channel
    if getattr(original, "__wrapped_by_query_recorder__", False):
        return

    def recording_channel(self: Any, transport: Any) -> Any:
        channel = original(self, transport)
        if isinstance(channel, grpc.Channel):  # the sync client; the vault uses no other
            return grpc.intercept_channel(channel, RECORDER)
        return channel

    recording_channel.__wrapped_by_query_recorder__ = True  # type: ignore[attr-defined]
    BaseClient._emulator_channel = recording_channel


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    if not RECORDER.shapes:
        return
    missing = uncovered(RECORDER.shapes, json.loads(INDEXES_FILE.read_text()))
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if not missing:
        if reporter is not None:
            reporter.write_line(
                f"Firestore: {len(RECORDER.shapes)} query shapes ran, every one indexed"
            )
        return
    lines = ["", "Firestore queries that no index in firestore.indexes.json serves:"]
    for shape in missing:
        lines += [f"  {shape.describe()}", "    add: " + json.dumps(shape.suggested_index())]
    if reporter is not None:
        reporter.write_line("\n".join(lines), red=True)
    session.exitstatus = 1

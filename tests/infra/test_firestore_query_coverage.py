"""The rule tests/support/firestore_queries.py applies to every query the suite runs:
which query shapes an index in firestore.indexes.json (or an automatic single-field
index) serves. Queries are built by the real google-cloud-firestore client, offline."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra.support import INDEXES_FILE
from tests.support.firestore_queries import QueryShape, shape_of, uncovered


@pytest.fixture(scope="module")
def client() -> Any:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore

    return firestore.Client(project="offline", credentials=AnonymousCredentials())


@pytest.fixture(scope="module")
def declared() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(INDEXES_FILE.read_text())
    return loaded


def shape(query: Any) -> QueryShape:
    return shape_of(query._to_protobuf()._pb)


def eq(field: str, value: Any = "x") -> Any:
    from google.cloud import firestore

    return firestore.FieldFilter(field, "==", value)


def test_the_list_queries_are_served_by_the_composite_indexes(
    client: Any, declared: dict[str, Any]
) -> None:
    from google.cloud import firestore

    credentials = client.collection("vaultCredentials")
    shapes = set()
    for filters in ([], ["principalId"], ["service"], ["principalId", "service"]):
        query = credentials.where(filter=eq("developerId"))
        for field in filters:
            query = query.where(filter=eq(field))
        query = query.order_by("createdAt", direction=firestore.Query.DESCENDING).order_by(
            "__name__", direction=firestore.Query.DESCENDING
        )
        shapes.add(shape(query.limit(10)))

    assert len(shapes) == 4
    assert uncovered(shapes, declared) == []


def test_equality_only_queries_need_no_composite_index(
    client: Any, declared: dict[str, Any]
) -> None:
    keys = client.collection("apiKeys")
    shapes = {
        shape(keys.where(filter=eq("keyId")).limit(1)),
        shape(
            client.collection("vaultCredentials")
            .where(filter=eq("developerId"))
            .where(filter=eq("principalId"))
        ),
    }

    assert uncovered(shapes, declared) == []


def test_an_equality_and_a_sort_on_another_field_needs_a_composite_index(
    client: Any, declared: dict[str, Any]
) -> None:
    query = client.collection("apiKeys").where(filter=eq("developerId")).order_by("createdAt")

    (missing,) = uncovered({shape(query)}, declared)

    assert missing.suggested_index()["fields"] == [
        {"fieldPath": "developerId", "order": "ASCENDING"},
        {"fieldPath": "createdAt", "order": "ASCENDING"},
        {"fieldPath": "__name__", "order": "ASCENDING"},
    ]


def test_an_inequality_sorts_by_its_field(client: Any, declared: dict[str, Any]) -> None:
    from google.cloud import firestore

    alone = client.collection("vaultCredentials").where(
        filter=firestore.FieldFilter("tokenExpiresAt", "<", 5)
    )
    with_equality = alone.where(filter=eq("developerId"))

    assert shape(alone).orders == (("tokenExpiresAt", "ASCENDING"), ("__name__", "ASCENDING"))
    assert uncovered({shape(alone)}, declared) == []
    assert uncovered({shape(with_equality)}, declared) == [shape(with_equality)]


def test_a_field_exempt_from_automatic_indexes_serves_no_query(
    client: Any, declared: dict[str, Any]
) -> None:
    exempt = {
        (o["collectionGroup"], o["fieldPath"])
        for o in declared["fieldOverrides"]
        if o["indexes"] == []
    }
    assert ("vaultAudit", "requestId") in exempt

    query = client.collection("vaultAudit").where(filter=eq("requestId"))

    assert uncovered({shape(query)}, declared) == [shape(query)]


def test_a_collection_group_query_needs_its_own_index(
    client: Any, declared: dict[str, Any]
) -> None:
    query = client.collection_group("vaultCredentials").where(filter=eq("developerId"))

    assert shape(query).scope == "COLLECTION_GROUP"
    assert uncovered({shape(query)}, declared) == [shape(query)]

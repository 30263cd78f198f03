"""firestore.indexes.json declares what the vault's queries need, and Terraform creates
exactly that (it reads the file rather than repeating it)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra.hcl import TerraformConfig, as_blocks, expression
from tests.infra.support import INDEXES_FILE

ASC, DESC = "ASCENDING", "DESCENDING"

# GET /v1/vault/credentials: equality on developerId, optionally principalId and/or
# service, newest first (createdAt, then the document id, both descending).
LIST_QUERIES = {
    (("developerId", ASC), ("createdAt", DESC), ("__name__", DESC)),
    (("developerId", ASC), ("principalId", ASC), ("createdAt", DESC), ("__name__", DESC)),
    (("developerId", ASC), ("service", ASC), ("createdAt", DESC), ("__name__", DESC)),
    (
        ("developerId", ASC),
        ("principalId", ASC),
        ("service", ASC),
        ("createdAt", DESC),
        ("__name__", DESC),
    ),
}
# ... and with `status=needs_reauth`, the one status kept as a field (the others are
# derived from the expiry and filtered after the query).
LIST_QUERIES |= {(*shape[:-2], ("status", ASC), *shape[-2:]) for shape in list(LIST_QUERIES)}
DENYLISTS = {"revokedGrants", "revokedTokens"}


@pytest.fixture(scope="module")
def declared() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(INDEXES_FILE.read_text())
    return loaded


def test_the_composite_indexes_serve_the_list_queries(declared: dict[str, Any]) -> None:
    indexes = declared["indexes"]
    shapes = [
        tuple((field["fieldPath"], field["order"]) for field in index["fields"])
        for index in indexes
    ]

    assert {index["collectionGroup"] for index in indexes} == {"vaultCredentials"}
    assert {index["queryScope"] for index in indexes} == {"COLLECTION"}
    assert sorted(shapes) == sorted(LIST_QUERIES)


def test_the_denylists_expire_by_ttl(declared: dict[str, Any]) -> None:
    overrides = declared["fieldOverrides"]

    ttl = {(o["collectionGroup"], o["fieldPath"]) for o in overrides if o.get("ttl")}

    assert ttl == {(collection, "expiresAt") for collection in DENYLISTS}


def test_terraform_reads_the_file(terraform_config: TerraformConfig) -> None:
    (locals_block,) = [
        body for body in terraform_config.unlabelled("locals") if "firestore_config" in body
    ]

    assert expression(locals_block["firestore_config"]) == (
        'jsondecode(file("${path.module}/../firestore.indexes.json"))'
    )


def test_terraform_creates_one_index_per_entry(terraform_config: TerraformConfig) -> None:
    (index,) = terraform_config.resources("google_firestore_index")
    (fields,) = [
        spec
        for dynamic in index.body["dynamic"]
        for label, spec in dynamic.items()
        if label == '"fields"'
    ]

    assert expression(index.body["for_each"]) == "local.composite_indexes"
    assert expression(index.body["collection"]) == "each.value.collectionGroup"
    assert expression(index.body["database"]) == "google_firestore_database.vault.name"
    assert expression(fields["for_each"]) == "each.value.fields"


def test_terraform_sets_a_ttl_policy_per_override(terraform_config: TerraformConfig) -> None:
    (field,) = terraform_config.resources("google_firestore_field")
    dynamic_labels = {label for dynamic in field.body["dynamic"] for label in dynamic}

    assert expression(field.body["for_each"]) == "local.field_overrides"
    assert expression(field.body["field"]) == "each.value.fieldPath"
    assert '"ttl_config"' in dynamic_labels
    assert as_blocks(field.body["index_config"])


def test_the_database_is_protected(terraform_config: TerraformConfig) -> None:
    (database,) = terraform_config.resources("google_firestore_database")
    body = database.body
    (lifecycle,) = as_blocks(body["lifecycle"])

    assert body["type"] == '"FIRESTORE_NATIVE"'
    assert body["point_in_time_recovery_enablement"] == '"POINT_IN_TIME_RECOVERY_ENABLED"'
    assert body["delete_protection_state"] == '"DELETE_PROTECTION_ENABLED"'
    assert body["deletion_policy"] == '"ABANDON"'
    assert lifecycle["prevent_destroy"] is True

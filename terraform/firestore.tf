locals {
  # One source of truth for indexes and TTL policies: the Firebase CLI file at the
  # repository root, also usable with `firebase deploy --only firestore:indexes`.
  firestore_config = jsondecode(file("${path.module}/../firestore.indexes.json"))

  composite_indexes = {
    for index in local.firestore_config.indexes :
    join(" ", concat([index.collectionGroup], [for field in index.fields : "${field.fieldPath}:${field.order}"])) => index
  }

  field_overrides = {
    for override in local.firestore_config.fieldOverrides :
    "${override.collectionGroup}.${override.fieldPath}" => override
  }
}

resource "google_firestore_database" "vault" {
  project     = var.project_id
  name        = var.firestore_database_id
  location_id = coalesce(var.firestore_location, var.region)
  type        = "FIRESTORE_NATIVE"

  concurrency_mode            = "PESSIMISTIC"
  app_engine_integration_mode = "DISABLED"

  # Seven days of point-in-time recovery, plus the weekly backups below.
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"

  # The database holds every stored credential: nobody deletes it by accident,
  # neither through the API (delete protection) nor through `terraform destroy`
  # (ABANDON only forgets it; see README "Destroying").
  delete_protection_state = "DELETE_PROTECTION_ENABLED"
  deletion_policy         = "ABANDON"

  dynamic "cmek_config" {
    for_each = var.firestore_cmek_key_name == null ? [] : [var.firestore_cmek_key_name]
    content {
      kms_key_name = cmek_config.value
    }
  }

  lifecycle {
    prevent_destroy = true
  }

  depends_on = [time_sleep.apis]
}

# The list endpoint: equality on developerId (and optionally principalId and/or
# service), newest first.
resource "google_firestore_index" "composite" {
  for_each = local.composite_indexes

  project     = var.project_id
  database    = google_firestore_database.vault.name
  collection  = each.value.collectionGroup
  query_scope = each.value.queryScope

  dynamic "fields" {
    for_each = each.value.fields
    content {
      field_path = fields.value.fieldPath
      order      = fields.value.order
    }
  }
}

# Field overrides from ../firestore.indexes.json, of two kinds:
# - TTL policies on `expiresAt` (a Timestamp) of every collection whose entries
#   outlive their use: the denylists, credential references, DPoP replay entries,
#   webhook deliveries, connect sessions. Firestore deletes an entry, usually within a
#   day of expiresAt. The field is also exempted from single-field indexes: nothing
#   queries it, and indexing a timestamp that only grows creates write hotspots.
# - Exemptions from the automatic single-field indexes for fields no query filters or
#   orders on: ciphertext (tokens) and metadata, which can be large and whose index
#   entries would only cost writes and storage, a key's cursor secret, and audit
#   fields that are only read back, never queried.
resource "google_firestore_field" "overrides" {
  for_each = local.field_overrides

  project    = var.project_id
  database   = google_firestore_database.vault.name
  collection = each.value.collectionGroup
  field      = each.value.fieldPath

  dynamic "ttl_config" {
    for_each = try(each.value.ttl, false) ? [true] : []
    content {}
  }

  index_config {
    dynamic "indexes" {
      for_each = each.value.indexes
      content {
        query_scope  = indexes.value.queryScope
        order        = try(indexes.value.order, null)
        array_config = try(indexes.value.arrayConfig, null)
      }
    }
  }
}

resource "google_firestore_backup_schedule" "weekly" {
  count = var.firestore_backup_retention_weeks > 0 ? 1 : 0

  project   = var.project_id
  database  = google_firestore_database.vault.name
  retention = "${var.firestore_backup_retention_weeks * 7 * 24 * 3600}s"

  weekly_recurrence {
    day = "SUNDAY"
  }
}

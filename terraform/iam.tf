# Two dedicated identities, each with only what it needs, and only in this project.
# No basic roles (owner/editor/viewer), nothing at folder or organisation level.

data "google_project" "this" {
  project_id = var.project_id

  depends_on = [google_project_service.enabled]
}

# The identity the vault runs as.
resource "google_service_account" "runtime" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-runtime"
  display_name = "Credential vault (${var.name_prefix}) runtime"
  description  = "Runs the credential vault function: reads and writes its Firestore database and wraps/unwraps data keys with its KMS key (granted on the key, in kms.tf)."

  depends_on = [google_project_service.enabled]
}

# Read and write documents, in the vault's own database only.
resource "google_project_iam_member" "runtime_firestore" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.runtime.member

  condition {
    title       = "${var.name_prefix}-firestore-database-only"
    description = "Only the vault's own Firestore database."
    expression  = "resource.name == \"projects/${var.project_id}/databases/${google_firestore_database.vault.name}\""
  }
}

resource "google_project_iam_member" "runtime_telemetry" {
  for_each = toset([
    "roles/logging.logWriter",
    "roles/cloudtrace.agent",
  ])

  project = var.project_id
  role    = each.value
  member  = google_service_account.runtime.member
}

# The identity Cloud Build uses to turn the uploaded source into the function's
# image, instead of a default service account that may hold Editor.
resource "google_service_account" "build" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-build"
  display_name = "Credential vault (${var.name_prefix}) function build"
  description  = "Builds the credential vault function's container image from its source archive."

  depends_on = [google_project_service.enabled]
}

resource "google_project_iam_member" "build_logs" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = google_service_account.build.member
}

# Cloud Functions copies the archive into its own regional source bucket
# (gcf-v2-sources-<project number>-<region>[-<key hash>]) before the build reads it;
# that bucket is created on first deploy, so the grant is a conditional one on the
# project rather than one on a bucket that does not exist yet.
resource "google_project_iam_member" "build_source_reader" {
  project = var.project_id
  role    = "roles/storage.objectViewer"
  member  = google_service_account.build.member

  condition {
    title       = "${var.name_prefix}-function-sources-only"
    description = "Only the function source buckets."
    expression = join(" || ", [
      "resource.name.startsWith(\"projects/_/buckets/gcf-v2-sources-${data.google_project.this.number}-${var.region}\")",
      "resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.source.name}/\")",
      "resource.name == \"projects/_/buckets/${google_storage_bucket.source.name}\"",
    ])
  }
}

# Push the built image, to the function's own repository only.
resource "google_artifact_registry_repository_iam_member" "build_writer" {
  project    = var.project_id
  location   = google_artifact_registry_repository.function.location
  repository = google_artifact_registry_repository.function.name
  role       = "roles/artifactregistry.writer"
  member     = google_service_account.build.member
}

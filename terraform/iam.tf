# Three dedicated identities, each with only what it needs, and only in this project.
# No basic roles (owner/editor/viewer), nothing at folder or organisation level.

# No depends_on: a data source that waits for a changing resource is read only at
# apply, so its `number` would be unknown at plan and every grant whose condition
# names it would be replaced whenever an API is added.
data "google_project" "this" {
  project_id = var.project_id
}

# The identity the vault runs as.
resource "google_service_account" "runtime" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-runtime"
  display_name = "Credential vault (${var.name_prefix}) runtime"
  description  = "Runs the credential vault function: reads and writes its Firestore database and wraps/unwraps data keys with its KMS key (granted on the key, in kms.tf)."

  depends_on = [time_sleep.apis]
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

# No log or trace role: Cloud Run collects what the vault writes to stdout and
# stderr itself, and the vault sends no traces.

# The identity Cloud Build uses to turn the uploaded source into the function's
# image, instead of a default service account that may hold Editor.
resource "google_service_account" "build" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-build"
  display_name = "Credential vault (${var.name_prefix}) function build"
  description  = "Builds the credential vault function's container image from its source archive."

  depends_on = [time_sleep.apis]
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

# The identity Cloud Scheduler uses to start the maintenance jobs (jobs.tf); it may
# run those jobs and nothing else.
resource "google_service_account" "cron" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-cron"
  display_name = "Credential vault (${var.name_prefix}) scheduler"
  description  = "Starts the credential vault's scheduled Cloud Run jobs (refresh-due, revocations sync)."

  depends_on = [time_sleep.apis]
}

# The deployer (terraform/bootstrap, the account cloudbuild.yaml runs as) must act as
# each identity it attaches: the function's runtime and build accounts, the jobs'
# runtime account, the scheduler's account. Granted on those accounts alone, never
# on the project. Empty var.deployer_service_account (a person applying, who already
# may act as them): no grant.
resource "google_service_account_iam_member" "deployer_act_as" {
  for_each = var.deployer_service_account == "" ? {} : {
    runtime = google_service_account.runtime.name
    build   = google_service_account.build.name
    cron    = google_service_account.cron.name
  }

  service_account_id = each.value
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${var.deployer_service_account}"
}

# Grants take up to a few minutes to reach every Google service; a function created
# at once fails its build with "permission denied" on the build account, or its
# deploy on the runtime account. Everything that uses these identities waits for
# this. A first apply that still fails with a 403: run apply again.
resource "time_sleep" "grants" {
  create_duration = "60s"

  triggers = {
    runtime = google_service_account.runtime.email
    build   = google_service_account.build.email
    cron    = google_service_account.cron.email
  }

  depends_on = [
    google_project_iam_member.runtime_firestore,
    google_kms_crypto_key_iam_binding.vault_runtime,
    google_secret_manager_secret_iam_member.runtime_grantex,
    google_project_iam_member.build_logs,
    google_project_iam_member.build_source_reader,
    google_artifact_registry_repository_iam_member.build_writer,
    google_service_account_iam_member.deployer_act_as,
  ]
}

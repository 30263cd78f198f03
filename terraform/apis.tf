locals {
  services = toset([
    "artifactregistry.googleapis.com",     # the function's container image
    "cloudbuild.googleapis.com",           # builds the function from source
    "cloudfunctions.googleapis.com",       # the function itself
    "cloudkms.googleapis.com",             # the key-encryption key
    "cloudresourcemanager.googleapis.com", # project IAM bindings
    "firestore.googleapis.com",            # credentials, audit, API keys, denylists
    "iam.googleapis.com",                  # the service accounts
    "logging.googleapis.com",              # logs
    "cloudscheduler.googleapis.com",       # the scheduled maintenance jobs (jobs.tf)
    "run.googleapis.com",                  # gen2 functions run on Cloud Run; the jobs
    "secretmanager.googleapis.com",        # the Grantex webhook secret and API key
    "storage.googleapis.com",              # the source bucket
  ])
}

resource "google_project_service" "enabled" {
  for_each = local.services

  project = var.project_id
  service = each.value

  # Other workloads in the project may rely on these APIs: never switch them off.
  disable_on_destroy         = false
  disable_dependent_services = false
}

# The key ring may live in a project of its own (var.kms_project_id).
resource "google_project_service" "kms_project" {
  for_each = local.kms_project == var.project_id ? toset([]) : toset([local.kms_project])

  project                    = each.value
  service                    = "cloudkms.googleapis.com"
  disable_on_destroy         = false
  disable_dependent_services = false
}

# An API answers "has not been used in project ... or it is disabled" for a while after
# it is enabled, and its service agent appears later still. Everything that calls an
# API waits for this, not for google_project_service itself. If the first apply still
# fails with such a 403, run apply again (terraform/README.md "First apply").
resource "time_sleep" "apis" {
  create_duration = "60s"

  triggers = {
    services = join(",", sort(concat(tolist(local.services), [for p in keys(google_project_service.kms_project) : "cloudkms@${p}"])))
  }

  depends_on = [google_project_service.enabled, google_project_service.kms_project]
}

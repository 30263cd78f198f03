locals {
  services = toset([
    "artifactregistry.googleapis.com",     # the function's container image
    "cloudbuild.googleapis.com",           # builds the function from source
    "cloudfunctions.googleapis.com",       # the function itself
    "cloudkms.googleapis.com",             # the key-encryption key
    "cloudresourcemanager.googleapis.com", # project IAM bindings
    "cloudtrace.googleapis.com",           # request traces
    "firestore.googleapis.com",            # credentials, audit, API keys, denylists
    "iam.googleapis.com",                  # the service accounts
    "logging.googleapis.com",              # logs
    "run.googleapis.com",                  # gen2 functions run on Cloud Run
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

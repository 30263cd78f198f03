locals {
  kms_project  = coalesce(var.kms_project_id, var.project_id)
  state_bucket = var.state_bucket_name != "" ? var.state_bucket_name : "${var.project_id}-tfstate"

  # Exactly what `terraform apply` of the main root needs, nothing more: each role is
  # there for the resources named next to it. No basic role.
  deployer_project_roles = [
    "roles/artifactregistry.admin",          # the image repository and its IAM
    "roles/cloudfunctions.admin",            # the function
    "roles/cloudscheduler.admin",            # the scheduled refresh and revocation sync
    "roles/datastore.owner",                 # the Firestore database, indexes, TTL policies, backups
    "roles/iam.serviceAccountAdmin",         # the runtime, build and scheduler service accounts, and actAs on them
    "roles/logging.logWriter",               # this build's own logs (CLOUD_LOGGING_ONLY)
    "roles/resourcemanager.projectIamAdmin", # project IAM members and the KMS audit configuration
    "roles/run.admin",                       # the Cloud Run service's invoker grant, the Cloud Run jobs
    "roles/secretmanager.admin",             # the Grantex secrets and their IAM
    "roles/serviceusage.serviceUsageAdmin",  # enabling the APIs
    "roles/storage.admin",                   # the source bucket (buckets can only be created with this)
  ]
  deployer_kms_roles = [
    "roles/cloudkms.admin",                  # the key ring, the key, its IAM binding
    "roles/resourcemanager.projectIamAdmin", # the key project's Cloud KMS audit configuration
    "roles/serviceusage.serviceUsageAdmin",  # the Cloud KMS API in the key project
  ]

  # "<project> <role>" pairs, deduplicated when the key lives in the same project.
  deployer_grants = toset(concat(
    [for role in local.deployer_project_roles : "${var.project_id} ${role}"],
    [for role in local.deployer_kms_roles : "${local.kms_project} ${role}"],
  ))
}

resource "google_project_service" "enabled" {
  for_each = toset([
    "cloudbuild.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "iam.googleapis.com",
    "storage.googleapis.com",
  ])

  project                    = var.project_id
  service                    = each.value
  disable_on_destroy         = false
  disable_dependent_services = false
}

# The identity every Cloud Build deploy runs as (cloudbuild.yaml serviceAccount).
resource "google_service_account" "deployer" {
  project      = var.project_id
  account_id   = "vault-deployer"
  display_name = "Credential vault deployer (Cloud Build)"
  description  = "Runs cloudbuild.yaml: tests, then terraform apply of the vault. Can change IAM in the project; who may act as it is decided by var.build_submitters."

  depends_on = [google_project_service.enabled]
}

resource "google_project_iam_member" "deployer" {
  for_each = local.deployer_grants

  project = split(" ", each.value)[0]
  role    = split(" ", each.value)[1]
  member  = google_service_account.deployer.member
}

# The main root's state: versioned, private, never destroyed by accident.
resource "google_storage_bucket" "state" {
  #checkov:skip=CKV_GCP_62:Terraform state of one deployment, written only by the deployer; object access is recorded by Data Access audit logs for storage.googleapis.com, which supersede legacy usage-log buckets.
  project  = var.project_id
  name     = local.state_bucket
  location = var.region

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  versioning {
    enabled = true
  }

  # Earlier state versions are kept for recovery, the 50 most recent ones.
  lifecycle_rule {
    condition {
      num_newer_versions = 50
      with_state         = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  lifecycle {
    prevent_destroy = true
  }

  depends_on = [google_project_service.enabled]
}

# Read and write the state objects (and their lock), on this bucket.
resource "google_storage_bucket_iam_member" "deployer_state" {
  bucket = google_storage_bucket.state.name
  role   = "roles/storage.objectAdmin"
  member = google_service_account.deployer.member
}

# Who may deploy: submitting a build that runs as the deployer needs both.
resource "google_project_iam_member" "submitter_builds" {
  #checkov:skip=CKV_GCP_49:Submitting builds is what these members are for; they deploy only as the deployer, through the Service Account User grant on that one account below, which is the list of who may deploy.
  for_each = toset(var.build_submitters)

  project = var.project_id
  role    = "roles/cloudbuild.builds.editor"
  member  = each.value
}

resource "google_service_account_iam_member" "submitter_act_as_deployer" {
  for_each = toset(var.build_submitters)

  service_account_id = google_service_account.deployer.name
  role               = "roles/iam.serviceAccountUser"
  member             = each.value
}

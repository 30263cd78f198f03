locals {
  # The vault's public URL, which DPoP proofs (`htu`) and the OAuth callback name. The
  # function cannot read its own URL attribute into its own environment (a cycle), so
  # it is the Cloud Run service's deterministic URL, known before the function exists:
  # https://<service>-<project number>.<region>.run.app (a gen2 function's service is
  # named after the function). var.public_base_url overrides it, e.g. for a custom
  # domain or a load balancer. The `url` output is this same value.
  run_app_url     = "https://${var.name_prefix}-${data.google_project.this.number}.${var.region}.run.app"
  public_base_url = var.public_base_url != "" ? trimsuffix(var.public_base_url, "/") : local.run_app_url

  # Exactly the settings the vault reads (vault/config.py, SETTINGS with
  # deployed=True); tests/infra/test_terraform_env.py keeps the two equal. The two
  # secret ones are not here: they come from Secret Manager (secrets.tf), through
  # service_config's secret_environment_variables.
  function_environment = {
    VAULT_BACKEND                          = "gcp"
    GOOGLE_CLOUD_PROJECT                   = var.project_id
    VAULT_FIRESTORE_DATABASE               = google_firestore_database.vault.name
    VAULT_KMS_KEY                          = google_kms_crypto_key.vault.id
    VAULT_API_KEY_CACHE_SECONDS            = tostring(var.api_key_cache_seconds)
    VAULT_RATE_LIMIT_PER_MINUTE            = tostring(var.rate_limit_per_minute)
    VAULT_EXCHANGE_RATE_LIMIT_PER_MINUTE   = tostring(var.exchange_rate_limit_per_minute)
    VAULT_AUTH_FAILURES_PER_MINUTE         = tostring(var.auth_failures_per_minute)
    VAULT_RPC_TIMEOUT_SECONDS              = tostring(var.rpc_timeout_seconds)
    VAULT_GRANT_ISSUER                     = var.grant_issuer
    VAULT_GRANT_JWKS_URL                   = var.grant_jwks_url
    VAULT_GRANT_AUDIENCE                   = var.grant_audience
    VAULT_TRUSTED_PROXY_HOPS               = tostring(var.trusted_proxy_hops)
    VAULT_GRANT_LEEWAY_SECONDS             = tostring(var.grant_leeway_seconds)
    VAULT_EXCHANGE_SCOPES                  = var.exchange_scopes
    VAULT_PUBLIC_BASE_URL                  = local.public_base_url
    VAULT_GRANT_MAX_LIFETIME_SECONDS       = tostring(var.grant_max_lifetime_seconds)
    VAULT_CREDENTIAL_REFERENCES_ENABLED    = tostring(var.credential_references_enabled)
    VAULT_CREDENTIAL_REFERENCE_TTL_SECONDS = tostring(var.credential_reference_ttl_seconds)
    VAULT_GRANTEX_BASE_URL                 = var.grantex_base_url
    VAULT_REFRESH_LEASE_SECONDS            = tostring(var.refresh_lease_seconds)
    VAULT_REFRESH_WAIT_SECONDS             = tostring(var.refresh_wait_seconds)

    # Not the vault's: functions-framework's gunicorn threads, one per request an
    # instance is sent (max_instance_request_concurrency), so neither waits on the other.
    THREADS = tostring(var.concurrency)
  }

  # Read from Secret Manager when an instance starts (secrets.tf), never plain.
  secret_environment = {
    VAULT_GRANTEX_WEBHOOK_SECRET = google_secret_manager_secret.grantex["webhook-secret"].secret_id
    VAULT_GRANTEX_API_KEY        = google_secret_manager_secret.grantex["api-key"].secret_id
  }
}

# The deployable source, an allow-list: main.py, requirements.txt and the vault/
# package (without bytecode). Nothing else in the checkout (tests, infrastructure,
# local data, tfvars, caches, virtualenvs) can reach the archive, whatever lies around.
# tests/infra/test_terraform_env.py checks these rules against the repository.
locals {
  source_root = var.source_dir != "" ? var.source_dir : "${path.module}/.."
  source_files = sort(concat(
    ["main.py", "requirements.txt"],
    [
      for file in fileset(local.source_root, "vault/**") : file
      if !strcontains(file, "__pycache__/") && !endswith(file, ".pyc")
    ],
  ))
}

data "archive_file" "source" {
  type        = "zip"
  output_path = "${path.module}/.build/vault-source.zip"

  # The same bytes, and so the same hash and object name, on every machine: no file
  # mode or umask of the deployer's checkout leaks in.
  output_file_mode = "0644"

  dynamic "source" {
    for_each = local.source_files
    content {
      filename = source.value
      content  = file("${local.source_root}/${source.value}")
    }
  }
}

resource "google_storage_bucket" "source" {
  #checkov:skip=CKV_GCP_62:Only rebuildable source archives live here, written by Terraform and read by Cloud Functions; if object access must be recorded, Data Access audit logs for storage.googleapis.com do it better than a legacy usage-log bucket.
  project  = var.project_id
  name     = "${var.project_id}-${var.name_prefix}-source"
  location = var.region

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  # Archives are named by their hash; versioning keeps a replaced or deleted one
  # restorable for a while, for rollbacks and investigations.
  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.source_noncurrent_retention_days
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  # Only rebuildable artifacts live here, so `terraform destroy` may empty it.
  force_destroy = true

  depends_on = [time_sleep.apis]
}

resource "google_storage_bucket_object" "source" {
  # A new name whenever the code changes, so a deploy happens only then.
  name         = "${var.name_prefix}-${data.archive_file.source.output_sha256}.zip"
  bucket       = google_storage_bucket.source.name
  source       = data.archive_file.source.output_path
  content_type = "application/zip"
}

# The function's images, kept in a repository of its own (rather than the shared
# gcf-artifacts one) so the build identity can be limited to it.
resource "google_artifact_registry_repository" "function" {
  #checkov:skip=CKV_GCP_84:The images are built from this repository's source and hold no credential, key or customer data (those are in Firestore, envelope-encrypted with the vault's own KMS key); CMEK here would need a second key and a grant to the Artifact Registry service agent for no gain.
  project       = var.project_id
  location      = var.region
  repository_id = "${var.name_prefix}-function"
  format        = "DOCKER"
  description   = "Container images of the credential vault function."

  cleanup_policies {
    id     = "delete-old-images"
    action = "DELETE"
    condition {
      older_than = "2592000s"
    }
  }

  cleanup_policies {
    id     = "keep-recent-images"
    action = "KEEP"
    most_recent_versions {
      keep_count = 10
    }
  }

  depends_on = [time_sleep.apis]
}

resource "google_cloudfunctions2_function" "vault" {
  #checkov:skip=CKV_GCP_124:The vault is a public API by design (see the invoker grant below); ingress is var.ingress_settings, ALLOW_ALL by default, and can be narrowed to ALLOW_INTERNAL_AND_GCLB behind a load balancer with Cloud Armor.
  project     = var.project_id
  name        = var.name_prefix
  location    = var.region
  description = "Credential vault API (/v1/vault/credentials)."

  build_config {
    runtime           = "python312"
    entry_point       = "vault"
    service_account   = google_service_account.build.id
    docker_repository = google_artifact_registry_repository.function.id

    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.runtime.email
    ingress_settings                 = var.ingress_settings
    all_traffic_on_latest_revision   = true
    min_instance_count               = var.min_instances
    max_instance_count               = var.max_instances
    max_instance_request_concurrency = var.concurrency
    available_memory                 = var.memory
    available_cpu                    = var.cpu
    timeout_seconds                  = var.timeout_seconds

    environment_variables = local.function_environment

    # Never plain environment variables: read from Secret Manager when an instance
    # starts (secrets.tf).
    secret_environment_variables {
      key        = "VAULT_GRANTEX_WEBHOOK_SECRET"
      project_id = var.project_id
      secret     = google_secret_manager_secret.grantex["webhook-secret"].secret_id
      version    = "latest"
    }
    secret_environment_variables {
      key        = "VAULT_GRANTEX_API_KEY"
      project_id = var.project_id
      secret     = google_secret_manager_secret.grantex["api-key"].secret_id
      version    = "latest"
    }
  }

  lifecycle {
    precondition {
      condition     = var.min_instances <= var.max_instances
      error_message = "min_instances must not be greater than max_instances."
    }
    precondition {
      condition     = var.concurrency == 1 || tonumber(var.cpu) >= 1
      error_message = "concurrency above 1 needs at least one whole CPU (var.cpu)."
    }
  }

  depends_on = [
    # The runtime identity must be able to read its database, its secrets and use its
    # key before the first request arrives, and the build identity must be able to
    # read the source and push the image: time_sleep.grants waits for all of those
    # grants, and then for them to propagate.
    time_sleep.grants,
    google_secret_manager_secret_version.grantex_placeholder,
    google_firestore_index.composite,
  ]
}

# PUBLIC ENDPOINT, ON PURPOSE. Anyone on the internet may send a request to the
# function (allUsers holds roles/run.invoker on its Cloud Run service): the vault's
# callers are developers' backends and agents, which authenticate inside the
# request, with an API key (Authorization: Bearer gx_live_...) or a grant token
# (a JWT signed by the grant issuer). Every route but OPTIONS refuses a request
# without one. Cloud Run IAM cannot check those, so it must let them through.
resource "google_cloud_run_v2_service_iam_member" "public_invoker" {
  project  = var.project_id
  location = google_cloudfunctions2_function.vault.location
  name     = google_cloudfunctions2_function.vault.service_config[0].service
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# The two Grantex secrets the vault reads (vault/config.py): the webhook endpoint's
# signing secret and the API key of the revocation feed. Terraform creates each secret
# with a blank placeholder version (the app treats a blank value as unset: no webhook
# route, no feed), so the first apply deploys; the real value is added outside
# Terraform and never enters its state:
#
#   printf %s "$SECRET" | gcloud secrets versions add <prefix>-grantex-webhook-secret --data-file=-
#
# The function reads version "latest" when an instance starts (see README "Secrets").
resource "google_secret_manager_secret" "grantex" {
  # Read as VAULT_GRANTEX_WEBHOOK_SECRET and VAULT_GRANTEX_API_KEY (function.tf).
  for_each = toset(["webhook-secret", "api-key"])

  project   = var.project_id
  secret_id = "${var.name_prefix}-grantex-${each.value}"

  # Kept in the vault's region, like its key and its database.
  replication {
    user_managed {
      replicas {
        location = var.region
      }
    }
  }

  depends_on = [time_sleep.apis]
}

resource "google_secret_manager_secret_version" "grantex_placeholder" {
  for_each = google_secret_manager_secret.grantex

  secret      = each.value.id
  secret_data = " " # blank: the setting stays unset until an operator adds a version

  # Later versions are added with gcloud; Terraform leaves them and this one alone.
  deletion_policy = "ABANDON"
  lifecycle {
    ignore_changes = [enabled]
  }
}

# The runtime identity may read exactly these two secrets, nothing else in the project.
resource "google_secret_manager_secret_iam_member" "runtime_grantex" {
  for_each = google_secret_manager_secret.grantex

  project   = var.project_id
  secret_id = each.value.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.runtime.member
}

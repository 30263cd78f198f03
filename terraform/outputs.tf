output "url" {
  description = "The one URL clients use: the service's run.app URL (or var.public_base_url), which is also VAULT_PUBLIC_BASE_URL (DPoP `htu`) and the URL trusted_proxy_hops is right for. Not the cloudfunctions.net URL: its X-Forwarded-For layout is unverified and DPoP htu would not match."
  value       = local.public_base_url
}

output "kms_key_name" {
  description = "Full resource name of the key-encryption key (the function's VAULT_KMS_KEY)."
  value       = google_kms_crypto_key.vault.id
}

output "kms_key" {
  description = "Short name of the key-encryption key, for `gcloud kms keys versions ... --key` (SECURITY.md, key rotation runbook)."
  value       = google_kms_crypto_key.vault.name
}

output "kms_key_ring" {
  description = "Name of the key ring that holds the key-encryption key, for `gcloud kms keys versions ... --keyring` (SECURITY.md, key rotation runbook)."
  value       = google_kms_key_ring.vault.name
}

output "kms_location" {
  description = "Location of the key ring (var.kms_location, or the region), for `gcloud kms keys versions ... --location` (SECURITY.md, key rotation runbook)."
  value       = google_kms_key_ring.vault.location
}

output "kms_project" {
  description = "Project that holds the key ring (var.kms_project_id, or project_id), for `gcloud kms keys versions ... --project` (SECURITY.md, key rotation runbook)."
  value       = google_kms_key_ring.vault.project
}

output "service_account_email" {
  description = "Email of the service account the vault runs as."
  value       = google_service_account.runtime.email
}

output "firestore_database" {
  description = "ID of the vault's Firestore database (the function's VAULT_FIRESTORE_DATABASE)."
  value       = google_firestore_database.vault.name
}

output "cli_environment" {
  description = "The function's environment, for running `python -m vault keys ...` against this deployment with application-default credentials."
  value       = local.function_environment
}

output "secret_ids" {
  description = "Secret Manager secrets to add the Grantex values to (gcloud secrets versions add ID --data-file=-)."
  value       = { for name, id in local.secret_environment : name => id }
}

output "jobs" {
  description = "Cloud Run jobs of the maintenance commands (gcloud run jobs execute NAME --region=REGION --wait)."
  value       = { for name, job in google_cloud_run_v2_job.maintenance : name => job.name }
}

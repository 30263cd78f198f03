output "url" {
  description = "The one URL clients use: the service's run.app URL (or var.public_base_url), which is also VAULT_PUBLIC_BASE_URL (DPoP `htu`) and the URL trusted_proxy_hops is right for. Not the cloudfunctions.net URL: its X-Forwarded-For layout is unverified and DPoP htu would not match."
  value       = local.public_base_url
}

output "kms_key_name" {
  description = "Full resource name of the key-encryption key (the function's VAULT_KMS_KEY)."
  value       = google_kms_crypto_key.vault.id
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

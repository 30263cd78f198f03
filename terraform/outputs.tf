output "url" {
  description = "HTTPS base URL of the vault API; clients call <url>/v1/vault/credentials."
  value       = google_cloudfunctions2_function.vault.url
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

output "deployer_service_account" {
  description = "Email of the deployer (cloudbuild.yaml serviceAccount; the main root's deployer_service_account)."
  value       = google_service_account.deployer.email
}

output "state_bucket" {
  description = "The bucket for the main root's state (cloudbuild.yaml _TF_STATE_BUCKET)."
  value       = google_storage_bucket.state.name
}

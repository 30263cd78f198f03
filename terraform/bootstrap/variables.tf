variable "project_id" {
  type        = string
  description = "ID of the project the vault is deployed into (the main root's project_id)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project ID (6-30 characters: lowercase letters, digits, hyphens)."
  }
}

variable "region" {
  type        = string
  description = "Location of the state bucket, e.g. europe-west1 (the main root's region)."
}

variable "kms_project_id" {
  type        = string
  description = "Project of the vault's key ring, if not project_id (the main root's kms_project_id). The deployer gets Cloud KMS Admin there, and Project IAM Admin for the key project's KMS audit configuration."
  default     = null
  nullable    = true
}

variable "state_bucket_name" {
  type        = string
  description = "Name of the GCS bucket for the main root's Terraform state. Empty: <project_id>-tfstate."
  default     = ""
  nullable    = false
}

variable "build_submitters" {
  type        = list(string)
  description = "Who may deploy: IAM members (user:, group:) allowed to submit builds that run as the deployer (Cloud Build Editor on the project and Service Account User on the deployer). Keep it to a few release managers: the deployer can change IAM in the project."
  default     = []
}

# A small root of its own, applied once by a project owner with local state, BEFORE the
# first Cloud Build deploy: the deployer service account cloudbuild.yaml runs as, its
# exact roles, and the bucket that holds the main root's state. See ../README.md
# "The deployer (once per project)".
terraform {
  required_version = ">= 1.5.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.50.0, < 7.0.0"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}

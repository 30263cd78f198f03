terraform {
  required_version = ">= 1.5.0"

  required_providers {
    google = {
      source = "hashicorp/google"
      # The offline schema test (tests/infra) checks every argument against provider 6.50.0.
      version = ">= 6.50.0, < 7.0.0"
    }
    archive = {
      source = "hashicorp/archive"
      # 2.5+: output_file_mode and several source blocks behave as used here.
      version = ">= 2.5.0, < 3.0.0"
    }
    time = {
      source = "hashicorp/time"
      # time_sleep: IAM grants and new APIs propagate after Terraform sees them.
      version = ">= 0.12.0, < 1.0.0"
    }
  }

  # State holds the resource names of the key and the database, never a secret: the
  # vault's tokens are encrypted by the application before they reach Firestore. Keep
  # it in a versioned GCS bucket that only deployers can read. Uncomment, or pass the
  # same block at `terraform init` with -backend-config (cloudbuild.yaml does that).
  #
  # backend "gcs" {
  #   bucket = "my-project-tfstate"
  #   prefix = "vault"
  # }
}

provider "google" {
  project = var.project_id
  region  = var.region

  default_labels = merge(var.labels, {
    app = var.name_prefix
  })
}

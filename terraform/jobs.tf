# The vault's maintenance commands, as Cloud Run jobs: the function's own image, its
# environment and secrets, its runtime identity. Cloud Scheduler starts the periodic
# ones; rewrap is started by hand (terraform/README.md "Rewrapping"):
#
#   gcloud run jobs execute <prefix>-rewrap --region=REGION --wait
locals {
  maintenance_jobs = {
    refresh-due = {
      args     = ["python", "-m", "vault", "refresh-due"]
      schedule = var.refresh_due_schedule
    }
    revocations-sync = {
      args     = ["python", "-m", "vault", "revocations", "sync"]
      schedule = var.grantex_base_url == "" ? "" : var.revocations_sync_schedule
    }
    rewrap = {
      args     = ["python", "-m", "vault", "rewrap"]
      schedule = ""
    }
  }
  scheduled_jobs = { for name, job in local.maintenance_jobs : name => job if job.schedule != "" }
}

# The Cloud Run service behind the function: its image (the jobs run the very code the
# function serves) and its URLs (the check below).
data "google_cloud_run_v2_service" "function" {
  project  = var.project_id
  location = google_cloudfunctions2_function.vault.location
  name     = google_cloudfunctions2_function.vault.service_config[0].service
}

resource "google_cloud_run_v2_job" "maintenance" {
  for_each = local.maintenance_jobs

  project  = var.project_id
  location = var.region
  name     = "${var.name_prefix}-${each.key}"

  # A job holds no data: replacing or destroying one loses nothing.
  deletion_protection = false

  template {
    task_count = 1

    template {
      service_account = google_service_account.runtime.email
      timeout         = "${var.job_timeout_seconds}s"
      # The schedule runs it again soon; a retry could overlap with that run.
      max_retries = 0

      containers {
        image = data.google_cloud_run_v2_service.function.template[0].containers[0].image
        # The buildpacks launcher sets up the image's Python and dependencies, then
        # runs the command instead of the web server.
        command = ["/cnb/lifecycle/launcher"]
        args    = each.value.args

        dynamic "env" {
          for_each = { for name, value in local.function_environment : name => value if name != "THREADS" }
          content {
            name  = env.key
            value = env.value
          }
        }

        dynamic "env" {
          for_each = local.secret_environment
          content {
            name = env.key
            value_source {
              secret_key_ref {
                secret  = env.value
                version = "latest"
              }
            }
          }
        }
      }
    }
  }

  depends_on = [time_sleep.grants, google_secret_manager_secret_version.grantex_placeholder]
}

# Cloud Scheduler may start the scheduled jobs, nothing else.
resource "google_cloud_run_v2_job_iam_member" "cron_runs" {
  for_each = local.scheduled_jobs

  project  = var.project_id
  location = google_cloud_run_v2_job.maintenance[each.key].location
  name     = google_cloud_run_v2_job.maintenance[each.key].name
  role     = "roles/run.invoker"
  member   = google_service_account.cron.member
}

resource "google_cloud_scheduler_job" "maintenance" {
  for_each = local.scheduled_jobs

  project     = var.project_id
  region      = var.region
  name        = "${var.name_prefix}-${each.key}"
  description = "Runs `${join(" ", each.value.args)}` (Cloud Run job ${google_cloud_run_v2_job.maintenance[each.key].name})."
  schedule    = each.value.schedule
  time_zone   = "Etc/UTC"

  # Starting the job is quick; the job itself runs for up to var.job_timeout_seconds.
  attempt_deadline = "60s"

  retry_config {
    retry_count = 1
  }

  http_target {
    http_method = "POST"
    uri         = "https://run.googleapis.com/v2/projects/${var.project_id}/locations/${var.region}/jobs/${google_cloud_run_v2_job.maintenance[each.key].name}:run"

    oauth_token {
      service_account_email = google_service_account.cron.email
      scope                 = "https://www.googleapis.com/auth/cloud-platform"
    }
  }

  depends_on = [google_cloud_run_v2_job_iam_member.cron_runs, time_sleep.grants]
}

# The URL the vault is configured with (VAULT_PUBLIC_BASE_URL, DPoP `htu`) must be one
# its service answers on. Checked after every apply; a failure is a warning that
# names the URLs Cloud Run reports.
check "public_url_is_served" {
  assert {
    condition     = var.public_base_url != "" || contains(data.google_cloud_run_v2_service.function.urls, local.run_app_url)
    error_message = "The predicted URL ${local.run_app_url} is not among the service's URLs (${join(", ", data.google_cloud_run_v2_service.function.urls)}); set public_base_url to the right one."
  }
}

# Where it runs ---------------------------------------------------------------

variable "project_id" {
  type        = string
  description = "ID of the Google Cloud project the vault is deployed into."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project ID (6-30 characters: lowercase letters, digits, hyphens)."
  }
}

variable "region" {
  type        = string
  description = "Region of the function, its source bucket, its image repository, its jobs and secrets, and (by default) the KMS key ring and the Firestore database, e.g. europe-west1. One-way: with the defaults, a new region means a new key ring and database (see kms_location, firestore_location)."

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a Google Cloud region such as europe-west1 or us-central1."
  }
}

variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name (function, service accounts, bucket, key ring, secrets, jobs). Use a different one per environment in the same project. One-way: changing it replaces everything, including the key ring (a new, empty key: stored credentials become unreadable) and the database's name is not derived from it."
  default     = "vault"

  validation {
    # The longest derived name is "<prefix>-runtime", and service account ids stop at 30 characters.
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-22 characters: lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "labels" {
  type        = map(string)
  description = "Labels added to every resource that supports them (the provider's default_labels)."
  default     = {}
}

# Firestore -------------------------------------------------------------------

variable "firestore_location" {
  type        = string
  description = "Firestore location: a region (europe-west1) or a multi-region (eur3, nam5). Defaults to var.region. Cannot be changed after creation."
  default     = null
  nullable    = true

  validation {
    condition     = var.firestore_location == null || can(regex("^([a-z]+-[a-z]+[0-9]+|nam[0-9]+|eur[0-9]+)$", var.firestore_location))
    error_message = "firestore_location must be a region (europe-west1) or a multi-region (eur3, nam5)."
  }
}

variable "firestore_database_id" {
  type        = string
  description = "ID of the Firestore database the vault owns. A named database keeps the vault apart from any (default) database the project already has. One-way: a different ID is a new, empty database."
  default     = "vault"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,61}[a-z0-9]$", var.firestore_database_id))
    error_message = "firestore_database_id must be 4-63 characters: lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "firestore_cmek_key_name" {
  type        = string
  description = "Optional CryptoKey to encrypt the whole Firestore database with (CMEK). It must be in the database's location and the Firestore service agent must be allowed to use it. Leave null for Google-managed encryption: tokens are already envelope-encrypted by the vault with its own key."
  default     = null
  nullable    = true

  validation {
    condition     = var.firestore_cmek_key_name == null || can(regex("^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$", var.firestore_cmek_key_name))
    error_message = "firestore_cmek_key_name must be a full CryptoKey resource name."
  }
}

variable "firestore_backup_retention_weeks" {
  type        = number
  description = "Keep a weekly Firestore backup for this many weeks, on top of the 7 days of point-in-time recovery. 0 disables the backup schedule."
  default     = 8

  validation {
    condition     = var.firestore_backup_retention_weeks >= 0 && var.firestore_backup_retention_weeks <= 14 && floor(var.firestore_backup_retention_weeks) == var.firestore_backup_retention_weeks
    error_message = "firestore_backup_retention_weeks must be a whole number between 0 and 14 (Firestore keeps weekly backups for at most 14 weeks)."
  }
}

# Cloud KMS -------------------------------------------------------------------

variable "kms_location" {
  type        = string
  description = "Location of the key ring. Defaults to var.region, next to the function, so each wrap and unwrap stays in-region. One-way: a key ring cannot move, and a new one holds a new key that cannot unwrap existing credentials."
  default     = null
  nullable    = true
}

variable "kms_rotation_period" {
  type        = string
  description = "How often Cloud KMS makes a new primary version of the key-encryption key, in seconds with an 's' suffix. At most 90 days (7776000s). Old versions stay enabled so existing credentials remain readable."
  default     = "7776000s"

  validation {
    condition = (
      can(regex("^[0-9]+s$", var.kms_rotation_period))
      && try(tonumber(trimsuffix(var.kms_rotation_period, "s")) >= 86400, false)
      && try(tonumber(trimsuffix(var.kms_rotation_period, "s")) <= 7776000, false)
    )
    error_message = "kms_rotation_period must be between 86400s (1 day) and 7776000s (90 days), written like \"7776000s\"."
  }
}

variable "kms_protection_level" {
  type        = string
  description = "SOFTWARE or HSM. HSM keeps the key-encryption key in FIPS 140-2 Level 3 hardware; symmetric HSM operations cost the same as software ones, only key versions cost more. One-way: the protection level of a key cannot change, a different value replaces the key."
  default     = "HSM"

  validation {
    condition     = contains(["SOFTWARE", "HSM"], var.kms_protection_level)
    error_message = "kms_protection_level must be SOFTWARE or HSM."
  }
}

# Grant tokens (POST /v1/vault/credentials/exchange) ----------------------------

variable "grant_issuer" {
  type        = string
  description = "The `iss` claim grant tokens must carry (VAULT_GRANT_ISSUER)."

  validation {
    condition     = length(trimspace(var.grant_issuer)) > 0
    error_message = "grant_issuer must not be empty."
  }
}

variable "grant_jwks_url" {
  type        = string
  description = "HTTPS URL of the grant issuer's JWKS (VAULT_GRANT_JWKS_URL)."

  validation {
    condition     = can(regex("^https://[^\\s/]+(/\\S*)?$", var.grant_jwks_url))
    error_message = "grant_jwks_url must be an https:// URL."
  }
}

variable "grant_audience" {
  type        = string
  description = "The `aud` claim grant tokens must carry (VAULT_GRANT_AUDIENCE). Empty: the audience is not checked."
  default     = ""
  nullable    = false
}

# Application settings --------------------------------------------------------

variable "api_key_cache_seconds" {
  type        = number
  description = "How long an instance trusts an API key it has verified (VAULT_API_KEY_CACHE_SECONDS). Also the longest a revoked key keeps working."
  default     = 30

  validation {
    condition     = var.api_key_cache_seconds >= 0 && var.api_key_cache_seconds <= 300
    error_message = "api_key_cache_seconds must be between 0 and 300."
  }
}

variable "trusted_proxy_hops" {
  type        = number
  description = "How many proxies in front of the function append to X-Forwarded-For (VAULT_TRUSTED_PROXY_HOPS); the client address for failed-authentication limits is that many entries from the right. 1 for clients that call the run.app URL (the `url` output) through Cloud Run's front end alone; 2 behind an external HTTPS load balancer. See terraform/README.md \"The client address\" for how to verify it on a deployment."
  default     = 1

  validation {
    condition     = var.trusted_proxy_hops >= 0 && var.trusted_proxy_hops <= 5 && floor(var.trusted_proxy_hops) == var.trusted_proxy_hops
    error_message = "trusted_proxy_hops must be a whole number from 0 to 5."
  }
}

variable "rate_limit_per_minute" {
  type        = number
  description = "Requests per API key per minute, per instance (VAULT_RATE_LIMIT_PER_MINUTE). 0 disables the limit."
  default     = 1200

  validation {
    condition     = var.rate_limit_per_minute >= 0 && floor(var.rate_limit_per_minute) == var.rate_limit_per_minute
    error_message = "rate_limit_per_minute must be a whole number, 0 or more."
  }
}

variable "exchange_rate_limit_per_minute" {
  type        = number
  description = "Token exchanges per grant per minute, per instance (VAULT_EXCHANGE_RATE_LIMIT_PER_MINUTE). 0 disables the limit."
  default     = 120

  validation {
    condition     = var.exchange_rate_limit_per_minute >= 0 && floor(var.exchange_rate_limit_per_minute) == var.exchange_rate_limit_per_minute
    error_message = "exchange_rate_limit_per_minute must be a whole number, 0 or more."
  }
}

variable "auth_failures_per_minute" {
  type        = number
  description = "Failed authentications per client address per minute, per instance (VAULT_AUTH_FAILURES_PER_MINUTE). 0 disables the limit."
  default     = 60

  validation {
    condition     = var.auth_failures_per_minute >= 0 && floor(var.auth_failures_per_minute) == var.auth_failures_per_minute
    error_message = "auth_failures_per_minute must be a whole number, 0 or more."
  }
}

variable "rpc_timeout_seconds" {
  type        = number
  description = "Deadline of each Firestore or Cloud KMS call (VAULT_RPC_TIMEOUT_SECONDS)."
  default     = 5

  validation {
    condition     = var.rpc_timeout_seconds > 0 && var.rpc_timeout_seconds <= 60
    error_message = "rpc_timeout_seconds must be greater than 0 and at most 60."
  }
}

# Capacity --------------------------------------------------------------------

variable "min_instances" {
  type        = number
  description = "Instances kept warm. 0 scales to zero (cheapest, cold starts); 1 or more avoids cold starts."
  default     = 0

  validation {
    condition     = var.min_instances >= 0 && floor(var.min_instances) == var.min_instances
    error_message = "min_instances must be a whole number, 0 or more."
  }
}

variable "max_instances" {
  type        = number
  description = "Upper bound on instances: caps cost and the load on Firestore and Cloud KMS. Rate limits are per instance, so the effective limit is this many times the configured one."
  default     = 10

  validation {
    condition     = var.max_instances >= 1 && var.max_instances <= 1000 && floor(var.max_instances) == var.max_instances
    error_message = "max_instances must be a whole number between 1 and 1000."
  }
}

variable "concurrency" {
  type        = number
  description = "Requests one instance serves at a time (max_instance_request_concurrency), and the web server's threads (THREADS), so the two always agree. More than 1 needs at least one whole CPU (var.cpu)."
  default     = 40

  validation {
    condition     = var.concurrency >= 1 && var.concurrency <= 1000 && floor(var.concurrency) == var.concurrency
    error_message = "concurrency must be a whole number between 1 and 1000."
  }
}

variable "memory" {
  type        = string
  description = "Memory of one instance, e.g. 512Mi or 1Gi."
  default     = "512Mi"

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.memory))
    error_message = "memory must be written like 512Mi or 1Gi."
  }
}

variable "cpu" {
  type        = string
  description = "vCPUs of one instance, e.g. \"1\" or \"2\"."
  default     = "1"

  validation {
    condition     = can(regex("^[0-9]+(\\.[0-9]+)?$", var.cpu))
    error_message = "cpu must be a number written as a string, e.g. \"1\"."
  }
}

variable "timeout_seconds" {
  type        = number
  description = "Request timeout of the function."
  default     = 60

  validation {
    condition     = var.timeout_seconds >= 1 && var.timeout_seconds <= 3600
    error_message = "timeout_seconds must be between 1 and 3600."
  }
}

variable "ingress_settings" {
  type        = string
  description = "Who can reach the endpoint at the network level. ALLOW_ALL (default) serves the public API; ALLOW_INTERNAL_AND_GCLB if you front it with an external HTTPS load balancer and Cloud Armor."
  default     = "ALLOW_ALL"

  validation {
    condition     = contains(["ALLOW_ALL", "ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"], var.ingress_settings)
    error_message = "ingress_settings must be ALLOW_ALL, ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  }
}

variable "source_noncurrent_retention_days" {
  type        = number
  description = "Days a replaced source archive is kept in the source bucket before it is deleted."
  default     = 30

  validation {
    condition     = var.source_noncurrent_retention_days >= 1
    error_message = "source_noncurrent_retention_days must be at least 1."
  }
}

# Application settings added with grant delegation, DPoP, references and Grantex ---

variable "public_base_url" {
  type        = string
  description = "The vault's public URL (VAULT_PUBLIC_BASE_URL: DPoP `htu`, the OAuth callback), without a trailing slash. Empty: the function's deterministic run.app URL, https://<name_prefix>-<project number>.<region>.run.app. Set it when clients reach the vault through a custom domain or a load balancer."
  default     = ""
  nullable    = false

  validation {
    condition     = var.public_base_url == "" || can(regex("^https://[^/?#\\s]+(/[^?#\\s]*)?$", var.public_base_url))
    error_message = "public_base_url must be empty or an https:// URL without query or fragment."
  }
}

variable "grant_leeway_seconds" {
  type        = number
  description = "Clock leeway for grant-token times (VAULT_GRANT_LEEWAY_SECONDS), at most 30."
  default     = 0

  validation {
    condition     = var.grant_leeway_seconds >= 0 && var.grant_leeway_seconds <= 30 && floor(var.grant_leeway_seconds) == var.grant_leeway_seconds
    error_message = "grant_leeway_seconds must be a whole number from 0 to 30."
  }
}

variable "exchange_scopes" {
  type        = string
  description = "Which grant scopes allow an exchange (VAULT_EXCHANGE_SCOPES): `exact` (only vault:<service>:exchange) or `legacy` (also the older forms)."
  default     = "exact"

  validation {
    condition     = contains(["exact", "legacy"], var.exchange_scopes)
    error_message = "exchange_scopes must be exact or legacy."
  }
}

variable "grant_max_lifetime_seconds" {
  type        = number
  description = "How long a denylist entry (a revoked grant or token) is kept (VAULT_GRANT_MAX_LIFETIME_SECONDS); Firestore's TTL policy deletes it afterwards."
  default     = 2592000

  validation {
    condition     = var.grant_max_lifetime_seconds >= 60 && var.grant_max_lifetime_seconds <= 315360000 && floor(var.grant_max_lifetime_seconds) == var.grant_max_lifetime_seconds
    error_message = "grant_max_lifetime_seconds must be a whole number from 60 to 315360000 (10 years)."
  }
}

variable "credential_references_enabled" {
  type        = bool
  description = "Whether exchanges may ask for `delivery: reference` (VAULT_CREDENTIAL_REFERENCES_ENABLED)."
  default     = true
}

variable "credential_reference_ttl_seconds" {
  type        = number
  description = "Lifetime of a credential reference (VAULT_CREDENTIAL_REFERENCE_TTL_SECONDS)."
  default     = 300

  validation {
    condition     = var.credential_reference_ttl_seconds >= 30 && var.credential_reference_ttl_seconds <= 3600 && floor(var.credential_reference_ttl_seconds) == var.credential_reference_ttl_seconds
    error_message = "credential_reference_ttl_seconds must be a whole number from 30 to 3600."
  }
}

variable "grantex_base_url" {
  type        = string
  description = "The Grantex API, for `revocations sync`'s feed (VAULT_GRANTEX_BASE_URL). Empty: no feed, and no scheduled sync."
  default     = ""
  nullable    = false

  validation {
    condition     = var.grantex_base_url == "" || can(regex("^https://[^\\s/]+(/\\S*)?$", var.grantex_base_url))
    error_message = "grantex_base_url must be empty or an https:// URL."
  }
}

variable "refresh_lease_seconds" {
  type        = number
  description = "How long one instance holds a credential's refresh lease before others may take it (VAULT_REFRESH_LEASE_SECONDS)."
  default     = 20

  validation {
    condition     = var.refresh_lease_seconds >= 1 && var.refresh_lease_seconds <= 300
    error_message = "refresh_lease_seconds must be between 1 and 300."
  }
}

variable "refresh_wait_seconds" {
  type        = number
  description = "How long an exchange waits for another instance's refresh of the same credential (VAULT_REFRESH_WAIT_SECONDS)."
  default     = 10

  validation {
    condition     = var.refresh_wait_seconds >= 0 && var.refresh_wait_seconds <= 120
    error_message = "refresh_wait_seconds must be between 0 and 120."
  }
}

# Deployment ------------------------------------------------------------------

variable "kms_project_id" {
  type        = string
  description = "Project that holds the key ring, if not project_id. Owners of a project can use its keys: a key project of its own, with different owners, keeps the vault project's owners from unwrapping credentials. Null: project_id. Cannot be changed after creation (the key cannot move)."
  default     = null
  nullable    = true

  validation {
    condition     = var.kms_project_id == null || can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.kms_project_id))
    error_message = "kms_project_id must be null or a Google Cloud project ID."
  }
}

variable "deployer_service_account" {
  type        = string
  description = "Email of the service account that runs apply in Cloud Build (terraform/bootstrap's deployer_service_account output). It is granted Service Account User on the runtime, build and scheduler accounts, which it attaches. Empty when a person applies."
  default     = ""
  nullable    = false
}

variable "source_dir" {
  type        = string
  description = "Directory holding main.py, requirements.txt and vault/ to deploy. Empty: the repository root. cloudbuild.yaml points it at a copy taken before any test ran."
  default     = ""
  nullable    = false
}

variable "refresh_due_schedule" {
  type        = string
  description = "Cron schedule (UTC) of `python -m vault refresh-due`, which refreshes stored OAuth tokens before they expire. Empty: not scheduled (the job can still be run by hand)."
  default     = "*/10 * * * *"
  nullable    = false
}

variable "revocations_sync_schedule" {
  type        = string
  description = "Cron schedule (UTC) of `python -m vault revocations sync`, which pulls Grantex's revocation feed into the denylists. Scheduled only when grantex_base_url is set. Empty: not scheduled."
  default     = "*/5 * * * *"
  nullable    = false
}

variable "job_timeout_seconds" {
  type        = number
  description = "How long one run of a maintenance job (refresh-due, revocations sync, rewrap) may take."
  default     = 3600

  validation {
    condition     = var.job_timeout_seconds >= 60 && var.job_timeout_seconds <= 86400 && floor(var.job_timeout_seconds) == var.job_timeout_seconds
    error_message = "job_timeout_seconds must be a whole number from 60 to 86400."
  }
}

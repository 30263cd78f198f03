# The key-encryption key of the envelope: every credential write gets a fresh data
# key, and Cloud KMS wraps it with this key. Firestore only ever sees ciphertext.
#
# Who can unwrap: the runtime identity (below), and anyone holding Owner or Cloud KMS
# roles on the key's project. Put the key in a project of its own
# (var.kms_project_id), whose owners are not the vault project's, to separate the two
# duties; every use of the key is then in that project's Data Access audit log.

locals {
  kms_project = coalesce(var.kms_project_id, var.project_id)
}

resource "google_kms_key_ring" "vault" {
  project  = local.kms_project
  name     = var.name_prefix
  location = coalesce(var.kms_location, var.region)

  depends_on = [time_sleep.apis]
}

resource "google_kms_crypto_key" "vault" {
  name     = "credentials"
  key_ring = google_kms_key_ring.vault.id
  purpose  = "ENCRYPT_DECRYPT"

  # A new primary version every rotation period. Earlier versions stay enabled, so
  # data keys wrapped under them still unwrap; Cloud KMS picks the version itself.
  rotation_period = var.kms_rotation_period

  # If a version is ever scheduled for destruction, 30 days to change one's mind.
  destroy_scheduled_duration = "2592000s"

  version_template {
    algorithm        = "GOOGLE_SYMMETRIC_ENCRYPTION"
    protection_level = var.kms_protection_level
  }

  lifecycle {
    # Destroying this key destroys every stored credential with it.
    prevent_destroy = true
  }
}

# Authoritative for this role on this key: the vault's own runtime service account
# is the only principal that can wrap and unwrap with it. Any other grant of the
# role on the key is removed on the next apply.
resource "google_kms_crypto_key_iam_binding" "vault_runtime" {
  crypto_key_id = google_kms_crypto_key.vault.id
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  members       = [google_service_account.runtime.member]
}

# Record every Encrypt and Decrypt with the key (Cloud KMS Data Access logs are off by
# default): who unwrapped what, and when. Authoritative for Cloud KMS's audit
# configuration in the key's project; Admin Activity logs are always on.
resource "google_project_iam_audit_config" "kms_data_access" {
  project = local.kms_project
  service = "cloudkms.googleapis.com"

  audit_log_config {
    log_type = "DATA_READ"
  }
}

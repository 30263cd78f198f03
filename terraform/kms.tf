# The key-encryption key of the envelope: every credential write gets a fresh data
# key, and Cloud KMS wraps it with this key. Firestore only ever sees ciphertext.

resource "google_kms_key_ring" "vault" {
  project  = var.project_id
  name     = var.name_prefix
  location = coalesce(var.kms_location, var.region)

  depends_on = [google_project_service.enabled]
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

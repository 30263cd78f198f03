"""The envelope lives in vault/keys/envelope.py; this name stays for its importers."""

from vault.keys.envelope import VERSION, EnvelopeCipher, wrapped_key

__all__ = ["VERSION", "EnvelopeCipher", "wrapped_key"]

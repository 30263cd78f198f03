"""Issuer revocations: the vault hears what the Grantex issuer revokes, by webhook
(``webhook``) and by following its revocation feed (``feed``), and denies those grants
and tokens on every instance (the denylists live in the store the exchange reads)."""

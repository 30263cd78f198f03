"""OAuth providers and managed refresh: the vault keeps the tokens it holds alive."""

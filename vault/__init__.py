"""A credential vault for AI agents: OAuth tokens in, encrypted; access tokens out
only to a holder of a valid, scoped grant token."""

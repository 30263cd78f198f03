"""Which scopes of a grant token allow an exchange for a service."""

from __future__ import annotations


def allows(scopes: tuple[str, ...], service: str) -> bool:
    """CONTRACT.md's scope forms for service ``s``, compared lower-case."""
    accepted = {
        "*",
        f"{service}:*",
        f"{service}:read",
        f"{service}:credentials:read",
        f"vault:{service}:*",
        f"vault:{service}:read",
        "vault:credentials:exchange",
    }
    return any(scope in accepted for scope in scopes)

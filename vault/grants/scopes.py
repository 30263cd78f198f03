"""Which scopes of a grant token allow an exchange for a service.

``exact`` (the default) accepts only ``vault:<service>:exchange``, the one scope the
Grantex issuer now grants for releasing a raw upstream credential. ``legacy`` also
accepts the forms older issuers minted (``*``, ``s:read`` ...), for tokens issued
before the migration. Scopes are compared after ASCII-only lower-casing: Unicode case
rules would fold look-alikes such as the Kelvin sign (U+212A) into ``k``, so that
``\u212aubernetes:read`` would pass for ``kubernetes:read``.
"""

from __future__ import annotations

import string
from typing import Literal

ScopeMode = Literal["exact", "legacy"]
SCOPE_MODES: tuple[ScopeMode, ...] = ("exact", "legacy")

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def ascii_lower(text: str) -> str:
    """``A``-``Z`` to ``a``-``z``, every other character unchanged."""
    return text.translate(_ASCII_LOWER)


def exchange_scope(service: str) -> str:
    return f"vault:{service}:exchange"


def accepted_scopes(service: str, mode: ScopeMode) -> frozenset[str]:
    """The scopes, lower-case, that let a grant exchange for ``service``."""
    if mode == "exact":
        return frozenset({exchange_scope(service)})
    if mode == "legacy":
        return frozenset(
            {
                exchange_scope(service),
                "*",
                f"{service}:*",
                f"{service}:read",
                f"{service}:credentials:read",
                f"vault:{service}:*",
                f"vault:{service}:read",
                "vault:credentials:exchange",
            }
        )
    raise ValueError(f"unknown scope mode {mode!r}")


def allows(scopes: tuple[str, ...], service: str, mode: ScopeMode = "exact") -> bool:
    """Whether one of ``scopes`` lets the grant exchange for ``service`` under ``mode``.

    ``service`` is already lower-case ASCII (the request model checks it); each scope is
    lower-cased here too, ASCII only, so the check holds whoever built the claims."""
    accepted = accepted_scopes(ascii_lower(service), mode)
    return any(ascii_lower(scope) in accepted for scope in scopes)

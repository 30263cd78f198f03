"""The one URL rule the vault applies to every address it is given to talk to or to send
a browser to (the issuer's JWKS, OAuth endpoints, redirect URLs, its own public URL):
https, and plain http only on a loopback host, for tests and laptops."""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def is_https_or_loopback(parsed: SplitResult) -> bool:
    host = parsed.hostname
    return bool(host) and (
        parsed.scheme == "https" or (parsed.scheme == "http" and host in LOOPBACK_HOSTS)
    )


def parse_https_url(value: str) -> SplitResult:
    """``value`` parsed, with a valid host and port; ValueError (a message for the caller,
    naming no value) unless it is https, or http on loopback."""
    try:
        parsed = urlsplit(value)
        parsed.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise ValueError("must be a valid URL") from None
    if not is_https_or_loopback(parsed):
        raise ValueError("must be an https URL (http only on loopback)")
    return parsed

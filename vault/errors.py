"""One root exception, flat subclasses; each knows its API code and HTTP status.

Messages are written for the caller and never carry a token, key or stored value.
Only ``vault.http`` turns these into responses.
"""

from __future__ import annotations


class VaultError(Exception):
    code = "INTERNAL_ERROR"
    status = 500
    default_message = "internal error"

    def __init__(self, message: str | None = None, *, reason: str | None = None) -> None:
        self.message = message or self.default_message
        # A short machine-readable cause for the log line (``unknown_key``, ``expired``,
        # ``jwks_unreachable``, ...), never shown to the caller, never a secret: the
        # response stays uniform while the operator can still tell why.
        self.reason = reason
        self.headers: dict[str, str] = {}
        self.extra_body: dict[str, object] = {}
        super().__init__(self.message)


class ConfigurationError(VaultError):
    """A setting is missing or wrong; raised at start, never per request."""


class FieldError:
    __slots__ = ("field", "message")

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class BadRequest(VaultError):
    code = "BAD_REQUEST"
    status = 400
    default_message = "the request is not valid"

    def __init__(
        self,
        message: str | None = None,
        details: list[FieldError] | None = None,
        *,
        reason: str | None = None,
    ):
        super().__init__(message, reason=reason)
        self.details = details or []


class Unauthorized(VaultError):
    code = "UNAUTHORIZED"
    status = 401
    default_message = "missing or invalid credentials"


class Forbidden(VaultError):
    code = "FORBIDDEN"
    status = 403
    default_message = "not allowed"


class NotFound(VaultError):
    code = "NOT_FOUND"
    status = 404
    default_message = "not found"


class MethodNotAllowed(VaultError):
    code = "METHOD_NOT_ALLOWED"
    status = 405
    default_message = "method not allowed"

    def __init__(self, allowed: tuple[str, ...]) -> None:
        super().__init__()
        self.headers["Allow"] = ", ".join(allowed)


class CredentialExpired(VaultError):
    code = "CREDENTIAL_EXPIRED"
    status = 409
    default_message = "the stored access token has expired"


class PayloadTooLarge(VaultError):
    code = "PAYLOAD_TOO_LARGE"
    status = 413
    default_message = "the request body is larger than 65536 bytes"


class UnsupportedMediaType(VaultError):
    code = "UNSUPPORTED_MEDIA_TYPE"
    status = 415
    default_message = "the request body must be application/json (utf-8)"


class RateLimited(VaultError):
    code = "RATE_LIMIT_EXCEEDED"
    status = 429
    default_message = "too many requests"

    def __init__(
        self, headers: dict[str, str], message: str | None = None, *, reason: str = "rate_limited"
    ) -> None:
        super().__init__(message, reason=reason)
        self.headers.update(headers)


class DependencyUnavailable(VaultError):
    """A remote dependency (Firestore, KMS, disk) failed; nothing was written."""

    code = "SERVICE_UNAVAILABLE"
    status = 503
    default_message = "a dependency is unavailable, retry later"

    def __init__(
        self, message: str | None = None, retry_after: int = 1, *, reason: str | None = None
    ) -> None:
        super().__init__(message, reason=reason)
        self.headers["Retry-After"] = str(retry_after)


class IntegrityError(VaultError):
    """Stored ciphertext failed authentication: tampered, moved, or wrong key."""

    default_message = "internal error"


class ReferenceDisabled(BadRequest):
    code = "CREDENTIAL_REFERENCE_DISABLED"
    default_message = "credential references are disabled on this vault"


class GrantMismatch(Forbidden):
    code = "GRANT_MISMATCH"
    default_message = "the credential reference was issued to another grant"


class GrantInactive(Forbidden):
    code = "GRANT_INACTIVE"
    default_message = "the grant is no longer active"


class ReferenceExpired(VaultError):
    code = "CREDENTIAL_REFERENCE_EXPIRED"
    status = 410
    default_message = "the credential reference has expired"


class InvalidDpopProof(Unauthorized):
    """The exchange of a key-bound grant token came without a valid DPoP proof."""

    code = "INVALID_DPOP_PROOF"
    default_message = "a valid DPoP proof is required for this grant token"

    def __init__(self, message: str | None = None, *, reason: str | None = None) -> None:
        super().__init__(message, reason=reason)
        self.headers["WWW-Authenticate"] = 'DPoP error="invalid_dpop_proof"'


class DpopKeyMismatch(Unauthorized):
    """A valid DPoP proof, signed by a key the grant token is not bound to."""

    code = "DPOP_KEY_MISMATCH"
    default_message = "the DPoP proof is signed by a key this grant token is not bound to"

    def __init__(self, message: str | None = None, *, reason: str | None = None) -> None:
        super().__init__(message, reason=reason)
        self.headers["WWW-Authenticate"] = 'DPoP error="invalid_token"'

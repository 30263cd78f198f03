"""Request models: every field has a rule, and a broken rule names its field.

Validation is strict (no coercion: a number is not a string), unknown fields are
ignored, and error messages never echo the input (it may be a token).

Each model builds its validator on first use (``defer_build``), not at import: building
all four costs about 40 ms, which a cold start pays only for the endpoint it serves.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from vault.errors import BadRequest, FieldError
from vault.timefmt import to_micros

MAX_TOKEN_LENGTH = 16_384
MAX_PRINCIPAL_LENGTH = 256
MAX_METADATA_BYTES = 8_192
MAX_METADATA_DEPTH = 10
# The Grantex SDKs do not follow cursors: one page must hold every credential of a principal.
MAX_PAGE_SIZE = 1000
MAX_MIN_VALIDITY_SECONDS = 3600
CREDENTIAL_STATUSES = ("active", "expired", "needs_reauth")
_Model = TypeVar("_Model", bound=BaseModel)

# re.ASCII keeps IGNORECASE from matching look-alikes such as the Kelvin sign.
SERVICE_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}", re.ASCII | re.IGNORECASE)
CREDENTIAL_TYPE_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}", re.ASCII)
_LIMIT = re.compile(r"[0-9]{1,4}", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)


def _unicode_scalar_text(value: str) -> str:
    # JSON may smuggle in lone surrogates (\ud800), which no store can hold as UTF-8.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no unpaired surrogates)") from None
    return value


def check_principal(value: str) -> str:
    if not 1 <= len(value) <= MAX_PRINCIPAL_LENGTH:
        raise ValueError(f"must be 1-{MAX_PRINCIPAL_LENGTH} characters")
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    if value != value.strip():
        raise ValueError("must not start or end with white space")
    return _unicode_scalar_text(value)


def check_limit(value: str, maximum: int) -> str:
    """A page size in a query string: digits only, 1 to ``maximum``."""
    if not _LIMIT.fullmatch(value) or not 1 <= int(value) <= maximum:
        raise ValueError(f"must be an integer from 1 to {maximum}")
    return value


def check_cursor(value: str | None) -> str | None:
    """Only the shape here; the cursor's tag and position are checked where it is read."""
    if value is not None and not 1 <= len(value) <= 512:
        raise ValueError("must be a nextCursor returned by the same query")
    return value


def check_service(value: str) -> str:
    if not SERVICE_PATTERN.fullmatch(value):
        raise ValueError(
            "must be 1-64 characters of letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return value.lower()


def parse_rfc3339(value: str) -> int:
    """An RFC 3339 date-time with an offset, as epoch microseconds (UTC)."""
    match = _RFC3339.fullmatch(value)
    if not match:
        raise ValueError("must be an RFC 3339 date-time with an offset, e.g. 2026-04-05T12:00:00Z")
    fraction = (match.group(7) or "").ljust(6, "0")[:6]
    offset = match.group(8)
    normalised = (
        f"{match.group(1)}-{match.group(2)}-{match.group(3)}T{match.group(4)}:"
        f"{match.group(5)}:{match.group(6)}.{fraction}"
        f"{'+00:00' if offset in ('Z', 'z') else offset}"
    )
    try:
        moment = datetime.fromisoformat(normalised)
    except ValueError:
        raise ValueError("is not a real date and time") from None
    try:
        # In UTC it must still be a year from 0001 to 9999, or it cannot be written
        # back out in RFC 3339.
        return to_micros(moment.astimezone(UTC))
    except (OverflowError, ValueError):
        raise ValueError("is out of range") from None


def _depth(value: Any) -> int:
    """Levels of nesting: an object or array is one level plus its deepest child."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if level > deepest:
            deepest = level
        if level > MAX_METADATA_DEPTH:
            break
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, dict | list):
                stack.append((child, level + 1))
    return deepest


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


class StoreCredentialRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, defer_build=True)

    principal_id: str = Field(alias="principalId")
    service: str
    access_token: str = Field(alias="accessToken", repr=False)
    credential_type: str | None = Field(default=None, alias="credentialType")
    refresh_token: str | None = Field(default=None, alias="refreshToken", repr=False)
    token_expires_at: str | None = Field(default=None, alias="tokenExpiresAt")
    metadata: dict[str, Any] | None = None

    @field_validator("principal_id")
    @classmethod
    def _principal(cls, value: str) -> str:
        return check_principal(value)

    @field_validator("service")
    @classmethod
    def _service(cls, value: str) -> str:
        return check_service(value)

    @field_validator("access_token", "refresh_token")
    @classmethod
    def _token(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not 1 <= len(value) <= MAX_TOKEN_LENGTH:
            raise ValueError(f"must be 1-{MAX_TOKEN_LENGTH} characters")
        return _unicode_scalar_text(value)

    @field_validator("credential_type")
    @classmethod
    def _credential_type(cls, value: str | None) -> str | None:
        if value is not None and not CREDENTIAL_TYPE_PATTERN.fullmatch(value):
            raise ValueError(
                "must be 1-32 lower-case letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        return value

    @field_validator("token_expires_at")
    @classmethod
    def _expiry(cls, value: str | None) -> str | None:
        if value is not None:
            parse_rfc3339(value)
        return value

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        if _depth(value) > MAX_METADATA_DEPTH:
            raise ValueError(f"must be nested at most {MAX_METADATA_DEPTH} levels deep")
        try:
            size = len(compact_json(value).encode("utf-8"))
        except (UnicodeEncodeError, ValueError):
            raise ValueError("must be valid Unicode text and finite numbers") from None
        if size > MAX_METADATA_BYTES:
            raise ValueError(f"must be at most {MAX_METADATA_BYTES} bytes as compact JSON")
        return value

    def is_set(self, field: str) -> bool:
        """Present in the request (``None`` included), as opposed to absent."""
        return field in self.model_fields_set

    def expiry_micros(self) -> int | None:
        return None if self.token_expires_at is None else parse_rfc3339(self.token_expires_at)


class ListCredentialsQuery(BaseModel):
    """Query parameters arrive as text; ``limit`` is checked as digits, then range."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, defer_build=True)

    principal_id: str | None = Field(default=None, alias="principalId")
    service: str | None = None
    limit: str = str(MAX_PAGE_SIZE)
    cursor: str | None = None
    status: str | None = None
    expiring_before: str | None = Field(default=None, alias="expiringBefore")

    @field_validator("principal_id")
    @classmethod
    def _principal(cls, value: str | None) -> str | None:
        return None if value is None else check_principal(value)

    @field_validator("status")
    @classmethod
    def _status(cls, value: str | None) -> str | None:
        if value is not None and value not in CREDENTIAL_STATUSES:
            raise ValueError("must be one of " + ", ".join(CREDENTIAL_STATUSES))
        return value

    @field_validator("expiring_before")
    @classmethod
    def _expiring_before(cls, value: str | None) -> str | None:
        if value is not None:
            parse_rfc3339(value)
        return value

    def expiring_before_micros(self) -> int | None:
        return None if self.expiring_before is None else parse_rfc3339(self.expiring_before)

    @field_validator("service")
    @classmethod
    def _service(cls, value: str | None) -> str | None:
        return None if value is None else check_service(value)

    @field_validator("limit")
    @classmethod
    def _limit(cls, value: str) -> str:
        return check_limit(value, MAX_PAGE_SIZE)

    @field_validator("cursor")
    @classmethod
    def _cursor(cls, value: str | None) -> str | None:
        return check_cursor(value)

    @property
    def page_size(self) -> int:
        return int(self.limit)


class EraseQuery(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, defer_build=True)

    principal_id: str = Field(alias="principalId")

    @field_validator("principal_id")
    @classmethod
    def _principal(cls, value: str) -> str:
        return check_principal(value)


class ExchangeRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, defer_build=True)

    service: str
    delivery: Literal["token", "reference"] = "token"
    min_validity_seconds: int = Field(default=0, alias="minValiditySeconds")

    @field_validator("service")
    @classmethod
    def _service(cls, value: str) -> str:
        return check_service(value)

    @field_validator("min_validity_seconds")
    @classmethod
    def _min_validity(cls, value: int) -> int:
        if not 0 <= value <= MAX_MIN_VALIDITY_SECONDS:
            raise ValueError(f"must be an integer from 0 to {MAX_MIN_VALIDITY_SECONDS}")
        return value


_REFERENCE_ID = re.compile(r"vcr_[0-9A-HJKMNP-TV-Z]{26}", re.ASCII)


class ResolveRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, defer_build=True)

    credential_ref: str = Field(alias="credentialRef")
    grant_id: str = Field(alias="grantId")

    @field_validator("credential_ref")
    @classmethod
    def _reference(cls, value: str) -> str:
        if not _REFERENCE_ID.fullmatch(value):
            raise ValueError("must be a credential reference (vcr_ and 26 base32 characters)")
        return value

    @field_validator("grant_id")
    @classmethod
    def _grant(cls, value: str) -> str:
        return check_identifier(value)


def check_identifier(value: str) -> str:
    """An issuer's id (grant id, delivery id): 1-256 characters, no control characters."""
    if not 1 <= len(value) <= MAX_PRINCIPAL_LENGTH:
        raise ValueError(f"must be 1-{MAX_PRINCIPAL_LENGTH} characters")
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return _unicode_scalar_text(value)


def validate(model: type[_Model], body: dict[str, Any]) -> _Model:
    try:
        return model.model_validate(body)
    except ValidationError as error:
        details = [
            FieldError(
                ".".join(str(part) for part in issue["loc"]) or "body",
                issue["msg"].removeprefix("Value error, "),
            )
            for issue in error.errors(include_url=False, include_input=False)
        ]
        raise BadRequest("the request is not valid", details) from None

"""The connect-session request: every field has a rule (the store's rules for
``principalId`` and ``service``), and a broken rule names its field."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vault.models import check_principal, check_service
from vault.urls import parse_https_url

MIN_EXPIRY_SECONDS = 60
MAX_EXPIRY_SECONDS = 3600
MAX_SCOPES = 50
MAX_REDIRECT_URL_LENGTH = 2048
# RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,256}", re.ASCII)
# Printable ASCII without space, quote, angle brackets or backslash: the URL goes into
# a Location header and never needs escaping there.
_URL_CHARACTERS = re.compile(r"[\x21\x23-\x3b\x3d\x3f-\x5b\x5d-\x7e]+", re.ASCII)


def check_redirect_url(value: str) -> str:
    if len(value) > MAX_REDIRECT_URL_LENGTH or not _URL_CHARACTERS.fullmatch(value):
        raise ValueError(
            f"must be an absolute URL of at most {MAX_REDIRECT_URL_LENGTH} printable "
            "ASCII characters"
        )
    parsed = parse_https_url(value)
    if parsed.username is not None or parsed.password is not None:
        raise ValueError("must not carry a user name or password")
    if parsed.fragment or "#" in value:
        raise ValueError("must not have a fragment")
    return value


class CreateConnectSessionRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, defer_build=True)

    principal_id: str = Field(alias="principalId")
    service: str
    scopes: list[str] | None = None
    redirect_url: str | None = Field(default=None, alias="redirectUrl")
    expires_in_seconds: int = Field(default=600, alias="expiresInSeconds")

    @field_validator("principal_id")
    @classmethod
    def _principal(cls, value: str) -> str:
        return check_principal(value)

    @field_validator("service")
    @classmethod
    def _service(cls, value: str) -> str:
        return check_service(value)

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if len(value) > MAX_SCOPES:
            raise ValueError(f"must have at most {MAX_SCOPES} scopes")
        for scope in value:
            if not _SCOPE_TOKEN.fullmatch(scope):
                raise ValueError("each scope must be 1-256 printable ASCII characters (RFC 6749)")
        return list(dict.fromkeys(value))

    @field_validator("redirect_url")
    @classmethod
    def _redirect(cls, value: str | None) -> str | None:
        return None if value is None else check_redirect_url(value)

    @field_validator("expires_in_seconds")
    @classmethod
    def _expiry(cls, value: int) -> int:
        if not MIN_EXPIRY_SECONDS <= value <= MAX_EXPIRY_SECONDS:
            raise ValueError(
                f"must be an integer from {MIN_EXPIRY_SECONDS} to {MAX_EXPIRY_SECONDS}"
            )
        return value

    def scopes_or(self, default: Sequence[str]) -> tuple[str, ...]:
        return tuple(default if self.scopes is None else self.scopes)

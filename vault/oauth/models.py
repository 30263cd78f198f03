"""The provider request: every field has a rule, and no message echoes a value (the
client secret is one)."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vault.oauth.ports import AUTH_METHODS, DEFAULT_LEEWAY_SECONDS, MAX_LEEWAY_SECONDS
from vault.urls import parse_https_url

MAX_URL_LENGTH = 2048
MAX_SCOPES = 50
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,128}", re.ASCII)  # RFC 6749 3.3
_VISIBLE = re.compile(r"[\x21-\x7e]+", re.ASCII)


def check_url(value: str | None) -> str | None:
    """https, or http on loopback; no credentials, no fragment."""
    if value is None:
        return None
    if len(value) > MAX_URL_LENGTH or not _VISIBLE.fullmatch(value):
        raise ValueError(f"must be a URL of at most {MAX_URL_LENGTH} visible ASCII characters")
    parsed = parse_https_url(value)
    if parsed.username is not None or parsed.password is not None or parsed.fragment:
        raise ValueError("must not carry credentials or a fragment")
    return value


class ProviderRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, defer_build=True)

    issuer: str | None = None
    token_url: str | None = Field(default=None, alias="tokenUrl")
    client_id: str = Field(alias="clientId")
    client_secret: str | None = Field(default=None, alias="clientSecret", repr=False)
    token_auth_method: str = Field(default="client_secret_basic", alias="tokenAuthMethod")
    revocation_url: str | None = Field(default=None, alias="revocationUrl")
    authorization_url: str | None = Field(default=None, alias="authorizationUrl")
    scopes: list[str] | None = None
    refresh_leeway_seconds: int = Field(
        default=DEFAULT_LEEWAY_SECONDS, alias="refreshLeewaySeconds"
    )

    @field_validator("issuer", "token_url", "revocation_url", "authorization_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return check_url(value)

    @field_validator("client_id")
    @classmethod
    def _client_id(cls, value: str) -> str:
        if not 1 <= len(value) <= 256 or not _VISIBLE.fullmatch(value):
            raise ValueError("must be 1-256 visible ASCII characters")
        return value

    @field_validator("client_secret")
    @classmethod
    def _client_secret(cls, value: str | None) -> str | None:
        if value is not None and (not 1 <= len(value) <= 4096 or not _VISIBLE.fullmatch(value)):
            raise ValueError("must be 1-4096 visible ASCII characters")
        return value

    @field_validator("token_auth_method")
    @classmethod
    def _auth_method(cls, value: str) -> str:
        if value not in AUTH_METHODS:
            raise ValueError("must be one of " + ", ".join(AUTH_METHODS))
        return value

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if len(value) > MAX_SCOPES:
            raise ValueError(f"must hold at most {MAX_SCOPES} scopes")
        for scope in value:
            if not _SCOPE_TOKEN.fullmatch(scope):
                raise ValueError("each scope must be 1-128 characters allowed by RFC 6749")
        return value

    @field_validator("refresh_leeway_seconds")
    @classmethod
    def _leeway(cls, value: int) -> int:
        if not 0 <= value <= MAX_LEEWAY_SECONDS:
            raise ValueError(f"must be an integer from 0 to {MAX_LEEWAY_SECONDS}")
        return value

    @model_validator(mode="after")
    def _endpoints(self) -> ProviderRequest:
        if self.issuer is None and self.token_url is None:
            raise ValueError("tokenUrl is required (or issuer, to discover it)")
        return self

    def is_set(self, field: str) -> bool:
        return field in self.model_fields_set

"""vault/openapi.json is a valid OpenAPI 3.1 document that says what CONTRACT.md says,
and the response checker built on it (tests/support/openapi_check.py) tells right
responses from wrong ones. No vault app is started: every response here is hand-made."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import flask
import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from tests.support import openapi_check
from tests.support.openapi_check import (
    SEEN,
    CheckingClient,
    ResponseChecker,
    load_document,
)
from vault import errors as vault_errors

DOCUMENT = load_document()
CHECKER = ResponseChecker(DOCUMENT)

LIST = "/v1/vault/credentials"
ONE = "/v1/vault/credentials/{id}"
EXCHANGE = "/v1/vault/credentials/exchange"
RESOLVE = "/v1/vault/credentials/resolve"
WEBHOOK = "/v1/vault/webhooks/grantex"
SPEC = "/openapi.json"
AUDIT = "/v1/vault/audit"
REFRESH = "/v1/vault/credentials/{id}/refresh"
PROVIDERS = "/v1/vault/providers"
PROVIDER = "/v1/vault/providers/{service}"
BODILESS_POSTS = {REFRESH}
CONNECT_SESSIONS = "/v1/vault/connect-sessions"
CONNECT_SESSION = "/v1/vault/connect-sessions/{id}"
CONNECT_OPEN = "/v1/vault/connect/{id}"
CONNECT_CALLBACK = "/v1/vault/oauth/callback"
BROWSER_PATHS = {CONNECT_OPEN, CONNECT_CALLBACK}  # no auth; pages and redirects

# (method, path) -> operationId, and the statuses CONTRACT.md says each can answer.
OPERATIONS: dict[tuple[str, str], tuple[str, set[int]]] = {
    ("post", LIST): ("storeCredential", {201, 400, 401, 413, 415, 429, 500, 503}),
    ("get", LIST): ("listCredentials", {200, 400, 401, 429, 500, 503}),
    ("delete", LIST): ("eraseCredentials", {200, 400, 401, 429, 500, 503}),
    ("get", ONE): ("getCredential", {200, 401, 404, 429, 500, 503}),
    ("delete", ONE): ("deleteCredential", {204, 401, 404, 429, 500, 503}),
    (
        "post",
        EXCHANGE,
    ): ("exchangeCredential", {200, 400, 401, 403, 404, 409, 413, 415, 429, 500, 503}),
    ("post", RESOLVE): (
        "resolveCredentialReference",
        {200, 400, 401, 403, 404, 409, 410, 413, 415, 429, 500, 503},
    ),
    ("post", WEBHOOK): ("receiveGrantexWebhook", {200, 400, 401, 404, 413, 415, 429, 500, 503}),
    ("get", SPEC): ("getOpenApiDocument", {200}),
    ("get", AUDIT): ("listAuditEntries", {200, 400, 401, 429, 500, 503}),
    ("post", REFRESH): ("refreshCredential", {200, 400, 401, 404, 429, 500, 503}),
    ("get", PROVIDERS): ("listProviders", {200, 401, 429, 500, 503}),
    ("put", PROVIDER): ("putProvider", {200, 400, 401, 415, 429, 500, 503}),
    ("get", PROVIDER): ("getProvider", {200, 400, 401, 404, 429, 500, 503}),
    ("delete", PROVIDER): ("deleteProvider", {204, 400, 401, 404, 429, 500, 503}),
    ("post", CONNECT_SESSIONS): ("createConnectSession", {201, 400, 401, 413, 415, 429, 500, 503}),
    ("get", CONNECT_SESSION): ("getConnectSession", {200, 401, 404, 429, 500, 503}),
    ("get", CONNECT_OPEN): ("openConnectSession", {302, 400, 404, 409, 500, 503}),
    ("get", CONNECT_CALLBACK): ("connectCallback", {200, 302, 400, 500, 503}),
}
CONTRACT_CODES = {
    "BAD_REQUEST": 400,
    "CREDENTIAL_REFERENCE_DISABLED": 400,
    "UNAUTHORIZED": 401,
    "INVALID_DPOP_PROOF": 401,
    "DPOP_KEY_MISMATCH": 401,
    "FORBIDDEN": 403,
    "GRANT_MISMATCH": 403,
    "GRANT_INACTIVE": 403,
    "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "CREDENTIAL_EXPIRED": 409,
    "CREDENTIAL_REFERENCE_EXPIRED": 410,
    "PAYLOAD_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "RATE_LIMIT_EXCEEDED": 429,
    "INTERNAL_ERROR": 500,
    "SERVICE_UNAVAILABLE": 503,
}
CONTRACT_CODES_BY_STATUS: dict[int, set[str]] = {}
for _code, _status in CONTRACT_CODES.items():
    CONTRACT_CODES_BY_STATUS.setdefault(_status, set()).add(_code)
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}

ID = "vc_mfrggzdfmztwq2lknnwg23tpobyxe43u"
T0 = "2026-04-05T12:00:00.000Z"
T1 = "2026-04-06T12:00:00.123Z"
REQUEST_ID = "req-1.a:b_c"


def all_operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for template, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield method, template, operation


def walk(node: Any, where: str = "#") -> Iterator[tuple[str, Any]]:
    yield where, node
    if isinstance(node, dict):
        for key, child in node.items():
            yield from walk(child, f"{where}/{key}")
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from walk(child, f"{where}/{index}")


# --------------------------------------------------------------------------- the document


def test_the_document_is_valid_openapi_3_1() -> None:
    assert DOCUMENT["openapi"] == "3.1.0"
    validate(DOCUMENT, cls=OpenAPIV31SpecValidator)


def test_every_ref_resolves_and_every_component_is_used() -> None:
    refs = {
        node["$ref"]
        for _, node in walk(DOCUMENT)
        if isinstance(node, dict) and isinstance(node.get("$ref"), str)
    }
    assert refs
    for ref in refs:
        assert ref.startswith("#/components/"), ref
        CHECKER.resolve(ref[1:])  # raises AssertionError when it points at nothing

    # The checker itself uses the responses any path may answer (405 is never an
    # operation's own response: it answers the methods a path does not document).
    refs |= {
        f"#/components/responses/{name}"
        for name in [*openapi_check.ANY_PATH_RESPONSES.values(), openapi_check.OPTIONS_RESPONSE]
    }
    for kind, members in DOCUMENT["components"].items():
        if kind == "securitySchemes":
            continue
        for name in members:
            assert f"#/components/{kind}/{name}" in refs, f"{kind}/{name} is never used"


def test_info_servers_tags_and_security_schemes() -> None:
    info = DOCUMENT["info"]
    assert info["title"] == "Grantex credential vault"
    assert info["version"] == "1.0.0"
    assert info["description"].strip()
    assert DOCUMENT["servers"] == [
        {"url": "http://127.0.0.1:8080", "description": "local (make run)"}
    ]
    schemes = DOCUMENT["components"]["securitySchemes"]
    assert schemes["apiKey"]["type"] == "http" and schemes["apiKey"]["scheme"] == "bearer"
    assert "gx_live_" in schemes["apiKey"]["description"]
    assert schemes["grantToken"]["type"] == "http" and schemes["grantToken"]["scheme"] == "bearer"
    assert schemes["grantToken"]["bearerFormat"] == "JWT"
    assert schemes["grantTokenDpop"]["type"] == "http"
    assert schemes["grantTokenDpop"]["scheme"] == "dpop"
    declared_tags = {tag["name"] for tag in DOCUMENT["tags"]}
    for _, _, operation in all_operations():
        assert set(operation["tags"]) <= declared_tags


def test_the_paths_are_the_contracts() -> None:
    assert set(DOCUMENT["paths"]) == {
        LIST,
        ONE,
        EXCHANGE,
        RESOLVE,
        WEBHOOK,
        SPEC,
        AUDIT,
        REFRESH,
        PROVIDERS,
        PROVIDER,
        CONNECT_SESSIONS,
        CONNECT_SESSION,
    } | (BROWSER_PATHS)
    documented = {
        (method, template): operation["operationId"]
        for method, template, operation in all_operations()
        if method != "options"
    }
    assert documented == {key: value[0] for key, value in OPERATIONS.items()}


@pytest.mark.parametrize(
    ("method", "template", "operation"),
    list(all_operations()),
    ids=[f"{method.upper()} {template}" for method, template, _ in all_operations()],
)
def test_every_operation_has_id_summary_security_and_responses(
    method: str, template: str, operation: dict[str, Any]
) -> None:
    assert operation["operationId"]
    assert operation["summary"].strip()
    assert operation["description"].strip()
    assert "security" in operation, "security (or an explicit []) is required"
    if method == "options" or template == SPEC or template in BROWSER_PATHS:
        assert operation["security"] == []
    elif template == EXCHANGE:
        assert operation["security"] == [{"grantToken": []}, {"grantTokenDpop": []}]
    elif template == WEBHOOK:
        assert operation["security"] == [{"grantexSignature": []}]
    else:
        assert operation["security"] == [{"apiKey": []}]
    if method == "options":
        assert set(operation["responses"]) >= {"204", "413"}
        return
    expected = OPERATIONS[(method, template)][1]
    documented = {int(status) for status in operation["responses"]}
    assert expected <= documented, f"missing {sorted(expected - documented)}"
    assert 413 in documented  # the body size is checked before anything else
    if method in ("post", "put", "patch") and template not in BODILESS_POSTS:
        body = operation["requestBody"]
        assert body["required"] is True
        assert list(body["content"]) == ["application/json"]


def test_operation_ids_are_unique() -> None:
    ids = [operation["operationId"] for _, _, operation in all_operations()]
    assert len(ids) == len(set(ids))


def test_error_codes_are_the_contracts_and_the_codes_vault_raises() -> None:
    enum = DOCUMENT["components"]["schemas"]["ErrorCode"]["enum"]
    assert set(enum) == set(CONTRACT_CODES)
    raised = {
        cls.code
        for cls in vars(vault_errors).values()
        if isinstance(cls, type) and issubclass(cls, vault_errors.VaultError)
    }
    assert raised <= set(enum)


def test_each_error_response_pins_its_code_to_its_status() -> None:
    for method, template, operation in all_operations():
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            resolved, pointer = (
                CHECKER.resolve(response["$ref"][1:])
                if "$ref" in response
                else (
                    response,
                    f"{method} {template} {status}",
                )
            )
            if "text/html" in resolved["content"]:
                assert template in BROWSER_PATHS, pointer  # a connect page, not an API error
                continue
            schema = resolved["content"]["application/json"]["schema"]
            allowed = CONTRACT_CODES_BY_STATUS[int(status)]
            if "allOf" in schema:
                pinned = schema["allOf"][1]["properties"]["code"]
            else:
                pinned = CHECKER.resolve(schema["$ref"][1:])[0]["properties"]["code"]
            codes = {pinned["const"]} if "const" in pinned else set(pinned["enum"])
            assert codes and codes <= allowed, (method, template, status, codes)


def test_response_objects_are_closed_and_request_bodies_open() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    for name in (
        "StoreCredentialRequest",
        "ExchangeRequest",
        "ResolveRequest",
        "WebhookEvent",
        "CreateConnectSessionRequest",
    ):
        assert schemas[name]["additionalProperties"] is True, name
    for name in (
        "StoreCredentialResponse",
        "VaultCredential",
        "CredentialList",
        "EraseResponse",
        "ExchangeResponse",
        "ExchangeReferenceResponse",
        "ResolveResponse",
        "WebhookReceipt",
        "Error",
        "CredentialExpiredError",
        "FieldDetail",
        "ConnectSessionCreated",
        "ConnectSession",
    ):
        schema = schemas[name]
        assert schema["additionalProperties"] is False, name
        assert set(schema["required"]) == set(schema["properties"]) - {"details"}, name


def test_common_headers_are_documented() -> None:
    headers = DOCUMENT["components"]["headers"]
    assert headers["X-Request-Id"]["required"] is True
    assert headers["X-Content-Type-Options"]["schema"]["const"] == "nosniff"
    assert headers["Retry-After"]["schema"]["type"] == "integer"
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert headers[name]["schema"]["type"] == "integer"
    for _, _, operation in all_operations():
        for status, response in operation["responses"].items():
            resolved = CHECKER.resolve(response["$ref"][1:])[0] if "$ref" in response else response
            assert "X-Request-Id" in resolved["headers"], status
            assert "X-Content-Type-Options" in resolved["headers"], status
            if status in ("429", "503"):
                assert "Retry-After" in resolved["headers"]


@pytest.mark.parametrize(
    "body",
    [
        {"principalId": "user_abc123", "service": "github", "accessToken": "ghp_x"},
        {
            "principalId": "Ünïcødé user",
            "service": "GitHub.Enterprise-1",
            "accessToken": "t",
            "credentialType": "oauth2.pkce",
            "refreshToken": "r",
            "tokenExpiresAt": "2026-04-06T14:00:00.5+02:00",
            "metadata": {"scopes": ["repo"]},
            "unknown": "ignored",
        },
        {
            "principalId": "u",
            "service": "s",
            "accessToken": "t",
            "credentialType": None,
            "refreshToken": None,
            "tokenExpiresAt": None,
            "metadata": None,
        },
    ],
)
def test_store_request_schema_accepts_what_the_contract_allows(body: dict[str, Any]) -> None:
    validator = CHECKER.validator("/components/schemas/StoreCredentialRequest")
    assert list(validator.iter_errors(body)) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("principalId", ""),
        ("principalId", " padded"),
        ("principalId", "padded "),
        ("principalId", "tab\tinside"),
        ("principalId", "x" * 257),
        ("service", "-github"),
        ("service", "x" * 65),
        ("service", "git hub"),
        ("accessToken", ""),
        ("accessToken", 42),
        ("credentialType", "OAuth2"),
        ("refreshToken", ""),
        ("tokenExpiresAt", "tomorrow"),
        ("tokenExpiresAt", "2026-04-06T12:00:00"),
        ("metadata", ["not", "an", "object"]),
        ("metadata", "{}"),
    ],
)
def test_store_request_schema_rejects_what_the_contract_refuses(field: str, value: Any) -> None:
    body = {"principalId": "u", "service": "github", "accessToken": "t", field: value}
    validator = CHECKER.validator("/components/schemas/StoreCredentialRequest")
    assert list(validator.iter_errors(body)), f"{field}={value!r} was accepted"


# --------------------------------------------------------------------------- the checker


def headers(**extra: str) -> dict[str, str]:
    base = {
        "X-Request-Id": REQUEST_ID,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
        "Content-Type": "application/json",
        "X-RateLimit-Limit": "1200",
        "X-RateLimit-Remaining": "1199",
        "X-RateLimit-Reset": "1775390460",
    }
    base.update({name.replace("_", "-"): value for name, value in extra.items()})
    return {name: value for name, value in base.items() if value != "DROP"}


def stored() -> dict[str, Any]:
    return {
        "id": ID,
        "principalId": "user_abc123",
        "service": "github",
        "credentialType": "oauth2",
        "createdAt": T0,
        "updatedAt": T1,
    }


def item(**changes: Any) -> dict[str, Any]:
    return {
        **stored(),
        "tokenExpiresAt": T1,
        "hasRefreshToken": True,
        "status": "active",
        "lastRefreshedAt": None,
        "lastError": None,
        "metadata": {"scopes": ["repo"]},
        **changes,
    }


def exchanged(**changes: Any) -> dict[str, Any]:
    return {
        "accessToken": "ghp_secret",
        "service": "github",
        "credentialType": "oauth2",
        "tokenExpiresAt": None,
        "metadata": {},
        **changes,
    }


def error(code: str, **extra: Any) -> dict[str, Any]:
    return {"message": "something", "code": code, "requestId": REQUEST_ID, **extra}


def raw(value: Any) -> bytes:
    return json.dumps(value).encode()


# (method, path, status, headers, body)
Sample = tuple[str, str, int, dict[str, str], bytes]

GOOD: dict[str, Sample] = {
    "store 201": ("POST", LIST, 201, headers(), raw(stored())),
    "store 201 without rate headers (limiter off)": (
        "POST",
        LIST,
        201,
        headers(X_RateLimit_Limit="DROP", X_RateLimit_Remaining="DROP", X_RateLimit_Reset="DROP"),
        raw(stored()),
    ),
    "store 400 with details": (
        "POST",
        LIST,
        400,
        headers(),
        raw(error("BAD_REQUEST", details=[{"field": "service", "message": "is required"}])),
    ),
    "store 415": ("POST", LIST, 415, headers(), raw(error("UNSUPPORTED_MEDIA_TYPE"))),
    "store 401 (no rate headers, no cache header)": (
        "POST",
        LIST,
        401,
        headers(
            X_RateLimit_Limit="DROP",
            X_RateLimit_Remaining="DROP",
            X_RateLimit_Reset="DROP",
            Cache_Control="DROP",
        ),
        raw(error("UNAUTHORIZED")),
    ),
    "list 200, last page": (
        "GET",
        LIST + "?limit=5",
        200,
        headers(),
        raw({"credentials": [item(), item(tokenExpiresAt=None, metadata={})], "nextCursor": None}),
    ),
    "list 200, more pages": (
        "GET",
        LIST,
        200,
        headers(),
        raw({"credentials": [], "nextCursor": "eyJ2IjoxfQ.abc"}),
    ),
    "list HEAD 200 has no body": ("HEAD", LIST, 200, headers(), b""),
    "erase 200": ("DELETE", LIST, 200, headers(), raw({"deleted": 0})),
    "get 200": ("GET", f"{LIST}/{ID}", 200, headers(), raw(item())),
    "get 404": ("GET", f"{LIST}/vc_nope", 404, headers(), raw(error("NOT_FOUND"))),
    "delete 204": (
        "DELETE",
        f"{LIST}/{ID}",
        204,
        headers(Content_Type="DROP"),
        b"",
    ),
    "exchange 200": ("POST", EXCHANGE, 200, headers(), raw(exchanged(tokenExpiresAt=T1))),
    "exchange 403": ("POST", EXCHANGE, 403, headers(), raw(error("FORBIDDEN"))),
    "exchange 409": (
        "POST",
        EXCHANGE,
        409,
        headers(),
        raw(error("CREDENTIAL_EXPIRED", tokenExpiresAt=T0, status="expired")),
    ),
    "429 with Retry-After only (auth failures)": (
        "GET",
        LIST,
        429,
        headers(
            X_RateLimit_Limit="DROP",
            X_RateLimit_Remaining="DROP",
            X_RateLimit_Reset="DROP",
            Retry_After="3",
        ),
        raw(error("RATE_LIMIT_EXCEEDED")),
    ),
    "503 with Retry-After": (
        "DELETE",
        f"{LIST}/{ID}",
        503,
        headers(Retry_After="1"),
        raw(error("SERVICE_UNAVAILABLE")),
    ),
    "500 on any operation": ("GET", SPEC, 500, headers(), raw(error("INTERNAL_ERROR"))),
    "405 on a known path": (
        "PUT",
        LIST,
        405,
        headers(Allow="DELETE, GET, HEAD, OPTIONS, POST"),
        raw(error("METHOD_NOT_ALLOWED")),
    ),
    "405 GET on exchange": (
        "GET",
        EXCHANGE,
        405,
        headers(Allow="OPTIONS, POST"),
        raw(error("METHOD_NOT_ALLOWED")),
    ),
    "OPTIONS 204": (
        "OPTIONS",
        f"{LIST}/{ID}",
        204,
        headers(Allow="DELETE, GET, HEAD, OPTIONS", Content_Type="DROP"),
        b"",
    ),
    "unknown path 404": (
        "GET",
        "/v1/vault/nothing",
        404,
        headers(Cache_Control="DROP"),
        raw(error("NOT_FOUND")),
    ),
    "unknown path 413": (
        "POST",
        "/anything",
        413,
        headers(Cache_Control="DROP"),
        raw(error("PAYLOAD_TOO_LARGE")),
    ),
    "openapi.json 200": (
        "GET",
        SPEC,
        200,
        headers(Cache_Control="DROP", X_RateLimit_Limit="DROP"),
        raw(DOCUMENT),
    ),
    "openapi.json HEAD": ("HEAD", SPEC, 200, headers(), b""),
}


@pytest.mark.parametrize("sample", list(GOOD.values()), ids=list(GOOD))
def test_checker_accepts_correct_responses(sample: Sample) -> None:
    CHECKER.check(*sample)


BAD: dict[str, tuple[Sample, str]] = {
    "missing required field": (
        ("POST", LIST, 201, headers(), raw({k: v for k, v in stored().items() if k != "id"})),
        "'id' is a required property",
    ),
    "null in a required string field": (
        ("POST", LIST, 201, headers(), raw({**stored(), "updatedAt": None})),
        "None is not of type 'string'",
    ),
    "absent required field": (
        (
            "GET",
            f"{LIST}/{ID}",
            200,
            headers(),
            raw({k: v for k, v in item().items() if k != "metadata"}),
        ),
        "'metadata' is a required property",
    ),
    "extra field on a response object": (
        ("GET", f"{LIST}/{ID}", 200, headers(), raw(item(accessToken="ghp_leak"))),
        "Additional properties are not allowed ('accessToken'",
    ),
    "extra field on a list item": (
        (
            "GET",
            LIST,
            200,
            headers(),
            raw({"credentials": [item(refreshToken="r")], "nextCursor": None}),
        ),
        "Additional properties",
    ),
    "extra field on the store response": (
        ("POST", LIST, 201, headers(), raw({**stored(), "accessToken": "ghp_leak"})),
        "Additional properties",
    ),
    "wrong status for the operation": (
        ("POST", LIST, 200, headers(), raw(stored())),
        "status 200 is not documented",
    ),
    "403 on store, which never answers it": (
        ("POST", LIST, 403, headers(), raw(error("FORBIDDEN"))),
        "status 403 is not documented",
    ),
    "timestamp without milliseconds": (
        ("POST", LIST, 201, headers(), raw({**stored(), "createdAt": "2026-04-05T12:00:00Z"})),
        "does not match",
    ),
    "timestamp with an offset": (
        (
            "GET",
            f"{LIST}/{ID}",
            200,
            headers(),
            raw(item(tokenExpiresAt="2026-04-05T12:00:00.000+00:00")),
        ),
        "does not match",
    ),
    "timestamp that is not a date": (
        ("POST", LIST, 201, headers(), raw({**stored(), "updatedAt": "2026-02-30T12:00:00.000Z"})),
        "is not a 'date-time'",
    ),
    "missing X-Request-Id": (
        ("POST", LIST, 201, headers(X_Request_Id="DROP"), raw(stored())),
        "required header X-Request-Id is missing",
    ),
    "missing X-Content-Type-Options": (
        ("GET", SPEC, 200, headers(X_Content_Type_Options="DROP"), raw(DOCUMENT)),
        "X-Content-Type-Options",
    ),
    "missing Cache-Control on a credential": (
        ("POST", EXCHANGE, 200, headers(Cache_Control="DROP"), raw(exchanged())),
        "required header Cache-Control is missing",
    ),
    "wrong Cache-Control": (
        ("GET", f"{LIST}/{ID}", 200, headers(Cache_Control="max-age=60"), raw(item())),
        "Cache-Control",
    ),
    "rate-limit header that is not an integer": (
        (
            "GET",
            LIST,
            200,
            headers(X_RateLimit_Remaining="many"),
            raw({"credentials": [], "nextCursor": None}),
        ),
        "not an integer",
    ),
    "429 without Retry-After": (
        ("POST", EXCHANGE, 429, headers(), raw(error("RATE_LIMIT_EXCEEDED"))),
        "required header Retry-After is missing",
    ),
    "503 without Retry-After": (
        ("GET", LIST, 503, headers(), raw(error("SERVICE_UNAVAILABLE"))),
        "Retry-After",
    ),
    "204 with a body": (
        ("DELETE", f"{LIST}/{ID}", 204, headers(), raw({"deleted": 1})),
        "no body is documented",
    ),
    "error code that does not match the status": (
        ("GET", f"{LIST}/{ID}", 404, headers(), raw(error("BAD_REQUEST"))),
        "'NOT_FOUND' was expected",
    ),
    "unknown error code": (
        ("POST", LIST, 400, headers(), raw(error("OOPS"))),
        "does not match",
    ),
    "error without requestId": (
        ("POST", LIST, 401, headers(), raw({"message": "no", "code": "UNAUTHORIZED"})),
        "'requestId' is a required property",
    ),
    "requestId differs from the header": (
        ("POST", LIST, 401, headers(X_Request_Id="other"), raw(error("UNAUTHORIZED"))),
        "differs from the X-Request-Id header",
    ),
    "details entry with an extra field": (
        (
            "POST",
            LIST,
            400,
            headers(),
            raw(error("BAD_REQUEST", details=[{"field": "f", "message": "m", "input": "x"}])),
        ),
        "Additional properties",
    ),
    "409 without tokenExpiresAt": (
        ("POST", EXCHANGE, 409, headers(), raw(error("CREDENTIAL_EXPIRED"))),
        "'tokenExpiresAt' is a required property",
    ),
    "unknown path answering 400": (
        ("POST", "/v1/vault/other", 400, headers(), raw(error("BAD_REQUEST"))),
        "unknown path may only answer",
    ),
    "unknown path answering 200": (
        ("GET", "/v1/vault/credentials/a/b", 200, headers(), raw({})),
        "unknown path may only answer",
    ),
    "undocumented method answering 200": (
        ("PUT", LIST, 200, headers(), raw(stored())),
        "PUT is not documented",
    ),
    "405 whose Allow is not the path's methods": (
        ("PATCH", LIST, 405, headers(Allow="OPTIONS, POST"), raw(error("METHOD_NOT_ALLOWED"))),
        "Allow lists",
    ),
    "OPTIONS without Allow": (
        ("OPTIONS", EXCHANGE, 204, headers(Content_Type="DROP"), b""),
        "Allow",
    ),
    "body that is not JSON": (
        ("POST", LIST, 500, headers(), b"Internal Server Error"),
        "not JSON",
    ),
    "HTML content type": (
        (
            "POST",
            LIST,
            500,
            headers(Content_Type="text/html; charset=utf-8"),
            raw(error("INTERNAL_ERROR")),
        ),
        "Content-Type 'text/html'",
    ),
    "hasRefreshToken that is not a boolean": (
        ("GET", f"{LIST}/{ID}", 200, headers(), raw(item(hasRefreshToken="yes"))),
        "is not of type 'boolean'",
    ),
    "list without nextCursor": (
        ("GET", LIST, 200, headers(), raw({"credentials": []})),
        "'nextCursor' is a required property",
    ),
    "negative deleted count": (
        ("DELETE", LIST, 200, headers(), raw({"deleted": -1})),
        "less than the minimum",
    ),
    "service that was not lower-cased": (
        ("POST", EXCHANGE, 200, headers(), raw(exchanged(service="GitHub"))),
        "does not match",
    ),
    "metadata that is null instead of {}": (
        ("POST", EXCHANGE, 200, headers(), raw(exchanged(metadata=None))),
        "does not match",
    ),
}


@pytest.mark.parametrize(("sample", "message"), list(BAD.values()), ids=list(BAD))
def test_checker_rejects_wrong_responses(sample: Sample, message: str) -> None:
    with pytest.raises(AssertionError) as failure:
        CHECKER.check(*sample)
    assert message in str(failure.value)


def test_header_names_are_case_insensitive() -> None:
    lowered = {name.lower(): value for name, value in headers().items()}
    CHECKER.check("POST", LIST, 201, lowered, raw(stored()))


def test_coverage_lists_every_documented_status() -> None:
    documented = CHECKER.documented()
    assert ("POST", EXCHANGE, 409) in documented
    assert ("DELETE", ONE, 204) in documented
    assert ("OPTIONS", LIST, 204) in documented
    assert not {entry for entry in documented if entry[0] == "HEAD"}


# --------------------------------------------------------------------------- the client


@pytest.fixture
def seen() -> Iterator[set[tuple[str, str, int]]]:
    """SEEN as this test leaves it; the session's own record is restored afterwards, so
    the stub app's responses never count as coverage of the real service."""
    saved = set(SEEN)
    SEEN.clear()
    yield SEEN
    SEEN.clear()
    SEEN.update(saved)


Reply = tuple[int, dict[str, str], bytes]


@pytest.fixture
def stub() -> tuple[flask.Flask, dict[str, Reply]]:
    """A Flask app that answers whatever the test put in ``replies`` for "METHOD path"."""
    app = flask.Flask("stub")
    replies: dict[str, Reply] = {}
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    @app.route("/", defaults={"path": ""}, methods=methods)
    @app.route("/<path:path>", methods=methods)
    def answer(path: str) -> flask.Response:
        method = "GET" if flask.request.method == "HEAD" else flask.request.method
        status, reply_headers, body = replies[f"{method} /{path}"]
        response = flask.Response(body, status=status, headers=reply_headers)
        if "Content-Type" not in reply_headers:
            del response.headers["Content-Type"]
        return response

    app.test_client_class = CheckingClient
    return app, replies


def test_client_checks_and_records_every_response(
    stub: tuple[flask.Flask, dict[str, Reply]], seen: set[tuple[str, str, int]]
) -> None:
    app, replies = stub
    replies[f"POST {LIST}"] = (201, headers(), raw(stored()))
    replies[f"GET {LIST}"] = (200, headers(), raw({"credentials": [item()], "nextCursor": None}))
    replies[f"OPTIONS {EXCHANGE}"] = (204, headers(Allow="OPTIONS, POST", Content_Type="DROP"), b"")
    replies[f"DELETE {LIST}/{ID}"] = (204, headers(Content_Type="DROP"), b"")
    client = app.test_client()
    assert isinstance(client, CheckingClient)

    assert (
        client.post(LIST, json={"principalId": "u"}, headers={"X-Request-Id": "x"}).status_code
        == 201
    )
    assert client.get(LIST, query_string={"limit": 5, "service": "github"}).status_code == 200
    assert client.head(LIST).status_code == 200
    assert client.options(EXCHANGE).status_code == 204
    assert client.delete(f"{LIST}/{ID}", follow_redirects=True).status_code == 204

    assert seen == {
        ("POST", LIST, 201),
        ("GET", LIST, 200),
        ("HEAD", LIST, 200),
        ("OPTIONS", EXCHANGE, 204),
        ("DELETE", ONE, 204),
    }
    assert ("POST", LIST, 201) not in openapi_check.unseen(seen, CHECKER)
    assert ("POST", EXCHANGE, 200) in openapi_check.unseen(seen, CHECKER)


def test_client_raises_on_a_wrong_response(
    stub: tuple[flask.Flask, dict[str, Reply]], seen: set[tuple[str, str, int]]
) -> None:
    app, replies = stub
    replies[f"GET {LIST}/{ID}"] = (200, headers(), raw(item(accessToken="ghp_leak")))
    replies["GET /elsewhere"] = (200, headers(), raw({}))

    with pytest.raises(AssertionError, match="Additional properties"):
        app.test_client().get(f"{LIST}/{ID}")
    with pytest.raises(AssertionError, match="unknown path"):
        app.test_client().get("/elsewhere")
    assert seen == set()


def test_client_checks_redirects_it_follows(
    stub: tuple[flask.Flask, dict[str, Reply]], seen: set[tuple[str, str, int]]
) -> None:
    app, replies = stub
    replies[f"GET {LIST}"] = (302, {**headers(), "Location": SPEC}, raw({}))
    replies[f"GET {SPEC}"] = (200, headers(), raw(DOCUMENT))

    with pytest.raises(AssertionError, match="status 302 is not documented"):
        app.test_client().get(LIST, follow_redirects=True)
    assert ("GET", SPEC, 200) in seen

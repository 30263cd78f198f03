"""The HTTP pipeline: every request passes the same checks, in CONTRACT.md's order.

body size (413) -> route (404, 405) -> authentication (401) -> rate limit (429) ->
content type (415) -> body and query validation (400) -> the operation.

Errors become responses here and only here. A ``VaultError`` carries its own status
and code; anything else is logged (type and stack, never its message) and answered
with a bare 500.
"""

from __future__ import annotations

import ipaddress
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import flask

from vault import dpop, logs
from vault.errors import (
    BadRequest,
    DependencyUnavailable,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    VaultError,
)
from vault.grants import GrantClaims
from vault.revocations.webhook import verify_signature
from vault.routes import Call, Operation, Reply, Route, match_route

MAX_BODY_BYTES = 64 * 1024
GRANT_SCHEMES = ("bearer", "dpop")  # RFC 9449 section 7.1: DPoP-bound tokens use "DPoP"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}", re.ASCII)
_BASE_HEADERS = {"X-Content-Type-Options": "nosniff"}
LOGGED_PATH_CHARS = 256  # a log line carries at most this much of a path


@dataclass
class Outcome:
    """What the request log line says about one request."""

    developer_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def handle(request: flask.Request, get_app: Callable[[], Any]) -> flask.Response:
    """``get_app`` builds (once) or returns the Vault; a failure to build it is answered
    in the error shape like any other (503 when a dependency is down)."""
    started = time.perf_counter()
    app: Any = None
    request_id = request.headers.get("X-Request-Id", "")
    if not _SANE_REQUEST_ID.fullmatch(request_id):
        request_id = secrets.token_hex(16)
    outcome = Outcome()
    reason: str | None = None
    headers: dict[str, str] = {}
    route: Route | None = None
    try:
        body = _read_body(request)
        route, path_params = match_route(request.path)
        if route.available is not None:
            app = get_app()
            if not route.available(app.settings):
                raise NotFound("no such endpoint")
        method = "GET" if request.method == "HEAD" else request.method
        if request.method == "OPTIONS":
            reply = Reply(204, None, {"Allow": ", ".join(route.allowed())})
        else:
            operation = route.operations.get(method)
            if operation is None:
                raise MethodNotAllowed(route.allowed())
            call = Call(request=request, request_id=request_id, path_params=path_params)
            app = get_app()
            headers.update(_authenticate(app, operation, call, outcome, body))
            if operation.has_body:
                call.body = parse_json_body(request, body)
            reply = operation.run(app, call)
    except DependencyUnavailable as error:
        reason = error.reason
        reply = error_reply(error, request_id)
        logs.emit("WARNING", "dependency unavailable", requestId=request_id, reason=reason)
    except VaultError as error:
        reason = error.reason
        if error.status >= 500:
            # Our own message (a missing setting, a ciphertext that failed authentication)
            # goes to the log; the caller gets the bare 500, which reveals nothing.
            logs.emit("ERROR", error.message, requestId=request_id, errorType=type(error).__name__)
            error = VaultError()
        reply = error_reply(error, request_id)
    except Exception as error:  # noqa: BLE001 - the one place that catches everything
        logs.emit(
            "ERROR",
            "unhandled error",
            requestId=request_id,
            **logs.exception_summary(error),
        )
        reply = error_reply(VaultError(), request_id)

    if route is not None and route.error_page and reply.status >= 400 and reply.page is None:
        reply = route.error_page(reply)  # a browser route: the error as a page
    headers.update(reply.headers)
    headers.update(_BASE_HEADERS)
    headers["X-Request-Id"] = request_id
    if route is not None and route.describes_credentials:
        headers["Cache-Control"] = "no-store"
    if reply.status == 413:
        headers["Connection"] = "close"  # do not drain an oversized body
    if reply.page is not None:
        response = flask.Response(
            reply.page, status=reply.status, headers=headers, mimetype="text/html"
        )
    else:
        response = flask.Response(
            None if reply.body is None else json.dumps(reply.body, separators=(",", ":")),
            status=reply.status,
            headers=headers,
            mimetype="application/json",
        )
        if reply.body is None:
            del response.headers["Content-Type"]
    path = request.path
    if len(path) > LOGGED_PATH_CHARS:
        path = path[:LOGGED_PATH_CHARS] + "..."
    logs.emit(
        "INFO" if reply.status < 500 else "ERROR",
        f"{request.method[:16]} {path} {reply.status}",
        requestId=request_id,
        developerId=outcome.developer_id,
        method=request.method[:16],
        path=path,
        status=reply.status,
        outcome="ok" if reply.status < 400 else reply.body and reply.body.get("code"),
        latencyMs=round((time.perf_counter() - started) * 1000, 3),
        **({} if reason is None else {"reason": reason}),
        **{
            logs.TRACE_FIELD: logs.trace_field(
                request.headers.get("X-Cloud-Trace-Context"),
                None if app is None else app.settings.project,
            )
        },
        **outcome.extra,
    )
    return response


def _authenticate(
    app: Any, operation: Operation, call: Call, outcome: Outcome, body: bytes
) -> dict[str, str]:
    """Admit the caller the operation asks for; returns the rate-limit headers."""
    if operation.auth == "webhook":
        # The signature over the untouched body is the authentication.
        app.guard.admit_signed(
            lambda: verify_signature(
                body, call.request.headers, app.settings.grantex_webhook_secret
            ),
            client_address(call.request, app.settings.trusted_proxy_hops),
        )
        return {}
    token = bearer_token(call.request)
    client = client_address(call.request, app.settings.trusted_proxy_hops)
    if operation.auth == "api_key":
        call.caller, rate_headers = app.guard.admit_api_key(token, client)
        outcome.developer_id = call.caller.developer_id
        return dict(rate_headers)
    if operation.auth == "grant":
        grant_token = bearer_token(call.request, GRANT_SCHEMES)
        call.grant, rate_headers = app.guard.admit_grant(
            grant_token, client, _possession_check(app, call, grant_token)
        )
        outcome.developer_id = call.grant.developer_id
        outcome.extra["grantTokenId"] = call.grant.token_id
        if call.dpop:
            outcome.extra["dpop"] = True
        return dict(rate_headers)
    return {}


def _possession_check(
    app: Any, call: Call, grant_token: str | None
) -> Callable[[GrantClaims], None] | None:
    """On the exchange (and nothing else), a key-bound token needs its DPoP proof."""
    if call.request.path != dpop.EXCHANGE_PATH or grant_token is None:
        return None

    def confirm(claims: GrantClaims) -> None:
        call.dpop = app.proofs.confirm(
            claims.key_thumbprint,
            grant_token,
            call.request.headers.getlist("DPoP"),
            call.request.method,
            call.request.base_url,
        )

    return confirm


def error_reply(error: VaultError, request_id: str) -> Reply:
    body: dict[str, Any] = {"message": error.message, "code": error.code, "requestId": request_id}
    if isinstance(error, BadRequest) and error.details:
        body["details"] = [detail.as_dict() for detail in error.details]
    body.update(error.extra_body)
    return Reply(error.status, body, error.headers)


def _read_body(request: flask.Request) -> bytes:
    """At most 64 KiB, refused before parsing; also what the framework will see."""
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        request._cached_data = b""  # the framework drains bodies after us; not this one
        raise PayloadTooLarge()
    body = request.stream.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        request._cached_data = b""
        raise PayloadTooLarge()
    request._cached_data = body
    return body


def parse_json_body(request: flask.Request, body: bytes) -> dict[str, Any]:
    mimetype = request.mimetype  # lower-cased, parameters stripped
    charset = request.mimetype_params.get("charset")
    if mimetype != "application/json" or (
        charset is not None and charset.lower() not in ("utf-8", "utf8")
    ):
        raise UnsupportedMediaType()
    try:
        parsed = json.loads(
            body.decode("utf-8"),
            parse_constant=_reject_constant,
            parse_float=_finite_float,
        )
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadRequest("the request body is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise BadRequest("the request body must be a JSON object")
    return parsed


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError("number out of range")
    return value


def bearer_token(request: flask.Request, schemes: tuple[str, ...] = ("bearer",)) -> str | None:
    """The credential of an ``Authorization`` header in one of ``schemes`` (lower-case;
    compared case-insensitively)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() not in schemes or not token.strip():
        return None
    return token.strip()


def client_address(request: flask.Request, trusted_hops: int) -> str:
    """The client's address for failed-authentication limits.

    Each trusted proxy appends the address it saw to X-Forwarded-For, so the entry
    ``trusted_hops`` from the right is the one no client can choose (entries left of it
    are whatever the client sent). With no trusted proxy, or a malformed entry, the
    peer address is used."""
    peer = request.remote_addr or "unknown"
    if trusted_hops <= 0:
        return peer
    entries = request.headers.get("X-Forwarded-For", "").split(",")
    if len(entries) < trusted_hops:
        return peer
    candidate = entries[-trusted_hops].strip()
    try:
        return str(ipaddress.ip_address(candidate[:64]))
    except ValueError:
        return peer

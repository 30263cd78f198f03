"""The connect endpoints: two JSON routes for the developer (API key) and two browser
routes (no auth) that answer with redirects and pages, never JSON."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from vault.models import validate
from vault.oauth import pages
from vault.oauth.connect import CALLBACK_PATH, PageError
from vault.oauth.connect_models import CreateConnectSessionRequest
from vault.oauth.connect_sessions import ConnectSession
from vault.routes import Call, Operation, Reply, Route
from vault.timefmt import format_micros, now_micros

if TYPE_CHECKING:
    from vault.bootstrap import Vault

CONNECT_PATH = "/v1/vault/connect/"
_QUERY_NAMES = ("code", "state", "error")
_MAX_QUERY_VALUE = 4096


def base_url(vault: Vault, call: Call) -> str:
    """``VAULT_PUBLIC_BASE_URL``; without it, the origin the request was sent to."""
    return vault.settings.public_base_url or call.request.host_url.rstrip("/")


def create_session(vault: Vault, call: Call) -> Reply:
    request = validate(CreateConnectSessionRequest, call.body)
    session = vault.connect.create(call.key_record, request)
    return Reply(
        201,
        {
            "id": session.session_id,
            "connectUrl": base_url(vault, call) + CONNECT_PATH + session.session_id,
            "status": session.status,
            "expiresAt": format_micros(session.expires_at),
        },
    )


def get_session(vault: Vault, call: Call) -> Reply:
    session = vault.connect.get(call.key_record, call.path_params["id"])
    return Reply(
        200,
        {
            "id": session.session_id,
            "principalId": session.principal_id,
            "service": session.service,
            "status": session.status_at(now_micros()),
            "credentialId": session.credential_id,
            "error": session.error,
            "expiresAt": format_micros(session.expires_at),
        },
    )


def open_session(vault: Vault, call: Call) -> Reply:
    redirect_uri = base_url(vault, call) + CALLBACK_PATH
    try:
        location = vault.connect.open(call.path_params["id"], redirect_uri)
    except PageError as error:
        return page_reply(error.kind, None, error.status, error.retry_after)
    return Reply(302, None, {"Location": location, **pages.security_headers()})


def callback(vault: Vault, call: Call) -> Reply:
    query = {
        name: call.request.args[name][:_MAX_QUERY_VALUE]
        for name in _QUERY_NAMES
        if name in call.request.args
    }
    redirect_uri = base_url(vault, call) + CALLBACK_PATH
    try:
        session = vault.connect.callback(query, redirect_uri, call.request_id)
    except PageError as error:
        return page_reply(error.kind, None, error.status, error.retry_after)
    if session.redirect_url is None:
        return page_reply(session.status, session.service)
    return Reply(302, None, {"Location": back_to_app(session), **pages.security_headers()})


def back_to_app(session: ConnectSession) -> str:
    """The developer's ``redirectUrl``, fixed when the session was made, with the result
    added to its query (its own parameters of the same names are replaced)."""
    assert session.redirect_url is not None
    parts = urlsplit(session.redirect_url)
    ours = {"status": session.status, "connectSessionId": session.session_id}
    if session.credential_id is not None:
        ours["credentialId"] = session.credential_id
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ours]
    return urlunsplit(parts._replace(query=urlencode([*kept, *ours.items()])))


def page_reply(
    kind: str, service: str | None, status: int | None = None, retry_after: int | None = None
) -> Reply:
    page_status, html = pages.render(kind, service, status)
    headers = pages.security_headers()
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return Reply(page_status, {"code": kind}, headers, page=html)


def error_page(reply: Reply) -> Reply:
    """A failure of the pipeline (500, or 503 when the store or KMS is down) on a
    browser route, as a page; its other errors (405, 413) stay in the JSON shape."""
    if reply.status not in (500, 503):
        return reply
    _, html = pages.render("unavailable" if reply.status == 503 else "error", None)
    headers = {**reply.headers, **pages.security_headers()}
    return Reply(reply.status, reply.body, headers, page=html)


STATIC_ROUTES: dict[str, Route] = {
    "/v1/vault/connect-sessions": Route(
        {"POST": Operation(create_session, auth="api_key", has_body=True)}
    ),
    CALLBACK_PATH: Route(
        {"GET": Operation(callback, auth="none")},
        describes_credentials=False,
        error_page=error_page,
    ),
}
PATTERN_ROUTES: list[tuple[re.Pattern[str], Route]] = [
    (
        re.compile(r"/v1/vault/connect-sessions/(?P<id>[^/]{1,128})"),
        Route({"GET": Operation(get_session, auth="api_key")}),
    ),
    (
        re.compile(r"/v1/vault/connect/(?P<id>[^/]+)"),  # any id: an unknown one is a page
        Route(
            {"GET": Operation(open_session, auth="none")},
            describes_credentials=False,
            error_page=error_page,
        ),
    ),
]

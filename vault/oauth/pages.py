"""The connect pages: tiny server-rendered HTML, one template, every value escaped.

Jinja2 (which Flask brings) is loaded on the first page. The stylesheet is inlined and
allowed by its hash, so the Content-Security-Policy admits no script, no other style
and no other resource; pages are never cached and never send a referrer. No page shows
a query parameter: what a page says comes from this table and from the session.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from pathlib import Path
from typing import Any

_TEMPLATES = Path(__file__).parent / "templates"

# kind -> (HTTP status, tone, title, message, hint); ``{service}`` is the session's.
PAGES: dict[str, tuple[int, str, str, str, str | None]] = {
    "connected": (
        200,
        "good",
        "Account connected",
        "Your {service} account is connected.",
        "You can close this window and return to the app.",
    ),
    "denied": (
        200,
        "bad",
        "Connection cancelled",
        "Access to your {service} account was not granted. Nothing was stored.",
        "Return to the app if you want to try again.",
    ),
    "failed": (
        400,
        "bad",
        "Connection failed",
        "Your {service} account could not be connected.",
        "Return to the app and try again.",
    ),
    "unknown": (404, "bad", "Link not found", "This connect link is not known.", None),
    "expired": (
        400,
        "bad",
        "Link expired",
        "This connect link has expired.",
        "Ask the app for a new link.",
    ),
    "opened": (
        409,
        "bad",
        "Link already used",
        "This connect link has already been opened.",
        "Ask the app for a new link.",
    ),
    "state": (
        400,
        "bad",
        "Sign-in response not accepted",
        "This sign-in response is unknown, expired or was already used.",
        "Start again from the app.",
    ),
    "missing": (
        400,
        "bad",
        "Incomplete sign-in response",
        "The sign-in response is missing required parameters.",
        "Start again from the app.",
    ),
    "no_provider": (
        400,
        "bad",
        "Service not available",
        "This service cannot be connected right now.",
        None,
    ),
    "unavailable": (
        503,
        "bad",
        "Try again in a moment",
        "A service needed to finish connecting is not reachable.",
        "Reload this page in a moment.",
    ),
    "error": (500, "bad", "Something went wrong", "This request could not be completed.", None),
}


@functools.cache
def _stylesheet() -> tuple[str, str]:
    text = (_TEMPLATES / "page.css").read_text("utf-8").strip()
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return text, f"'sha256-{digest}'"


@functools.cache
def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def security_headers() -> dict[str, str]:
    """For every browser response of the connect routes (pages and redirects)."""
    _, style_source = _stylesheet()
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src {style_source}; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'"
        ),
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }


def render(kind: str, service: str | None = None, status: int | None = None) -> tuple[int, str]:
    """(HTTP status, HTML) of one page; ``status`` overrides the page's own."""
    page_status, tone, title, message, hint = PAGES.get(kind, PAGES["error"])
    stylesheet, _ = _stylesheet()
    named = service or "service"
    html = (
        _environment()
        .get_template("page.html")
        .render(
            title=title,
            message=message.replace("{service}", named),
            hint=hint,
            tone=tone,
            stylesheet=stylesheet,
        )
    )
    return status or page_status, html

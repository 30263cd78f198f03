"""Build the real functions-framework app for a test, and small request helpers."""

from __future__ import annotations

from typing import Any

from functions_framework import create_app

ROOT_MAIN = __import__("pathlib").Path(__file__).resolve().parents[2] / "main.py"
PATH = "/v1/vault/credentials"


def make_client() -> Any:
    app = create_app("vault", str(ROOT_MAIN))
    try:
        from tests.support.openapi_check import CheckingClient
    except ImportError:  # the checker arrives with the OpenAPI document
        return app.test_client()
    app.test_client_class = CheckingClient
    return app.test_client()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}

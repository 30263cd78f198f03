"""The functions-framework entry point: ``functions-framework --target vault``."""

import flask
import functions_framework
from werkzeug.exceptions import NotFound

from vault.bootstrap import get_vault
from vault.http import handle


@functions_framework.http  # type: ignore[untyped-decorator]
def vault(request: flask.Request) -> flask.Response:
    return handle(request, get_vault)


@functions_framework.errorhandler(NotFound)  # type: ignore[untyped-decorator]
def _framework_not_found(_error: NotFound) -> flask.Response:
    # The framework answers /robots.txt and /favicon.ico itself; keep our error shape.
    return handle(flask.request, get_vault)

"""Check HTTP responses against the OpenAPI document, ``vault/openapi.json``.

``ResponseChecker.check`` raises ``AssertionError`` when a response is not what the
document says: a status the operation does not document, a body that does not match
its schema (JSON Schema 2020-12, ``date-time`` checked), a missing required header, a
body where none is documented. ``CheckingClient`` is a Flask test client that checks
every response it gets and records what it saw in ``SEEN``::

    app = create_app("vault", "main.py")
    app.test_client_class = CheckingClient
    client = app.test_client()

Some responses can be met on any path, whatever the operation documents (CONTRACT.md:
body size, routing and the rate limiter come before the operation, and anything can
fail): 404, 405, 413, 429, 500 and 503 error bodies, and ``OPTIONS`` -> 204 on a
documented path. An unknown path accepts only 404 and 413 error bodies. ``HEAD`` is
checked against the path's ``GET`` (status and headers only; it has no body).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask.testing import FlaskClient
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from werkzeug.test import TestResponse

DOCUMENT_PATH = Path(__file__).resolve().parents[2] / "vault" / "openapi.json"
BASE_URI = "https://vault.grantex.invalid/openapi.json"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Statuses any path and method may answer, and the component response that describes each.
ANY_PATH_RESPONSES: dict[int, str] = {
    404: "NotFound",
    405: "MethodNotAllowed",
    413: "PayloadTooLarge",
    429: "RateLimited",
    500: "InternalError",
    503: "ServiceUnavailable",
}
UNKNOWN_PATH_STATUSES = frozenset({404, 413})
OPTIONS_RESPONSE = "Options"
UNKNOWN_PATH = "<unknown path>"

# (method, path template or UNKNOWN_PATH, status) of every response a CheckingClient
# checked successfully in this process: a session-end test can report what was never met.
SEEN: set[tuple[str, str, int]] = set()

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)
_MAX_SHOWN = 600  # characters of a body quoted in a failure message


def load_document(path: Path = DOCUMENT_PATH) -> dict[str, Any]:
    """The OpenAPI document that ``GET /openapi.json`` serves."""
    with path.open(encoding="utf-8") as handle:
        document: dict[str, Any] = json.load(handle)
    return document


def _is_date_time(value: object) -> bool:
    """RFC 3339 ``date-time`` (with an offset), and a real date and time."""
    if not isinstance(value, str):
        return True  # format only constrains strings
    match = _RFC3339.fullmatch(value)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    offset = match.group(8)
    if offset not in ("Z", "z"):
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        if hours > 23 or minutes > 59:
            return False
    try:
        # RFC 3339 allows a leap second; datetime does not.
        datetime(year, month, day, hour, minute, min(second, 59))
    except ValueError:
        return False
    return second <= 60


def _format_checker() -> FormatChecker:
    # Our own date-time check: jsonschema's needs an optional package and skips silently.
    checker = FormatChecker(formats=())
    checker.checks("date-time")(_is_date_time)
    return checker


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def _shown(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace")
    return text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "..."


class ResponseChecker:
    """Checks responses against one OpenAPI 3.1 document (by default ``vault/openapi.json``)."""

    def __init__(self, document: Mapping[str, Any] | None = None) -> None:
        self.document: dict[str, Any] = dict(document) if document is not None else load_document()
        resource = DRAFT202012.create_resource(self.document)
        self._registry: Registry[Any] = Registry().with_resource(BASE_URI, resource)
        self._format_checker = _format_checker()
        self._validators: dict[str, Draft202012Validator] = {}
        literal: list[tuple[str, re.Pattern[str]]] = []
        templated: list[tuple[str, re.Pattern[str]]] = []
        for template in self.document.get("paths", {}):
            parts = re.split(r"(\{[^{}/]+\})", template)
            regex = "".join(
                f"(?P<{part[1:-1]}>[^/]+)" if part.startswith("{") else re.escape(part)
                for part in parts
            )
            (templated if "{" in template else literal).append((template, re.compile(regex)))
        # OpenAPI: a concrete path wins over a templated one that also matches.
        templated.sort(key=lambda item: item[0].count("{"))
        self._templates = literal + templated

    # ------------------------------------------------------------------ lookups

    def template_for(self, path: str) -> str | None:
        """The documented path template that ``path`` matches, or ``None``."""
        path = path.split("?", 1)[0]
        for template, pattern in self._templates:
            if pattern.fullmatch(path):
                return template
        return None

    def operation(self, method: str, template: str) -> dict[str, Any] | None:
        """The operation answering ``method`` on ``template`` (``HEAD`` falls back to ``GET``)."""
        path_item = self.resolve(f"/paths/{_escape(template)}")[0]
        name = method.lower()
        if name == "head" and "head" not in path_item:
            name = "get"
        found = path_item.get(name) if name in HTTP_METHODS else None
        return found if isinstance(found, dict) else None

    def allowed_methods(self, template: str) -> set[str]:
        """What the ``Allow`` header of ``template`` must list."""
        path_item = self.resolve(f"/paths/{_escape(template)}")[0]
        methods = {name.upper() for name in path_item if name in HTTP_METHODS} | {"OPTIONS"}
        if "GET" in methods:
            methods.add("HEAD")
        return methods

    def resolve(self, pointer: str, _depth: int = 0) -> tuple[Any, str]:
        """The object at a JSON pointer into the document, following ``$ref`` wherever
        the walk meets one; also the pointer where the object really is."""
        if _depth > 32:
            raise AssertionError(f"$ref cycle at #{pointer}")
        node: Any = self.document
        here = ""
        for raw in pointer.split("/")[1:] if pointer else []:
            node, here = self._follow(node, here, _depth)
            segment = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
                node = node[int(segment)]
            elif isinstance(node, dict) and segment in node:
                node = node[segment]
            else:
                raise AssertionError(f"the document has nothing at #{pointer}")
            here = f"{here}/{raw}"
        return self._follow(node, here, _depth)

    def _follow(self, node: Any, here: str, depth: int) -> tuple[Any, str]:
        if isinstance(node, dict) and isinstance(node.get("$ref"), str):
            target: str = node["$ref"]
            if not target.startswith("#"):
                raise AssertionError(f"cannot follow $ref {target!r} (at #{here})")
            return self.resolve(target[1:], depth + 1)
        return node, here

    def _method_key(self, method: str, template: str) -> str:
        path_item = self.resolve(f"/paths/{_escape(template)}")[0]
        name = method.lower()
        return "get" if name == "head" and "head" not in path_item else name

    def _response_pointer(self, method: str, template: str | None, status: int) -> str:
        where = f"{method} {template or UNKNOWN_PATH} -> {status}"
        if template is None:
            if status not in UNKNOWN_PATH_STATUSES:
                raise AssertionError(
                    f"{where}: an unknown path may only answer "
                    f"{sorted(UNKNOWN_PATH_STATUSES)}, not {status}"
                )
            return f"/components/responses/{ANY_PATH_RESPONSES[status]}"
        operation = self.operation(method, template)
        if operation is not None:
            responses = operation.get("responses", {})
            for key in (str(status), f"{status // 100}XX", "default"):
                if key in responses:
                    name = self._method_key(method, template)
                    return f"/paths/{_escape(template)}/{name}/responses/{key}"
        if status in ANY_PATH_RESPONSES:
            return f"/components/responses/{ANY_PATH_RESPONSES[status]}"
        if method == "OPTIONS" and status == 204:
            return f"/components/responses/{OPTIONS_RESPONSE}"
        if operation is None:
            raise AssertionError(
                f"{where}: {method} is not documented on {template}: only "
                f"{sorted(ANY_PATH_RESPONSES)} may answer it"
            )
        documented = sorted(operation.get("responses", {}))
        raise AssertionError(
            f"{where}: status {status} is not documented for this operation "
            f"({operation.get('operationId', '?')} documents {documented})"
        )

    def validator(self, schema_pointer: str) -> Draft202012Validator:
        """A JSON Schema validator for the schema at ``schema_pointer`` (e.g.
        ``/components/schemas/VaultCredential``), its ``$ref``s resolved in the document."""
        validator = self._validators.get(schema_pointer)
        if validator is None:
            reference = f"{BASE_URI}#{quote(schema_pointer, safe='/~')}"
            validator = Draft202012Validator(
                {"$ref": reference},
                registry=self._registry,
                format_checker=self._format_checker,
            )
            self._validators[schema_pointer] = validator
        return validator

    # ------------------------------------------------------------------ the check

    def check(
        self,
        method: str,
        path: str,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
    ) -> None:
        """Raise ``AssertionError`` unless the response is one the document allows."""
        method = method.upper()
        path = path.split("?", 1)[0]
        template = self.template_for(path)
        where = f"{method} {path} -> {status}"
        response, pointer = self.resolve(self._response_pointer(method, template, status))
        lowered = {name.lower(): value for name, value in headers.items()}

        for name in response.get("headers", {}):
            header_pointer = f"{pointer}/headers/{_escape(name)}"
            header, _ = self.resolve(header_pointer)
            value = lowered.get(name.lower())
            if value is None:
                if header.get("required", False):
                    raise AssertionError(f"{where}: required header {name} is missing")
                continue
            self._check_header(where, name, header_pointer, value)

        if template is not None and ((method == "OPTIONS" and status == 204) or status == 405):
            self._check_allow(where, template, lowered.get("allow"))

        if method == "HEAD":
            return  # no body; status and headers are all there is
        content = response.get("content") or {}
        if not content:
            if body:
                raise AssertionError(
                    f"{where}: no body is documented, got {len(body)} bytes: {_shown(body)}"
                )
            return
        media_type = lowered.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type not in content:
            raise AssertionError(
                f"{where}: Content-Type {media_type or '(none)'!r} is not documented "
                f"(documented: {sorted(content)})"
            )
        if media_type != "application/json":
            return
        try:
            document = json.loads(body)
        except ValueError:
            raise AssertionError(f"{where}: the body is not JSON: {_shown(body)}") from None
        schema_pointer = f"{pointer}/content/{_escape(media_type)}/schema"
        errors: list[ValidationError] = list(self.validator(schema_pointer).iter_errors(document))
        if errors:
            worst = best_match(errors)
            others = "".join(
                f"\n  - {error.json_path}: {error.message}"
                for error in errors
                if error is not worst
            )
            raise AssertionError(
                f"{where}: the body does not match #{schema_pointer}: "
                f"{worst.json_path}: {worst.message}{others}\nbody: {_shown(body)}"
            )
        if status >= 400 and isinstance(document, dict) and "requestId" in document:
            header_id = lowered.get("x-request-id")
            if header_id is not None and document["requestId"] != header_id:
                raise AssertionError(
                    f"{where}: requestId {document['requestId']!r} differs from the "
                    f"X-Request-Id header {header_id!r}"
                )

    def _check_header(self, where: str, name: str, header_pointer: str, value: str) -> None:
        header, header_pointer = self.resolve(header_pointer)
        if "schema" not in header:
            return
        schema, _ = self.resolve(f"{header_pointer}/schema")
        instance: Any = value
        if isinstance(schema, dict) and schema.get("type") == "integer":
            if not re.fullmatch(r"-?\d+", value.strip()):
                raise AssertionError(f"{where}: header {name}: {value!r} is not an integer")
            instance = int(value)
        error = best_match(self.validator(f"{header_pointer}/schema").iter_errors(instance))
        if error is not None:
            raise AssertionError(f"{where}: header {name}: {value!r}: {error.message}")

    def _check_allow(self, where: str, template: str, allow: str | None) -> None:
        if allow is None:
            raise AssertionError(f"{where}: the Allow header is missing")
        listed = {method.strip().upper() for method in allow.split(",") if method.strip()}
        expected = self.allowed_methods(template)
        if listed != expected:
            raise AssertionError(
                f"{where}: Allow lists {sorted(listed)}, the document says {sorted(expected)}"
            )

    # ------------------------------------------------------------------ coverage

    def documented(self) -> set[tuple[str, str, int]]:
        """Every (method, template, status) the document lists, for a coverage report."""
        found: set[tuple[str, str, int]] = set()
        for template in self.document.get("paths", {}):
            for method in self.allowed_methods(template) - {"HEAD"}:
                operation = self.operation(method, template)
                for key in (operation or {}).get("responses", {}):
                    if key.isdigit():
                        found.add((method, template, int(key)))
        return found


@cache
def default_checker() -> ResponseChecker:
    return ResponseChecker()


def check_response(response: TestResponse, checker: ResponseChecker | None = None) -> None:
    """Check one Werkzeug test response and record it in ``SEEN``."""
    checker = checker or default_checker()
    request = response.request
    checker.check(
        request.method,
        request.path,
        response.status_code,
        dict(response.headers.items()),
        response.get_data(),
    )
    template = checker.template_for(request.path)
    SEEN.add((request.method.upper(), template or UNKNOWN_PATH, response.status_code))


def unseen(
    seen: Iterable[tuple[str, str, int]] | None = None, checker: ResponseChecker | None = None
) -> set[tuple[str, str, int]]:
    """The documented (method, template, status) triples no checked response has shown."""
    checker = checker or default_checker()
    return checker.documented() - set(SEEN if seen is None else seen)


class CheckingClient(FlaskClient):
    """A Flask test client that checks every response against the OpenAPI document."""

    checker: ResponseChecker | None = None  # None: the shared default checker

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        response = super().open(*args, **kwargs)
        for each in (*response.history, response):
            check_response(each, self.checker)
        return response

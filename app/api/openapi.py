"""The OpenAPI document of the whole service, as OpenAPI 3.0 (the ``oas30`` conformance class).

FastAPI writes OpenAPI 3.1 with JSON Schema 2020-12; :func:`to_openapi30` rewrites the few
constructs 3.0 lacks (``type: null`` unions, numeric ``exclusiveMinimum``, ``const``, ``examples``
in schemas) so that 3.0 tools and the OGC test suite read it.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from app.ogcapi.models import Problem, Results, StatusInfo
from app.ogcapi.problems import PROBLEM_MEDIA_TYPE
from app.settings import Settings

OPENAPI_VERSION = "3.0.3"
_LITERAL_KEYS = frozenset({"example", "examples", "default", "enum"})  # values, not schemas
_EXTRA_COMPONENTS: dict[str, type[BaseModel]] = {
    "Exception": Problem,
    "StatusInfo": StatusInfo,
    "Results": Results,
}


_ERROR_DESCRIPTIONS = {
    400: "Invalid request: a parameter or input the service cannot accept (it is named)",
    404: "No such process or job, or the job's results are not ready",
    406: "The requested format is not offered (only JSON is)",
    413: "The request body is larger than the configured cap",
    500: "Internal error (with a request id to quote)",
    503: "The job queue is full; retry later",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for error statuses, all problem+json."""
    schema = {"$ref": "#/components/schemas/Exception"}
    return {
        status: {
            "description": _ERROR_DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": schema}},
        }
        for status in statuses
    }


# Operations anyone may call once users are configured (WPS_AUTH_PUBLIC=discovery); /wps serves
# discovery and jobs on one path, so credentials are optional there.
PUBLIC_OPERATIONS = frozenset(
    {"getLandingPage", "getConformanceClasses", "getProcesses", "getProcessDescription"}
)
PUBLIC_PATHS = frozenset({"/healthz", "/readyz"})
OPTIONAL_PATHS = frozenset({"/wps"})


def security_schemes(settings: Settings) -> dict[str, dict[str, Any]]:
    """The OpenAPI security schemes of the configured credential sources."""
    schemes: dict[str, dict[str, Any]] = {}
    if settings.auth_htpasswd:
        schemes["basicAuth"] = {"type": "http", "scheme": "basic"}
    if settings.auth_api_keys:
        schemes["apiKey"] = {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    if settings.auth_jwks_url:
        schemes["bearerAuth"] = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    return schemes


def install_openapi(app: FastAPI, tags: list[dict[str, Any]], settings: Settings) -> None:
    """Serve the OpenAPI 3.0 document (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=tags,
            )
            _add_components(document)
            _add_security(document, settings)
            _without_422(document)
            app.openapi_schema = to_openapi30(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add_security(document: dict[str, Any], settings: Settings) -> None:
    """Declare the credential schemes; discovery operations need none (unless everything is public)."""
    schemes = security_schemes(settings)
    if not schemes:
        return
    document.setdefault("components", {})["securitySchemes"] = schemes
    required: list[dict[str, list[str]]] = [{name: []} for name in schemes]
    document["security"] = [*required, {}] if settings.auth_public == "all" else required
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            if operation.get("operationId") in PUBLIC_OPERATIONS or path in PUBLIC_PATHS:
                operation["security"] = [{}]
            elif path in OPTIONAL_PATHS:
                operation["security"] = [*required, {}]


def _add_components(document: dict[str, Any]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, model in _EXTRA_COMPONENTS.items():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
        for key, definition in schema.pop("$defs", {}).items():
            schemas.setdefault(key, definition)
        schemas[name] = schema


def _without_422(document: dict[str, Any]) -> None:
    """Request validation failures answer 400 (problem+json), never FastAPI's 422."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if responses.pop("422", None) is not None and "400" not in responses:
                responses.update({str(k): v for k, v in problem_responses(400).items()})
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)


def to_openapi30(document: dict[str, Any]) -> dict[str, Any]:
    """The same document in OpenAPI 3.0 terms."""
    converted: dict[str, Any] = _convert(document)
    converted["openapi"] = OPENAPI_VERSION
    return converted


def _convert(node: Any) -> Any:
    if isinstance(node, list):
        return [_convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: value if key in _LITERAL_KEYS else _convert(value) for key, value in node.items()}
    _nullable(node)
    _exclusive_bounds(node)
    _examples_and_const(node)
    _type_lists(node)
    return node


def _exclusive_bounds(node: dict[str, Any]) -> None:
    """Numeric ``exclusiveMinimum: x`` -> ``minimum: x, exclusiveMinimum: true``."""
    for bound in ("Minimum", "Maximum"):
        exclusive = node.get(f"exclusive{bound}")
        if isinstance(exclusive, int | float) and not isinstance(exclusive, bool):
            node[bound.lower()] = exclusive
            node[f"exclusive{bound}"] = True


def _examples_and_const(node: dict[str, Any]) -> None:
    if "const" in node:
        node["enum"] = [node.pop("const")]
    if isinstance(node.get("examples"), list) and ("type" in node or "properties" in node):
        examples = node.pop("examples")
        if examples:
            node.setdefault("example", examples[0])


def _type_lists(node: dict[str, Any]) -> None:
    """``type: [X, "null"]`` -> ``type: X, nullable: true``."""
    types = node.get("type")
    if not isinstance(types, list):
        return
    named = [t for t in types if t != "null"]
    if "null" in types:
        node["nullable"] = True
    node.pop("type")
    if len(named) == 1:
        node["type"] = named[0]
    else:
        node["anyOf"] = [{"type": t} for t in named]


def _nullable(node: dict[str, Any]) -> None:
    """``anyOf: [X, {type: null}]`` -> X with ``nullable: true``."""
    for keyword in ("anyOf", "oneOf"):
        options = node.get(keyword)
        if not isinstance(options, list) or {"type": "null"} not in options:
            continue
        rest = [option for option in options if option != {"type": "null"}]
        node.pop(keyword)
        if len(rest) == 1 and "$ref" not in rest[0]:
            node.update({key: value for key, value in rest[0].items() if key not in node})
        elif len(rest) == 1:
            node["allOf"] = rest
        else:
            node[keyword] = rest
        node["nullable"] = True

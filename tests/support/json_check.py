"""ASGI middleware for tests: validates every JSON response against the official OGC API - Processes schemas.

The schemas are the standard's OpenAPI 3.0 fragments bundled under ``schemas/ogcapi/processes-1.0``,
read as JSON Schema draft 7 with ``oneOf`` as ``anyOf`` (as the OGC test suite does) and OpenAPI's
boolean ``exclusiveMinimum``/``exclusiveMaximum`` in their draft 7 form; relative ``$ref``s resolve
through a ``referencing`` registry. Each JSON response is matched to its schema by path and status;
errors must be ``application/problem+json`` exceptions; a JSON response that maps to no schema is a
failure too, so nothing escapes. Raw outputs (downloads: ``Content-Disposition: attachment``) are files,
not documents, and are skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from tests.support.tilejson_check import tilejson_problems

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas" / "ogcapi" / "processes-1.0"
BASE_URI = "http://schemas.opengis.net/ogcapi/processes/part1/1.0/openapi/schemas/"
TILEJSON = "TileJSON 3.0.0"  # not an OGC schema: checked by the rules of its own spec
NOT_DOCUMENTS = frozenset({"/openapi.json", "/healthz", "/readyz"})
ROUTES: tuple[tuple[re.Pattern[str], dict[int, str]], ...] = (
    (re.compile(r"/"), {200: "landingPage.yaml"}),
    (re.compile(r"/conformance"), {200: "confClasses.yaml"}),
    (re.compile(r"/processes"), {200: "processList.yaml"}),
    (re.compile(r"/processes/[^/]+"), {200: "process.yaml"}),
    (re.compile(r"/processes/[^/]+/execution"), {200: "results.yaml", 201: "statusInfo.yaml"}),
    (re.compile(r"/jobs"), {200: "jobList.yaml"}),
    (re.compile(r"/jobs/[^/]+"), {200: "statusInfo.yaml"}),
    (re.compile(r"/jobs/[^/]+/results"), {200: "results.yaml"}),
    (re.compile(r"/jobs/[^/]+/results/[^/]+/tiles/WebMercatorQuad/tilejson.json"), {200: TILEJSON}),
)

Scope = dict[str, Any]
Message = dict[str, Any]


def as_draft7(node: Any, in_properties: bool = False) -> Any:
    """An OpenAPI 3.0 schema fragment as draft 7: ``oneOf`` -> ``anyOf``, boolean exclusive bounds."""
    if isinstance(node, list):
        return [as_draft7(item) for item in node]
    if not isinstance(node, dict):
        return node
    if in_properties:  # keys are property names, not keywords
        return {name: as_draft7(schema) for name, schema in node.items()}
    converted = {
        ("anyOf" if key == "oneOf" else key): as_draft7(value, in_properties=key == "properties")
        for key, value in node.items()
    }
    for bound in ("Minimum", "Maximum"):
        flag = converted.get(f"exclusive{bound}")
        if isinstance(flag, bool):
            converted.pop(f"exclusive{bound}")
            if flag and bound.lower() in converted:
                converted[f"exclusive{bound}"] = converted.pop(bound.lower())
    return converted


@cache
def registry() -> Registry:
    """Every bundled schema, under the URI the standard publishes it at."""
    resources = []
    for path in sorted(SCHEMA_DIR.glob("*.yaml")):
        contents = as_draft7(yaml.safe_load(path.read_text(encoding="utf-8")))
        resources.append(
            (BASE_URI + path.name, Resource.from_contents(contents, default_specification=DRAFT7))
        )
    return Registry().with_resources(resources)


@cache
def validator(name: str) -> Draft7Validator:
    """A validator for one of the standard's schemas (``statusInfo.yaml``, ...)."""
    return Draft7Validator({"$ref": BASE_URI + name}, registry=registry())


def validate(name: str, document: Any) -> list[str]:
    """Messages of every violation of schema ``name`` by ``document`` (empty when valid)."""
    if name == TILEJSON:
        return tilejson_problems(document)
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in validator(name).iter_errors(document)
    ]


def schema_for(path: str, status: int) -> str | None:
    """The schema a JSON response at ``path`` with ``status`` must follow; None when none applies."""
    if status >= 400:
        return "exception.yaml"
    for pattern, by_status in ROUTES:
        if pattern.fullmatch(path):
            return by_status.get(status)
    return None


@dataclass
class JsonChecker:
    """Wraps an ASGI app; records a failure for every JSON response that is invalid or unmapped."""

    app: Any
    failures: list[str] = field(default_factory=list)
    validated: dict[str, int] = field(default_factory=dict)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = {"check": False, "status": 0, "type": "", "body": bytearray()}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = {k.lower(): v.decode("latin-1") for k, v in message.get("headers", [])}
                state["status"] = message["status"]
                state["type"] = headers.get(b"content-type", "").split(";")[0].strip().lower()
                attachment = headers.get(b"content-disposition", "").lower().startswith("attachment")
                state["check"] = _is_json(state["type"]) and not attachment
            elif message["type"] == "http.response.body" and state["check"]:
                state["body"].extend(message.get("body", b""))
                if not message.get("more_body", False):
                    self._check(scope.get("path", ""), state["status"], state["type"], bytes(state["body"]))
            await send(message)

        await self.app(scope, receive, capture)

    def _check(self, path: str, status: int, media_type: str, body: bytes) -> None:
        if path in NOT_DOCUMENTS:
            return
        name = schema_for(path, status)
        if name is None:
            self.failures.append(f"{path} ({status}): JSON response that maps to no OGC schema")
            return
        if name == "exception.yaml" and media_type != "application/problem+json":
            self.failures.append(f"{path} ({status}): error answered as {media_type}, not problem+json")
        try:
            document = json.loads(body)
        except ValueError as exc:
            self.failures.append(f"{path} ({status}): not JSON: {exc}")
            return
        self.failures.extend(
            f"{path} ({status}) vs {name}: {problem}" for problem in validate(name, document)
        )
        self.validated[name] = self.validated.get(name, 0) + 1


CheckedFactory = Callable[..., JsonChecker]
"""What the ``checked`` fixture yields: ``(settings, registry=None)`` -> the app wrapped in both checkers."""


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def assert_valid(xsd: Any, json_checker: JsonChecker) -> None:
    """Fail on any response the XSD checker (wrapped by ``json_checker``) or the JSON checker found invalid."""
    assert not xsd.failures, "invalid XML responses:\n" + "\n".join(xsd.failures)
    assert not json_checker.failures, "invalid JSON responses:\n" + "\n".join(json_checker.failures)

"""Schemathesis against ``/openapi.json`` on the live server: no 5xx, no response outside its own schema.

The OGC API paths and ``GET /wps`` get a bounded, deterministic number of generated requests, valid
and invalid ones; every response also passes the live server's XSD and JSON checkers (the official
schemas). A 501 from ``/wps`` is not a fault: OWS Common prescribes it for OperationNotSupported
(e.g. GetStatus asked as WPS 1.0.0), which random KVP combinations reach; any other 5xx is.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.core.failures import ServerError
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.live import LiveServer

MAX_EXAMPLES = 25
OWS_NOT_IMPLEMENTED = (b'exceptionCode="OperationNotSupported"', b'exceptionCode="OptionNotSupported"')


def no_server_fault(ctx: Any, response: Any, case: Any) -> bool | None:
    """5xx is a failure, except an OWS 501 naming an operation or option that is not implemented."""
    status = response.status_code
    if status < 500:
        return None
    if (
        status == 501
        and case.operation.path == "/wps"
        and any(c in response.content for c in OWS_NOT_IMPLEMENTED)
    ):
        return None
    raise ServerError(
        operation=case.operation.label, status_code=status, message=response.content[:300].decode()
    )


CHECKS = [
    no_server_fault,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def exercise(strategy: st.SearchStrategy[Any]) -> None:
    """Up to MAX_EXAMPLES requests drawn from ``strategy`` (deterministically), each response checked."""

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        case.validate_response(case.call(), checks=CHECKS)

    run()


def strategies(operation: Any) -> dict[str, st.SearchStrategy[Any]]:
    """The documented examples, then generated valid and invalid requests."""
    found = {
        mode.value: operation.as_strategy(generation_mode=mode)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    }
    examples = operation.get_strategies_from_examples()
    return ({"examples": st.one_of(examples)} if examples else {}) | found


def test_openapi_contract(live_server: LiveServer) -> None:
    schema = (
        schemathesis.openapi.from_url(f"{live_server.url}/openapi.json")
        .exclude(path_regex=r"^/(outputs|healthz|readyz|metrics|wps/status)")
        .exclude(path="/wps", method="POST")
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 12, [operation.label for operation in operations]
    failures = []
    for operation in operations:
        for kind, strategy in strategies(operation).items():
            try:
                exercise(strategy)
            except Unsatisfiable:  # nothing invalid to generate (e.g. a lone string path parameter)
                assert kind == "negative", operation.label
            except Exception as exc:  # report every operation, not only the first that fails
                failures.append(f"{operation.label} ({kind}): {exc}")
    assert not failures, "\n\n".join(failures)
    checker = live_server.server.config.app  # the JSON checker saw (and validated) the answers too
    assert sum(checker.validated.values()) > 200, checker.validated

"""Schemathesis over the whole OpenAPI document (issue #15): every operation, with an admin token and
with a read-only token, gets no server error and no response that breaks its documented schema.

Examples per operation are bounded so that the run stays well under two minutes; the operations
themselves are not sampled: every operation of the document runs (pytest ids name them).
Schemathesis's own pytest plugin does not run on pytest 9 yet, so each operation's Hypothesis
strategy is driven here directly.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from webapp.openapi import openapi_document

EXAMPLES = 6
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
OPERATIONS = [op.ok().label for op in schemathesis.openapi.from_dict(openapi_document()).get_all_operations()]


@pytest.fixture
def api_schema(app):  # type: ignore[no-untyped-def]
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app)


def _fuzz(api_schema, label: str, token: str) -> None:  # type: ignore[no-untyped-def]
    operation = api_schema.find_operation_by_label(label)

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def run(case):  # type: ignore[no-untyped-def]
        # identity: schemathesis reads the body as sent; compression has its own test (test_compression.py)
        response = case.call(headers={"Authorization": f"Bearer {token}", "Accept-Encoding": "identity"})
        case.validate_response(response, checks=CHECKS)

    run()


def test_every_operation_is_fuzzed(app):
    """The list is the document's own: a route added to the document is fuzzed without a change here."""
    assert len(OPERATIONS) >= 20 and "GET /api/layers/{name}" in OPERATIONS


@pytest.mark.parametrize("label", OPERATIONS)
def test_as_admin(api_schema, accounts, label):
    _fuzz(api_schema, label, accounts.tokens["admin"])


@pytest.mark.parametrize("label", OPERATIONS)
def test_as_read_only_evaluator(api_schema, accounts, label):
    _fuzz(api_schema, label, accounts.tokens["evaluator"])

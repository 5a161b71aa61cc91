"""schemathesis against the API in-process (ASGI): requests generated from the live OpenAPI
document, for every operation, and not one may be a server error (issue 11). Bounded: a fixed
number of examples per operation (``SYNCLINE_SCHEMATHESIS_EXAMPLES``, default 15) and no
shrinking beyond Hypothesis's own; the whole module takes about a minute."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error

from syncline.api.app import create_app
from syncline.bootstrap import bootstrap
from syncline.config import Settings
from tests.conftest import fixed_clock

KEY = {"X-API-Key": "test-key"}
EXAMPLES = int(os.environ.get("SYNCLINE_SCHEMATHESIS_EXAMPLES", "15"))

_folder = tempfile.mkdtemp(prefix="syncline-schemathesis-")
_system = bootstrap(Settings(database_url=f"sqlite:///{Path(_folder) / 'api.db'}",
                             api_keys="test-key"), clock=fixed_clock, durable=False)
app = create_app(_system, background=False)
schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=KEY)
CASES: list[int] = []


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          phases=[Phase.explicit, Phase.generate, Phase.shrink],
          suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: Any) -> None:
    CASES.append(1)
    case.call_and_validate(headers={**dict(case.headers or {}), **KEY},
                           checks=[not_a_server_error])


def test_cases_were_run() -> None:
    """Runs after the generated tests (file order): they sent requests."""
    if not CASES:
        pytest.skip("run with the generated tests")
    print(f"schemathesis: {len(CASES)} requests, none a server error")


# Stateful: sequences of calls chained by the links schemathesis infers from the document
# (POST /v1/events → GET /v1/events/{source}/{id}; GET /v1/approvals → approve/reject;
# POST /v1/keys → revoke; GET /v1/exceptions → one exception; GET /v1/periods → a period
# action; GET /v1/reports → one report). Every response of every step: no server error.
STATEFUL_EXAMPLES = int(os.environ.get("SYNCLINE_SCHEMATHESIS_STATEFUL_EXAMPLES", "25"))
LINKED: list[str] = []


class Workflow(schema.as_state_machine()):  # type: ignore[misc]
    def get_call_kwargs(self, case: Any) -> dict[str, Any]:
        return {"headers": {**dict(case.headers or {}), **KEY}}

    def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
        LINKED.append(f"{case.method} {case.path}")
        case.validate_response(response, checks=[not_a_server_error])


TestStatefulNoServerErrors = Workflow.TestCase
TestStatefulNoServerErrors.settings = settings(
    max_examples=STATEFUL_EXAMPLES, stateful_step_count=6, deadline=None, derandomize=True,
    suppress_health_check=list(HealthCheck))


def test_stateful_steps_followed_links() -> None:
    """Runs after the state machine (file order): it chained calls through the links."""
    if not LINKED:
        pytest.skip("run with the stateful test")
    linked = {step for step in LINKED if "{" in step}
    print(f"schemathesis stateful: {len(LINKED)} calls, linked operations: {sorted(linked)}")
    assert len(linked) >= 3, "the state machine followed fewer than three links"

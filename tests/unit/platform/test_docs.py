"""The generated reference (docs/reference/) is current, and its generator finds what the code says."""

from __future__ import annotations

import textwrap

import pytest

from infra import docs
from infra.topology import SYSTEM


@pytest.fixture(scope="module")
def generated() -> dict[str, str]:
    return {str(path): text for path, text in docs.generate().items()}


def test_the_committed_reference_is_a_fresh_generation(generated: dict[str, str]) -> None:
    for path, text in generated.items():
        committed = docs.ROOT / path
        assert committed.is_file(), f"{path} is missing: run make docs"
        assert committed.read_text(encoding="utf-8") == text, f"{path} is out of date: run make docs"


def test_it_finds_a_known_route_and_every_route(generated: dict[str, str]) -> None:
    routes = generated[str(docs.ROUTES_MD)]
    assert "| `POST` | `/me/member-code` | customer |" in routes
    for route in SYSTEM.routes:
        assert f"| `{route.method}` | `{route.path}` |" in routes, route.key


def test_it_finds_known_codes_with_their_status_and_module() -> None:
    codes = docs.collect_error_codes(docs.read_sources())
    assert "services/rewards/logic/presence.py" in codes[(403, "member_code_invalid")].sources
    assert "shared/api.py" in codes[(428, "idempotency_key_required")].sources
    assert "shared/api.py" in codes[(400, "malformed_json")].sources
    assert (422, "validation_error") in codes  # Unprocessable's default code
    assert (409, "goodwill_limit_reached") in codes  # relayed: a ledger counter's refusal
    assert (503, "import_not_queued") in codes  # relayed: SqsSender(failure_code=...)
    assert (422, "missing_columns") in codes  # relayed: a helper's parameter


def test_the_gateway_errors_are_listed(generated: dict[str, str]) -> None:
    errors = generated[str(docs.ERRORS_MD)]
    assert "| `token_expired` | API Gateway (`infra/openapi.py`: EXPIRED_TOKEN) |" in errors
    assert "## 504 Gateway Timeout" in errors


SAMPLE = textwrap.dedent(
    """
    from shared.errors import Conflict, Forbidden, NotFound, ServiceUnavailable


    class Gone(NotFound):
        default_code = "gone_for_good"


    def _refuse(code: str) -> Forbidden:
        return Forbidden("no", code=code)


    class Sender:
        def send(self) -> None:
            raise ServiceUnavailable("later", code=self.failure_code)


    def run() -> None:
        Sender(failure_code="not_sent")
        _refuse("not_yours")
        raise Conflict(code="taken")


    def missing() -> None:
        raise Gone


    def forbidden() -> None:
        raise Forbidden()
    """
)


def test_the_scanner_follows_literals_defaults_parameters_and_attributes() -> None:
    codes = docs.collect_error_codes({"services/x/logic.py": SAMPLE})
    assert set(codes) == {
        (403, "not_yours"),
        (503, "not_sent"),
        (409, "taken"),
        (404, "gone_for_good"),
        (403, "forbidden"),
    }


def test_a_code_it_cannot_follow_fails_the_generation() -> None:
    source = "from shared.errors import Conflict\n\ndef f(codes):\n    raise Conflict(code=codes[0])\n"
    with pytest.raises(docs.UnresolvedCode, match=r"services/x/logic.py:4: Conflict\(code=codes\[0\]\)"):
        docs.collect_error_codes({"services/x/logic.py": source})

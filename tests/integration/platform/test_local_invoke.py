"""The local runtime's Lambda Invoke endpoint, over real HTTP on 127.0.0.1, as botocore's ``lambda``
client and ``shared.invoke`` reach it: a declared caller gets the callee's answer; a function the
callee does not name, a wrong signature, an unknown key or function are refused as AWS refuses them.
The endpoint is tested alone (its pools are stand-ins): no system is started."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from infra.local.invoke_api import InvokeEndpoint, InvokeServer, access_key_of
from infra.local.lambdas import Invocation, InvocationError
from shared import aws
from shared.invoke import FunctionFailed, InvokeError, RequestRefused, invoke
from shared.topology import EventBus, Function, Service, System

REGION = "ap-northeast-2"


def _function(function_id: str, service: str, **kw: Any) -> Function:
    return Function(
        id=function_id, service=service, handler=f"services.{service}.handlers.x.h", description="t", **kw
    )


CARDS = _function("people-cards", "people", invoked_by=("mail-sender",))
SENDER = _function("mail-sender", "mail")
STRANGER = _function("mail-stranger", "mail")
SYSTEM = System(
    name="dangol",
    bus=EventBus("dangol"),
    services=(
        Service("people", tables=(), functions=(CARDS,), routes=()),
        Service("mail", tables=(), functions=(SENDER, STRANGER), routes=()),
    ),
)
SECRETS = {f.id: f"secret-of-{f.id}" for f in SYSTEM.functions}


@dataclass
class StandInPool:
    """A function pool that answers with ``answer(event)`` and records every event."""

    answer: Callable[[Any], Any]
    events: list[Any] = field(default_factory=list)

    def invoke(self, event: Any) -> Invocation:
        self.events.append(event)
        return Invocation(self.answer(event), cold=False, duration_ms=1.0)


def _cards(event: Any) -> Any:
    if event.get("fail"):
        raise InvocationError("ValueError", "no cards today")
    if event.get("bad"):
        return {"error": {"code": "invalid_request", "message": "no", "details": [{"loc": ["x"]}]}}
    return {"cards": [{"customer_id": i} for i in event["customer_ids"]]}


@pytest.fixture
def endpoint() -> Iterator[tuple[str, StandInPool]]:
    pool = StandInPool(_cards)
    pools: dict[str, Any] = {f.id: StandInPool(lambda _: None) for f in SYSTEM.functions} | {CARDS.id: pool}
    server = InvokeServer(InvokeEndpoint(SYSTEM, pools, SECRETS, region=REGION))
    server.serve_in_thread()
    yield server.url, pool
    server.shutdown()
    server.server_close()


def _client(url: str, key: str, secret: str) -> Any:
    return botocore.session.get_session().create_client(
        "lambda",
        region_name=REGION,
        endpoint_url=url,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )


def _as(function: Function, url: str) -> Any:
    return _client(url, access_key_of(function.id), SECRETS[function.id])


def _error(call: Callable[[], Any]) -> tuple[int, str]:
    with pytest.raises(ClientError) as raised:
        call()
    response = raised.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def test_a_declared_caller_gets_the_callees_answer(endpoint: tuple[str, StandInPool]) -> None:
    url, pool = endpoint
    # When the sender invokes the cards function with its own credentials
    out = _as(SENDER, url).invoke(FunctionName=CARDS.id, Payload=json.dumps({"customer_ids": ["a", "b"]}))

    # Then the callee got the payload as its event, and the answer is its result
    assert out["StatusCode"] == 200
    assert "FunctionError" not in out
    assert json.loads(out["Payload"].read()) == {"cards": [{"customer_id": "a"}, {"customer_id": "b"}]}
    assert pool.events == [{"customer_ids": ["a", "b"]}]


def test_a_caller_may_name_the_callee_by_its_arn_and_dry_run(endpoint: tuple[str, StandInPool]) -> None:
    url, pool = endpoint
    arn = f"arn:aws:lambda:{REGION}:123456789012:function:{CARDS.id}"
    # When the sender checks its permission by ARN
    out = _as(SENDER, url).invoke(FunctionName=arn, InvocationType="DryRun", Payload=b"{}")

    # Then it may, and nothing ran
    assert out["StatusCode"] == 204
    assert pool.events == []


def test_a_function_the_callee_does_not_name_is_denied(endpoint: tuple[str, StandInPool]) -> None:
    url, pool = endpoint
    # When a function of the same service, with its own valid credentials, invokes the cards function
    status, code = _error(lambda: _as(STRANGER, url).invoke(FunctionName=CARDS.id, Payload=b"{}"))

    # Then IAM's answer: 403 AccessDeniedException, and the callee never ran
    assert (status, code) == (403, "AccessDeniedException")
    assert pool.events == []


@pytest.mark.parametrize(
    ("key", "secret", "expected"),
    [
        (access_key_of(SENDER.id), "not-the-secret", "InvalidSignatureException"),
        (access_key_of(SENDER.id), SECRETS[STRANGER.id], "InvalidSignatureException"),
        ("testing", "testing", "UnrecognizedClientException"),
    ],
)
def test_a_request_not_signed_by_a_function_of_the_run_is_refused(
    endpoint: tuple[str, StandInPool], key: str, secret: str, expected: str
) -> None:
    url, pool = endpoint
    # When the sender's key id comes with a wrong secret, or a key no function has is used
    status, code = _error(lambda: _client(url, key, secret).invoke(FunctionName=CARDS.id, Payload=b"{}"))

    # Then 403, before anything ran
    assert (status, code) == (403, expected)
    assert pool.events == []


def test_a_body_changed_after_signing_is_refused(endpoint: tuple[str, StandInPool]) -> None:
    url, pool = endpoint
    client = _as(SENDER, url)

    def tamper(request: Any, **_: Any) -> None:
        request.body = b'{"customer_ids": ["someone-else"]}'  # as long as the signed one

    # When the body is swapped after the signature was computed
    client.meta.events.register("before-send.lambda.Invoke", tamper)
    status, code = _error(
        lambda: client.invoke(FunctionName=CARDS.id, Payload=b'{"customer_ids": ["a"]}'.ljust(34))
    )

    # Then the signature no longer matches
    assert (status, code) == (403, "InvalidSignatureException")
    assert pool.events == []


def test_an_unknown_function_is_not_found(endpoint: tuple[str, StandInPool]) -> None:
    url, _ = endpoint
    status, code = _error(lambda: _as(SENDER, url).invoke(FunctionName="people-nobody", Payload=b"{}"))
    assert (status, code) == (404, "ResourceNotFoundException")


@pytest.fixture
def as_sender(endpoint: tuple[str, StandInPool], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The process is the sender's worker: its credentials, the endpoint, the callee's env var."""
    url, _ = endpoint
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", access_key_of(SENDER.id))
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRETS[SENDER.id])
    monkeypatch.setenv(CARDS.env_var, CARDS.id)
    aws.reset_clients()
    yield CARDS.env_var
    aws.reset_clients()


def test_shared_invoke_returns_the_answer_and_raises_what_went_wrong(as_sender: str) -> None:
    # When the sender invokes through shared.invoke, by the callee's env var
    assert invoke(as_sender, {"customer_ids": ["c"]}) == {"cards": [{"customer_id": "c"}]}

    # Then a function error, a refused request and a missing variable are each their own error
    with pytest.raises(FunctionFailed) as failed:
        invoke(as_sender, {"fail": True})
    assert (failed.value.code, str(failed.value).endswith("no cards today")) == ("ValueError", True)
    with pytest.raises(RequestRefused) as refused:
        invoke(as_sender, {"bad": True})
    assert (refused.value.code, refused.value.details) == ("invalid_request", [{"loc": ["x"]}])
    with pytest.raises(InvokeError, match="not_configured"):
        invoke("NOBODY_FUNCTION", {})
    with pytest.raises(InvokeError) as denied:
        invoke("people-nobody", {})
    assert denied.value.code == "ResourceNotFoundException"

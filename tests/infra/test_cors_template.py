"""One CORS policy per stage: the preflights and gateway responses API Gateway answers (the OpenAPI
body) and every function's own answers (its ``CORS_ORIGIN``) name the same origin, the stage's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from shared.api import CORS_ORIGIN_ENV
from tests.infra.conftest import Synthesized
from tests.infra.deployments import EVERY, Deployment, load


@pytest.fixture(scope="session", params=EVERY)
def deployment(
    request: pytest.FixtureRequest, synthesized: Synthesized, tmp_path_factory: pytest.TempPathFactory
) -> Deployment:
    return load(request.param, synthesized, tmp_path_factory)


def _allowed_origins(value: Any) -> Iterator[str]:
    """Every value the body gives an ``Access-Control-Allow-Origin`` header (quotes removed)."""
    if isinstance(value, dict):
        for name, inner in value.items():
            if name.endswith("Access-Control-Allow-Origin") and isinstance(inner, str):
                yield inner.strip("'")
            else:
                yield from _allowed_origins(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _allowed_origins(inner)


def test_the_gateway_and_every_function_answer_with_the_stages_one_origin(deployment: Deployment) -> None:
    # Given the stage's origin
    origin = deployment.stage.cors_origin
    # When the API's preflights and gateway responses, and the functions' settings, are read
    body, _ = deployment.api_body
    gateway = set(_allowed_origins(body))
    functions = {
        fn.id: deployment.function(fn)[1]["Environment"]["Variables"].get(CORS_ORIGIN_ENV)
        for fn in deployment.system.functions
        if deployment.system.routes_of(fn)
    }
    # Then they all name that one origin
    assert gateway == {origin}
    assert set(functions.values()) == {origin}, functions

"""Sign-up and the logins, as deployed: the pool invokes the topology's trigger when a self-signed-up
login is confirmed (moto runs no triggers, so only the template can show it), each function may do
to the logins exactly what its topology says, and the platform's secrets reach only their readers.
AWS facts pinned here: Cognito invokes a trigger synchronously and waits at most 5 seconds
(https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-working-with-lambda-triggers.html),
and it needs a resource-based permission for ``cognito-idp.amazonaws.com`` scoped to the pool."""

from __future__ import annotations

from typing import Any

import pytest

from shared.topology import TRIGGER_TIMEOUT_S
from tests.infra.conftest import Synthesized
from tests.infra.deployments import EVERY, Deployment, arn, as_list, load, mentions

Json = dict[str, Any]


@pytest.fixture(scope="session", params=EVERY)
def deployment(
    request: pytest.FixtureRequest, synthesized: Synthesized, tmp_path_factory: pytest.TempPathFactory
) -> Deployment:
    return load(request.param, synthesized, tmp_path_factory)


def _actions(deployment: Deployment, role: str, prefix: str) -> set[str]:
    return {
        action
        for statement in deployment.statements_of_role(role)
        if statement.get("Effect") == "Allow"
        for action in as_list(statement["Action"])
        if action.startswith(prefix)
    }


def test_the_pool_invokes_each_trigger_of_the_topology_and_nothing_else(deployment: Deployment) -> None:
    # Given the triggers the topology declares (profile's PostConfirmation)
    triggers = {t.event: t.function.id for t in deployment.system.triggers}
    assert triggers == {"PostConfirmation": "profile-signup"}
    # When the pool's Lambda configuration is read
    config = deployment.props(deployment.user_pool).get("LambdaConfig", {})
    # Then it names exactly those moments, each invoking its function
    assert set(config) == set(triggers)
    assert {event: deployment.function_of_target(target) for event, target in config.items()} == triggers


def test_the_apps_id_tokens_carry_the_logins_e_mail(deployment: Deployment) -> None:
    # Given the pool's clients that people sign in with (not the machine client)
    clients = [
        r["Properties"]
        for r in deployment.resources("AWS::Cognito::UserPoolClient").values()
        if "client_credentials" not in r["Properties"].get("AllowedOAuthFlows", [])
    ]
    assert clients
    for client in clients:
        # Then each reads the e-mail: a client that names no read attributes reads them all
        # (Cognito's default), so the ID token carries `email`, by which sign-up recognises a
        # returning person (services/profile/logic/privacy.py: returning)
        assert "email" in client.get("ReadAttributes", ["email"])


def test_only_this_pool_in_this_account_may_invoke_a_trigger(deployment: Deployment) -> None:
    # Given the permissions that let Cognito invoke a function
    permissions = [
        r["Properties"]
        for r in deployment.resources("AWS::Lambda::Permission").values()
        if r["Properties"]["Principal"] == "cognito-idp.amazonaws.com"
    ]
    # Then there is one per trigger, scoped to the stage's pool and account
    assert len(permissions) == len(deployment.system.triggers)
    for permission, trigger in zip(permissions, deployment.system.triggers, strict=True):
        assert deployment.function_of_target(permission["FunctionName"]) == trigger.function.id
        assert permission["SourceArn"] == arn(deployment.user_pool)
        assert permission["SourceAccount"] == {"Ref": "AWS::AccountId"}
        # And the function answers within Cognito's wait
        _, props = deployment.function(trigger.function)
        assert props["Timeout"] <= TRIGGER_TIMEOUT_S


def test_each_function_may_do_to_the_logins_exactly_what_its_topology_says(deployment: Deployment) -> None:
    for fn in deployment.system.functions:
        # Given what the function's role allows on Cognito user pools
        granted = _actions(deployment, deployment.role_of(fn), "cognito-idp:")
        # Then it is exactly the topology's logins (the sign-up trigger adds to a group; the API's
        # erasure reads the e-mail and deletes the login; no other function touches a login)
        assert granted == {f"cognito-idp:{a}" for a in fn.logins}, fn.id
    logins = {fn.id: set(fn.logins) for fn in deployment.system.functions if fn.logins}
    assert logins == {
        "profile-signup": {"AdminAddUserToGroup"},
        "profile-api": {"AdminGetUser", "AdminDeleteUser"},
    }


def test_a_platform_secret_reaches_only_the_functions_that_read_it(deployment: Deployment) -> None:
    for secret in deployment.system.secrets:
        # Given the functions that declare the secret, and the others
        readers = {fn.id for fn in deployment.system.functions if secret in fn.secrets}
        assert readers, secret.id
        for fn in deployment.system.functions:
            _, props = deployment.function(fn)
            env = props.get("Environment", {}).get("Variables", {})
            reads = any(
                statement.get("Effect") == "Allow"
                and "secretsmanager:GetSecretValue" in as_list(statement["Action"])
                and mentions(statement.get("Resource"), _secret_of(deployment, env.get(secret.env_var)))
                for statement in deployment.statements_of_role(deployment.role_of(fn))
            )
            # Then a reader has its ARN in its environment and may read it; no other function has either
            assert (secret.env_var in env) == (fn.id in readers), fn.id
            assert reads == (fn.id in readers), fn.id


def _secret_of(deployment: Deployment, value: Any) -> str:
    """The logical id of the secret an environment value refers to ("" when there is none)."""
    if not isinstance(value, dict):
        return ""
    logical_id = value["Ref"] if "Ref" in value else value["Fn::GetAtt"][0]
    assert deployment.template["Resources"][logical_id]["Type"] == "AWS::SecretsManager::Secret"
    return str(logical_id)

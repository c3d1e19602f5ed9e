"""A Cognito user pool on moto, configured as the deployed one, with one demo user per role of
a person, the machine app client of the tills, and tokens for them.

The pool, its groups (one per role of a person, as deployed), the app client, the resource
server ``dangol`` with its scope ``machine`` and the machine client (a secret, the
client-credentials flow, that scope only) are made from scratch at every start. A till is that
client, not a user: it gets an access token from ``POST /oauth2/token`` (``infra.local.oauth``),
as from a Cognito domain. Demo passwords are fixed and printed, since this is a local,
throw-away system. The pool's JWKS comes from moto's own endpoint so the gateway verifies tokens
exactly as API Gateway's Cognito authorizer would.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.auth import HUMAN_ROLES, MACHINE_SCOPE, Role

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient

RESOURCE_SERVER, MACHINE_SCOPE_NAME = MACHINE_SCOPE.split("/")


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: Role
    email: str
    name: str


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("minji", "Dangol-customer-1", Role.CUSTOMER, "minji@demo.dangol.dev", "김민지"),
    DemoUser("marketer", "Dangol-marketing-1", Role.MARKETING, "marketer@demo.dangol.dev", "박마케터"),
    DemoUser("agent", "Dangol-agent-1", Role.AGENT, "agent@demo.dangol.dev", "이상담"),
    DemoUser("admin", "Dangol-admin-1", Role.ADMIN, "admin@demo.dangol.dev", "최관리"),
)
# More customers, for seeded demo data (story 1: the anniversary; story 2: the usual).
DEMO_CUSTOMERS: tuple[DemoUser, ...] = (
    DemoUser("jisoo", "Dangol-customer-2", Role.CUSTOMER, "jisoo@demo.dangol.dev", "정지수"),
    DemoUser("junho", "Dangol-customer-3", Role.CUSTOMER, "junho@demo.dangol.dev", "한준호"),
)


@dataclass(frozen=True)
class Pool:
    pool_id: str
    client_id: str
    region: str
    endpoint: str
    machine_client_id: str = ""
    machine_client_secret: str = ""

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.pool_id}"

    @property
    def client_ids(self) -> tuple[str, ...]:
        """Every app client of the pool (an ID token's ``aud``, an access token's ``client_id``)."""
        return tuple(c for c in (self.client_id, self.machine_client_id) if c)

    def jwks(self) -> dict[str, Any]:
        url = f"{self.endpoint}/{self.pool_id}/.well-known/jwks.json"
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own loopback moto
            return dict(json.load(response))


def create_pool(client: CognitoIdentityProviderClient, *, name: str, endpoint: str, region: str) -> Pool:
    pool_id = client.create_user_pool(
        PoolName=name,
        UsernameAttributes=[],
        AutoVerifiedAttributes=["email"],
        Policies={
            "PasswordPolicy": {
                "MinimumLength": 12,
                "RequireNumbers": True,
                "RequireSymbols": True,
                "RequireUppercase": True,
                "RequireLowercase": True,
            }
        },
    )["UserPool"]["Id"]
    client_id = client.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=f"{name}-app",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        GenerateSecret=False,
        # A Cognito client that names no read attributes reads them all, so its ID tokens carry the
        # e-mail (sign-up recognises a returning person by it); moto's reads none unless named.
        ReadAttributes=["email", "email_verified", "name"],
    )["UserPoolClient"]["ClientId"]
    for role in HUMAN_ROLES.values():  # a machine is a client, not a user in a group
        client.create_group(GroupName=role.value, UserPoolId=pool_id, Description=f"dangol {role.value}")
    client.create_resource_server(
        UserPoolId=pool_id,
        Identifier=RESOURCE_SERVER,
        Name="dangol API",
        Scopes=[{"ScopeName": MACHINE_SCOPE_NAME, "ScopeDescription": "Store and POS systems"}],
    )
    machine = client.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=f"{name}-machine",
        GenerateSecret=True,
        AllowedOAuthFlows=["client_credentials"],
        AllowedOAuthScopes=[MACHINE_SCOPE],
        AllowedOAuthFlowsUserPoolClient=True,
    )["UserPoolClient"]
    return Pool(
        pool_id=pool_id,
        client_id=client_id,
        region=region,
        endpoint=endpoint,
        machine_client_id=machine["ClientId"],
        machine_client_secret=machine["ClientSecret"],
    )


def add_user(client: CognitoIdentityProviderClient, pool: Pool, user: DemoUser) -> str:
    """Create a confirmed user in its role's group; returns the user's ``sub``."""
    created = client.admin_create_user(
        UserPoolId=pool.pool_id,
        Username=user.username,
        UserAttributes=[
            {"Name": "email", "Value": user.email},
            {"Name": "email_verified", "Value": "true"},
            {"Name": "name", "Value": user.name},
        ],
        MessageAction="SUPPRESS",
    )
    client.admin_set_user_password(
        UserPoolId=pool.pool_id, Username=user.username, Password=user.password, Permanent=True
    )
    client.admin_add_user_to_group(UserPoolId=pool.pool_id, Username=user.username, GroupName=user.role.value)
    attrs = {a["Name"]: a.get("Value", "") for a in created["User"].get("Attributes", [])}
    return attrs.get("sub", "")


def login(client: CognitoIdentityProviderClient, pool: Pool, username: str, password: str) -> dict[str, Any]:
    """USER_PASSWORD_AUTH, as the apps do: returns IdToken, AccessToken, RefreshToken, ExpiresIn."""
    result = client.initiate_auth(
        ClientId=pool.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )
    return dict(result["AuthenticationResult"])

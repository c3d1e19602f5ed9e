"""Social-media handles a customer links to their profile, and how other services find the customer
behind one (the function ``profile-handles``, invoked directly, never through the API).

A handle is given with or without its leading ``@`` and stored bare and lower-case: both networks
treat handles case-insensitively, so ``@Minji_Kim`` and ``minji_kim`` are one handle. One handle of
a network is one customer's at most (a claim item per ``(network, handle)``, ``dal/handles.py``):
first to link wins. Linking asserts ownership without proof (the network's own OAuth would prove
it; not done here).

The feedback service builds the lookup and reads its answer itself (services never import each
other); ``tests/unit/contracts/test_handle_contracts.py`` holds the two sides together.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

# A new network is a value here, its pattern in HANDLE_PATTERNS and a field of SocialHandlesChange
# (``tests/unit/profile/test_social_handles.py`` holds the three together).
Network = Literal["x", "instagram"]
NETWORKS: tuple[Network, ...] = get_args(Network)
# The networks' own rules for a handle, bare (no "@"): X's "username", Instagram's "username".
HANDLE_PATTERNS: dict[Network, str] = {
    "x": r"^[A-Za-z0-9_]{1,15}$",
    "instagram": r"^[A-Za-z0-9._]{1,30}$",
}
# Any network's handle as a client may give it (a path segment): with or without the "@".
ANY_HANDLE_PATTERN = r"^@?[A-Za-z0-9._]{1,30}$"


def given_pattern(network: Network) -> str:
    """The network's pattern for a handle as given: the same, with an optional leading "@"."""
    return "^@?" + HANDLE_PATTERNS[network][1:]


_GIVEN = {network: re.compile(given_pattern(network)) for network in NETWORKS}


def _bare(handle: str) -> str:
    return handle.removeprefix("@").lower()


def normalised(network: Network, handle: str) -> str | None:
    """The handle as stored (no "@", lower-case), or None when it is no handle of the network."""
    if not _GIVEN[network].fullmatch(handle):
        return None
    return _bare(handle)


XHandle = Annotated[
    str,
    StringConstraints(pattern=given_pattern("x")),
    AfterValidator(_bare),
    Field(description="An X handle, with or without the leading @", examples=["@Minji_Kim"]),
]
InstagramHandle = Annotated[
    str,
    StringConstraints(pattern=given_pattern("instagram")),
    AfterValidator(_bare),
    Field(description="An Instagram handle, with or without the leading @", examples=["minji.kim"]),
]


class SocialHandlesChange(BaseModel):
    """Per network: a handle links it (in place of the one linked), ``null`` unlinks it, a network
    not sent stays as it is."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    x: XHandle | None = None
    instagram: InstagramHandle | None = None

    def changes(self) -> dict[Network, str | None]:
        """The networks sent: their handles as stored, None to unlink."""
        return {network: getattr(self, network) for network in NETWORKS if network in self.model_fields_set}


def merged(linked: Mapping[Network, str], change: Mapping[Network, str | None] | None) -> dict[Network, str]:
    """The handles linked after ``change`` (None: every network unlinked), in network order."""
    if change is None:
        return {}
    after = {**linked, **change}
    return {network: str(after[network]) for network in NETWORKS if after.get(network)}


# -- the direct lookup (``profile-handles``) -------------------------------------------------------

MAX_HANDLES = 100  # handles per request: one BatchGetItem's worth of claims
# A handle is only looked up: one that cannot be a handle of its network matches nothing rather
# than refusing the request (a mention's author is the network's to name).
AskedHandle = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class AskedFor(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    network: Network
    handle: AskedHandle


class HandleLookup(BaseModel):
    """Up to ``MAX_HANDLES`` handles, each with or without its "@", in any case."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    handles: list[AskedFor] = Field(min_length=1, max_length=MAX_HANDLES)


class HandleMatch(BaseModel):
    model_config = ConfigDict(frozen=True)

    network: Network
    handle: str = Field(description="As stored: no @, lower-case")
    customer_id: str


class HandleMatches(BaseModel):
    """The linked handles among those asked (each once), in the asked order; the rest are absent."""

    model_config = ConfigDict(frozen=True)

    matches: list[HandleMatch]


class CustomerByHandle(BaseModel):
    """Who linked a handle (``GET /customers/by-handle/{network}/{handle}``)."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    customer_id: str = Field(examples=["cus_01M82AEKG51WJP0K379AYG4E2W"])

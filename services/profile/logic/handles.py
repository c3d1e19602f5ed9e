"""The customer behind a social handle: for an agent (``GET /customers/by-handle/{network}/{handle}``)
and for the feedback intake, which links a public mention to the customer who linked its author's
handle (``profile-handles``, invoked directly). Only the customer id leaves the service. No boto3
here: the directory of claims is passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from services.profile.models.handles import (
    CustomerByHandle,
    HandleLookup,
    HandleMatch,
    HandleMatches,
    Network,
    normalised,
)
from shared.errors import NotFound


class HandleDirectory(Protocol):
    def owner(self, network: str, handle: str) -> str | None: ...
    def owners(self, handles: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]: ...


def customer_by_handle(directory: HandleDirectory, network: Network, handle: str) -> CustomerByHandle:
    """Who linked the handle (given with or without "@", in any case); 404 ``handle_not_linked``
    when no one did, or when it cannot be a handle of the network."""
    bare = normalised(network, handle)
    owner = directory.owner(network, bare) if bare else None
    if owner is None:
        raise NotFound("No customer has linked this handle.", code="handle_not_linked")
    return CustomerByHandle(customer_id=owner)


def linked(directory: HandleDirectory, request: HandleLookup) -> HandleMatches:
    """The linked handles among those asked, each once (as stored), in the asked order. A handle
    that cannot be one of its network's is looked up no further: no customer can have linked it."""
    wanted: list[tuple[Network, str]] = []
    for asked in request.handles:
        bare = normalised(asked.network, asked.handle)
        if bare is not None:
            wanted.append((asked.network, bare))
    unique = list(dict.fromkeys(wanted))
    owners = directory.owners(unique)
    return HandleMatches(
        matches=[
            HandleMatch(network=network, handle=handle, customer_id=owners[(network, handle)])
            for network, handle in unique
            if (network, handle) in owners
        ]
    )

"""Contact cards from the profile service: its ``profile-contacts`` function, invoked directly
and synchronously (``shared.invoke``) by the name the topology gives the functions it lets in
(``PROFILE_CONTACTS_FUNCTION``), the same way locally and on AWS.

Nothing of a card is stored or logged here: the caller uses it for one message and lets it go.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.campaigns.models.cards import CardPurpose, CardRequest, CardResponse, ContactCard
from shared.errors import ServiceUnavailable
from shared.invoke import InvokeError, invoke
from shared.observability import make_logger
from shared.settings import ConfigurationError

PROFILE_CONTACTS_ENV = "PROFILE_CONTACTS_FUNCTION"  # what the topology gives the functions that invoke it
_log = make_logger()


class InvokedCards:
    """``logic.previews.CardSource`` over the profile service's contacts function."""

    def __init__(self, function_name: str | None) -> None:
        self.function_name = function_name

    def cards(self, customer_ids: Sequence[str], purpose: CardPurpose) -> list[ContactCard]:
        if not self.function_name:
            raise ConfigurationError(
                f"{PROFILE_CONTACTS_ENV} is not set: this function may not ask for cards"
            )
        request = CardRequest(customer_ids=list(customer_ids), purpose=purpose)
        try:
            answer = invoke(self.function_name, request.model_dump(mode="json"))
        except InvokeError as failed:  # its message names no customer and carries no card
            _log.warning("contact cards failed", extra={"invoke_error": failed.code})
            raise ServiceUnavailable("The profile service could not give the contact cards; retry.") from None
        return list(CardResponse.model_validate(answer).cards)

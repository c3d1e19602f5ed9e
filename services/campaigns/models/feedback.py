"""An SES event record, as the stage's configuration set publishes it to SNS and SNS delivers it
raw to ``campaigns-email-feedback`` ("Contents of event data that Amazon SES publishes to Amazon
SNS", SES Developer Guide). Only what the feedback consumer reads is declared; the rest (the
recipients' addresses, diagnostic codes) is ignored and never kept.

- ``eventType`` is ``Delivery``, ``Bounce`` or ``Complaint`` here (the destination's matching
  types); a notification sent without event publishing names it ``notificationType``.
- ``mail.messageId`` is SES's id of the e-mail (what ``SendEmail`` answered); ``mail.tags`` holds
  the e-mail's tags (``campaign``, ``customer``, ``run``: ``dal.channels``) with SES's own
  (``ses:configuration-set``, ...), each a list of values; ``mail.headers`` the e-mail's headers
  (``X-Dangol-Ref``), unless ``headersTruncated``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, AwareDatetime, BaseModel, ConfigDict, Field


class _Ses(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="ignore", populate_by_name=True)


class Header(_Ses):
    name: str
    value: str


class Mail(_Ses):
    message_id: str = Field(alias="messageId", min_length=1, max_length=256)
    timestamp: AwareDatetime | None = None
    tags: dict[str, list[str]] = Field(default_factory=dict)
    headers: list[Header] = Field(default_factory=list)


class Bounce(_Ses):
    bounce_type: Literal["Permanent", "Transient", "Undetermined"] = Field(alias="bounceType")
    timestamp: AwareDatetime


class Complaint(_Ses):
    timestamp: AwareDatetime


class Delivery(_Ses):
    timestamp: AwareDatetime


class SesEvent(_Ses):
    event_type: str = Field(validation_alias=AliasChoices("eventType", "notificationType"), min_length=1)
    mail: Mail
    bounce: Bounce | None = None
    complaint: Complaint | None = None
    delivery: Delivery | None = None

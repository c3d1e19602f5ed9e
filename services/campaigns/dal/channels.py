"""The channels behind one interface (``logic.delivery.Channels``): e-mail through SES v2, SMS
and push through SNS.

- **E-mail**: a MIME message (text and HTML alternatives) sent raw, so it carries the one-click
  unsubscribe headers (RFC 8058: ``List-Unsubscribe`` with the profile service's signed link and
  ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``), in the configuration set whose
  suppression list takes bounces and complaints (an address that bounced or complained is then
  refused by SES: ``failed``, reason ``suppressed``).
- **SMS**: SNS ``Publish`` to the phone number (``Promotional`` or ``Transactional``). AWS End User
  Messaging SMS is where Korean sender-id registration lives; SNS sends through it and is what
  moto emulates, so the local runtime sends the same calls (docs/decisions.md).
- **Push**: SNS platform endpoints, one per device token, made on first use
  (``CreatePlatformEndpoint`` is idempotent for the same token). A disabled endpoint (the token
  is dead) is ``failed`` with reason ``endpoint_disabled`` and the device's id, which the
  profile service hears of as ``PushTokenDisabled``.

Nothing of the card is logged; the reference (``campaign/customer/run``) goes in a header (and,
for e-mail, in the message's tags, which SES's delivery, bounce and complaint events carry) or the
push payload's data, so a reply or a bounce can be traced back to a log line.
"""

from __future__ import annotations

import json
import re
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formataddr, make_msgid
from typing import Any

from services.campaigns.logic.delivery import ChannelRefused
from services.campaigns.logic.sending import address_of
from services.campaigns.models.cards import ContactCard
from services.campaigns.models.templates import Rendered
from shared import aws

REFUSED_EMAIL = frozenset(
    {"MessageRejected", "AccountSuspendedException", "MailFromDomainNotVerifiedException"}
)
# CRLF line ends, as SMTP wants them; headers folded only past 998 characters (RFC 5322's limit),
# so a long List-Unsubscribe link stays on its line.
SMTP = SMTP_POLICY.clone(max_line_length=998)
PLATFORMS = {"ios": "APNS", "android": "GCM", "web": "GCM"}
EXISTING_ENDPOINT = re.compile(
    r"Endpoint (?P<arn>arn:aws[a-z-]*:sns:\S+) already exists with the same token", re.IGNORECASE
)


class SnsSesChannels:
    def __init__(
        self,
        *,
        sender_address: str,
        configuration_set: str | None,
        push_applications: dict[str, str],
    ) -> None:
        self.sender_address = sender_address
        self.configuration_set = configuration_set
        self.push_applications = push_applications  # platform (ios, android, web) -> application ARN

    def send(
        self, rendered: Rendered, card: ContactCard, *, unsubscribe_url: str | None, ref: str
    ) -> tuple[str, str]:
        if rendered.channel == "email":
            return "ses", self._email(rendered, card, unsubscribe_url=unsubscribe_url, ref=ref)
        if rendered.channel == "sms":
            return "sns-sms", self._sms(rendered, card, ref=ref)
        return "sns-push", self._push(rendered, card, ref=ref)

    # -- e-mail ----------------------------------------------------------------------------------

    def mime(self, rendered: Rendered, card: ContactCard, *, unsubscribe_url: str | None, ref: str) -> bytes:
        message = EmailMessage()
        message["From"] = formataddr((rendered.sender or "", self.sender_address))
        message["To"] = str(card.email)
        message["Subject"] = str(rendered.subject)
        message["Message-ID"] = make_msgid(domain=self.sender_address.rsplit("@", 1)[-1])
        message["X-Dangol-Ref"] = ref
        if unsubscribe_url:
            message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        # 7-bit safe parts: Korean text quoted-printable, as every relay takes it
        message.set_content(str(rendered.text), cte="quoted-printable")
        message.add_alternative(str(rendered.html), subtype="html", cte="quoted-printable")
        return message.as_bytes(policy=SMTP)

    def _email(self, rendered: Rendered, card: ContactCard, *, unsubscribe_url: str | None, ref: str) -> str:
        from botocore.exceptions import ClientError  # noqa: PLC0415 - loaded with the client

        if not card.email:
            raise ChannelRefused("no_email")
        request: dict[str, Any] = {
            "FromEmailAddress": self.sender_address,
            "Destination": {"ToAddresses": [card.email]},
            "Content": {"Raw": {"Data": self.mime(rendered, card, unsubscribe_url=unsubscribe_url, ref=ref)}},
        }
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        # SES puts an e-mail's tags in every event it publishes through the configuration set: the
        # feedback consumer finds the campaign, customer and run in them (ids: tag-safe characters).
        campaign_id, customer_id, run = ref.split("/")
        request["EmailTags"] = [
            {"Name": "campaign", "Value": campaign_id},
            {"Name": "customer", "Value": customer_id},
            {"Name": "run", "Value": run},
        ]
        try:
            out = aws.client("sesv2").send_email(**request)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in REFUSED_EMAIL:
                raise ChannelRefused(
                    "suppressed" if "suppress" in str(error).lower() else "rejected"
                ) from None
            raise
        return str(out["MessageId"])

    # -- SMS -------------------------------------------------------------------------------------

    def _sms(self, rendered: Rendered, card: ContactCard, *, ref: str) -> str:
        from botocore.exceptions import ClientError  # noqa: PLC0415

        if not card.phone:
            raise ChannelRefused("no_phone")
        kind = "Promotional" if rendered.advert else "Transactional"
        try:
            out = aws.client("sns").publish(
                PhoneNumber=card.phone,
                Message=str(rendered.body),
                MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": kind}},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"InvalidParameter", "OptedOut"}:
                raise ChannelRefused("phone_refused") from None
            raise
        return str(out["MessageId"])

    # -- push ------------------------------------------------------------------------------------

    def _push(self, rendered: Rendered, card: ContactCard, *, ref: str) -> str:
        from botocore.exceptions import ClientError  # noqa: PLC0415

        device_id = address_of("push", card)
        device = next((d for d in card.devices if d.device_id == device_id), None)
        application = self.push_applications.get(device.platform) if device else None
        if device is None or application is None:
            raise ChannelRefused("no_push_application")
        sns = aws.client("sns")
        try:
            endpoint = sns.create_platform_endpoint(PlatformApplicationArn=application, Token=device.token)[
                "EndpointArn"
            ]
        except ClientError as error:
            # The token's endpoint exists with other attributes (disabled, most often): SNS names it
            # in the refusal, the way the SNS guide's token management reads it back.
            found = EXISTING_ENDPOINT.search(error.response.get("Error", {}).get("Message", ""))
            if error.response.get("Error", {}).get("Code") != "InvalidParameter" or found is None:
                raise
            endpoint = found["arn"]
        data = {"ref": ref}
        payload = {
            "default": str(rendered.body),
            PLATFORMS[device.platform]: json.dumps(
                {"aps": {"alert": {"title": rendered.title, "body": rendered.body}}, "data": data}
                if device.platform == "ios"
                else {"notification": {"title": rendered.title, "body": rendered.body}, "data": data},
                ensure_ascii=False,
            ),
        }
        try:
            out = sns.publish(
                TargetArn=endpoint, Message=json.dumps(payload, ensure_ascii=False), MessageStructure="json"
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "EndpointDisabled":
                raise ChannelRefused(f"endpoint_disabled:{device.device_id}") from None
            raise
        return str(out["MessageId"])

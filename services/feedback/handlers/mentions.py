"""Reading a mention off a queue the mentions topic feeds (raw delivery of ``dal.mentions``'
envelope): the ``Classified`` it carries, or ``BadEvent`` naming what is wrong, never its text."""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import ValidationError

from services.feedback.models.intake import Classified
from shared.consumers import BadEvent


def classified_of(record: SQSRecord) -> Classified:
    try:
        body = json.loads(record.body)
    except ValueError:
        raise BadEvent([{"loc": ["body"], "type": "not_json"}]) from None
    data = body.get("data") if isinstance(body, dict) else None
    try:
        return Classified.model_validate(data)
    except ValidationError as bad:
        raise BadEvent([{"loc": list(e["loc"]), "type": e["type"]} for e in bad.errors()]) from None

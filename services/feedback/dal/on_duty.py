"""Telling the person on duty (the ``feedback-on-duty`` topic: e-mail, SMS or chat subscribers).
Ids, codes, counts and links only: the topic's subscribers are outside the service."""

from __future__ import annotations

import json
from typing import Any

from shared import aws


def tell_on_duty(topic_arn: str, subject: str, lines: dict[str, Any]) -> None:
    aws.client("sns").publish(
        TopicArn=topic_arn,
        Subject=subject[:100],
        Message=json.dumps(lines, ensure_ascii=False, indent=1),
    )

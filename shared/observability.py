"""Logger and metrics with the house defaults; personal data never reaches a log line.

The logger never logs the incoming event (it carries names, e-mails and
phones). A filter masks well-known personal keys in anything passed as
``extra`` and drops exception messages' request bodies, so a careless
``logger.info("x", extra={"email": ...})`` is still safe.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

from aws_lambda_powertools import Logger, Metrics

PERSONAL_KEYS = frozenset(
    {
        "name",
        "display_name",
        "given_name",
        "family_name",
        "email",
        "phone",
        "phone_number",
        "address",
        "birthday",
        "note",
        "notes",
        "body",
        "authorization",
        "token",
        "password",
    }
)
MASK = "***"


_RECORD_FIELDS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class _RedactPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in list(record.__dict__.items()):
            if key in _RECORD_FIELDS:
                continue  # the record's own fields (its logger's ``name`` among them)
            setattr(record, key, MASK if key.lower() in PERSONAL_KEYS else redact(value))
        if isinstance(record.msg, dict):
            record.msg = redact(record.msg)
        return True


def redact(value: Any) -> Any:
    """Mask personal keys at any depth of a dict/list structure."""
    if isinstance(value, dict):
        return {k: (MASK if str(k).lower() in PERSONAL_KEYS else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def make_logger(service: str | None = None) -> Logger:
    logger = Logger(service=service, log_uncaught_exceptions=True)
    logger.addFilter(_RedactPersonalData())
    return logger


def make_metrics(service: str | None = None) -> Metrics:
    # A request that records no metric is normal; Powertools would warn on every one of them.
    warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
    return Metrics(service=service)

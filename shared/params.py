"""The route parameters every service's handlers share, declared once so that each list pages and
each customer id is checked the same way everywhere (and documented the same in the OpenAPI).
An id of the service's own is ``Annotated[str, Path(pattern=prefixed_pattern("<prefix>"))]``."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from shared.ids import prefixed_pattern

CUSTOMER_ID_PATTERN = prefixed_pattern("cus")  # the profile service issues them; every service keys by them


Limit = Annotated[int | None, Query(description="Page size, 1..100 (25)")]
Cursor = Annotated[str | None, Query(max_length=2048, description="next_cursor of the last page")]
CustomerId = Annotated[str, Path(pattern=CUSTOMER_ID_PATTERN, description="A customer id (cus_…)")]

"""Walking every account (the sparse ``account-list`` index, never a scan) and keeping the
verification reports (``AUDIT/REPORT#<at>``, the newest read first)."""

from __future__ import annotations

from collections.abc import Iterator

from services.rewards.dal.keys import PK, SK, TTL
from services.rewards.models.audit import AuditReport
from services.rewards.topology import ACCOUNT_LIST
from shared.clock import iso
from shared.dynamo import DynamoTable, Key

REPORT_TTL_S = 400 * 86400


class DynamoAuditStore:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def account_pages(self, *, page_size: int = 100) -> Iterator[list[str]]:
        """Customer ids of every account, a page at a time, in id order."""
        start: Key | None = None
        while True:
            page = self.table.query(
                "listed = :l",
                values={":l": "ACCOUNT"},
                index=ACCOUNT_LIST.name,
                limit=page_size,
                start_key=start,
            )
            yield [str(i["customer_id"]) for i in page.items]
            start = page.last_key
            if start is None:
                return

    def save(self, report: AuditReport) -> None:
        self.table.put(
            {
                PK: "AUDIT",
                SK: f"REPORT#{iso(report.started_at)}",
                "report": report.model_dump_json(),
                TTL: int(report.started_at.timestamp()) + REPORT_TTL_S,
            }
        )

    def latest(self) -> AuditReport | None:
        page = self.table.query(
            "#pk = :pk AND begins_with(#sk, :r)",
            names={"#pk": PK, "#sk": SK},
            values={":pk": "AUDIT", ":r": "REPORT#"},
            forward=False,
            limit=1,
        )
        return AuditReport.model_validate_json(page.items[0]["report"]) if page.items else None

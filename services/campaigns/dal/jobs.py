"""The segmenter's next step, sent to the ``campaigns-segment-jobs`` queue: a segment's evaluation,
a draft rule's preview, or a deleted segment's members let go (``handlers.segmenter`` reads each)."""

from __future__ import annotations

import json

from shared import aws
from shared.queues import SqsSender


class QueuedSegmentJobs:
    def __init__(self, sender: SqsSender) -> None:
        self.sender = sender

    @classmethod
    def at(cls, queue_url: str) -> QueuedSegmentJobs:
        return cls(SqsSender(lambda: aws.client("sqs"), queue_url, failure_code="segment_not_queued"))

    def start(
        self,
        segment_id: str,
        version: int,
        *,
        after: str | None,
        looked_at: int,
        catching_up: bool = False,
        delay_s: int = 0,
    ) -> None:
        body = {"segment_id": segment_id, "version": version, "after": after, "looked_at": looked_at}
        if catching_up:
            body["catching_up"] = True
        self.sender.send([json.dumps(body)], delay_s=delay_s)

    def preview(self, preview_id: str, *, after: str | None, looked_at: int) -> None:
        body = {"preview_id": preview_id, "after": after, "looked_at": looked_at}
        self.sender.send([json.dumps(body)])

    def purge(self, segment_id: str, *, shard: int, after: str | None, final: bool, delay_s: int = 0) -> None:
        body = {"deleted_segment_id": segment_id, "shard": shard, "after": after, "final": final}
        self.sender.send([json.dumps(body)], delay_s=delay_s)

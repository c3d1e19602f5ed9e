"""Bulk import from CSV, end to end on moto: the upload validates every row, creates the job and
queues its chunks; the importer (driven here with real SQS messages from the imports queue)
imports the valid rows once, whatever is delivered twice or uploaded again; the job's progress
and its rejected rows are readable through the API."""

from __future__ import annotations

import base64
import csv
import io
import json
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from infra.local import provision
from infra.local.pollers import sqs_record
from infra.topology import SYSTEM
from services.profile.dal.imports import DynamoImportStore
from services.profile.topology import CRM_API, IMPORTER, IMPORTS_QUEUE, PROFILES
from shared.errors import ServiceUnavailable
from shared.topology import Function
from tests.integration.apigw import UNSET, ApiResponse, Invoker, LambdaContext, api_event
from tests.integration.conftest import STAGE, scan_all

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
MARKETER = "0b7c6d5e-1f2a-4b3c-8d9e-marketer0001"
HEADER = "external_ref,display_name,email,phone,birthday,locale,time_zone,wedding_anniversary"


# --- fixtures: the CRM API and the importer with their declared environment ---------------------


@pytest.fixture
def messaging(moto: None, bus: str) -> provision.Messaging:
    clients = (boto3.client("sqs"), boto3.client("sns"), boto3.client("events"))
    return provision.create_messaging(clients, SYSTEM, stage=STAGE, bus=bus)


@pytest.fixture
def crm(messaging: provision.Messaging, lambda_function: Callable[[Function], Invoker]) -> Invoker:
    """The CRM API, cold-started with its declared environment (its queue exists first)."""
    return lambda_function(CRM_API)


class Importer:
    """Lambda's SQS event source, by hand: receive a chunk, invoke the importer, delete it if it
    succeeded. ``deliver`` hands a message to the importer again (a redelivery)."""

    def __init__(self, function: Invoker, messaging: provision.Messaging) -> None:
        self.function = function
        self.sqs = boto3.client("sqs")
        self.url = messaging.queue_urls[IMPORTS_QUEUE.id]
        self.arn = messaging.queue_arns[IMPORTS_QUEUE.id]
        self.messages: list[Any] = []  # every message received, in order

    def receive(self) -> list[Any]:
        out = self.sqs.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=0,
            MessageSystemAttributeNames=["All"],
        )
        received = out.get("Messages", [])
        for message in received:
            self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        self.messages += received
        return received

    def deliver(self, message: Any, receive_count: int = 1) -> list[str]:
        """Invoke the importer with this message; returns the ids it reported failed."""
        record = sqs_record(message, queue_arn=self.arn, region="ap-northeast-2")
        record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
        out = self.function.handler({"Records": [record]}, LambdaContext.of(IMPORTER))
        return [f["itemIdentifier"] for f in out["batchItemFailures"]]

    def drain(self) -> int:
        """Import everything queued; returns how many chunks were delivered."""
        delivered = 0
        while received := self.receive():
            for message in received:
                assert self.deliver(message) == []
                delivered += 1
        return delivered


@pytest.fixture
def importer(messaging: provision.Messaging, lambda_function: Callable[[Function], Invoker]) -> Importer:
    return Importer(lambda_function(IMPORTER), messaging)


@pytest.fixture
def imported_events(bus: str) -> Callable[[], list[dict[str, Any]]]:
    sqs, events = boto3.client("sqs"), boto3.client("events")
    url = sqs.create_queue(QueueName="imported")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="imported", EventBusName=bus, EventPattern=json.dumps({"detail-type": ["CustomerImported"]})
    )
    events.put_targets(Rule="imported", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])

    def read() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            found += [json.loads(m["Body"]) for m in messages]
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
        return found

    return read


# --- helpers ---------------------------------------------------------------------------------------


def good_row(i: int) -> list[str]:
    return [
        f"OLD-{i:05d}",
        f"고객 {i}, 단골",  # a comma inside a quoted cell
        f"customer{i}@example.com",
        f"+8210{i:08d}",
        "1990-03-14" if i % 2 else "",
        "ko-KR",
        "Asia/Seoul" if i % 3 else "America/New_York",
        "2015-05-20" if i % 5 == 0 else "",
    ]


def to_csv(rows: list[list[str]], header: str = HEADER) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header.split(","))
    writer.writerows(rows)
    return out.getvalue()


def upload(
    api: Invoker,
    body: str | None,
    *,
    groups: str = "marketing",
    content_type: str = "text/csv",
    key: str | None = None,
    base64_body: bool = False,
    claims: Any = UNSET,
) -> ApiResponse:
    headers = {"Content-Type": content_type, "Idempotency-Key": key or uuid.uuid4().hex}
    return api(
        api_event(
            "profile_get_customer",
            method="POST",
            resource="/imports",
            path="/imports",
            path_parameters=None,
            body=body,
            base64=base64_body,
            headers=headers,
            sub=MARKETER if claims is UNSET else None,
            groups=groups if claims is UNSET else None,
            claims=claims,
        )
    )


def get(
    api: Invoker, resource: str, job_id: str, query: dict[str, str] | None = None, groups: str = "marketing"
) -> ApiResponse:
    return api(
        api_event(
            "profile_get_customer",
            resource=resource,
            path_parameters={"job_id": job_id},
            query=query,
            sub=MARKETER,
            groups=groups,
        )
    )


def job_of(api: Invoker, job_id: str) -> dict[str, Any]:
    response = get(api, "/imports/{job_id}", job_id)
    assert response.status == 200, response.body
    return dict(response.json())


def items(prefix: str, sk: str | None = None) -> list[dict[str, Any]]:
    return [
        i
        for i in scan_all(PROFILES)
        if i["pk"]["S"].startswith(prefix) and (sk is None or i["sk"]["S"].startswith(sk))
    ]


def profiles() -> list[dict[str, Any]]:
    return items("CUSTOMER#", "PROFILE")


# --- the whole story -------------------------------------------------------------------------------


def test_an_import_validates_every_row_imports_the_valid_ones_and_reports_the_rest(
    crm: Invoker, importer: Importer, imported_events: Callable[[], list[dict[str, Any]]]
) -> None:
    # Given a file of 300 rows, 12 of them bad in different ways, with blank lines between
    rows = [good_row(i) for i in range(300)]
    bad = {
        5: (3, "+82-10-1234"),  # phone not E.164
        17: (4, "1990-02-30"),  # no such day
        33: (6, "Mars/Olympus"),  # no such zone
        48: (1, ""),  # no name
        59: (0, ""),  # no ref
        71: (0, "OLD-00001"),  # a ref already used on an earlier row
        88: (7, "2999-01-01"),  # a wedding in the future
        101: (2, "not-an-email"),
        133: (3, "01012345678"),
        177: (4, "14/03/1990"),
        222: (3, "+8210"),
        260: (6, "KST"),
    }
    for i, (column, value) in bad.items():
        rows[i][column] = value
    text = "\ufeff" + to_csv(rows).replace("\r\nOLD-00100,", "\r\n\r\n,,,\r\nOLD-00100,")

    # When marketing uploads it
    response = upload(crm, text)

    # Then the job is queued with the counts of the whole file, and nothing is imported yet
    assert response.status == 202, response.body
    job = response.json()
    assert (job["status"], job["total"], job["valid"], job["rejected"]) == ("queued", 300, 288, 12)
    assert (job["imported"], job["skipped"], job["failed"], job["percent"]) == (0, 0, 0, 0)
    assert job["created_by"] == MARKETER
    assert profiles() == []

    # When the importer has worked through the queue
    chunks = importer.drain()

    # Then the rows arrived in two chunks of rows and one of rejections, and the job is complete
    assert chunks == job["chunks"] == 3
    done = job_of(crm, job["job_id"])
    assert (done["status"], done["imported"], done["skipped"], done["failed"]) == ("completed", 288, 0, 0)
    assert done["percent"] == 100
    assert done["completed_at"] is not None
    # And each valid row is one profile, with its import ref, its anniversaries and no identity
    stored = profiles()
    assert len(stored) == 288
    refs = {p["import_ref"]["S"] for p in stored}
    assert refs == {f"OLD-{i:05d}" for i in range(300) if i not in bad}
    first = next(p for p in stored if p["import_ref"]["S"] == "OLD-00000")
    assert first["display_name"]["S"] == "고객 0, 단골"
    assert first["email_key"]["S"] == "customer0@example.com"
    assert first["time_zone"]["S"] == "America/New_York"
    assert first["anniversaries"]["L"][0]["M"]["kind"]["S"] == "wedding"
    assert first["version"]["N"] == "1"
    assert items("IDENTITY#") == []
    assert len(items("IMPORTREF#")) == 288
    births = sum(1 for i in range(300) if i not in bad and i % 2)
    weddings = sum(1 for i in range(300) if i not in bad and i % 5 == 0)
    assert len(items("ANNIV#")) == births + weddings
    # And one CustomerImported per customer went out, with no personal data, and the outbox is empty
    events = imported_events()
    assert len(events) == 288
    assert {e["detail"]["data"]["customer_id"] for e in events} == {p["customer_id"]["S"] for p in stored}
    assert all(set(e["detail"]["data"]) == {"customer_id", "job_id", "locale", "time_zone"} for e in events)
    assert "example.com" not in json.dumps(events)
    assert items("OUTBOX#") == []

    # And the rejections say which row, which column and why, in file order, without the values
    rejected = get(crm, "/imports/{job_id}/rejections", job["job_id"], {"limit": "100"}).json()
    assert rejected["next_cursor"] is None
    by_row = {r["row"]: r for r in rejected["items"]}
    assert list(by_row) == sorted(by_row)
    # Spreadsheet row numbers: the header is row 1; rows after the two blank lines move down by 2
    row_of = {i: i + 2 + (2 if i >= 100 else 0) for i in bad}
    assert set(by_row) == set(row_of.values())
    assert by_row[row_of[5]]["problems"] == [
        {"column": "phone", "code": "invalid", "message": by_row[row_of[5]]["problems"][0]["message"]}
    ]
    assert by_row[row_of[48]]["problems"][0]["column"] == "display_name"
    assert by_row[row_of[59]]["external_ref"] is None
    assert by_row[row_of[71]]["problems"] == [
        {"column": "external_ref", "code": "duplicate", "message": "The same external_ref as row 3."}
    ]
    assert by_row[row_of[88]]["problems"][0]["column"] == "wedding_anniversary"
    assert by_row[row_of[33]]["problems"][0]["message"] == "not a known IANA time zone"
    assert "Mars" not in json.dumps(rejected)
    assert "+82-10-1234" not in json.dumps(rejected)


def test_uploading_the_same_file_again_imports_nothing_twice(
    crm: Invoker, importer: Importer, imported_events: Callable[[], list[dict[str, Any]]]
) -> None:
    # Given a file of 260 rows, 7 of them with a bad phone, imported
    rows = [good_row(i) for i in range(260)]
    for i in range(0, 260, 40):
        rows[i][3] = "010-0000-0000"
    text = to_csv(rows)
    first = upload(crm, text).json()
    importer.drain()
    assert (job_of(crm, first["job_id"])["imported"], first["rejected"]) == (253, 7)
    before = {p["customer_id"]["S"]: p for p in profiles()}
    imported_events()

    # When the same file is uploaded again (a new job) and imported
    again = upload(crm, text).json()
    importer.drain()

    # Then the new job skipped every valid row and rejected the bad ones again: no new profile,
    # no changed profile, no new event
    done = job_of(crm, again["job_id"])
    assert (done["status"], done["imported"], done["skipped"], done["rejected"]) == ("completed", 0, 253, 7)
    after = {p["customer_id"]["S"]: p for p in profiles()}
    assert after == before
    assert imported_events() == []


def test_a_redelivered_chunk_is_counted_once_and_writes_nothing_new(crm: Invoker, importer: Importer) -> None:
    # Given a job of one chunk, imported
    job = upload(crm, to_csv([good_row(i) for i in range(10)])).json()
    (message,) = importer.receive()
    assert importer.deliver(message) == []
    before = sorted(json.dumps(i, sort_keys=True) for i in scan_all(PROFILES) if "OUTBOX" not in i["pk"]["S"])

    # When SQS delivers the same chunk again
    assert importer.deliver(message, receive_count=2) == []

    # Then the job counts it once, and the table is as it was
    done = job_of(crm, job["job_id"])
    assert (done["imported"], done["skipped"], done["status"]) == (10, 0, "completed")
    after = sorted(json.dumps(i, sort_keys=True) for i in scan_all(PROFILES) if "OUTBOX" not in i["pk"]["S"])
    assert after == before


def test_a_chunk_that_crashed_after_its_claims_is_finished_by_its_redelivery(
    crm: Invoker, importer: Importer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a chunk whose first attempt claimed its rows and then crashed before writing them
    job = upload(crm, to_csv([good_row(i) for i in range(12)])).json()
    (message,) = importer.receive()
    with monkeypatch.context() as patch:
        patch.setattr(DynamoImportStore, "write_imported", _unavailable)
        assert importer.deliver(message) == [message["MessageId"]]
    assert len(items("IMPORTREF#")) == 12
    assert profiles() == []
    assert job_of(crm, job["job_id"])["status"] == "queued"

    # When SQS delivers it again
    assert importer.deliver(message, receive_count=2) == []

    # Then every row is imported once, as the customer its claim named
    claims = {i["customer_id"]["S"] for i in items("IMPORTREF#")}
    assert {p["customer_id"]["S"] for p in profiles()} == claims
    done = job_of(crm, job["job_id"])
    assert (done["status"], done["imported"], done["skipped"]) == ("completed", 12, 0)


def test_a_chunk_that_crashed_after_its_writes_keeps_what_staff_changed_meanwhile(
    crm: Invoker, importer: Importer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a chunk whose first attempt wrote its customers and crashed before counting itself
    job = upload(crm, to_csv([good_row(i) for i in range(3)])).json()
    (message,) = importer.receive()
    with monkeypatch.context() as patch:
        patch.setattr(DynamoImportStore, "finish_chunk", _unavailable)
        assert importer.deliver(message) == [message["MessageId"]]
    # And staff renamed one of them since
    changed = profiles()[0]
    boto3.client("dynamodb").update_item(
        TableName=provision.table_name(SYSTEM, STAGE, PROFILES),
        Key={"pk": changed["pk"], "sk": changed["sk"]},
        UpdateExpression="SET display_name = :n, version = :v",
        ExpressionAttributeValues={":n": {"S": "Renamed"}, ":v": {"N": "2"}},
    )

    # When the chunk is delivered again
    assert importer.deliver(message, receive_count=2) == []

    # Then the rename stands, and the rows count once
    again = next(p for p in profiles() if p["pk"] == changed["pk"])
    assert (again["display_name"]["S"], again["version"]["N"]) == ("Renamed", "2")
    assert len(profiles()) == 3
    done = job_of(crm, job["job_id"])
    assert (done["status"], done["imported"]) == ("completed", 3)


def _unavailable(*args: Any, **kwargs: Any) -> Any:
    raise ServiceUnavailable(code="dependency_unavailable")


def test_a_poison_chunk_is_retried_counted_failed_on_its_last_receive_and_redrive_finishes_it(
    crm: Invoker, importer: Importer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a job of one chunk that fails on every attempt
    job = upload(crm, to_csv([good_row(i) for i in range(5)])).json()
    (message,) = importer.receive()
    with monkeypatch.context() as patch:
        patch.setattr(DynamoImportStore, "write_imported", _unavailable)
        # When SQS delivers it up to its maxReceiveCount
        for attempt in range(1, IMPORTS_QUEUE.max_receive_count):
            assert importer.deliver(message, receive_count=attempt) == [message["MessageId"]]
            # Then each attempt but the last leaves the job waiting
            assert job_of(crm, job["job_id"])["status"] == "queued"
        assert importer.deliver(message, receive_count=IMPORTS_QUEUE.max_receive_count) == [
            message["MessageId"]
        ]
    # And the last attempt counts its rows failed, so the job ends (and the message goes to the DLQ)
    failed = job_of(crm, job["job_id"])
    assert (failed["status"], failed["failed"], failed["imported"], failed["percent"]) == (
        "failed",
        5,
        0,
        100,
    )

    # When the DLQ is redriven and the chunk delivered again, now healthy
    assert importer.deliver(message, receive_count=1) == []

    # Then its rows move from failed to imported and the job is complete
    done = job_of(crm, job["job_id"])
    assert (done["status"], done["failed"], done["imported"]) == ("completed", 0, 5)
    assert len(profiles()) == 5


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        json.dumps({"job_id": "imp_01JK2M3N4P5Q6R7S8T9V0W1X2Y", "chunk": 0}),
        json.dumps({"job_id": "../etc", "chunk": 0, "kind": "rows", "rows": []}),
        json.dumps({"job_id": "imp_01JK2M3N4P5Q6R7S8T9V0W1X2Y", "chunk": 0, "kind": "rows", "rows": []}),
    ],
    ids=["not-json", "not-a-chunk", "bad-job-id", "no-such-job"],
)
def test_a_message_that_is_no_chunk_of_ours_fails_without_writing_anything(
    importer: Importer, body: str
) -> None:
    # Given a message on the imports queue that is not a chunk of an existing job
    message = {"MessageId": "m-1", "ReceiptHandle": "r-1", "Body": body, "Attributes": {}}
    # When it is delivered, even for the last time
    failed = importer.deliver(message, receive_count=IMPORTS_QUEUE.max_receive_count)
    # Then it is reported failed (SQS dead-letters it after maxReceiveCount) and nothing is written
    assert failed == ["m-1"]
    assert scan_all(PROFILES) == []


def test_progress_is_readable_while_the_job_runs(crm: Invoker, importer: Importer) -> None:
    # Given a job of 300 valid rows (two chunks of rows)
    job = upload(crm, to_csv([good_row(i) for i in range(300)])).json()
    first, second = importer.receive()
    # When one chunk is done
    assert importer.deliver(first) == []
    # Then the job is running, with its share done
    running = job_of(crm, job["job_id"])
    assert running["status"] == "running"
    assert running["imported"] in {250, 50}
    assert running["percent"] == running["imported"] * 100 // 300
    # When the other is done, the job is complete
    assert importer.deliver(second) == []
    assert job_of(crm, job["job_id"])["status"] == "completed"


def test_a_file_with_only_bad_rows_completes_with_its_rejections(crm: Invoker, importer: Importer) -> None:
    # Given a file whose every row is invalid
    job = upload(crm, to_csv([["", "", "", "", "", "", "", "1999-01-01"], ["X", "", "", "", "", "", "", ""]]))
    assert job.status == 202
    assert (job.json()["valid"], job.json()["rejected"]) == (0, 2)
    # When the importer runs
    importer.drain()
    # Then the job is complete, with nothing imported and both rejections listed
    done = job_of(crm, job.json()["job_id"])
    assert (done["status"], done["imported"], done["percent"]) == ("completed", 0, 100)
    listed = get(crm, "/imports/{job_id}/rejections", done["job_id"]).json()["items"]
    assert [r["row"] for r in listed] == [2, 3]


# --- the upload's refusals -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "status", "code"),
    [
        ("external_ref,display_name,favourite_colour\r\nA,B,red\r\n", 422, "unknown_columns"),
        ("external_ref,email\r\nA,a@b.co\r\n", 422, "missing_columns"),
        ("external_ref,display_name,Display_Name\r\nA,B,C\r\n", 422, "duplicate_columns"),
        ("external_ref,display_name\r\n", 422, "no_rows"),
        ("\r\n\r\n", 422, "missing_columns"),
        ('external_ref,display_name\r\nA,"unterminated\r\nB,C\r\n', 400, "malformed_csv"),
    ],
    ids=["unknown-column", "missing-column", "duplicate-column", "no-rows", "no-header", "broken-quote"],
)
def test_a_file_that_cannot_be_read_is_refused_and_creates_no_job(
    crm: Invoker, importer: Importer, text: str, status: int, code: str
) -> None:
    # Given a file with a bad header, no rows or broken quoting
    # When it is uploaded
    response = upload(crm, text)
    # Then it is refused with a code, no job exists and nothing is queued
    assert (response.status, response.error["code"]) == (status, code)
    assert scan_all(PROFILES) == []
    assert importer.receive() == []


def test_a_file_that_is_not_utf8_is_a_400(crm: Invoker) -> None:
    # Given a file in EUC-KR, sent base64-encoded as API Gateway does for binary bodies
    raw = "external_ref,display_name\r\nA,김민지\r\n".encode("euc-kr")
    # When it is uploaded
    response = upload(crm, base64.b64encode(raw).decode(), base64_body=True)
    # Then it is refused as not UTF-8
    assert (response.status, response.error["code"]) == (400, "malformed_body")
    assert scan_all(PROFILES) == []


def test_a_base64_encoded_utf8_file_is_read(crm: Invoker) -> None:
    # Given a UTF-8 file with a byte-order mark, base64-encoded
    raw = "\ufeffexternal_ref,display_name\nA,김민지\n".encode()
    # When it is uploaded
    response = upload(crm, base64.b64encode(raw).decode(), base64_body=True)
    # Then it is accepted
    assert (response.status, response.json()["valid"]) == (202, 1)


@pytest.mark.parametrize(
    ("content_type", "body", "status", "code"),
    [
        ("application/json", '{"rows": []}', 415, "unsupported_media_type"),
        ("text/plain", "external_ref,display_name\r\nA,B\r\n", 415, "unsupported_media_type"),
        ("text/csv", "x" * (5 * 1024 * 1024 + 1), 413, "payload_too_large"),
        ("text/csv", None, 422, "missing_columns"),
    ],
    ids=["json", "plain-text", "over-5-MB", "no-body"],
)
def test_the_upload_takes_only_csv_up_to_5_mb(
    crm: Invoker, content_type: str, body: str | None, status: int, code: str
) -> None:
    # Given a body of another type, too large, or none
    # When it is uploaded
    response = upload(crm, body, content_type=content_type)
    # Then it is refused with a code and nothing is written
    assert (response.status, response.error["code"]) == (status, code)
    assert scan_all(PROFILES) == []


def test_an_upload_retried_with_its_idempotency_key_creates_one_job(crm: Invoker, importer: Importer) -> None:
    # Given an upload with an Idempotency-Key
    text = to_csv([good_row(i) for i in range(3)])
    first = upload(crm, text, key="upload-2025-03-14")
    # When the client retries it with the same key
    again = upload(crm, text, key="upload-2025-03-14")
    # Then the retry gets the first answer, and only one job was created and queued
    assert first.status == again.status == 202
    assert again.json() == first.json()
    assert again.header("Idempotent-Replayed") == "true"
    assert len(items("IMPORT#", "JOB")) == 1
    assert importer.drain() == 1


def test_when_the_queue_refuses_the_job_is_failed_and_the_upload_a_503(
    crm: Invoker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an importer queue that cannot be reached
    from services.profile.handlers import crm_api

    deps = crm_api.dependencies()
    monkeypatch.setattr(deps.queue, "url", deps.queue.url + "-gone")
    # When a file is uploaded
    response = upload(crm, to_csv([good_row(1)]))
    # Then the client is told to retry, and the job is recorded as failed
    assert (response.status, response.error["code"]) == (503, "import_not_queued")
    (job,) = items("IMPORT#", "JOB")
    assert job["status"]["S"] == "failed"


# --- who may import, and reading jobs ---------------------------------------------------------------


@pytest.mark.parametrize("groups", ["customer", "agent"])
def test_only_marketing_and_admins_import_or_read_imports(crm: Invoker, groups: str) -> None:
    # Given a job created by marketing
    job = upload(crm, to_csv([good_row(1)])).json()
    # When a customer or an agent tries to upload or read it
    attempts = [
        upload(crm, to_csv([good_row(2)]), groups=groups),
        get(crm, "/imports/{job_id}", job["job_id"], groups=groups),
        get(crm, "/imports/{job_id}/rejections", job["job_id"], groups=groups),
    ]
    # Then each is a 403 and no second job exists
    assert [(r.status, r.error["code"]) for r in attempts] == [(403, "forbidden")] * 3
    assert len(items("IMPORT#", "JOB")) == 1
    # And an admin may read it
    assert get(crm, "/imports/{job_id}", job["job_id"], groups="admin").status == 200


def test_a_machine_cannot_import(crm: Invoker) -> None:
    # Given a store system's machine token
    machine = {
        "sub": "pos-gangnam",
        "scope": "dangol/machine",
        "client_id": "pos-gangnam",
        "token_use": "access",
    }
    # When it uploads a file
    response = upload(crm, to_csv([good_row(1)]), claims=machine)
    # Then it is refused
    assert (response.status, response.error["code"]) == (403, "forbidden")
    assert scan_all(PROFILES) == []


def test_unknown_and_malformed_job_ids(crm: Invoker) -> None:
    # Given no job
    unknown = "imp_01JK2M3N4P5Q6R7S8T9V0W1X2Y"
    # When a job that does not exist, or an id that cannot be one, is read
    missing = [get(crm, r, unknown) for r in ("/imports/{job_id}", "/imports/{job_id}/rejections")]
    malformed = get(crm, "/imports/{job_id}", "imp_123")
    # Then the first are 404 and the last 422
    assert [(r.status, r.error["code"]) for r in missing] == [(404, "import_not_found")] * 2
    assert (malformed.status, malformed.error["code"]) == (422, "validation_error")


def test_rejections_are_paged_with_signed_cursors(crm: Invoker, importer: Importer) -> None:
    # Given a job with 7 rejected rows and another job
    rows = [good_row(i) for i in range(7)]
    for row in rows:
        row[3] = "bad phone"
    job = upload(crm, to_csv(rows)).json()
    other = upload(crm, to_csv(rows)).json()
    importer.drain()
    path = "/imports/{job_id}/rejections"

    # When they are read 3 at a time
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = get(crm, path, job["job_id"], query).json()
        seen += [r["row"] for r in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # Then every row comes once, in order
    assert seen == list(range(2, 9))
    assert pages == 3

    # And a tampered cursor, another job's cursor and limits out of range are refused
    first = get(crm, path, job["job_id"], {"limit": "3"}).json()["next_cursor"]
    tampered = first[:-2] + ("AA" if not first.endswith("AA") else "BB")
    refusals = [
        get(crm, path, job["job_id"], {"cursor": tampered}),
        get(crm, path, other["job_id"], {"cursor": first}),
        get(crm, path, job["job_id"], {"limit": "0"}),
        get(crm, path, job["job_id"], {"limit": "101"}),
    ]
    assert [(r.status, r.error["code"]) for r in refusals] == [
        (400, "invalid_cursor"),
        (400, "invalid_cursor"),
        (400, "invalid_limit"),
        (400, "invalid_limit"),
    ]

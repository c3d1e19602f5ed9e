"""The console's pure parts: the API's errors as exit codes, files read with their lines, CSV lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from console import errors, files
from console.commands.rewards import customer_ids
from console.errors import ConsoleError

SEGMENT = """\
name: Lapsed
rule:
  all:
    - field: last_purchase_at
      op: not_within_days
      value: 60
    - field: consent
      op: sort_of
      value: email.marketing
"""


@pytest.mark.parametrize(
    ("status", "exit_code"),
    [(400, 1), (401, 5), (403, 5), (404, 3), (409, 4), (412, 4), (422, 1), (428, 4), (500, 1), (503, 1)],
)
def test_each_status_of_the_api_is_its_documented_exit_code(status: int, exit_code: int) -> None:
    found = errors.from_response(status, {"error": {"code": "some_code", "message": "Said.", "details": []}})
    assert (found.exit_code, found.code, found.line()) == (exit_code, "some_code", "error [some_code]: Said.")


def test_an_answer_that_is_not_the_apis_error_still_says_its_status() -> None:
    found = errors.from_response(502, "<html>bad gateway</html>")
    assert (found.exit_code, found.code, found.message) == (1, "http_error", "HTTP 502")


def test_a_refused_value_is_pointed_at_its_line_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "segment.yaml"
    path.write_text(SEGMENT, encoding="utf-8")
    document = files.read(path)
    # Given the API's refusal of rule.all[1].op (pydantic names the union's member: "consent")
    refused = errors.from_response(
        422,
        {
            "error": {
                "code": "validation_error",
                "message": "The request is not valid.",
                "details": [
                    {"loc": ["body", "rule", "all", 1, "consent", "op"], "msg": "Input should be 'granted'"}
                ],
            }
        },
    )
    # Then the message names the file's line 8, where that value is
    assert document.mistake(refused).message.startswith(f"{path}:8: The request is not valid.")


def test_yaml_that_does_not_parse_names_its_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nrule:\n  all: [\n    - field\n", encoding="utf-8")
    with pytest.raises(ConsoleError) as raised:
        files.read(path)
    assert raised.value.code == "invalid_yaml"
    assert raised.value.message.startswith(f"{path}:4:")


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConsoleError) as raised:
        files.read(tmp_path / "nope.yaml")
    assert raised.value.line() == f"error [file_not_found]: {tmp_path / 'nope.yaml'}: no such file"


def test_a_customer_list_is_its_customer_id_column_each_once(tmp_path: Path) -> None:
    listed = tmp_path / "list.csv"
    listed.write_text("name,customer_id\nA,cus_1\nB,cus_2\nA again,cus_1\n,\n", encoding="utf-8")
    assert customer_ids(listed) == ["cus_1", "cus_2"]
    bare = tmp_path / "bare.csv"
    bare.write_text("cus_3\ncus_4\n", encoding="utf-8")
    assert customer_ids(bare) == ["cus_3", "cus_4"]


def test_dates_and_times_stay_the_text_the_api_reads(tmp_path: Path) -> None:
    path = tmp_path / "gift.yaml"
    path.write_text("starts_at: 2026-01-01T00:00:00+09:00\nday: 2026-01-01\nstock: 3\n", encoding="utf-8")
    assert files.read(path).data == {
        "starts_at": "2026-01-01T00:00:00+09:00",
        "day": "2026-01-01",
        "stock": 3,
    }

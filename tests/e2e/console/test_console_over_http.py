"""``dangol``, the console, against the running local system over HTTP: it logs in with the user
pool, keeps and refreshes its tokens, reads and changes what an agent works with, and fails with
the documented exit code and one line (2 usage, 3 not found, 4 conflict, 5 authentication)."""

from __future__ import annotations

import json
import os
import stat
import uuid
from pathlib import Path

from console.client import Client
from tests.e2e.conftest import LocalSystem
from tests.e2e.console.conftest import Run


def tokens_file(tmp_path: Path) -> Path:
    return tmp_path / "config" / "dangol" / "tokens" / "local.json"


def test_login_keeps_the_tokens_for_the_user_alone_and_whoami_names_the_role(
    dangol: Run, tmp_path: Path
) -> None:
    # When an agent logs in to the local system (its demo agent)
    logged = dangol("login", "--as", "agent")
    # Then the console says so, and keeps the tokens in a file only the user can read
    assert logged.code == 0, logged.err
    assert "logged in to local" in logged.err
    assert stat.S_IMODE(os.stat(tokens_file(tmp_path)).st_mode) == 0o600
    # And whoami names the login and its role
    me = dangol("whoami", "-o", "json")
    assert me.code == 0, me.err
    assert me.json()["roles"] == ["agent"]
    assert me.json()["profile"] == "local"


def test_a_login_about_to_expire_is_refreshed_by_itself(dangol: Run, tmp_path: Path) -> None:
    assert dangol("login", "--as", "agent").code == 0
    # Given the kept ID token expires within the minute
    kept = json.loads(tokens_file(tmp_path).read_text())
    tokens_file(tmp_path).write_text(json.dumps({**kept, "expires_at": 0}))
    # When the console is used
    me = dangol("whoami", "-o", "json")
    # Then it refreshed the login with the refresh token, and kept the new one
    assert me.code == 0, me.err
    assert json.loads(tokens_file(tmp_path).read_text())["expires_at"] > 0


def test_without_a_login_or_with_a_dead_one_it_is_exit_5_in_one_line(dangol: Run, tmp_path: Path) -> None:
    # Given no login: exit 5, one line that says what to do
    nobody = dangol("cases", "queue")
    assert (nobody.code, nobody.err.strip().count("\n")) == (5, 0)
    assert "dangol login" in nobody.err
    # Given a login whose refresh the pool refuses (expired or revoked)
    assert dangol("login", "--as", "agent").code == 0
    kept = json.loads(tokens_file(tmp_path).read_text())
    tokens_file(tmp_path).write_text(json.dumps({**kept, "expires_at": 0, "refresh_token": "revoked"}))
    expired = dangol("cases", "queue")
    assert expired.code == 5
    assert expired.err.startswith("error [login_expired]")


def test_the_wrong_role_is_exit_5_and_a_missing_thing_exit_3(dangol: Run) -> None:
    # Given marketing, who may not work cases
    assert dangol("login", "--as", "marketing").code == 0
    refused = dangol("cases", "queue")
    assert refused.code == 5, refused.err
    # Given an agent, a case that does not exist
    assert dangol("login", "--as", "agent").code == 0
    missing = dangol("cases", "show", "case_01JF0000000000000000000000")
    assert missing.code == 3, missing.err
    assert missing.err.startswith("error [case_not_found]")


def test_a_usage_mistake_is_exit_2(dangol: Run) -> None:
    assert dangol("login", "--as", "agent").code == 0
    # When a required option is missing, or a value is not a number
    assert dangol("cases", "confirm", "case_01JF0000000000000000000000").code == 2
    assert dangol("cases", "goodwill", "case_01JF0000000000000000000000", "lots", "sorry").code == 2


def test_an_agent_works_a_complaint_from_the_queue_to_the_customers_confirmation(
    dangol: Run, local: LocalSystem
) -> None:
    # Given a customer who raised a complaint in the app
    token, _customer = local.new_customer()
    customer = Client(local.url, token=lambda: token)
    raised = customer.post(
        "/me/cases", {"subject": "Cold latte", "description": "식어서 나왔어요", "category": "product"}
    )
    case_id = raised["case_id"]
    assert dangol("login", "--as", "agent").code == 0
    # When the agent reads the front line's new cases
    queue = dangol("cases", "queue", "-o", "json")
    assert queue.code == 0, queue.err
    assert case_id in [c["case_id"] for c in queue.json()]
    # and acknowledges it; a second acknowledgement is a conflict: exit 4, one line, the state named
    assert dangol("cases", "ack", case_id).code == 0
    again = dangol("cases", "ack", case_id)
    assert again.code == 4
    assert again.err.startswith("error [invalid_transition]")
    # and replies, resolves it in one stop, and records the customer's confirmation by phone
    assert dangol("cases", "reply", case_id, "A new latte is on us").code == 0
    resolved = dangol("cases", "resolve", case_id, "Replaced the drink", "--one-stop")
    assert resolved.code == 0, resolved.err
    confirmed = dangol("-o", "json", "cases", "confirm", case_id, "--channel", "phone")
    assert confirmed.code == 0, confirmed.err
    # Then the case is closed, one stop, confirmed by phone, and the customer read the reply
    shown = dangol("cases", "show", case_id, "-o", "json").json()
    assert (shown["status"], shown["one_stop"], shown["confirmed_by"]) == ("closed", True, "phone")
    mine = customer.get(f"/me/cases/{case_id}")
    assert "A new latte is on us" in [r.get("text") for r in mine["replies"]]
    # And the table a person reads names it
    table = dangol("cases", "show", case_id)
    assert case_id in table.out
    assert "closed" in table.out


def test_an_agent_finds_a_customer_sees_everything_and_notes_a_call(dangol: Run, local: LocalSystem) -> None:
    signed = local.sign_up()
    token, email = signed["id"], signed["username"]
    me = Client(local.url, token=lambda: token).post("/me", {"display_name": "콘솔", "email": email})
    customer_id = me["customer_id"]
    assert dangol("login", "--as", "agent").code == 0
    # When the agent finds the customer by e-mail
    found = dangol("customers", "find", "--email", email, "-o", "json")
    assert found.code == 0, found.err
    assert [c["customer_id"] for c in found.json()] == [customer_id]
    # and notes a call
    noted = dangol("customers", "note", customer_id, "Asked about her points", "--outcome", "resolved")
    assert noted.code == 0, noted.err
    # Then the customer's picture has the profile, the points and the call
    shown = dangol("customers", "show", customer_id, "-o", "json")
    assert shown.code == 0, shown.err
    picture = shown.json()
    assert picture["profile"]["customer_id"] == customer_id
    assert "balance" in (picture["points"] or {})
    assert [c["note"] for c in picture["contacts"]] == ["Asked about her points"]
    # and the table a person reads shows her consents, one a line, and the call
    table = dangol("customers", "show", customer_id).out
    assert "email.marketing" in table
    assert "Asked about her points" in table
    # And nobody with an unknown e-mail is exit 3; CSV is a header and rows
    assert dangol("customers", "find", "--email", "nobody@nowhere.dangol.dev").code == 3
    csv = dangol("customers", "find", "--email", email, "-o", "csv")
    assert csv.out.splitlines()[0].startswith("customer_id,")


def test_marketing_imports_a_csv_and_sees_the_rejected_rows(dangol: Run, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    members = tmp_path / "members.csv"
    members.write_text(
        "external_ref,display_name,email\n"
        f"ext-{tag}-1,Hana,hana-{tag}@example.com\n"
        f"ext-{tag}-2,Dong,\n"
        f"ext-{tag}-3,,nobody-{tag}@example.com\n",
        encoding="utf-8",
    )
    assert dangol("login", "--as", "marketing").code == 0
    # When the file is imported
    imported = dangol("customers", "import", str(members), "-o", "json")
    assert imported.code == 0, imported.err
    job = imported.json()
    # Then the two valid rows are imported and the third is rejected
    assert (job["status"], job["total"], job["imported"], job["rejected"]) == ("completed", 3, 2, 1)
    # And a person sees the rejected row, by its spreadsheet row number and column
    again = dangol("customers", "import", str(members))
    assert "rejected rows" in again.out
    assert "display_name" in again.out


def test_an_agent_hands_a_case_on_and_grants_goodwill_and_reads_the_digest(
    dangol: Run, local: LocalSystem
) -> None:
    # Given a customer's complaint
    token, _ = local.new_customer()
    customer = Client(local.url, token=lambda: token)
    case_id = customer.post("/me/cases", {"subject": "Wrong order", "description": "잘못 나왔어요"})[
        "case_id"
    ]
    assert dangol("login", "--as", "agent").code == 0
    # When the agent starts on it, assigns it and hands it to the follow-up team
    assert dangol("cases", "start", case_id).code == 0
    assigned = dangol("-o", "json", "cases", "assign", case_id, "agent-sooyeon")
    assert assigned.code == 0, assigned.err
    assert assigned.json()["assignee"] == "agent-sooyeon"
    escalated = dangol("-o", "json", "cases", "escalate", case_id, "Needs the store manager")
    assert (escalated.code, escalated.json()["team"]) == (0, "follow_up"), escalated.err
    # and asks the rewards service for goodwill points on it
    granted = dangol("-o", "json", "cases", "goodwill", case_id, "300", "Sorry for the mix-up")
    assert granted.code == 0, granted.err
    assert (granted.json()["points"], granted.json()["status"]) == (300, "requested")
    # Then the case is with the follow-up team, and the grant on it
    shown = dangol("cases", "show", case_id, "-o", "json").json()
    assert shown["team"] == "follow_up"
    assert [g["points"] for g in shown["grants"]] == [300]
    # And the digest reads (there may be none yet on a fresh system)
    assert dangol("cases", "digest").code == 0


def test_an_admin_exports_then_erases_a_customer_and_a_manager_comes_and_goes(
    dangol: Run, local: LocalSystem, tmp_path: Path
) -> None:
    _, customer_id = local.new_customer()
    assert dangol("login", "--as", "admin").code == 0
    # When a manager is assigned, then removed
    managed = dangol(
        "-o", "json", "customers", "manager", customer_id, "8f14e45f-ceea-467f-a0e6-1f2a3b4c5d6e"
    )
    assert managed.code == 0, managed.err
    assert managed.json()["manager_id"] == "8f14e45f-ceea-467f-a0e6-1f2a3b4c5d6e"
    assert dangol("customers", "manager", customer_id, "--remove").code == 0
    # When the customer's data is exported to a file
    exported = tmp_path / "export.json"
    assert dangol("customers", "export", customer_id, "--to", str(exported)).code == 0
    assert customer_id in exported.read_text(encoding="utf-8")
    # and the customer is erased (no question asked with --yes)
    erased = dangol("customers", "erase", customer_id, "--yes")
    assert erased.code == 0, erased.err
    # Then the customer is not found any more: exit 3
    assert dangol("customers", "show", customer_id).code == 3

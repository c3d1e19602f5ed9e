"""``dangol rewards`` against the running local system: the earn rules kept as a file are diffed
and applied once (a change made by hand shows in the next diff), points granted and coupons issued
to a CSV list with what was refused listed, gifts listed."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from console.client import Client
from tests.e2e.conftest import LocalSystem
from tests.e2e.console.conftest import Run

UNKNOWN = "cus_01JF0000000000000000000000"


def test_earn_rules_from_a_file_are_diffed_applied_once_and_a_manual_change_shows(
    dangol: Run, local: LocalSystem, tmp_path: Path
) -> None:
    assert dangol("login", "--as", "marketing").code == 0
    held = json.loads(dangol("rewards", "rules", "show", "-o", "json").out)
    original = held["max_points_per_purchase"]
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"max_points_per_purchase: {original - 1}\n", encoding="utf-8")
    try:
        # When the file differs from the stage, diff shows the one line that changes
        diff = dangol("rewards", "rules", "diff", "-f", str(rules))
        assert diff.code == 0, diff.err
        assert f'-  "max_points_per_purchase": {original},' in diff.out
        assert f'+  "max_points_per_purchase": {original - 1},' in diff.out
        # and apply makes it so, once
        first = dangol("-o", "json", "rewards", "rules", "apply", "-f", str(rules)).json()
        assert (first["result"], first["version"]) == ("updated", held["version"] + 1)
        again = dangol("-o", "json", "rewards", "rules", "apply", "-f", str(rules)).json()
        assert (again["result"], again["version"]) == ("unchanged", held["version"] + 1)
        assert "no change" in dangol("rewards", "rules", "diff", "-f", str(rules)).out
        # When someone changes the rules by hand, the next diff shows it
        staff = Client(local.url, token=lambda: local.token("marketing"))
        current = staff.request("GET", "/admin/earn-rules")
        changed = {k: v for k, v in current.json().items() if k not in ("version", "updated_at")}
        staff.put("/admin/earn-rules", {**changed, "max_points_per_purchase": original - 2},
                  headers={"If-Match": current.header("ETag") or ""})  # fmt: skip
        assert (
            f'+  "max_points_per_purchase": {original - 1},'
            in dangol("rewards", "rules", "diff", "-f", str(rules)).out
        )
    finally:
        rules.write_text(f"max_points_per_purchase: {original}\n", encoding="utf-8")
        assert dangol("rewards", "rules", "apply", "-f", str(rules)).code == 0


def test_points_and_coupons_go_to_a_csv_list_and_the_refused_are_listed(
    dangol: Run, local: LocalSystem, tmp_path: Path
) -> None:
    _, customer_id = local.new_customer()
    listing = tmp_path / "customers.csv"
    listing.write_text(f"customer_id,name\n{customer_id},New\n{UNKNOWN},Nobody\n", encoding="utf-8")
    assert dangol("login", "--as", "marketing").code == 0
    # When points are granted to the list
    granted = dangol(
        "rewards", "grant", "--customers", str(listing), "--points", "500", "--reason", "Spring", "-o", "json"
    )
    assert granted.code == 0, granted.err
    job = granted.json()
    # Then the known customer has them, and the unknown one is rejected
    assert (job["status"], job["granted"], job["rejected"]) == ("completed", 1, 1)
    table = dangol("rewards", "grant", "--customers", str(listing), "--points", "1", "--reason", "Again")
    assert UNKNOWN in table.out
    # When a coupon template is defined from a file (twice: made once) and issued to the list
    cake = tmp_path / "cake.yaml"
    tag = customer_id[-8:]
    cake.write_text(
        f"name: Console cake {tag}\n"
        "discount:\n  kind: amount\n  amount: 1000\n  currency: KRW\nvalid_days: 30\n",
        encoding="utf-8",
    )
    made = dangol("-o", "json", "rewards", "coupon-template", "-f", str(cake))
    assert made.code == 0, made.err
    coupon = made.json()
    assert coupon["result"] == "created"
    assert dangol("-o", "json", "rewards", "coupon-template", "-f", str(cake)).json()["result"] == "exists"
    issued = dangol("rewards", "issue", coupon["id"], "--customers", str(listing), "-o", "json")
    assert issued.code == 0, issued.err
    assert {r["customer_id"]: r["status"] for r in issued.json()} == {
        customer_id: "issued",
        UNKNOWN: "unknown_customer",
    }
    # And a gift is defined from a file, and the templates and gifts list them
    tumbler = tmp_path / "tumbler.yaml"
    tumbler.write_text(
        f"name: Console tumbler {tag}\nstock: 3\nmode: draw\nstarts_at: 2026-01-01T00:00:00+09:00\n"
        "ends_at: 2026-12-31T00:00:00+09:00\nmin_total: 10000\ncurrency: KRW\n",
        encoding="utf-8",
    )
    gift = dangol("-o", "json", "rewards", "gift", "-f", str(tumbler))
    assert gift.code == 0, gift.err
    assert f"Console cake {tag}" in dangol("rewards", "coupon-templates").out
    assert f"Console tumbler {tag}" in dangol("rewards", "gifts").out
    # And a list that is not there is exit 1, one line
    missing = dangol(
        "rewards", "grant", "--customers", str(tmp_path / "nope.csv"), "--points", "1", "--reason", "x"
    )
    assert (missing.code, missing.err.startswith("error [file_not_found]")) == (1, True)


def draw_gift(dangol: Run, folder: Path, name: str, *, stock: int, opens: datetime, hours: int) -> Any:
    """A draw gift (10,000 won and up) defined from a file through the console: the API's answer."""
    path = folder / f"{uuid.uuid4().hex[:8]}.yaml"
    path.write_text(
        f"name: {name}\nstock: {stock}\nmode: draw\nstarts_at: '{opens.isoformat()}'\n"
        f"ends_at: '{(opens + timedelta(hours=hours)).isoformat()}'\nmin_total: 10000\ncurrency: KRW\n",
        encoding="utf-8",
    )
    made = dangol("-o", "json", "rewards", "gift", "-f", str(path))
    assert made.code == 0, made.err
    return made.json()


def test_a_draw_gifts_draws_are_scheduled_once_committed_and_not_verifiable_before_they_run(
    dangol: Run, local: LocalSystem, tmp_path: Path
) -> None:
    assert dangol("login", "--as", "marketing").code == 0
    now = datetime.fromisoformat(local.request("GET", "/_local/clock").json()["now"])
    name = f"Hamper {uuid.uuid4().hex[:8]}"
    # Given a draw gift, defined from a file, open for the next three hours
    gift = draw_gift(dangol, tmp_path, name, stock=2, opens=now, hours=3)
    # When marketing schedules its two draws from a file naming the gift, twice
    draws = tmp_path / "draws.yaml"
    closes = [(now + timedelta(hours=h)).isoformat() for h in (1, 2)]
    draws.write_text(
        f"gift: {name}\ndraws:\n" + "".join(f"  - closes_at: '{c}'\n    winners: 1\n" for c in closes),
        encoding="utf-8",
    )
    first = dangol("-o", "json", "rewards", "schedule-draws", "-f", str(draws))
    assert (first.code, first.json()["result"]) == (0, "scheduled"), first.err
    # Then the second changes nothing
    assert dangol("-o", "json", "rewards", "schedule-draws", "-f", str(draws)).json()["result"] == "exists"

    # And each draw's commitment is published before it closes
    def committed() -> list[dict[str, object]]:
        shown = dangol("rewards", "draws", gift["id"], "-o", "json")
        assert shown.code == 0, shown.err
        listed: list[dict[str, object]] = shown.json()
        return listed if all(d["commitment"] for d in listed) else []

    deadline = time.monotonic() + 30
    while not (listed := committed()):
        assert time.monotonic() < deadline, "no commitments"
        time.sleep(0.5)
    assert [d["status"] for d in listed] == ["committed", "committed"]
    # And a draw that has not run cannot be verified yet: exit 4, one line
    early = dangol("rewards", "verify", gift["id"], "1")
    assert early.code == 4
    assert early.err.startswith("error [draw_not_drawn]:")
    assert len(early.err.strip().splitlines()) == 1
    # And a file naming no gift that exists is exit 1 at the gift's line
    draws.write_text("draws: []\ngift: No such hamper\n", encoding="utf-8")
    missing = dangol("rewards", "schedule-draws", "-f", str(draws))
    assert missing.code == 1
    assert missing.err.strip() == f"error [gift_not_found]: {draws}:2: no gift named 'No such hamper'"


def test_a_draw_among_a_gifts_entrants_picks_within_the_stock(
    dangol: Run, local: LocalSystem, tmp_path: Path
) -> None:
    assert dangol("login", "--as", "marketing").code == 0
    now = datetime.fromisoformat(local.request("GET", "/_local/clock").json()["now"])
    # Given a draw gift of one in stock, and a customer who entered it with a qualifying purchase
    gift = draw_gift(dangol, tmp_path, f"Umbrella {uuid.uuid4().hex[:8]}", stock=1, opens=now, hours=1)
    _, customer_id = local.new_customer()
    purchase = {
        "external_id": f"e2e-draw-{uuid.uuid4().hex[:10]}",
        "customer_id": customer_id,
        "store_id": "gangnam-01",
        "channel": "store",
        "currency": "KRW",
        "purchased_at": now.isoformat(),
        "lines": [{"sku": "CAKE", "name": "케이크", "category": "cake", "quantity": 1, "unit_price": 32000}],
    }
    assert local.request("POST", "/purchases", token=local.token("machine"), body=purchase).status == 201
    staff = Client(local.url, token=lambda: local.token("marketing"))
    deadline = time.monotonic() + 30
    while not staff.get(f"/admin/gifts/{gift['id']}")["entrants"]:
        assert time.monotonic() < deadline, "no entrant"
        time.sleep(0.3)
    # When marketing draws three winners
    drawn = dangol("-o", "json", "rewards", "draw", gift["id"], "--winners", "3")
    # Then one is drawn (never beyond the stock): the customer who entered, and none is left
    assert drawn.code == 0, drawn.err
    assert (drawn.json()["winners"], drawn.json()["remaining"]) == ([customer_id], 0)
    shown = dangol("rewards", "gifts")
    assert gift["name"] in shown.out

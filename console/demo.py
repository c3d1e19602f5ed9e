"""``dangol demo``: the product's stories, played on the local runtime's simulated clock through
the console, each step told in a line or two.

Staff work as they would: the console's own commands (``dangol apply``, ``campaigns launch``,
``customers show``, ``cases resolve``...), printed as typed and run in this process. What the
console does not do is played by the others of each story, through the same HTTP client: the
customers' app (sign-up, profile, consents, the offers waiting at login, a confirmation), the
stores' tills (purchases, with the till's machine token) and X (a signed webhook delivery).

The stories take the days after the simulated clock's today (it only moves forward), with
customers and names of their own, so the demo runs again on the same system; it finds the
local runtime the console uses (``make run``), or starts one of its own and stops it at the end.
Its console login lives in a folder of its own: yours is left alone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import yaml
from rich.console import Console

from console import auth, config
from console.client import Client, quote
from console.errors import ConsoleError

SEOUL = ZoneInfo("Asia/Seoul")
PILOT = 80  # the winback's customers: about 40 a group, 30 at least to tell a lift
START_TIMEOUT_S = 120
WAIT_S = 60  # the longest a step waits for the system (a step takes a second or two)
APP_ATTEMPTS = 6  # the app and the tills retry a cold start that ran past the gateway's timeout
PASSWORD = "Demo-customer-1"  # noqa: S105 - the demo customers' password, on the local runtime only
T = TypeVar("T")
say = Console(highlight=False, soft_wrap=True).print


class DemoFailed(ConsoleError):
    """A story did not come true: what was expected, in one line."""


def until(what: Callable[[], T | None], expected: str, timeout_s: float = WAIT_S) -> T:
    """``what()`` once it is truthy; a ``DemoFailed`` naming ``expected`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = what()
        if found:
            return found
        if time.monotonic() > deadline:
            raise DemoFailed(f"{expected}: not after {timeout_s:.0f} s", code="demo_failed")
        time.sleep(0.5)


def dangol(*argv: str) -> None:
    """A console command, printed as typed and run here; a failure stops the demo."""
    from console.app import main  # noqa: PLC0415 - the app registers this module's command

    say(f"[dim]$[/dim] [bold cyan]dangol {shlex.join(argv)}[/bold cyan]")
    code = main(list(argv))
    if code != 0:
        raise DemoFailed(f"dangol {shlex.join(argv)} exited {code}", code="demo_failed")


def step(text: str) -> None:
    say(f"[yellow]▸[/yellow] {text}")


# -- the system and the parts the console does not play ------------------------------------------


@dataclass
class Customer:
    name: str
    email: str
    customer_id: str
    app: Client  # the app, with the customer's token


@dataclass
class Stage:
    """The running local system, as each party of a story reaches it."""

    profile: config.Profile
    state: dict[str, Any]
    tag: str  # this run's: in names and e-mails, so the demo runs again on the same system
    idp: Any = None  # the app's Cognito client (one for every sign-up: threads share it)
    pilot: Future[list[Customer]] | None = None  # the winback's members, signing up meanwhile

    def __post_init__(self) -> None:
        self.idp = auth.identity_provider(self.profile)

    @property
    def local(self) -> Client:
        return Client(self.profile.api_url, local_secret=self.profile.local_secret)

    def clock(self, **order: Any) -> datetime:
        answer = self.local.post("/_local/clock", order)
        return datetime.fromisoformat(answer["now"])

    def outbox(self, customer_id: str) -> list[dict[str, Any]]:
        return list(self.local.get("/_local/messages", customer_id=customer_id)["items"])

    def till(self) -> Client:
        """A store's till: the machine client's access token (client credentials)."""
        basic = f"{self.state['machine_client_id']}:{self.state['machine_client_secret']}"
        form = urllib.parse.urlencode({"grant_type": "client_credentials", "scope": "dangol/machine"})
        answer = Client(self.state["token_url"]).request(
            "POST",
            "",
            raw=form.encode(),
            content_type="application/x-www-form-urlencoded",
            headers={"Authorization": "Basic " + base64.b64encode(basic.encode()).decode()},
            idempotency_key=None,
            auth=False,
        )
        token = str(answer.json()["access_token"])
        return Client(self.profile.api_url, token=lambda: token, attempts=APP_ATTEMPTS)

    def customer(self, name: str, **profile: Any) -> Customer:
        """A customer signed up in the app, with a profile."""
        email = f"{name.split(maxsplit=1)[0].lower()}-{uuid.uuid4().hex[:6]}@{self.tag}.demo.dangol.dev"
        auth.sign_up(self.profile, email, PASSWORD, idp=self.idp)
        tokens = auth.authenticate(self.profile, email, PASSWORD, _no_challenge, idp=self.idp)
        app = Client(self.profile.api_url, token=lambda: str(tokens["id_token"]), attempts=APP_ATTEMPTS)
        try:
            created = app.post("/me", {"display_name": name, "email": email, **profile})
        except ConsoleError as exc:
            if exc.code != "profile_exists":
                raise
            created = app.get("/me")  # a try the gateway timed out made it, as an app finds
        return Customer(name, email, str(created["customer_id"]), app)

    def purchase(self, till: Client, customer: Customer, at: datetime, *lines: dict[str, Any]) -> str:
        """A purchase recorded by the till; its id."""
        recorded = till.post(
            "/purchases",
            {
                "external_id": f"demo-{uuid.uuid4().hex[:12]}",
                "customer_id": customer.customer_id,
                "store_id": "gangnam-01",
                "channel": "store",
                "currency": "KRW",
                "purchased_at": at.isoformat(),
                "lines": list(lines),
            },
        )
        return str(recorded["purchase_id"])

    def x_secret(self) -> str:
        """The secret X signs its webhooks with: the local stage's, in its Secrets Manager."""
        import boto3  # noqa: PLC0415

        secrets = boto3.client(
            "secretsmanager",
            endpoint_url=self.state["moto_url"],
            region_name=self.state["region"],
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto's
        )
        return str(secrets.get_secret_value(SecretId="dangol-local-feedback-x-secret")["SecretString"])


def _no_challenge(prompt: str, hidden: bool) -> str:
    raise DemoFailed(f"the pool asked a demo customer: {prompt}", code="demo_failed")


def item(sku: str, name: str, category: str, price: int, quantity: int = 1) -> dict[str, Any]:
    return {"sku": sku, "name": name, "category": category, "quantity": quantity, "unit_price": price}


LATTE = item("LATTE", "카페라떼", "coffee", 5000)
CHOCO_CAKE = item("CAKE-CHOCO", "초코 케이크", "cake", 6500)
CAKE = item("CAKE-WHOLE", "생크림 케이크", "cake", 38000)


def write(folder: Path, name: str, document: dict[str, Any]) -> Path:
    """A YAML file of the demo's programme, shown as it is written."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    say(f"[dim]{path.name}:[/dim]")
    for line in text.splitlines():
        say(f"[dim]  {line}[/dim]")
    return path


# -- the stories ----------------------------------------------------------------------------------


def at(day: date, hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{day.isoformat()}T{hhmm}:00").replace(tzinfo=SEOUL)


def set_clock(stage: Stage, day: date, hhmm: str) -> None:
    stage.clock(set=f"{day.isoformat()}T{hhmm}", tz="Asia/Seoul")
    say(f"[magenta]⏱  {day.isoformat()} {hhmm} in Seoul[/magenta]")


def anniversary(stage: Stage, day: date, folder: Path) -> None:
    """Story 1: the day before a wedding anniversary, one personal message at 09:00 their time,
    and the offer waiting when they log in."""
    set_clock(stage, day, "08:40")
    step("Marketing defines a cake coupon and a wedding-anniversary campaign, kept as files.")
    dangol("login", "--as", "marketing")
    coupon = write(
        folder,
        "coupons/anniversary-cake.yaml",
        {
            "name": f"Anniversary cake {stage.tag}",
            "discount": {"kind": "amount", "amount": 5000, "currency": "KRW"},
            "valid_days": 30,
        },
    )
    dangol("rewards", "coupon-template", "-f", str(coupon))
    coupon_id = next(
        c["id"]
        for c in stage_client().pages("/admin/coupon-templates")
        if c["name"] == f"Anniversary cake {stage.tag}"
    )
    write(
        folder,
        "anniversary/templates/wedding.yaml",
        {
            "name": f"Wedding anniversary {stage.tag}",
            "channel": "push",
            "purpose": "marketing",
            "sender": "Dangol Bakery",
            "default_locale": "ko-KR",
            "locales": {
                "ko-KR": {
                    "title": "{{ customer.first_name }}님, 결혼 {{ trigger.years }}주년 축하드려요",
                    "body": "내일을 위해 {{ customer.usual }}와 {{ offer.title }}를 준비했어요"
                    " ({{ offer.expires_on }}까지)",
                }
            },
        },
    )
    write(
        folder,
        "anniversary/campaigns/wedding.yaml",
        {
            "name": f"Wedding anniversary {stage.tag}",
            "template": f"Wedding anniversary {stage.tag}",
            "channel": "push",
            "control_percent": 0,
            "schedule": {"kind": "trigger", "trigger": {"event": "anniversary", "kinds": ["wedding"]}},
            "offer": {
                "kind": "coupon",
                "coupon_template_id": coupon_id,
                "title": "케이크 쿠폰",
                "valid_days": 14,
            },
        },
    )
    dangol("plan", "-f", str(folder / "anniversary"))
    dangol("apply", "-f", str(folder / "anniversary"))
    campaign = next(
        c for c in stage_client().pages("/admin/campaigns") if c["name"] == f"Wedding anniversary {stage.tag}"
    )
    dangol("campaigns", "launch", campaign["id"], "--no-wait")

    step("이서준 married ten years ago tomorrow; he allows marketing push, and buys a latte most mornings.")
    wedding = (day + timedelta(days=1)).replace(year=day.year - 10)
    seojun = stage.customer(
        "이서준", time_zone="Asia/Seoul", anniversaries=[{"kind": "wedding", "date": wedding.isoformat()}]
    )
    seojun.app.put("/me/devices/phone", {"platform": "android", "token": f"fcm-{uuid.uuid4().hex}"})
    for purpose in ("marketing", "service"):
        seojun.app.post("/me/consents", {"channel": "push", "purpose": purpose, "granted": True})
    till = stage.till()
    for minutes in (30, 20):
        stage.purchase(till, seojun, at(day, "08:40") - timedelta(minutes=minutes), LATTE)

    step("09:00 comes in Seoul: the anniversary finder runs (every 15 minutes) and finds just him.")
    stage.clock(advance="21m")
    say("[magenta]⏱  09:01[/magenta]")
    (message,) = until(lambda: stage.outbox(seojun.customer_id), "the anniversary push")
    say(f"  📱 [bold]{message.get('title') or message.get('subject')}[/bold]")
    say(f"     {message.get('body') or message.get('text')}")

    step("He opens the app: the offer waits, with its expiry, its coupon in his wallet.")
    offers = until(
        lambda: [o for o in seojun.app.get("/me/offers")["items"] if o.get("coupon_id")], "the offer at login"
    )
    for offer in offers:
        say(f"  🎁 {offer['title']} · {offer['status']} · until {offer['expires_at'][:10]}")


def the_usual(stage: Stage, day: date, folder: Path) -> None:
    """Story 2: the counter greets a regular with her usual, by time of day."""
    set_clock(stage, day, "09:05")
    step("정하린 has bought a latte and a chocolate cake at 08:10 on three mornings this week.")
    harin = stage.customer("정하린", time_zone="Asia/Seoul")
    till = stage.till()
    for days_ago in (3, 2, 1):
        stage.purchase(till, harin, at(day - timedelta(days=days_ago), "08:10"), LATTE, CHOCO_CAKE)
    step("She comes to the counter; the staff look her up by e-mail and see her usual.")
    dangol("login", "--as", "agent")
    agent = stage_client()
    until(lambda: agent.get(f"/customers/{quote(harin.customer_id)}/usual").get("morning"), "her usual")
    dangol("customers", "find", "--email", harin.email)
    dangol("customers", "show", harin.customer_id)


def instant_rewards(stage: Stage, day: date, folder: Path) -> None:
    """Story 5: points paid at the purchase, not a month later, and a limited gift won at once."""
    set_clock(stage, day, "09:10")
    now = stage.clock()
    step("Marketing puts up 3 tumblers for purchases of 30,000 won and more, this week only.")
    dangol("login", "--as", "marketing")
    gift = write(
        folder,
        "gifts/tumbler.yaml",
        {
            "name": f"단골 텀블러 {stage.tag}",
            "stock": 3,
            "mode": "instant",
            "starts_at": now.isoformat(),
            "ends_at": (now + timedelta(days=7)).isoformat(),
            "min_total": 30000,
            "currency": "KRW",
        },
    )
    dangol("rewards", "gift", "-f", str(gift))
    step("한도윤 signs up and buys a whole cake for 38,000 won at 09:10.")
    doyun = stage.customer("한도윤", time_zone="Asia/Seoul")
    started = time.monotonic()
    source = f"purchase:{stage.purchase(stage.till(), doyun, at(day, '09:10'), CAKE)}"

    def earned() -> list[dict[str, Any]]:
        return [e for e in doyun.app.get("/me/points/history", limit=20)["items"] if e["source"] == source]

    (entry,) = until(earned, "the purchase's points")
    took = time.monotonic() - started
    say(f"  💳 +{entry['points']} points, {took:.1f} s after the till recorded the purchase")
    won = until(lambda: doyun.app.get("/me/gifts")["items"], "the tumbler")
    say(f"  🎉 won: {', '.join(g['name'] for g in won)}")
    dangol("rewards", "gifts")


def winback(stage: Stage, day: date, folder: Path) -> None:
    """Stories 7 and 8: a winback pilot for the lapsed who allow e-mail, half of them held back as
    the control group, and its lift."""
    set_clock(stage, day, "09:50")
    step(
        "Marketing pilots a winback, kept as code: a segment (this week's members, so earlier"
        " runs' stay out), a template, a campaign holding half of its audience back as the control."
    )
    dangol("login", "--as", "marketing")
    programme, segment_name, campaign_name = _winback_programme(stage, day - timedelta(days=2), folder)
    dangol("plan", "-f", str(programme))
    dangol("apply", "-f", str(programme))
    staff = stage_client()
    segment = next(s for s in staff.pages("/admin/segments") if s["name"] == segment_name)
    campaign = next(c for c in staff.pages("/admin/campaigns") if c["name"] == campaign_name)

    assert stage.pilot is not None
    people = stage.pilot.result()
    step(f"{PILOT} members joined this week who allow marketing e-mail (while the stories above played).")
    until(
        lambda: staff.get(f"/admin/segments/{quote(segment['id'])}").get("count") == PILOT,
        f"the segment counting {PILOT}",
    )
    step("Before sending: what would it do, for a sample of five?")
    dangol("campaigns", "dry-run", campaign["id"], "--sample", "5")
    step("Launched: the console follows it live (sent, deferred, suppressed by reason).")
    dangol("campaigns", "launch", campaign["id"], "--timeout", "60")
    decided = {
        line["customer_id"]: line["decision"]
        for line in staff.pages(f"/admin/campaigns/{quote(campaign['id'])}/messages")
    }
    messaged = [p for p in people if decided.get(p.customer_id) == "sent"]
    control = [p for p in people if decided.get(p.customer_id) == "control"]
    if len(messaged) + len(control) != PILOT:
        raise DemoFailed(f"of {PILOT}, {len(messaged)} sent and {len(control)} held back", code="demo_failed")

    back, held = messaged[: len(messaged) * 11 // 20], control[: len(control) * 3 // 20]
    step(
        f"That day {len(back)} of the {len(messaged)} messaged come back to buy;"
        f" {len(held)} of the {len(control)} held back buy anyway."
    )
    set_clock(stage, day, "13:00")
    till, moment = stage.till(), at(day, "12:00")
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda person: stage.purchase(till, person, moment, LATTE), back + held))

    def converted() -> bool:
        overall = staff.get(f"/admin/campaigns/{quote(campaign['id'])}/results")["overall"]
        return int(overall["conversions"]) + int(overall["control_conversions"]) >= len(back) + len(held)

    until(converted, "the conversions")
    dangol("campaigns", "results", campaign["id"])


def _winback_programme(stage: Stage, joined: date, folder: Path) -> tuple[Path, str, str]:
    """The pilot's files (its members joined on ``joined``): its folder, the segment's name and
    the campaign's."""
    programme = folder / "winback"
    segment_name, campaign_name = f"Lapsed, mailable {stage.tag}", f"Winback pilot {stage.tag}"
    since = (joined - timedelta(days=1)).isoformat()
    write(
        programme,
        "segments/lapsed.yaml",
        {
            "name": segment_name,
            "rule": {
                "all": [
                    {"field": "last_purchase_at", "op": "not_within_days", "value": 60},
                    {"field": "consent", "op": "granted", "value": "email.marketing"},
                    {"field": "registered_at", "op": "after", "date": since},
                ]
            },
        },
    )
    write(
        programme,
        "templates/miss-you.yaml",
        {
            "name": f"We miss you {stage.tag}",
            "channel": "email",
            "purpose": "marketing",
            "sender": "Dangol Bakery",
            "default_locale": "ko-KR",
            "locales": {
                "ko-KR": {
                    "subject": "{{ customer.name }}님, 보고 싶었어요",
                    "html": "<p>{{ customer.name }}님, 새 빵이 나왔어요.</p>",
                    "text": "{{ customer.name }}님, 새 빵이 나왔어요.",
                }
            },
        },
    )
    write(
        programme,
        "campaigns/winback.yaml",
        {
            "name": campaign_name,
            "segment": segment_name,
            "template": f"We miss you {stage.tag}",
            "channel": "email",
            "priority": 10,
            "control_percent": 50,  # a pilot: 30 at least in each group to tell a lift
            "attribution_days": 7,
            "schedule": {"kind": "now"},
        },
    )
    return programme, segment_name, campaign_name


def _pilot(stage: Stage) -> list[Customer]:
    """The winback pilot's members, signed up three at a time."""
    names = [f"Customer {n:02d}" for n in range(1, PILOT + 1)]
    with ThreadPoolExecutor(max_workers=3) as signing:
        return list(signing.map(lambda name: _mailable(stage, name), names))


def _mailable(stage: Stage, name: str) -> Customer:
    person = stage.customer(name, time_zone="Asia/Seoul", locale="ko-KR")
    person.app.post("/me/consents", {"channel": "email", "purpose": "marketing", "granted": True})
    return person


def complaint(stage: Stage, day: date, folder: Path) -> None:
    """Story 6: a complaint on X, found, worked in one stop, and confirmed by the customer."""
    set_clock(stage, day, "14:00")
    handle = f"minseo_{stage.tag}"
    step(f"김민서 linked her X handle @{handle} in the app.")
    minseo = stage.customer("김민서", time_zone="Asia/Seoul")
    minseo.app.patch("/me", {"social_handles": {"x": f"@{handle}"}})
    step("14:00: she tweets at the brand; X delivers it to the webhook, signed.")
    now = stage.clock()
    tweet = {
        "id_str": str(int(time.time() * 1000)),
        "text": "@dangol 강남점 라떼 40분 기다렸는데 식어서 나왔어요. 최악이에요",
        "created_at": now.strftime("%a %b %d %H:%M:%S +0000 %Y"),
        "timestamp_ms": str(int(now.timestamp() * 1000)),
        "user": {"id_str": str(int(hashlib.sha256(handle.encode()).hexdigest()[:12], 16)),
                 "screen_name": handle, "followers_count": 1520},
    }  # fmt: skip
    body = json.dumps({"for_user_id": "1480000000000000001", "tweet_create_events": [tweet]}).encode()
    signature = base64.b64encode(hmac.new(stage.x_secret().encode(), body, hashlib.sha256).digest()).decode()
    started = time.monotonic()
    stage.local.request(
        "POST", "/webhooks/x", raw=body, headers={"x-twitter-webhooks-signature": f"sha256={signature}"}
    )
    dangol("login", "--as", "agent")
    agent = stage_client()

    def her_case() -> dict[str, Any] | None:
        items = agent.get("/cases", team="frontline", status="new")["items"]
        return next((c for c in items if c.get("customer_id") == minseo.customer_id), None)

    case = until(her_case, "her case")
    say(f"  🧾 a case, linked to her, {time.monotonic() - started:.1f} s after X delivered the mention")
    case_id = case["case_id"]
    step("The agent takes it from the queue, answers her, and solves it at first contact.")
    dangol("cases", "queue")
    dangol("cases", "ack", case_id)
    dangol("cases", "reply", case_id, "죄송합니다. 새 라떼를 준비해 두었어요.")
    dangol("cases", "resolve", case_id, "새 라떼로 교환, 매장에 공유", "--one-stop")
    dangol("cases", "goodwill", case_id, "3000", "늦고 식은 라떼")
    step("She confirms in the app that it is solved, and scores it 5.")
    until(lambda: minseo.app.get(f"/me/cases/{quote(case_id)}").get("awaiting_confirmation"), "the request")
    minseo.app.post(f"/me/cases/{quote(case_id)}/confirmation", {"solved": True})
    minseo.app.post(f"/me/cases/{quote(case_id)}/satisfaction", {"score": 5})
    until(
        lambda: any(g["status"] == "credited" for g in agent.get(f"/cases/{quote(case_id)}")["grants"]),
        "the goodwill points",
    )
    dangol("cases", "show", case_id)


def stage_client() -> Client:
    """The console's client as logged in now (the story's staff member)."""
    from console.context import STATE  # noqa: PLC0415

    STATE.profile_name, STATE._client = config.LOCAL, None
    return STATE.client()


# -- starting the local runtime when none is running ------------------------------------------------


def _running() -> config.Profile | None:
    try:
        profile = config.load(config.LOCAL)
        Client(profile.api_url, timeout_s=5, local_secret=profile.local_secret).get("/_local/clock")
    except ConsoleError:
        return None
    return profile


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def local_system(folder: Path) -> Iterator[config.Profile]:
    """The running local system, or one started here (and stopped at the end)."""
    found = _running()
    if found is not None:
        say(f"[dim]using the local system at {found.api_url}[/dim]")
        yield found
        return
    state_dir, log = folder / "state", folder / "dangol-local.log"
    script = Path(sys.executable).with_name("dangol-local")
    command = [str(script), "up", "--no-seed", "--quiet", "--retry-after", "5"]
    command += ["--port", str(_free_port()), "--state-dir", str(state_dir)]
    say("[dim]no local system is running: starting one (dangol-local up, about 30 s)[/dim]")
    started = time.monotonic()
    with log.open("w") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)  # noqa: S603
    os.environ["DANGOL_STATE_DIR"] = str(state_dir)
    try:
        while "dangol is serving" not in log.read_text(encoding="utf-8", errors="replace"):
            if process.poll() is not None or time.monotonic() - started > START_TIMEOUT_S:
                tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
                raise DemoFailed(f"the local system did not start:\n{tail}", code="not_running")
            time.sleep(0.3)
        profile = config.load(config.LOCAL)
        say(f"[dim]started in {time.monotonic() - started:.0f} s at {profile.api_url}[/dim]")
        yield profile
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


Chapter = Callable[[Stage, date, Path], None]
CHAPTERS: tuple[tuple[str, int, Chapter], ...] = (
    ("1 · The anniversary", 0, anniversary),
    ("2 · The usual at the bakery counter", 0, the_usual),
    ("3 · Points at once, and a limited gift", 0, instant_rewards),
    ("4 · A winback, its control group and its lift", 2, winback),
    ("5 · A complaint on X, to the customer's confirmation", 4, complaint),
)  # each on the day after the clock's today and the days given


def play() -> float:
    """Every story, in order; returns the seconds they took. The scratch folder (the programme's
    files, the demo's logins, the system's logs when it started one) is kept if a story failed."""
    started = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="dangol-demo-"))
    try:
        _play(folder)
    except BaseException:
        say(f"[red]the demo stopped; its files and the system's logs are in {folder}[/red]")
        raise
    shutil.rmtree(folder, ignore_errors=True)
    return time.monotonic() - started


def _play(folder: Path) -> None:
    os.environ["XDG_CONFIG_HOME"] = str(folder / "config")  # the demo's logins, not yours
    with local_system(folder) as profile:
        state = json.loads((config.state_dir() / config.STATE_FILE).read_text(encoding="utf-8"))
        stage = Stage(profile, state, tag=uuid.uuid4().hex[:6])
        now = stage.clock(freeze=True).astimezone(SEOUL)
        first = max(now.date(), datetime.now(SEOUL).date()) + timedelta(days=1)
        stage.clock(set=f"{first.isoformat()}T08:40", tz="Asia/Seoul")  # the members join that day
        signing = ThreadPoolExecutor(max_workers=1)  # the winback's members, behind the first stories
        stage.pilot = signing.submit(_pilot, stage)
        try:
            for title, days, chapter in CHAPTERS:
                say(f"\n[bold green]── {title} ──[/bold green]")
                began = time.monotonic()
                chapter(stage, first + timedelta(days=days), folder)
                say(f"[dim]({time.monotonic() - began:.0f} s)[/dim]")
        finally:
            signing.shutdown(wait=False, cancel_futures=True)
            stage.clock(freeze=False)

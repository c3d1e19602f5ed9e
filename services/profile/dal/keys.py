"""The profile table's key names, the keys every module shares, its outbox and its claims.

Kept apart from ``dal.profiles`` so that the intake, segment and import functions get them
without loading the Profile model (a sixth of a cold start) for nothing they use.
"""

from __future__ import annotations

from services.profile.topology import PROFILES
from shared.dynamo import DynamoTable, Key
from shared.idempotency import IdempotencyStore
from shared.outbox import Outbox

PK = PROFILES.partition_key.name
SK = PROFILES.sort_key_name
TTL = PROFILES.ttl_name


def profile_key(customer_id: str) -> Key:
    return {PK: f"CUSTOMER#{customer_id}", SK: "PROFILE"}


def consents_key(customer_id: str) -> Key:
    """A customer's consent state (``dal/consent.py`` keeps it with its log)."""
    return {PK: f"CUSTOMER#{customer_id}", SK: "CONSENTS"}


def identity_key(subject: str) -> Key:
    return {PK: f"IDENTITY#{subject}", SK: "IDENTITY"}


def tombstone_key(customer_id: str) -> Key:
    """An erased customer's tombstone (no personal data): what refuses their later writes."""
    return {PK: f"ERASED#{customer_id}", SK: "ERASED"}


def erased_login_key(subject: str) -> Key:
    """An erased login's subject: its tokens (valid up to an hour after) make no new profile."""
    return {PK: f"ERASEDLOGIN#{subject}", SK: "LOGIN"}


def returning_key(digest: str) -> Key:
    """The keyed digest of an erased login's e-mail: a later sign-up with it is a returning person."""
    return {PK: f"RETURNING#{digest}", SK: "EMAIL"}


def handle_key(network: str, handle: str) -> Key:
    """The claim of a social handle (``dal/handles.py``), as stored (no "@", lower-case): one
    customer's at most, found from the handle."""
    return {PK: f"HANDLE#{network}#{handle}", SK: "HANDLE"}


def audit_key(day: str, stamp: str) -> Key:
    """An access-audit record (``dal/audit.py``): one per bulk read of personal data."""
    return {PK: f"AUDIT#{day}", SK: stamp}


def outbox(table: DynamoTable) -> Outbox:
    """The profile table's outbox (``OUTBOX#<shard>`` items)."""
    return Outbox.of(table, PROFILES)


def claims(table: DynamoTable, *, lock_s: int, ttl_s: int = 24 * 3600) -> IdempotencyStore:
    """Idempotency claims (request keys, announcements) in the profile table."""
    return IdempotencyStore.of(table, PROFILES, lock_s=lock_s, ttl_s=ttl_s)

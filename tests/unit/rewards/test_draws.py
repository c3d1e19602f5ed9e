"""The draws' algorithm without AWS: the winners follow from the seed and the sorted entries alone,
never twice the same entry, differently for another seed; the commitment is the seed's SHA-256.
A second implementation, written from ``ALGORITHM``'s words, must agree with the service's."""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.rewards.logic import draws
from tests.unit.fakes import PROPERTIES

SEED = bytes(range(32))
ENTRIES = [f"ent_01JK2M3N4P5Q6R7S8T9V0W1{n:03d}" for n in range(40)]
seeds = st.binary(min_size=32, max_size=32)
entry_lists = st.lists(st.from_regex(r"ent_[0-9A-HJKMNP-TV-Z]{26}", fullmatch=True), unique=True, max_size=60)


def as_written(seed: bytes, entries: list[str], k: int) -> list[str]:
    """The algorithm as ``ALGORITHM`` describes it, step by step."""
    e = sorted(entries)
    n = len(e)
    for i in range(k):
        h = int.from_bytes(hmac.new(seed, str(i).encode("ascii"), hashlib.sha256).digest(), "big")
        j = i + h % (n - i)
        e[i], e[j] = e[j], e[i]
    return e[:k]


@PROPERTIES
@given(seed=seeds, entries=entry_lists, data=st.data())
def test_the_winners_are_what_the_published_algorithm_says(
    seed: bytes, entries: list[str], data: st.DataObject
) -> None:
    # Given a seed, entries in any order, and a number of winners up to the entries
    k = data.draw(st.integers(0, len(entries)))
    shuffled = data.draw(st.permutations(entries))
    # When the winners are picked
    winners = draws.pick(seed, shuffled, k)
    # Then they are the description's, whatever order the entries came in
    assert winners == as_written(seed, entries, k) == draws.pick(seed, sorted(entries), k)
    # And no entry wins twice, and every winner is an entry
    assert len(set(winners)) == len(winners) == k
    assert set(winners) <= set(entries)


def test_the_same_seed_picks_the_same_winners_and_another_seed_others() -> None:
    # Given 40 entries
    # When 5 winners are picked twice with one seed, and with each of 20 other seeds
    first, again = draws.pick(SEED, ENTRIES, 5), draws.pick(SEED, list(reversed(ENTRIES)), 5)
    others = {tuple(draws.pick(hashlib.sha256(bytes([n])).digest(), ENTRIES, 5)) for n in range(20)}
    # Then one seed always picks the same, and the other seeds pick differently
    assert first == again
    assert tuple(first) not in others
    assert len(others) == 20


def test_picking_every_entry_orders_them_all() -> None:
    assert sorted(draws.pick(SEED, ENTRIES, len(ENTRIES))) == ENTRIES
    assert draws.pick(SEED, [], 0) == []
    with pytest.raises(ValueError, match="count"):
        draws.pick(SEED, ENTRIES[:3], 4)


def test_each_entry_is_as_likely_to_win_first() -> None:
    # Given 4 entries and 4,000 seeds
    wins = Counter(
        draws.pick(hashlib.sha256(n.to_bytes(4, "big")).digest(), ENTRIES[:4], 1)[0] for n in range(4000)
    )
    # Then each entry won first about a quarter of the time (a loose bound: 6 standard deviations)
    assert set(wins) == set(ENTRIES[:4])
    assert all(abs(count - 1000) < 6 * 27.4 for count in wins.values()), wins


def test_the_commitment_is_the_seeds_sha256_in_hex() -> None:
    assert draws.commitment_of(SEED) == hashlib.sha256(SEED).hexdigest()
    assert len(draws.commitment_of(SEED)) == 64
    assert draws.SEED_BYTES == 32

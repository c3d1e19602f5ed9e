"""The programs' store: the versioned earn rules and tier program in the rewards table.

Items (``keys.config_key``):
- ``CONFIG / EARN_RULES``             the rules in force (the whole definition, ``version``);
- ``CONFIG / EARN_RULES#<v:08d>``     every version ever stored, written once, kept forever;
- ``CONFIG / TIERS``, ``TIERS#<v>``   the same for the tier program.

Nothing stored means version 0, the built-in defaults. A change is ONE transaction: the item in
force, conditioned on the version just read (absent for 0), and the new version's item,
conditioned absent. A stale ``If-Match`` is 412 ``version_mismatch``; a change that keeps losing
to concurrent ones (bounded retries with backoff) is 409 ``concurrent_update``.

Reads are consistent. A store built with ``cache_s`` keeps what it read for that long (the event
consumer's per-container cache); its own writes refresh it.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from services.rewards.dal.keys import PK, SK, config_key
from services.rewards.models.programs import EarnRules, EarnRulesSpec, TierProgram, TierProgramSpec
from shared.dynamo import Backoff, ConditionFailed, DynamoTable, Item, TransactionConflict, transact_write
from shared.errors import Conflict, NotFound, PreconditionFailed

M = TypeVar("M", bound=BaseModel)
_KEYS = {PK, SK, "type"}


@dataclass(frozen=True)
class Versioned(Generic[M]):
    """A versioned configuration: its item name, its model and its version 0."""

    name: str
    item_type: str
    model: type[M]

    @functools.cached_property
    def default(self) -> M:
        """Version 0, the built-in defaults: made when first read (its model's validators are
        built then), not at every cold start of a function that never reads it."""
        return self.model(version=0)


EARN_RULES = Versioned("EARN_RULES", "earn_rules", EarnRules)
TIERS = Versioned("TIERS", "tier_program", TierProgram)


class DynamoProgramStore:
    def __init__(
        self,
        table: DynamoTable,
        *,
        cache_s: float = 0,
        backoff: Backoff = Backoff(attempts=5),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.table = table
        self.cache_s = cache_s
        self.backoff = backoff
        self.monotonic = monotonic
        self._cache: dict[str, tuple[float, BaseModel]] = {}

    # -- earn rules -----------------------------------------------------------------------------

    def earn_rules(self) -> EarnRules:
        """The rules in force (version 0: the defaults)."""
        return self._current(EARN_RULES)

    def earn_rules_version(self, version: int) -> EarnRules:
        """A version ever in force (0: the defaults); 404 ``version_not_found`` otherwise."""
        return self._version(EARN_RULES, version)

    def change_earn_rules(
        self, spec: EarnRulesSpec, *, expected_version: int | None, at: datetime
    ) -> EarnRules:
        return self._change(EARN_RULES, spec, expected_version=expected_version, at=at)

    # -- the tier program -----------------------------------------------------------------------

    def tier_program(self) -> TierProgram:
        """The program in force (version 0: the defaults)."""
        return self._current(TIERS)

    def tier_program_version(self, version: int) -> TierProgram:
        """A version ever in force (0: the defaults); 404 ``version_not_found`` otherwise."""
        return self._version(TIERS, version)

    def change_tier_program(
        self, spec: TierProgramSpec, *, expected_version: int | None, at: datetime
    ) -> TierProgram:
        return self._change(TIERS, spec, expected_version=expected_version, at=at)

    # -- versioned items ------------------------------------------------------------------------

    def _current(self, config: Versioned[M], *, fresh: bool = False) -> M:
        cached = self._cache.get(config.name)
        if not fresh and cached and self.monotonic() - cached[0] < self.cache_s:
            return cached[1]  # type: ignore[return-value]  # stored under its config's name
        item = self.table.get(config_key(config.name))
        found = self._model(config, item) if item else config.default
        self._cache[config.name] = (self.monotonic(), found)
        return found

    def _version(self, config: Versioned[M], version: int) -> M:
        if version == 0:
            return config.default
        item = self.table.get(config_key(config.name, version))
        if item is None:
            raise NotFound(f"No version {version} was ever stored.", code="version_not_found")
        return self._model(config, item)

    def _change(
        self, config: Versioned[M], spec: BaseModel, *, expected_version: int | None, at: datetime
    ) -> M:
        for attempt in range(self.backoff.attempts):
            current: Any = self._current(config, fresh=True)
            if expected_version is not None and current.version != expected_version:
                raise PreconditionFailed(
                    f"The version in force is {current.version}, not {expected_version}.",
                    code="version_mismatch",
                )
            changed = config.model.model_validate(
                {**spec.model_dump(), "version": current.version + 1, "updated_at": at}
            )
            try:
                self._write(config, changed, previous=current.version)
            except (ConditionFailed, TransactionConflict):
                self.backoff.pause(attempt)
                continue  # read again: a stale If-Match is then a 412
            self._cache[config.name] = (self.monotonic(), changed)
            return changed
        raise Conflict("The definition kept changing; retry.", code="concurrent_update")

    def _write(self, config: Versioned[M], model: M, *, previous: int) -> None:
        body = {"type": config.item_type, **model.model_dump(mode="json")}
        version = int(body["version"])
        absent: dict[str, Any] = {"condition": "attribute_not_exists(#pk)", "names": {"#pk": PK}}
        seen: dict[str, Any] = (
            absent
            if previous == 0
            else {"condition": "#v = :seen", "names": {"#v": "version"}, "values": {":seen": previous}}
        )
        transact_write(
            self.table.client,
            [
                {"Put": self.table.put_op({**config_key(config.name), **body}, **seen)},
                {"Put": self.table.put_op({**config_key(config.name, version), **body}, **absent)},
            ],
        )

    @staticmethod
    def _model(config: Versioned[M], item: Item) -> M:
        return config.model.model_validate({k: v for k, v in item.items() if k not in _KEYS})

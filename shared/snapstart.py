"""What Lambda SnapStart needs from our code: state made at init that must differ per environment.

With SnapStart (the API functions), Lambda runs a function's init once, snapshots its memory and
starts every new execution environment from that snapshot. Whatever init made is therefore
shared by all of them, and lives on after a restore however long the snapshot was kept:

- **Random numbers.** ``random`` seeds itself from ``os.urandom`` when it is first imported,
  which is during init (the standard library and botocore import it), so every restored
  environment would draw the same sequence: the outbox's shard per event (``shared.outbox``)
  and botocore's retry jitter would be the same everywhere, and retries would come in step.
  ``reseed`` draws a fresh seed after each restore. Our ids (``shared.ids``) and event ids
  (``uuid4``) read ``os.urandom`` on every call and need nothing.
- **Clients, connections, credentials.** None exist at init: ``shared.aws`` creates clients at
  their first use, which is after the restore, with the credentials the restored environment
  has. Nothing to refresh.
- **Time-based caches.** The secrets cache (``shared.secrets``) and the program caches are
  filled at first use, after the restore; none is filled at init. Nothing to refresh.

``snapshot_restore_py`` is part of Lambda's managed Python runtimes and nowhere else (not in
the layer, not locally): where it is missing there is no snapshot to restore from.
"""

from __future__ import annotations

import random
from collections.abc import Callable

try:
    from snapshot_restore_py import register_after_restore  # type: ignore[import-not-found]
except ImportError:  # not on Lambda's managed runtime: no snapshots
    register_after_restore = None

_registered: list[Callable[[], None]] = []


def reseed() -> None:
    """After a restore: a fresh seed for ``random`` (from ``os.urandom``), per environment."""
    random.seed()


def register() -> bool:
    """Have ``reseed`` run after every restore (registered once per process, at init); True
    where SnapStart's hooks exist. ``shared.api`` calls it: the API functions use SnapStart."""
    if register_after_restore is None:
        return False
    if not _registered:
        register_after_restore(reseed)
        _registered.append(reseed)
    return True

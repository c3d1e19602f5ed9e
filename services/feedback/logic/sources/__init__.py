"""The sources' adapters: what each social source sends (or what we poll from it) read as
``Mention``s. The contracts and the shared rules are in ``base``; one module per source.

- ``WEBHOOKS``, by the URL segment of ``/webhooks/{source}``: ``x`` (Account Activity API and a
  filtered-stream relay), ``meta`` (Instagram and Facebook Pages).
- ``POLLED``, by ``Source``: ``naver_blog``, ``naver_cafe``, ``app_store``, ``google_play``.

To add a source:

1. Add its name to ``Source`` and ``SOURCES`` in ``models/mention.py`` (the name mentions carry).
2. Write ``logic/sources/<source>.py``: a ``WebhookAdapter`` (``sign``, ``event_times``,
   ``challenge``, ``parse``; ``verify`` is inherited and checks the signature, then the replay
   window against the body's event times) or a ``PolledAdapter`` (``request``, ``parse`` with a
   ``SeenIds`` or ``Watermark`` cursor). Read items through ``Batch.read`` so one bad item is a
   ``Failure`` with a code, never an error and never its text; build mentions with ``mention()``
   (it keeps validation errors, which quote the text, inside).
3. Register it below, with a recorded payload in ``tests/unit/feedback/payloads/`` and its
   properties in ``tests/unit/feedback/test_sources.py``.
4. A webhook needs its secret (``topology.py``) and the intake's ``SECRETS``; a polled source its
   provider in the poll function's ``PROVIDER`` and its credentials in ``feedback-poll-credentials``.
"""

from __future__ import annotations

from services.feedback.logic.sources.appstore import AppStoreReviews, GooglePlayReviews
from services.feedback.logic.sources.base import PolledAdapter, WebhookAdapter
from services.feedback.logic.sources.meta import MetaWebhook
from services.feedback.logic.sources.naver import NaverSearch
from services.feedback.logic.sources.x import XWebhook
from services.feedback.models.mention import Source

WEBHOOKS: dict[str, WebhookAdapter] = {adapter.name: adapter for adapter in (XWebhook(), MetaWebhook())}

POLLED: dict[Source, PolledAdapter] = {
    "naver_blog": NaverSearch("naver_blog"),
    "naver_cafe": NaverSearch("naver_cafe"),
    "app_store": AppStoreReviews(),
    "google_play": GooglePlayReviews(),
}

__all__ = ["POLLED", "WEBHOOKS", "PolledAdapter", "WebhookAdapter"]

"""The profile service's data layer: the only code of the service that talks to DynamoDB.

One table (``PROFILES`` in ``services/profile/topology.py``), single-table design.
Every item has a ``type`` attribute; items of one customer live in that customer's
partition, so that export reads and erasure deletes one partition.

Customer partition ``CUSTOMER#<customer_id>``:
- ``PROFILE``                              the profile (``type=profile``; ``listed``, ``manager_id``
                                           keys of the customer-list and by-manager indexes;
                                           ``social_handles``: network -> handle, each claimed below)
- ``CONSENTS`` / ``CONSENT#<time>#<ulid>`` consent state and its append-only log
- ``PURCHASE#<purchased_at>#<external_id>``  a purchase (``type=purchase``), newest last
- ``VISIT#<started_at>#<external_id>``     a visit (``type=visit``)
- ``USUAL#<daypart>#<sku>``                 "the usual": a counter per daypart and item
- ``STATS``                                aggregates the value score reads (``type=stats``):
                                           ``spend_<CUR>`` (net, minor units), ``purchase_count``,
                                           ``refund_count``, ``premium_count``, ``first_purchase_at``,
                                           ``last_purchase_at``, ``visit_count``, ``last_visit_at``,
                                           ``payments_on_time``, ``payments_late``, ``payments_failed``
- ``VALUE``                                the value assessment (score, segment, model version)
- ``CONTACT#<occurred_at>#<ulid>``         a contact-log entry (notes are personal data)

Other partitions:
- ``IDENTITY#<cognito sub> / IDENTITY``      subject -> customer id
- ``HANDLE#<network>#<handle> / HANDLE``     a linked social handle's claim (``type=handle``; -> customer
                                           id): written and deleted in the profile's transactions,
                                           deleted by erasure (the handle is personal data)
- ``ANNIV#<MM-DD>#<shard> / <id>#<n>``       the anniversary month-day index
- ``PURCHASEID#<external_id> / PURCHASEID``  the idempotency claim of a purchase (-> customer, sk)
- ``VISITID#<external_id> / VISITID``        the same for a visit
- ``STORE#<store_id> / STORE``             a store seen once (``utc_offset_min``, ``first_seen_at``)
- ``STORE#<store_id> / POP#<HH>#<date>#<sku>`` item popularity by local hour (TTL: rolling window)
- ``IMPORTREF#<external_ref> / IMPORTREF``   a row imported once (-> customer id)
- ``IMPORT#<job_id> / JOB`` / ``REJECT#<row>`` an import job and its rejected rows
- ``CONFIG / VALUE_MODEL``, ``GROUP#<id> / GROUP``  marketing's value model and lifestyle groups
- ``CONFIG / GROUPS``                        the catalog of live group ids (and its revision)
- ``CONFIG / NIGHTLY_RUN``                   the last nightly run's counts and where it resumes
- ``OUTBOX#<shard> / ...``, ``IDEMPOTENCY#...``     the outbox and idempotency claims
- ``ERASED#<customer_id> / ERASED``          the tombstone of an erased customer (no personal data)
- ``ERASEDLOGIN#<cognito sub> / LOGIN``      an erased login: its tokens make no new profile (TTL 1 day)
- ``RETURNING#<hmac of e-mail> / EMAIL``     an erased login's keyed e-mail digest (TTL 2 years)
- ``AUDIT#<yyyy-mm-dd> / <at>#<ulid>``       a bulk read of personal data: who, what (TTL 400 days)
"""

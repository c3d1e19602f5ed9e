"""The campaigns' integration fixtures shared across files: ``campaigns`` (the functions on moto,
fed by events, the segment jobs queue drained by hand) is defined beside the segments' tests,
``world`` (the sending functions on moto, queues drained by hand) beside the sending tests."""

from tests.integration.campaigns.test_sending import world  # noqa: F401 - a fixture
from tests.integration.campaigns.test_view_and_segments import campaigns  # noqa: F401 - a fixture

"""The campaigns' integration fixtures shared across files: ``campaigns`` (the functions on moto,
fed by events, the segment jobs queue drained by hand) is defined beside the segments' tests."""

from tests.integration.campaigns.test_view_and_segments import campaigns  # noqa: F401 - a fixture

"""The platform's shared resources that every service refers to (declared once)."""

from __future__ import annotations

from shared.topology import EventBus

BUS = EventBus(id="dangol")  # the one bus every service publishes its domain events to

"""Acknowledging a cdk-nag finding: on one construct, for one rule (or one finding
of a rule), always with the specific reason. Never stack- or app-wide."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=rule, reason=reason))

"""Acknowledging a finding of a template scanner: on one resource, for one rule, always with the
specific reason. Never stack- or app-wide.

- cdk-nag (run at synth as a policy-validation plugin): ``acknowledge``.
- checkov (run over ``cdk.out`` by ``tests/infra/test_checkov.py``): ``waive_checkov`` writes
  checkov's own inline suppression (``Metadata.checkov.skip``, with the reason as its comment) on
  the CloudFormation resource, so the reason travels with the template.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnResource, Validations
from constructs import IConstruct

CHECKOV_METADATA = "checkov"


def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=rule, reason=reason))


def waive_checkov(construct: IConstruct, check: str, reason: str) -> None:
    """Skip one checkov check on the construct's CloudFormation resource, saying why."""
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to waive {check} on")
    found = resource.get_metadata(CHECKOV_METADATA)
    skips = list(found["skip"]) if isinstance(found, dict) else []
    if any(s["id"] == check for s in skips):
        raise ValueError(f"{check} is waived twice on {construct.node.path}")
    resource.add_metadata(CHECKOV_METADATA, {"skip": [*skips, {"id": check, "comment": reason}]})

"""How a deployed resource is traced back to the topology: the ``dangol:id`` tag holds the
topology id of what it was built from (a table, function, queue, topic or rule)."""

from __future__ import annotations

from aws_cdk import Tags
from constructs import IConstruct

ID_TAG = "dangol:id"


def tag_id(construct: IConstruct, topology_id: str) -> None:
    Tags.of(construct).add(ID_TAG, topology_id)

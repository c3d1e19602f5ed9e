"""The CDK stacks, built from ``infra.topology.SYSTEM``."""

"""Infrastructure: the topology assembled (``infra.topology``), the CDK stacks and the local runtime."""

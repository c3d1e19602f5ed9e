"""Direct invocations between functions (``System.invocations``): the caller's role may
``lambda:InvokeFunction`` on exactly its callees' ARNs, and it finds each callee's name in the
callee's ``env_var``. Nothing else may invoke a callee: it serves no route, so API Gateway gets no
permission on it, and no resource-based policy names it.

A caller and its callee may be in different services' stacks, built one after the other in either
order: the directory hands out a callee's name and ARN as lazy tokens, resolved at synthesis once
every stack has added its functions. CDK turns them into references across the nested stacks (an
output of the callee's stack, a parameter of the caller's), as it does for queues and topics.
"""

from __future__ import annotations

from collections.abc import Callable

import jsii
from aws_cdk import IStableStringProducer, Lazy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

from shared.topology import Function, System

INVOKE_ACTION = "lambda:InvokeFunction"


@jsii.implements(IStableStringProducer)
class _Later:
    def __init__(self, produce: Callable[[], str]) -> None:
        self._produce = produce

    def produce(self) -> str | None:
        return self._produce()


class FunctionDirectory:
    """Every function of the stage by topology id, filled as each service's stack adds its own."""

    def __init__(self) -> None:
        self._functions: dict[str, lambda_.IFunction] = {}

    def add(self, fn: Function, function: lambda_.IFunction) -> None:
        self._functions[fn.id] = function

    def _get(self, fn: Function) -> lambda_.IFunction:
        if fn.id not in self._functions:
            raise ValueError(f"{fn.id} is invoked directly, but no service's stack built it")
        return self._functions[fn.id]

    def name_of(self, fn: Function) -> str:
        return Lazy.string(_Later(lambda: self._get(fn).function_name))

    def arn_of(self, fn: Function) -> str:
        return Lazy.string(_Later(lambda: self._get(fn).function_arn))


def grant_invocations(
    system: System, fn: Function, function: lambda_.Function, directory: FunctionDirectory
) -> None:
    """What the function may invoke directly: its callees, by their unqualified ARNs, and no more."""
    if callees := system.callees_of(fn):
        function.add_to_role_policy(
            iam.PolicyStatement(actions=[INVOKE_ACTION], resources=[directory.arn_of(c) for c in callees])
        )

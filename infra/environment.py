"""The environment each function gets, derived from the topology for every backend.

The CDK stacks and the local runtime both call ``function_environment`` so that
a function sees the same variables wherever it runs; only the physical names
(resolved by the backend) differ.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TypeVar

from shared.api import CORS_ORIGIN_ENV
from shared.settings import (
    CURSOR_KEY_SECRET_ENV,
    EMAIL_CONFIGURATION_SET_ENV,
    EMAIL_SENDER_ENV,
    PUBLIC_API_URL_ENV,
    PUSH_APPLICATIONS_ENV,
)
from shared.topology import EventBus, Function, PlatformSecret, Queue, System, Table, Timers, Topic

T = TypeVar("T", Queue, Topic, Function)


def function_environment(
    system: System,
    function: Function,
    *,
    stage: str,
    table_name: Callable[[Table], str],
    bus_name: Callable[[EventBus], str],
    log_level: str = "INFO",
    queue_url: Callable[[Queue], str] | None = None,
    topic_arn: Callable[[Topic], str] | None = None,
    cursor_key_secret: str | None = None,
    secret_arn: Callable[[PlatformSecret], str] | None = None,
    cors_origin: str = "*",
    function_name: Callable[[Function], str] | None = None,
    messaging: Mapping[str, str] | None = None,
    public_api_url: str | None = None,
    timers: Callable[[Timers], str] | None = None,
) -> dict[str, str]:
    """``queue_url`` and ``topic_arn`` resolve the queues a function sends to (``Queue.env_var``)
    and the topics it publishes to (``Topic.env_var``); a backend must give them as soon as a
    function declares either. ``cursor_key_secret``: the ARN of the secret whose value signs list
    cursors; every function that serves routes gets it (``CURSOR_KEY_SECRET_ARN``) and reads the
    key at run time, the same secret for all, so it is the backend's. ``function_name`` resolves
    the functions it may invoke directly (``System.callees_of``, in ``Function.env_var``).
    ``messaging``: the stage's channels (``messaging_environment``), which a function that sends
    messages (``Function.sends_messages``) gets, and no other (one that mails staff,
    ``Function.mails_staff``, gets the e-mail sender and configuration set only).
    ``public_api_url``: the API's public base URL, which a function that writes links to it
    (``Function.links_to_api``) gets, and no other. ``timers``: the JSON of the timers a function
    sets (``shared.timers.TimersConfig``, in ``Timers.env_var``), as the backend made them. No
    secret value is ever in a function's environment."""
    env = {
        "STAGE": stage,
        "POWERTOOLS_SERVICE_NAME": function.service,
        "POWERTOOLS_METRICS_NAMESPACE": system.name,
        "POWERTOOLS_LOG_LEVEL": log_level,
        # Skip pydantic's scan of installed packages for plugins at the first model: cold start.
        "PYDANTIC_DISABLE_PLUGINS": "__all__",
    }
    for access in function.tables:
        env[access.table.env_var] = table_name(access.table)
    if function.publishes_to is not None:
        env[function.publishes_to.env_var] = bus_name(function.publishes_to)
    for queue in function.sends_to:
        env[queue.env_var] = _resolver(queue_url, function, "sends to queue", queue)(queue)
    for topic in function.notifies:
        env[topic.env_var] = _resolver(topic_arn, function, "publishes to topic", topic)(topic)
    for group in function.timers:
        if timers is None:
            raise ValueError(f"{function.id} sets timers {group.id}: pass timers= to function_environment")
        env[group.env_var] = timers(group)
    for callee in system.callees_of(function):
        env[callee.env_var] = _resolver(function_name, function, "invokes function", callee)(callee)
    if system.routes_of(function):
        if cursor_key_secret is None:
            raise ValueError(f"{function.id} serves routes: pass cursor_key_secret= to function_environment")
        env[CURSOR_KEY_SECRET_ENV] = cursor_key_secret
        env[CORS_ORIGIN_ENV] = cors_origin  # the stage's one CORS policy, as the preflights say
    if function.mails:
        if messaging is None or not messaging.get(EMAIL_SENDER_ENV):
            raise ValueError(
                f"{function.id} sends messages: pass messaging= (messaging_environment) to"
                " function_environment"
            )
        # Staff mail needs the sender and the configuration set; customers' messages, push too.
        names = MESSAGING_ENV if function.sends_messages else MAIL_ENV
        env.update({k: messaging[k] for k in names if messaging.get(k)})
    if function.links_to_api:
        if not public_api_url:
            raise ValueError(f"{function.id} links to the API: pass public_api_url= to function_environment")
        env[PUBLIC_API_URL_ENV] = public_api_url.rstrip("/")
    for secret in function.secrets:
        if secret_arn is None:
            raise ValueError(
                f"{function.id} reads secret {secret.id}: pass secret_arn= to function_environment"
            )
        env[secret.env_var] = secret_arn(secret)
    env.update(dict(function.environment))
    return env


MESSAGING_ENV = (EMAIL_SENDER_ENV, EMAIL_CONFIGURATION_SET_ENV, PUSH_APPLICATIONS_ENV)
MAIL_ENV = (EMAIL_SENDER_ENV, EMAIL_CONFIGURATION_SET_ENV)


def timers_environment(
    timers: Timers,
    *,
    group: str,
    role_arn: str,
    target_arn: str,
    target_url: str,
    dlq_arn: str | None,
) -> str:
    """A group of timers as a backend made it, as ``shared.timers.TimersConfig`` reads it."""
    config = {
        "group": group,
        "role_arn": role_arn,
        "target_arn": target_arn,
        "target_url": target_url,
        "dlq_arn": dlq_arn,
        "retry_attempts": timers.retry_attempts,
        "max_event_age_s": timers.max_event_age_s,
    }
    return json.dumps(config, separators=(",", ":"))


def messaging_environment(
    *, sender: str, configuration_set: str | None, push_applications: Mapping[str, str]
) -> dict[str, str]:
    """The channels as a backend resolved them, in the variables ``shared.settings.MessagingSettings``
    reads: the e-mail sender (an address of a verified SES identity), the SES configuration set
    (none: mail goes without one) and the SNS platform applications by platform (ios, android, web)."""
    env = {EMAIL_SENDER_ENV: sender, PUSH_APPLICATIONS_ENV: json.dumps(dict(push_applications))}
    if configuration_set:
        env[EMAIL_CONFIGURATION_SET_ENV] = configuration_set
    return env


def _resolver(
    resolve: Callable[[T], str] | None, function: Function, what: str, item: T
) -> Callable[[T], str]:
    if resolve is None:
        parameter = {Queue: "queue_url", Topic: "topic_arn", Function: "function_name"}[type(item)]
        raise ValueError(f"{function.id} {what} {item.id}: pass {parameter}= to function_environment")
    return resolve

"""THE topology: every service's declaration and the platform's shared resources.

Both backends are built from ``SYSTEM``: the CDK stacks (``infra/``) and the
local runtime (``infra/local/``). Importing it imports no CDK and no boto3.
"""

from __future__ import annotations

from services.campaigns import topology as campaigns
from services.feedback import topology as feedback
from services.profile import topology as profile
from services.rewards import topology as rewards
from shared.platform import BUS
from shared.topology import System

SYSTEM = System(
    name="dangol",
    bus=BUS,
    services=(profile.SERVICE, rewards.SERVICE, campaigns.SERVICE, feedback.SERVICE),
)

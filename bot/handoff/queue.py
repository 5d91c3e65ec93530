"""The queue's promise to a citizen: their place, the expected wait, or why not now.

The wait is estimated from the agents on duty, the conversations they already hold and
the median handling time of recent conversations (a configured default until there are
enough of them), so the figure follows the service as it is today.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.handoff.config import HandoffConfig
from bot.handoff.presence import AgentPresence
from bot.handoff.store import Handoff


@dataclass(frozen=True)
class QueuePlace:
    position: int  # 1 = next to be taken
    wait_minutes: float
    long_wait: bool


@dataclass(frozen=True)
class Admission:
    """The answer to a request for a human: queued (with the wait) or not possible now."""

    handoff: Handoff | None
    place: QueuePlace | None
    unavailable: str = ""  # after_hours | nobody_on_duty
    next_opening: datetime | None = None

    @property
    def queued(self) -> bool:
        return self.place is not None


def estimator(
    config: HandoffConfig,
    agents: Sequence[AgentPresence],
    held: Mapping[int, int],
    measured_minutes: Sequence[float],
) -> Callable[[int], QueuePlace]:
    """The place and wait of the conversation at each position of the queue."""
    capacity = config.agent_capacity
    free = sum(max(0, capacity - held.get(agent.user_id, 0)) for agent in agents)
    handle = (
        statistics.median(measured_minutes)
        if len(measured_minutes) >= 5
        else config.default_handle_minutes
    )
    throughput = max(len(agents), 1) * capacity / max(handle, 0.5)  # conversations a minute

    def estimate(position: int) -> QueuePlace:
        wait = 1.0 if position <= free else max(1.0, (position - free) / throughput)
        return QueuePlace(position, wait, wait > config.long_wait_minutes)

    return estimate

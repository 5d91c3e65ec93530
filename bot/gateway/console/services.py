"""The console's services on the gateway: what its pages read and change.

Built by the wiring (``bot.gateway.app``), which also keeps the conversation index current
(as an observer of the transcript) and runs the retention job.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.console.index import ConversationIndex
from bot.console.retention import Retention
from bot.console.review import Review
from bot.console.workorders import WorkOrderLog
from bot.handoff.classify import WarmClassifier
from bot.routing import Catalogue


@dataclass(frozen=True)
class ConsoleServices:
    engine: AsyncEngine
    index: ConversationIndex
    review: Review
    retention: Retention
    workorders: WorkOrderLog
    classify: WarmClassifier  # shared with the agent workspace: the model is loaded once
    catalogue: Catalogue  # the units a supervisor may choose when correcting the routing

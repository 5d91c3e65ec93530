"""The action server's work-order desk: one per process, opened on first use."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from actions.runtime import settings
from bot.settings import Settings
from bot.wiring import workorder_system
from bot.workorders.desk import WorkOrderDesk


class DeskHolder:
    """Opens the desk inside the server's event loop, on first use; it also runs the outbox
    relay, so requests accepted while the work-order system was down are delivered when it
    is back."""

    def __init__(self, settings: Callable[[], Settings]) -> None:
        self._settings = settings
        self._desk: WorkOrderDesk | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> WorkOrderDesk:
        async with self._lock:
            if self._desk is None:
                current = self._settings()
                self._desk = await WorkOrderDesk.start(
                    current, workorder_system(current), run_relay=True
                )
            return self._desk

    async def aclose(self) -> None:
        async with self._lock:
            if self._desk is not None:
                await self._desk.aclose()
                self._desk = None


DESKS = DeskHolder(settings)


async def get_desk() -> WorkOrderDesk:
    """The desk of :data:`DESKS`, looked up at call time so tests can replace the holder."""
    return await DESKS.get()

"""What the assistant needs from any work-order system, whoever runs it.

The domain (the desk, the relay) depends on this interface only; ``connectors/workorders``
implements it (over the reference service's HTTP API), and a deployment whose platform
speaks another API writes another class with these methods. The process that starts
(action server, gateway, relay) chooses the implementation and hands it in. Every method
raises a :class:`bot.workorders.errors.WorkOrderError` whose ``message`` can be shown to
the citizen as is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.workorders.models import CitizenRequest, ContactProof, MergeCandidate, OrderView, Rating


class WorkOrderSystem(Protocol):
    async def create(
        self,
        request: CitizenRequest,
        idempotency_key: str,
        accepted_at: datetime,
        acceptance_no: str = "",
    ) -> OrderView:
        """Creates the order once per key: repeating a key returns the same order.
        ``acceptance_no`` is the number the citizen was given, recorded on the order; an
        ``accepted_at`` more than a week old still creates it, flagged ``late_delivery``."""

    async def merge(
        self,
        order_no: str,
        request: CitizenRequest,
        idempotency_key: str,
        acceptance_no: str = "",
    ) -> OrderView:
        """并单: attaches another citizen's request (and contact) to an open order."""

    async def get(self, order_no: str, phone: str | None = None) -> OrderView:
        """Status and dates for anyone with the number; content and reply when ``phone``
        is a contact of the order."""

    async def list_by_contact(self, phone: str, proof: ContactProof) -> list[OrderView]:
        """The orders of a phone number, once ``proof`` shows the caller owns it."""

    async def similar_open(self, request: CitizenRequest, limit: int = 3) -> list[MergeCandidate]:
        """Open orders about the same matter at the same place (并单 candidates)."""

    async def supplement(
        self, order_no: str, phone: str, text: str, idempotency_key: str | None = None
    ) -> OrderView: ...

    async def rate(
        self,
        order_no: str,
        phone: str,
        rating: Rating,
        comment: str = "",
        idempotency_key: str | None = None,
    ) -> OrderView: ...

    async def cancel(
        self, order_no: str, phone: str, reason: str = "", idempotency_key: str | None = None
    ) -> OrderView: ...

    async def ready(self) -> bool: ...

    async def aclose(self) -> None:
        """Releases connections; called by whoever was handed the system to keep."""

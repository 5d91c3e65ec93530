"""并单 candidates: the open orders about the same matter at the same place as a request.

Only recent (30 days), open and not confidential orders are offered, in the request's
district when it names one; :mod:`bot.workorders.merge` decides what counts as the same.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.workorder_service.store import orders, record_from_row
from bot.workorders import merge as similarity
from bot.workorders.models import OPEN_STATUSES, CitizenRequest, MergeCandidate


async def similar_open(
    engine: AsyncEngine, request: CitizenRequest, now: datetime, limit: int
) -> list[MergeCandidate]:
    since = now - timedelta(days=30)
    query = (
        select(orders)
        .where(orders.c.status.in_([status.value for status in OPEN_STATUSES]))
        .where(orders.c.confidential.is_(False))
        .where(orders.c.accepted_at >= since)
        .order_by(orders.c.accepted_at.desc())
        .limit(1000)
    )
    if request.district:
        query = query.where(orders.c.district == request.district)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    mine = similarity.Matter(request.content, request.address, request.department)
    found: list[MergeCandidate] = []
    for row in rows:
        other = record_from_row(row._mapping)
        theirs = similarity.Matter(other.request.content, other.request.address, other.department)
        result = similarity.compare(mine, theirs)
        if result.is_same:
            found.append(
                MergeCandidate(
                    number=other.order_no,
                    summary=similarity.summary(other.request.content),
                    address=other.request.address,
                    department=other.department,
                    status_label=other.status.label,
                    score=result.score,
                    reason=similarity.reason(result),
                )
            )
    found.sort(key=lambda candidate: candidate.score, reverse=True)
    return found[: max(1, min(limit, 10))]

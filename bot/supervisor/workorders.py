"""Read access to the work-order service's database, for the console's metrics.

The reference work-order service keeps its tables in ``WORKORDER_DATABASE_URL``, else in
``DATABASE_URL``, else in ``var/workorders.db``. The console opens that database only to
read, and only once it exists, so a gateway started before the work-order service shows
"暂无数据" until orders arrive. Deadline cards use the same rules and working calendar
as the service itself (``bot.workorders``).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.settings import Settings

logger = logging.getLogger(__name__)


class WorkOrderSource:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: AsyncEngine | None = None
        self._policy: Any = None
        self._policy_loaded = False

    async def engine(self) -> AsyncEngine | None:
        if self._engine is not None:
            return self._engine
        url = self.settings.workorder_database_url or self.settings.database_url
        if url:
            from urllib.parse import urlsplit

            self._engine = create_async_engine(
                urlsplit(url)._replace(scheme="postgresql+asyncpg").geturl(), pool_size=2
            )
        else:
            path = self.settings.var_dir / "workorders.db"
            if not path.exists():
                return None
            self._engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
        return self._engine

    def card_of(self, deadline: dict[str, Any], now: datetime) -> str:
        """``none`` / ``yellow`` / ``red`` for an open order's stored deadline."""
        if not self._policy_loaded:
            self._policy_loaded = True
            try:
                from bot.workorders.desk import build_policy

                self._policy = build_policy(self.settings)
            except Exception:
                logger.exception("work-order time-limit rules unavailable; cards not shown")
        if self._policy is None:
            return "none"
        from bot.workorders.models import Deadline

        try:
            return str(self._policy.card(Deadline.from_json(deadline), now).value)
        except (KeyError, ValueError, TypeError):
            return "none"

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

"""The project's own database: SQLite under var/ by default, PostgreSQL with DATABASE_URL."""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.settings import Settings

metadata = MetaData()


def create_engine(settings: Settings) -> AsyncEngine:
    if settings.database_url is None:
        settings.var_dir.mkdir(parents=True, exist_ok=True)
        return create_async_engine(settings.sqlalchemy_url)
    return create_async_engine(settings.sqlalchemy_url, pool_size=10, pool_pre_ping=True)


async def create_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)

"""What the knowledge console needs on the app, and making a change live in this process.

The editing layer is synchronous (the knowledge store's own engine), so every call runs in
a worker thread. After a publish, withdrawal or import the new passages are embedded here,
once, by the writer; every process (this gateway, the action servers, other replicas)
then swaps in the new revision on its next poll, and this one at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date

from aiohttp import web

from bot.accounts import Permission
from bot.clock import beijing_day, utcnow
from bot.conversation.ratelimit import RateLimiter, rate_limiter
from bot.gateway import keys
from bot.knowledge.editing.flags import FlagBox
from bot.knowledge.editing.service import KnowledgeEditor
from bot.knowledge.engine import embed_missing
from bot.knowledge.store import KnowledgeStore

logger = logging.getLogger(__name__)

EDIT = Permission.EDIT_KNOWLEDGE
REVIEW = Permission.REVIEW_KNOWLEDGE


# Citizens' flags are counted per client address over this window.
FLAG_WINDOW_S = 3600.0


@dataclass
class KnowledgeConsole:
    store: KnowledgeStore
    editor: KnowledgeEditor
    flags: FlagBox
    flag_limiter: RateLimiter
    background: set[asyncio.Task[None]] = field(default_factory=set)


KNOWLEDGE_CONSOLE = web.AppKey("knowledge_console", KnowledgeConsole)


async def knowledge_console_resources(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    store = await asyncio.to_thread(KnowledgeStore.from_settings, settings)
    limiter = rate_limiter(app.get(keys.REDIS), settings.knowledge_flags_per_address, FLAG_WINDOW_S)
    console = KnowledgeConsole(store, KnowledgeEditor(store), FlagBox(store), limiter)
    app[KNOWLEDGE_CONSOLE] = console
    yield
    for task in console.background:
        task.cancel()
    await asyncio.gather(*console.background, return_exceptions=True)
    await asyncio.to_thread(store.close)


def knowledge_console(request: web.Request) -> KnowledgeConsole:
    return request.app[KNOWLEDGE_CONSOLE]


def today() -> date:
    return beijing_day(utcnow())


async def go_live(app: web.Application) -> None:
    """Embeds what changed and swaps this process's knowledge base at once."""
    knowledge = app[keys.KNOWLEDGE]
    kb = await knowledge.get()
    if kb.embedder is not None:
        await asyncio.to_thread(embed_missing, app[KNOWLEDGE_CONSOLE].store, kb.embedder)
    await knowledge.refresh()


def go_live_later(app: web.Application) -> None:
    """``go_live`` for a large import, after the response (embedding takes minutes)."""
    console = app[KNOWLEDGE_CONSOLE]

    async def run() -> None:
        try:
            await go_live(app)
        except Exception:
            logger.exception("embedding the imported records failed; the next import retries")

    task = asyncio.create_task(run())
    console.background.add(task)
    task.add_done_callback(console.background.discard)

"""The work-order service's application factory: storage, webhook sender, deadline sweep."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from datetime import datetime

import aiohttp
from aiohttp import web

from bot.clock import utcnow
from bot.settings import Settings
from bot.storage import open_engine
from bot.workorder_service import keys
from bot.workorder_service.api import errors
from bot.workorder_service.routes import setup_routes
from bot.workorder_service.service import WorkOrderService
from bot.workorder_service.webhook_sender import WebhookSender
from bot.workorders.desk import build_policy
from bot.workorders.lifecycle import Lifecycle

logger = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    clock: Callable[[], datetime] = utcnow,
    sweep_interval_s: float = 60.0,
    webhook_poll_s: float = 1.0,
) -> web.Application:
    """Refuses to start without an API token, or with a webhook URL but no secret."""
    if not settings.workorder_api_token:
        raise ValueError("WORKORDER_API_TOKEN must be set for the work-order service")
    if settings.workorder_webhook_url and not settings.workorder_webhook_secret:
        raise ValueError("WORKORDER_WEBHOOK_SECRET must be set when WORKORDER_WEBHOOK_URL is")
    app = web.Application(client_max_size=64 * 1024, middlewares=[errors])
    app[keys.SETTINGS] = settings
    app.cleanup_ctx.append(_resources(clock, sweep_interval_s, webhook_poll_s))
    setup_routes(app)
    return app


def _resources(
    clock: Callable[[], datetime], sweep_interval_s: float, webhook_poll_s: float
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def resources(app: web.Application) -> AsyncIterator[None]:
        settings = app[keys.SETTINGS]
        engine = open_engine(
            settings.workorder_database_url or settings.database_url,
            settings.var_dir / "workorders.db",
        )
        service = WorkOrderService(
            engine, Lifecycle(build_policy(settings)), settings.workorder_webhook_url, clock
        )
        await service.setup()
        app[keys.SERVICE] = service
        stop = asyncio.Event()
        tasks = [asyncio.create_task(_sweep(service, stop, sweep_interval_s))]
        session = aiohttp.ClientSession()
        if settings.workorder_webhook_url:
            sender = WebhookSender(
                engine,
                session,
                settings.workorder_webhook_url,
                settings.workorder_webhook_secret,
                poll_s=webhook_poll_s,
            )
            service.on_webhook = sender.notify
            tasks.append(asyncio.create_task(sender.run(stop)))
        yield
        stop.set()
        for task in tasks:
            with suppress(asyncio.CancelledError):
                await task
        await session.close()
        await engine.dispose()

    return resources


async def _sweep(service: WorkOrderService, stop: asyncio.Event, interval_s: float) -> None:
    while not stop.is_set():
        try:
            changed = await service.sweep()
            if changed:
                logger.info("deadline sweep changed %d orders", changed)
        except Exception:
            logger.exception("deadline sweep failed")
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_s)

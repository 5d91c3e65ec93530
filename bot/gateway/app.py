"""The gateway's application factory: dependencies live on the app object."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from bot.conversation import ConversationService
from bot.conversation.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from bot.conversation.transcript import TranscriptStore
from bot.gateway import keys, webchat
from bot.gateway.agent_live import agent_resources
from bot.gateway.auth import auth_resources
from bot.gateway.middleware import error_middleware
from bot.gateway.routes import setup_routes
from bot.gateway.supervisor import supervisor_resources
from bot.settings import Settings
from bot.storage import create_engine, create_tables
from connectors.rasa import RasaClient


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        client_max_size=settings.max_request_bytes, middlewares=[error_middleware]
    )
    app[keys.SETTINGS] = settings
    app.cleanup_ctx.append(_resources)
    app.cleanup_ctx.extend((auth_resources, supervisor_resources))  # consoles
    app[webchat.CITIZEN_SOCKETS] = webchat.CitizenSockets()
    app.cleanup_ctx.append(agent_resources)  # human handoff, agent workspace (bot/handoff)
    setup_routes(app)
    return app


async def _resources(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    http = aiohttp.ClientSession()
    engine = create_engine(settings)
    await create_tables(engine)
    limiter: RateLimiter
    redis: Redis | None = None
    if settings.redis_url:
        redis = Redis.from_url(settings.redis_url)
        app[keys.REDIS] = redis
        limiter = RedisRateLimiter(
            redis, settings.rate_limit_messages, settings.rate_limit_window_s
        )
    else:
        limiter = MemoryRateLimiter(settings.rate_limit_messages, settings.rate_limit_window_s)
    rasa = RasaClient(http, settings.rasa_url, settings.rasa_token, settings.rasa_timeout_s)
    transcript = TranscriptStore(engine)
    app[keys.HTTP] = http
    app[keys.DB] = engine
    app[keys.RASA] = rasa
    app[keys.TRANSCRIPT] = transcript
    app[keys.CONVERSATIONS] = ConversationService(
        rasa, transcript, limiter, settings.max_message_chars
    )
    yield
    await http.close()
    if redis is not None:
        await redis.aclose()
    await engine.dispose()

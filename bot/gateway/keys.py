"""Every dependency the gateway keeps on its application object, under one typed key each.

The wiring (``bot.gateway.app``) is the only code that sets them; handlers read them.
Modules that define the values must not import this module, so that it can import them.
"""

from __future__ import annotations

from typing import Protocol

import aiohttp
from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.accounts import Accounts
from bot.conversation import ConversationService, DialogueEngine
from bot.conversation.ratelimit import RateLimiter
from bot.conversation.transcript import TranscriptStore
from bot.gateway.channels.sockets import CitizenSockets
from bot.gateway.console.services import ConsoleServices
from bot.gateway.handoff.live import HandoffWorkspace
from bot.handoff.classify import WarmClassifier
from bot.knowledge.runtime import LazyKnowledgeBase
from bot.settings import Settings
from bot.wechat.channel import WeChatChannel


class Engine(DialogueEngine, Protocol):
    """The dialogue engine as the gateway holds it (``connectors.rasa.RasaClient``)."""

    async def ready(self) -> bool: ...


SETTINGS = web.AppKey("settings", Settings)
HTTP = web.AppKey("http", aiohttp.ClientSession)
DB = web.AppKey("db", AsyncEngine)
REDIS = web.AppKey("redis", Redis)
RASA = web.AppKey("rasa", Engine)
TRANSCRIPT = web.AppKey("transcript", TranscriptStore)
CONVERSATIONS = web.AppKey("conversations", ConversationService)
CITIZEN_SOCKETS = web.AppKey("citizen_sockets", CitizenSockets)
WECHAT = web.AppKey("wechat", WeChatChannel)
ACCOUNTS = web.AppKey("accounts", Accounts)
LOGIN_LIMITER = web.AppKey("login_limiter", RateLimiter)  # attempts per client address
CONSOLE = web.AppKey("console", ConsoleServices)
HANDOFF = web.AppKey("handoff", HandoffWorkspace)
KNOWLEDGE = web.AppKey("knowledge", LazyKnowledgeBase)
CLASSIFIER = web.AppKey("classifier", WarmClassifier)

"""Typed keys for the dependencies the gateway keeps on its application object."""

from __future__ import annotations

import aiohttp
from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.conversation import ConversationService
from bot.conversation.transcript import TranscriptStore
from bot.settings import Settings
from connectors.rasa import RasaClient

SETTINGS = web.AppKey("settings", Settings)
HTTP = web.AppKey("http", aiohttp.ClientSession)
DB = web.AppKey("db", AsyncEngine)
REDIS = web.AppKey("redis", Redis)
RASA = web.AppKey("rasa", RasaClient)
TRANSCRIPT = web.AppKey("transcript", TranscriptStore)
CONVERSATIONS = web.AppKey("conversations", ConversationService)

"""The gateway's wiring: the one place that builds the application and connects its parts.

Each audience's code (``channels``, ``handoff``, ``console``) only reads what it needs
from the application (``bot.gateway.keys``); the hooks between parts are made here and
nowhere else: the transcript's index (the console's, written in the rows' transaction)
and observers (the handoff's live rows), the conversation service's gate (the handoff),
the web chat's open hooks (replay of what an agent sent), the bus subscription (live
delivery) and the shutdown of open sockets.
Cleanup contexts run in the order they are added and are undone in reverse.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from bot.accounts import (
    Accounts,
    AuditLog,
    RedisSessionStore,
    SessionPolicy,
    SessionStore,
    SqlSessionStore,
    UserStore,
)
from bot.accounts.passwords import WeakPassword
from bot.accounts.store import LOCKOUT
from bot.console.events import TurnStream
from bot.console.index import ConversationIndex
from bot.console.retention import Retention, retention_loop
from bot.console.review import Review, project_vocabulary
from bot.console.workorders import WorkOrderLog, deadline_cards
from bot.conversation import ConversationService
from bot.conversation.ratelimit import rate_limiter
from bot.conversation.transcript import TranscriptStore
from bot.gateway import keys
from bot.gateway.channels.sockets import CitizenSockets
from bot.gateway.channels.wechat import notify_wechat_citizen
from bot.gateway.console.knowledge_services import knowledge_console_resources
from bot.gateway.console.services import ConsoleServices
from bot.gateway.handoff.live import (
    ConsoleHub,
    GatewayCitizenChannel,
    HandoffWorkspace,
    on_bus_event,
    replay_to_citizen,
)
from bot.gateway.handoff.suggestions import KnowledgeBaseSuggester
from bot.gateway.middleware import error_middleware
from bot.gateway.routes import setup_routes
from bot.handoff.assist import Assistant
from bot.handoff.bus import Bus, MemoryBus, RedisBus
from bot.handoff.calls import CallStore
from bot.handoff.classify import WarmClassifier
from bot.handoff.config import HandoffConfig
from bot.handoff.feedback import SuggestionLog
from bot.handoff.gate import HandoffGate
from bot.handoff.notes import NoteStore
from bot.handoff.presence import PresenceStore
from bot.handoff.service import HandoffService
from bot.handoff.store import HandoffStore
from bot.knowledge.runtime import LazyKnowledgeBase
from bot.redis_client import open_redis
from bot.routing import load_catalogue, load_classifier
from bot.settings import Settings
from bot.storage import create_engine, create_tables
from bot.wechat.channel import WeChatChannel
from bot.wechat.ports import ChoiceStore, Deduplicator
from bot.wiring import event_feed
from bot.workorders.workcalendar import WorkingCalendar
from connectors.rasa import RasaClient
from connectors.rasa_tracker import RasaTracker
from connectors.wechat.api import (
    AccessTokens,
    MemoryTokenCache,
    TokenCache,
    WeChatApi,
    shared_token_cache,
)
from connectors.wechat.choices import RedisChoiceStore, SqlChoiceStore
from connectors.wechat.crypto import WeChatCipher
from connectors.wechat.dedupe import NONCE_TTL_S, RedisDeduplicator, SqlDeduplicator

logger = logging.getLogger(__name__)

# How long shutdown waits for WeChat answers still on their way to citizens.
_WECHAT_DRAIN_S = 10.0


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        client_max_size=settings.max_request_bytes, middlewares=[error_middleware]
    )
    app[keys.SETTINGS] = settings
    app[keys.CITIZEN_SOCKETS] = CitizenSockets()
    app[keys.CLASSIFIER] = WarmClassifier(lambda: load_classifier(settings))
    app.cleanup_ctx.extend(
        (
            core_resources,
            account_resources,
            knowledge_resources,
            knowledge_console_resources,
            console_resources,
            handoff_resources,
        )
    )
    if settings.wechat_token:
        cipher = wechat_cipher(settings)  # a bad AES key fails here, at start
        app.cleanup_ctx.append(functools.partial(wechat_resources, cipher=cipher))
    app.on_shutdown.append(close_live_sockets)
    setup_routes(app, settings)
    return app


async def core_resources(app: web.Application) -> AsyncIterator[None]:
    """The database, Redis, Rasa, the transcript and the conversation service."""
    settings = app[keys.SETTINGS]
    http = aiohttp.ClientSession()
    engine = create_engine(settings)
    await create_tables(engine)
    redis: Redis | None = None
    if settings.redis_url:
        redis = open_redis(settings.redis_url)
        app[keys.REDIS] = redis
    window_s = settings.rate_limit_window_s
    rasa = RasaClient(http, settings.rasa_url, settings.rasa_token, settings.rasa_timeout_s)
    transcript = TranscriptStore(engine)
    app[keys.HTTP] = http
    app[keys.DB] = engine
    app[keys.RASA] = rasa
    app[keys.TRANSCRIPT] = transcript
    app[keys.CONVERSATIONS] = ConversationService(
        rasa,
        transcript,
        rate_limiter(redis, settings.rate_limit_messages, window_s, allow_when_down=True),
        settings.max_message_chars,
        address_limiter=rate_limiter(
            redis, settings.rate_limit_address_messages, window_s, allow_when_down=True
        ),
    )
    app[keys.LOGIN_LIMITER] = rate_limiter(
        redis, settings.login_attempts_per_address, LOCKOUT.total_seconds()
    )
    yield
    await http.close()
    if redis is not None:
        await redis.aclose()
    await engine.dispose()


async def account_resources(app: web.Application) -> AsyncIterator[None]:
    """Console users, their sessions (shared through Redis when there is one), the audit
    log, and the bootstrap ``admin`` from ``HOTLINE_ADMIN_PASSWORD``."""
    settings = app[keys.SETTINGS]
    engine = app[keys.DB]
    policy = SessionPolicy(
        idle=timedelta(minutes=settings.session_idle_minutes),
        lifetime=timedelta(hours=settings.session_max_hours),
    )
    sessions: SessionStore
    if keys.REDIS in app:
        sessions = RedisSessionStore(app[keys.REDIS], policy)
    else:
        sessions = SqlSessionStore(engine, policy)
    accounts = Accounts(UserStore(engine), sessions, AuditLog(engine))
    app[keys.ACCOUNTS] = accounts
    if settings.admin_password:
        try:
            if await accounts.users.ensure_admin(settings.admin_password) is not None:
                await accounts.audit.record("user.bootstrap_admin", "admin", username="system")
        except WeakPassword as exc:
            logger.error("HOTLINE_ADMIN_PASSWORD was not used: %s", exc)
    yield


async def knowledge_resources(app: web.Application) -> AsyncIterator[None]:
    """The gateway's one knowledge base (agent assist and suggestions), loaded lazily or,
    with ``KB_PRELOAD``, in the background right after start so no agent waits."""
    settings = app[keys.SETTINGS]
    if keys.KNOWLEDGE not in app:
        app[keys.KNOWLEDGE] = LazyKnowledgeBase(settings)
    warm_up = asyncio.create_task(_warm_up(app[keys.KNOWLEDGE])) if settings.kb_preload else None
    yield
    app[keys.KNOWLEDGE].close()
    if warm_up is not None:
        warm_up.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await warm_up


async def _warm_up(knowledge: LazyKnowledgeBase) -> None:
    try:
        await knowledge.get()
    except Exception:
        logger.exception("the knowledge base could not be loaded; assist requests will retry")


async def console_resources(app: web.Application) -> AsyncIterator[None]:
    """The supervisor console: the conversation index (kept current from the transcript
    and, with a broker, from Rasa's event stream), review, retention (and its periodic
    job), the received work-order events."""
    settings = app[keys.SETTINGS]
    engine = app[keys.DB]
    index = ConversationIndex(engine)
    await index.setup()
    app[keys.TRANSCRIPT].indexes.append(index)
    retention = Retention.build(settings, engine, index.search)
    app[keys.CONSOLE] = ConsoleServices(
        engine,
        index,
        Review(engine, project_vocabulary()),
        retention,
        WorkOrderLog(engine, deadline_cards(settings)),
        app[keys.CLASSIFIER],
        load_catalogue(settings.routing_catalogue),
    )
    stop = asyncio.Event()
    tasks = [asyncio.create_task(_backfill(index))]
    feed = event_feed(settings)
    if feed is not None:  # what Rasa understood comes by its event stream
        tasks.append(asyncio.create_task(TurnStream(engine, index).follow(feed)))
    if settings.retention_days > 0:
        tasks.append(
            asyncio.create_task(
                retention_loop(
                    retention,
                    settings.retention_days,
                    settings.retention_mode,
                    settings.retention_interval_minutes * 60.0,
                    stop,
                )
            )
        )
    yield
    stop.set()
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await retention.close()


async def _backfill(index: ConversationIndex) -> None:
    try:
        count = await index.backfill_if_empty()
        if count:
            logger.info("indexed %d existing conversations for the console", count)
    except Exception:
        logger.exception("could not index the existing transcript")


async def handoff_resources(app: web.Application) -> AsyncIterator[None]:
    """Human handoff and the agent workspace, hooked into the conversation service (the
    gate), the transcript (live rows for consoles) and the web chat (replay on reconnect)."""
    settings = app[keys.SETTINGS]
    engine = app[keys.DB]
    transcript = app[keys.TRANSCRIPT]
    sockets = app[keys.CITIZEN_SOCKETS]
    config = HandoffConfig.load(
        settings.handoff_config, WorkingCalendar(settings.workorder_holiday_dir)
    )
    bus: Bus = MemoryBus()
    if keys.REDIS in app:
        # One channel per deployment (its database), so deployments sharing a Redis do not
        # see each other's events.
        digest = hashlib.sha256(settings.sqlalchemy_url.encode()).hexdigest()[:16]
        bus = RedisBus(app[keys.REDIS], f"hotline:handoff:{digest}")
    classify = app[keys.CLASSIFIER]
    if settings.kb_preload:  # agents' summaries and assist classify: load before they ask
        classify.warm()
    suggester = KnowledgeBaseSuggester(app[keys.KNOWLEDGE], settings.assist_min_score)
    service = HandoffService(
        config=config,
        store=HandoffStore(engine),
        presence=PresenceStore(engine, config.presence_timeout_s),
        notes=NoteStore(engine),
        calls=CallStore(engine),
        suggestions=SuggestionLog(engine),
        transcript=transcript,
        tracker=RasaTracker(app[keys.HTTP], settings.rasa_url, settings.rasa_token),
        bus=bus,
        channel=GatewayCitizenChannel(
            bus, transcript, functools.partial(notify_wechat_citizen, app)
        ),
        assistant=Assistant(suggester, classify, SuggestionLog(engine)),
        classify=classify,
    )
    hub = ConsoleHub()
    workspace = HandoffWorkspace(settings, service, hub, bus)
    app[keys.HANDOFF] = workspace

    async def deliver(event: dict[str, Any]) -> None:
        await on_bus_event(event, hub, sockets, transcript)

    async def replay(conversation_id: str, ws: web.WebSocketResponse) -> None:
        await replay_to_citizen(service, transcript, conversation_id, ws)

    bus.subscribe(deliver)
    await bus.start()
    transcript.live.append(service)
    app[keys.CONVERSATIONS].gate = HandoffGate(service)
    sockets.on_open.append(replay)
    yield
    app[keys.CONVERSATIONS].gate = None
    await transcript.settled()
    await bus.stop()
    await workspace.close()


def wechat_cipher(settings: Settings) -> WeChatCipher | None:
    """The safe-mode cipher, when an AES key is configured (it needs the app id too)."""
    if not settings.wechat_encoding_aes_key:
        return None
    if not settings.wechat_app_id:
        raise ValueError("WECHAT_ENCODING_AES_KEY needs WECHAT_APP_ID (safe mode checks it)")
    return WeChatCipher(settings.wechat_encoding_aes_key, settings.wechat_app_id)


async def wechat_resources(
    app: web.Application, cipher: WeChatCipher | None
) -> AsyncIterator[None]:
    """The WeChat channel: retry de-duplication, callback nonces, offered choices and the
    access token are shared through Redis when there is one; answers still on their way finish at shutdown."""
    settings = app[keys.SETTINGS]
    redis = app.get(keys.REDIS)
    prefix = f"wechat:{settings.wechat_app_id or 'default'}:"
    dedupe: Deduplicator
    nonces: Deduplicator
    choices: ChoiceStore
    tokens: TokenCache
    if redis is not None:
        dedupe = RedisDeduplicator(redis, prefix + "seen:")
        nonces = RedisDeduplicator(redis, prefix + "nonce:", NONCE_TTL_S)
        choices = RedisChoiceStore(redis, prefix + "choices:")
        tokens = shared_token_cache(redis, settings.wechat_app_id)
    else:
        dedupe = SqlDeduplicator(app[keys.DB])
        nonces = SqlDeduplicator(app[keys.DB], NONCE_TTL_S, prefix="nonce:")
        choices = SqlChoiceStore(app[keys.DB])
        tokens = MemoryTokenCache()
    api: WeChatApi | None = None
    if settings.wechat_app_id and settings.wechat_app_secret:
        http = app[keys.HTTP]
        api = WeChatApi(
            http,
            AccessTokens(
                http,
                settings.wechat_api_base,
                settings.wechat_app_id,
                settings.wechat_app_secret,
                tokens,
            ),
        )
    else:
        logger.warning("WeChat API not configured: answers after the passive budget are lost")
    channel = WeChatChannel(
        token=settings.wechat_token,
        cipher=cipher,
        budget_s=settings.wechat_reply_budget_s,
        service=app[keys.CONVERSATIONS],
        transcript=app[keys.TRANSCRIPT],
        dedupe=dedupe,
        nonces=nonces,
        choices=choices,
        api=api,
    )
    app[keys.WECHAT] = channel
    yield
    await channel.drain(_WECHAT_DRAIN_S)


async def close_live_sockets(app: web.Application) -> None:
    """On shutdown, before aiohttp waits for handlers: open sockets would hold it up until
    its timeout; closed with 1001, pages and consoles reconnect (to another replica)."""
    if keys.HANDOFF in app:
        await app[keys.HANDOFF].hub.close_all()
    await app[keys.CITIZEN_SOCKETS].close_all()

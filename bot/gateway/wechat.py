"""The WeChat Official Account channel: WeChat's server posts citizens' messages here.

A POST goes through: ``signature`` (and ``msg_signature`` in safe mode) → safe XML →
decryption → de-duplication → intake → the conversation service. WeChat waits 5 seconds
for the HTTP answer and then retries, so the assistant's answer is given passively when
it comes within the budget (``WECHAT_REPLY_BUDGET_S``, about 4 s); otherwise the request
gets ``success`` at once and the answer follows through the customer-service API. An
answer too long for one message also goes that way, so that its parts arrive in order.

The conversation id is ``"wx:" + OpenID``: the OpenID is stable per citizen and account.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections.abc import AsyncIterator, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.conversation import CitizenTurn, ConversationService
from bot.conversation.service import UNAVAILABLE_REPLY
from bot.conversation.transcript import TranscriptStore
from bot.gateway import keys
from bot.gateway.responses import json_error
from bot.logs import conversation_context
from connectors.wechat.api import (
    AccessTokens,
    MemoryTokenCache,
    TokenCache,
    WeChatApi,
    WeChatApiError,
    shared_token_cache,
)
from connectors.wechat.choices import ChoiceStore, RedisChoiceStore, SqlChoiceStore
from connectors.wechat.crypto import CryptoError, WeChatCipher
from connectors.wechat.dedupe import Deduplicator, RedisDeduplicator, SqlDeduplicator
from connectors.wechat.intake import Intake, take_in
from connectors.wechat.messages import (
    MAX_XML_BYTES,
    InboundMessage,
    TextMessage,
    XmlRejected,
    parse_message,
    parse_xml,
)
from connectors.wechat.render import Rendered, render, split_text
from connectors.wechat.replies import SUCCESS, encrypted_envelope, text_reply
from connectors.wechat.signature import signature_matches, timestamp_is_fresh

logger = logging.getLogger(__name__)

WECHAT_PATH = "/wechat"
CHANNEL = "wechat"
CONVERSATION_PREFIX = "wx:"
_OPENID = re.compile(r"^[A-Za-z0-9_-]{6,64}$")
# How long shutdown waits for answers still on their way to citizens.
_DRAIN_S = 10.0


def conversation_id_for(openid: str) -> str:
    return CONVERSATION_PREFIX + openid


def openid_of(conversation_id: str) -> str | None:
    """The citizen's OpenID when the conversation came from WeChat, else None."""
    if conversation_id.startswith(CONVERSATION_PREFIX):
        openid = conversation_id[len(CONVERSATION_PREFIX) :]
        return openid if _OPENID.match(openid) else None
    return None


@dataclass
class WeChatChannel:
    token: str
    cipher: WeChatCipher | None
    budget_s: float
    service: ConversationService
    transcript: TranscriptStore
    dedupe: Deduplicator
    choices: ChoiceStore
    api: WeChatApi | None
    pending: set[asyncio.Task[None]] = field(default_factory=set)

    async def answer(self, message: InboundMessage, budget_s: float) -> str | None:
        """The passive reply's text, or None when the answer (if any) goes another way."""
        openid = message.from_user
        offered = await self.choices.recall(openid) if isinstance(message, TextMessage) else ()
        intake = take_in(message, offered)
        if intake.text is None:
            await self._record_local(openid, intake)
            return intake.reply
        turn = CitizenTurn(conversation_id_for(openid), CHANNEL, intake.text, intake.metadata)
        conversing = asyncio.create_task(self._converse(openid, turn))
        try:
            rendered = await asyncio.wait_for(asyncio.shield(conversing), max(budget_s, 0.0))
        except TimeoutError:
            logger.info("answer exceeds the passive budget; it follows by customer-service API")
            self._in_background(self._deliver(openid, conversing))
            return None
        except Exception:
            logger.exception("wechat turn failed")
            return UNAVAILABLE_REPLY
        if len(rendered.texts) <= 1:
            return rendered.texts[0] if rendered.texts else None
        self._in_background(self.send(openid, rendered.texts))
        return None

    async def send(self, openid: str, texts: Sequence[str]) -> bool:
        """Customer-service messages, in order; stops at the first one WeChat refuses."""
        if self.api is None:
            logger.error("cannot send a WeChat message: WECHAT_APP_ID/WECHAT_APP_SECRET not set")
            return False
        for text in texts:
            try:
                await self.api.send_text(openid, text)
            except WeChatApiError as exc:
                logger.warning(
                    "wechat customer-service message not delivered: %s %s",
                    exc.errcode,
                    exc.errmsg,
                    extra={"event": "wechat_send_failed"},
                )
                return False
        return True

    async def drain(self, timeout_s: float) -> None:
        if not self.pending:
            return
        _, late = await asyncio.wait(set(self.pending), timeout=timeout_s)
        for task in late:
            task.cancel()

    async def _converse(self, openid: str, turn: CitizenTurn) -> Rendered:
        result = await self.service.handle_turn(turn)
        rendered = render(result.messages)
        await self.choices.remember(openid, rendered.choices)
        return rendered

    async def _deliver(self, openid: str, conversing: asyncio.Task[Rendered]) -> None:
        try:
            rendered = await conversing
        except Exception:
            logger.exception("wechat turn failed; sending an apology")
            rendered = Rendered(texts=(UNAVAILABLE_REPLY,), choices=())
        await self.send(openid, rendered.texts)

    def _in_background(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(work)
        self.pending.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("wechat delivery failed", exc_info=task.exception())

    async def _record_local(self, openid: str, intake: Intake) -> None:
        """Non-text input and the channel's own replies belong in the transcript too."""
        conversation_id = conversation_id_for(openid)
        if intake.note:
            await self.transcript.append(
                conversation_id, CHANNEL, "citizen", intake.note, intake.metadata or None
            )
        if intake.reply:
            await self.transcript.append(
                conversation_id, CHANNEL, "bot", intake.reply, {"status": "channel_reply"}
            )


WECHAT = web.AppKey("wechat", WeChatChannel)


def setup_wechat_routes(app: web.Application) -> None:
    """Mounts the channel when ``WECHAT_TOKEN`` is set; a bad AES key fails here, at start."""
    settings = app[keys.SETTINGS]
    if not settings.wechat_token:
        return
    cipher: WeChatCipher | None = None
    if settings.wechat_encoding_aes_key:
        if not settings.wechat_app_id:
            raise ValueError("WECHAT_ENCODING_AES_KEY needs WECHAT_APP_ID (safe mode checks it)")
        cipher = WeChatCipher(settings.wechat_encoding_aes_key, settings.wechat_app_id)
    app.router.add_get(WECHAT_PATH, verify_url)
    app.router.add_post(WECHAT_PATH, receive)
    app.cleanup_ctx.append(functools.partial(_channel_resource, cipher=cipher))


async def _channel_resource(
    app: web.Application, cipher: WeChatCipher | None
) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    redis = app.get(keys.REDIS)
    prefix = f"wechat:{settings.wechat_app_id or 'default'}:"
    dedupe: Deduplicator
    choices: ChoiceStore
    tokens: TokenCache
    if redis is not None:
        dedupe = RedisDeduplicator(redis, prefix + "seen:")
        choices = RedisChoiceStore(redis, prefix + "choices:")
        tokens = shared_token_cache(redis, settings.wechat_app_id)
    else:
        dedupe = SqlDeduplicator(app[keys.DB])
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
        choices=choices,
        api=api,
    )
    app[WECHAT] = channel
    yield
    await channel.drain(_DRAIN_S)


async def notify_wechat_citizen(app: web.Application, openid: str, text: str) -> bool:
    """Sends ``text`` (e.g. a work-order status change) as customer-service messages.

    Returns whether WeChat accepted every part. WeChat only allows this within 48 hours of
    the citizen's last message to the account; the caller records the notice in the
    transcript, since it knows what the notice was about.
    """
    channel = app.get(WECHAT)
    if channel is None or not _OPENID.match(openid):
        return False
    parts = [part.strip() for part in split_text(text) if part.strip()]
    with conversation_context(conversation_id_for(openid)):
        return await channel.send(openid, parts)


def _check_signature(token: str, query: Mapping[str, str]) -> web.Response | None:
    timestamp = query.get("timestamp", "")
    nonce = query.get("nonce", "")
    if not signature_matches((token, timestamp, nonce), query.get("signature", "")):
        logger.warning("wechat request with a bad signature refused")
        return json_error(403, "签名校验失败。", "invalid_signature")
    if not timestamp_is_fresh(timestamp):
        logger.warning("wechat request with a stale timestamp refused")
        return json_error(403, "请求时间戳无效或已过期。", "stale_timestamp")
    return None


async def verify_url(request: web.Request) -> web.StreamResponse:
    """WeChat's server URL check: echo ``echostr`` when the signature is ours."""
    refused = _check_signature(request.app[WECHAT].token, request.query)
    if refused is not None:
        return refused
    echostr = request.query.get("echostr", "")
    if not echostr or len(echostr) > 128:
        return json_error(400, "缺少或无效的 echostr 参数。", "invalid_echostr")
    return web.Response(text=echostr, content_type="text/plain")


async def receive(request: web.Request) -> web.StreamResponse:
    started = time.monotonic()
    channel = request.app[WECHAT]
    query = request.query
    refused = _check_signature(channel.token, query)
    if refused is not None:
        return refused
    if request.content_length is not None and request.content_length > MAX_XML_BYTES:
        logger.warning("wechat body of %s bytes refused", request.content_length)
        return json_error(413)
    body = await request.read()
    encrypted = query.get("encrypt_type", "raw").lower() == "aes"
    try:
        fields = parse_xml(body)
        if encrypted and channel.cipher is not None:
            envelope = fields.get("Encrypt", "")
            parts = (channel.token, query.get("timestamp", ""), query.get("nonce", ""), envelope)
            if not signature_matches(parts, query.get("msg_signature", "")):
                logger.warning("wechat message with a bad msg_signature refused")
                return json_error(403, "消息签名校验失败。", "invalid_msg_signature")
            fields = parse_xml(channel.cipher.decrypt(envelope).encode("utf-8"))
        elif encrypted and "MsgType" not in fields:
            logger.error("safe-mode message received but WECHAT_ENCODING_AES_KEY is not set")
            return json_error(400, "消息解密失败。", "invalid_ciphertext")
        message = parse_message(fields)
    except CryptoError as exc:
        logger.warning("wechat message refused: %s", exc)
        return json_error(400, "消息解密失败。", "invalid_ciphertext")
    except XmlRejected as exc:
        logger.warning("wechat message refused: %s", exc)
        return json_error(400, "消息格式不正确。", "invalid_xml")
    if not _OPENID.match(message.from_user):
        return json_error(400, "消息格式不正确。", "invalid_xml")
    with conversation_context(conversation_id_for(message.from_user)):
        if not await channel.dedupe.first_time(message.dedupe_key):
            logger.info("wechat retry of an already handled message ignored")
            return _success()
        text = await channel.answer(message, channel.budget_s - (time.monotonic() - started))
    if text is None:
        return _success()
    reply = text_reply(message.from_user, message.to_user, text)
    if encrypted and channel.cipher is not None:
        reply = encrypted_envelope(channel.cipher, channel.token, reply)
    return web.Response(text=reply, content_type="text/xml")


def _success() -> web.Response:
    return web.Response(text=SUCCESS, content_type="text/plain")

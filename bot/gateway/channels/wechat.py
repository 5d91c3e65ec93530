"""The WeChat Official Account channel's HTTP side: WeChat's server posts messages here.

A POST goes through: ``signature`` (and ``msg_signature`` in safe mode) → a timestamp and
nonce not seen before → safe XML → decryption → de-duplication → intake →
:class:`bot.wechat.channel.WeChatChannel`, which answers passively within WeChat's budget
or later through the customer-service API.
The routes exist only when ``WECHAT_TOKEN`` is set.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from aiohttp import web

from bot.gateway import keys
from bot.gateway.responses import json_error
from bot.logs import conversation_context
from bot.wechat import conversation_id_for, valid_openid
from bot.wechat.channel import WeChatChannel
from connectors.wechat.crypto import CryptoError
from connectors.wechat.messages import MAX_XML_BYTES, XmlRejected, parse_message, parse_xml
from connectors.wechat.replies import SUCCESS, encrypted_envelope, text_reply
from connectors.wechat.signature import signature_matches, timestamp_is_fresh

logger = logging.getLogger(__name__)

WECHAT_PATH = "/wechat"
_MAX_NONCE_CHARS = 64


async def notify_wechat_citizen(app: web.Application, openid: str, text: str) -> bool:
    """Whether WeChat took ``text`` for the citizen; False on a gateway without WeChat."""
    channel = app.get(keys.WECHAT)
    return channel is not None and await channel.notify(openid, text)


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


async def _first_use(channel: WeChatChannel, query: Mapping[str, str]) -> bool:
    """Claims the signed URL's timestamp and nonce. In plain mode the signature does not
    cover the body, so a captured URL must not carry a second body (WeChat's retries
    come with a new timestamp and nonce)."""
    nonce = query.get("nonce", "")
    if not 0 < len(nonce) <= _MAX_NONCE_CHARS:
        return False
    return await channel.nonces.first_time(f"{query.get('timestamp', '')}:{nonce}")


async def verify_url(request: web.Request) -> web.StreamResponse:
    """WeChat's server URL check: echo ``echostr`` when the signature is ours."""
    refused = _check_signature(request.app[keys.WECHAT].token, request.query)
    if refused is not None:
        return refused
    echostr = request.query.get("echostr", "")
    if not echostr or len(echostr) > 128:
        return json_error(400, "缺少或无效的 echostr 参数。", "invalid_echostr")
    return web.Response(text=echostr, content_type="text/plain")


async def receive(request: web.Request) -> web.StreamResponse:
    started = time.monotonic()
    channel = request.app[keys.WECHAT]
    query = request.query
    refused = _check_signature(channel.token, query)
    if refused is not None:
        return refused
    if not await _first_use(channel, query):
        logger.warning("wechat request with a reused timestamp and nonce refused")
        return json_error(403, "该请求已使用过，不能重复提交。", "replayed_request")
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
    if not valid_openid(message.from_user):
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

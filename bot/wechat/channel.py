"""The WeChat channel's conversation logic: a citizen's message in, the answer out in time.

WeChat waits 5 seconds for the HTTP answer and then retries, so the assistant's answer is
given passively when it comes within the budget (``WECHAT_REPLY_BUDGET_S``, about 4 s);
otherwise the request gets ``success`` at once and the answer follows through the
customer-service API. An answer too long for one message also goes that way, so that its
parts arrive in order. The HTTP side (signatures, XML, envelopes) is the gateway's
(``bot/gateway/channels/wechat.py``); the API client and the stores are injected
(:mod:`bot.wechat.ports`) by the gateway's app factory.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.conversation import CitizenTurn, ConversationService
from bot.conversation.service import UNAVAILABLE_REPLY
from bot.conversation.transcript import TranscriptStore
from bot.logs import conversation_context
from bot.wechat import CHANNEL, conversation_id_for, valid_openid
from bot.wechat.intake import Intake, take_in
from bot.wechat.messages import InboundMessage, TextMessage
from bot.wechat.ports import ChoiceStore, Cipher, Deduplicator, Messenger, WeChatApiError
from bot.wechat.render import Rendered, render, split_text

logger = logging.getLogger(__name__)


@dataclass
class WeChatChannel:
    token: str
    cipher: Cipher | None
    budget_s: float
    service: ConversationService
    transcript: TranscriptStore
    dedupe: Deduplicator
    nonces: Deduplicator  # timestamp+nonce of signed callbacks, refused when reused (replay)
    choices: ChoiceStore
    api: Messenger | None
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

    async def notify(self, openid: str, text: str) -> bool:
        """Sends ``text`` (e.g. a work-order status change) as customer-service messages.

        Returns whether WeChat accepted every part. WeChat only allows this within 48 hours
        of the citizen's last message to the account; the caller records the notice in the
        transcript, since it knows what the notice was about.
        """
        if not valid_openid(openid):
            return False
        parts = [part.strip() for part in split_text(text) if part.strip()]
        with conversation_context(conversation_id_for(openid)):
            return await self.send(openid, parts)

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

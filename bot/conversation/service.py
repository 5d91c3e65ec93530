"""Handling of one citizen turn, whatever channel it came from.

Order matters: the input is cleaned and rate-limited, written to the transcript, checked
for an emergency (answered here at once, even when the dialogue engine is down), and only
then forwarded to the dialogue engine. Whatever happens downstream, the citizen gets a
polite answer and the turn stays on record.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

from bot.conversation.input import clean_citizen_text
from bot.conversation.models import BotMessage, CitizenTurn, EngineReply, TurnResult
from bot.conversation.ratelimit import RATE_LIMIT_REPLY, RateLimiter
from bot.conversation.transcript import TranscriptStore
from bot.logs import conversation_context
from bot.safety import detect_emergency, emergency_reply

logger = logging.getLogger(__name__)

UNAVAILABLE_REPLY = (
    "抱歉，系统正忙，暂时无法回复您。您的留言已经记录，请稍后再试，也可以直接拨打12345热线电话。"
)


class DialogueUnavailable(Exception):
    """The dialogue engine could not be reached or did not answer in time."""


class DialogueEngine(Protocol):
    async def send(
        self, conversation_id: str, text: str, metadata: dict[str, Any]
    ) -> EngineReply: ...


class HandoffGate(Protocol):
    """The human handoff's say in a turn (bot/handoff/gate.py): while an agent holds, or is
    about to take, the conversation, ``before_engine`` answers instead of the bot (often
    with nothing: the agent answers); ``after_engine`` may turn the bot's reply into a
    handoff (the citizen asked for a human, or the bot keeps failing)."""

    async def before_engine(self, turn: CitizenTurn, text: str) -> TurnResult | None: ...

    async def after_engine(self, turn: CitizenTurn, result: TurnResult) -> TurnResult: ...


class ConversationService:
    def __init__(
        self,
        engine: DialogueEngine,
        transcript: TranscriptStore,
        rate_limiter: RateLimiter,
        max_message_chars: int,
        gate: HandoffGate | None = None,
        address_limiter: RateLimiter | None = None,
    ) -> None:
        self.engine = engine
        self.transcript = transcript
        self.rate_limiter = rate_limiter
        self.address_limiter = address_limiter
        self.max_message_chars = max_message_chars
        self.gate = gate

    async def handle_turn(self, turn: CitizenTurn) -> TurnResult:
        with conversation_context(turn.conversation_id):
            started = time.perf_counter()
            result = await self._handle(turn)
            await self._record_replies(turn, result)
            logger.info(
                "turn handled",
                extra={
                    "event": "turn",
                    "channel": turn.channel,
                    "status": result.status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            return result

    async def _handle(self, turn: CitizenTurn) -> TurnResult:
        cleaned = clean_citizen_text(turn.text, self.max_message_chars)
        if not await self._allowed(turn):
            await self._record_citizen(turn, cleaned.text, "rate_limited")
            return TurnResult((BotMessage(RATE_LIMIT_REPLY),), status="rate_limited")
        citizen_row = await self._record_citizen(turn, cleaned.text, cleaned.reason)
        if cleaned.rejection is not None:
            return TurnResult((BotMessage(cleaned.rejection),), status=cleaned.reason or "rejected")
        emergency = detect_emergency(cleaned.text)
        if emergency is not None:
            return TurnResult((BotMessage(emergency_reply(emergency)),), status="emergency")
        if self.gate is not None:
            held = await self.gate.before_engine(turn, cleaned.text)
            if held is not None:
                return held
        metadata = {**turn.metadata, "channel": turn.channel}
        try:
            reply = await self.engine.send(turn.conversation_id, cleaned.text, metadata)
        except DialogueUnavailable as exc:
            logger.warning(
                "dialogue engine unavailable: %s", exc, extra={"event": "engine_unavailable"}
            )
            return TurnResult((BotMessage(UNAVAILABLE_REPLY),), status="engine_unavailable")
        await self.transcript.annotate(citizen_row, {"nlu": reply.understanding.to_json()})
        result = TurnResult(reply.messages, understanding=reply.understanding)
        return result if self.gate is None else await self.gate.after_engine(turn, result)

    async def _allowed(self, turn: CitizenTurn) -> bool:
        if not await self.rate_limiter.allow(f"{turn.channel}:{turn.conversation_id}"):
            return False
        if not turn.client or self.address_limiter is None:
            return True
        return await self.address_limiter.allow(f"address:{turn.client}")

    async def _record_citizen(self, turn: CitizenTurn, text: str, reason: str | None) -> int:
        data = {"reason": reason} if reason else None
        return await self.transcript.append(
            turn.conversation_id, turn.channel, "citizen", text, data
        )

    async def _record_replies(self, turn: CitizenTurn, result: TurnResult) -> None:
        for message in result.messages:
            await self.transcript.append(
                turn.conversation_id,
                turn.channel,
                "bot",
                message.text,
                {"status": result.status, **message.to_json()},
            )

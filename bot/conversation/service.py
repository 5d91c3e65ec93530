"""Handling of one citizen turn, whatever channel it came from.

Order matters: the input is cleaned and rate-limited, written to the transcript, checked
for an emergency (answered here at once, even when the dialogue engine is down), and only
then forwarded to the dialogue engine. Whatever happens downstream, the citizen gets a
polite answer and the turn stays on record.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Protocol

from bot.conversation.input import clean_citizen_text
from bot.conversation.models import BotMessage, CitizenTurn, EngineReply, TurnResult
from bot.conversation.ratelimit import RATE_LIMIT_REPLY, RateLimiter
from bot.conversation.transcript import Annotation, NewRow, TranscriptStore
from bot.logs import conversation_context
from bot.safety import detect_emergency, emergency_reply

logger = logging.getLogger(__name__)

TRANSCRIPT_KEY = "transcript_id"
"""The message metadata that names the citizen's transcript row to Rasa (and its events)."""

UNAVAILABLE_REPLY = (
    "抱歉，系统正忙，暂时无法回复您。您的留言已经记录，请稍后再试，也可以直接拨打12345热线电话。"
)

EMPTY_REPLY = "抱歉，刚才没能处理好您的消息，请您再发送一次。您说的内容我们都已记录。"
"""When the engine answers nothing: an action that failed (its server died mid-turn) leaves
Rasa's reply empty, and a citizen left without any answer would wait."""


class DialogueUnavailable(Exception):
    """The dialogue engine could not be reached or did not answer in time."""


class DialogueEngine(Protocol):
    async def send(
        self, conversation_id: str, text: str, metadata: dict[str, Any]
    ) -> EngineReply: ...


class TurnGate(Protocol):
    """The human handoff's say in one turn (bot/handoff/gate.py): while an agent holds, or
    is about to take, the conversation, ``before_engine`` answers instead of the bot (often
    with nothing: the agent answers); ``after_engine`` may turn the bot's reply into a
    handoff (the citizen asked for a human, or the bot keeps failing)."""

    async def before_engine(self, text: str) -> TurnResult | None: ...

    async def after_engine(self, result: TurnResult) -> TurnResult: ...


class HandoffGate(Protocol):
    async def open(self, turn: CitizenTurn) -> TurnGate:
        """Reads what the gate needs of the conversation; it writes nothing, so it runs
        while the citizen's row is being committed."""
        ...


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
            result, understood = await self._handle(turn)
            await self._record_replies(turn, result, understood)
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

    async def _handle(self, turn: CitizenTurn) -> tuple[TurnResult, Annotation | None]:
        """The answer, and what Rasa understood of the citizen's row: written with the
        replies, so the turn's end costs one commit."""
        cleaned = clean_citizen_text(turn.text, self.max_message_chars)
        if not await self._allowed(turn):
            await self._record_citizen(turn, cleaned.text, "rate_limited")
            return TurnResult((BotMessage(RATE_LIMIT_REPLY),), status="rate_limited"), None
        citizen_row, gate = await self._record_and_open(turn, cleaned.text, cleaned.reason)
        if cleaned.rejection is not None:
            rejection = TurnResult((BotMessage(cleaned.rejection),), cleaned.reason or "rejected")
            return rejection, None
        emergency = detect_emergency(cleaned.text)
        if emergency is not None:
            return TurnResult((BotMessage(emergency_reply(emergency)),), status="emergency"), None
        if gate is not None:
            held = await gate.before_engine(cleaned.text)
            if held is not None:
                return held, None
        # The transcript row travels with the message into Rasa's user event, for the
        # event stream to annotate it.
        metadata = {**turn.metadata, "channel": turn.channel, TRANSCRIPT_KEY: citizen_row}
        try:
            reply = await self.engine.send(turn.conversation_id, cleaned.text, metadata)
        except DialogueUnavailable as exc:
            logger.warning(
                "dialogue engine unavailable: %s", exc, extra={"event": "engine_unavailable"}
            )
            unavailable = TurnResult((BotMessage(UNAVAILABLE_REPLY),), "engine_unavailable")
            return unavailable, None
        # Recorded from the reply even when Rasa's event stream (RABBITMQ_URL) brings it
        # too: Rasa publishes in the background after the turn, and a broker restart has
        # lost an event (the RabbitMQ drill lost one); both merge the same result into the row.
        understood: Annotation = (citizen_row, {"nlu": reply.understanding.to_json()})
        if reply.messages:
            result = TurnResult(reply.messages, understanding=reply.understanding)
        else:
            logger.warning("the dialogue engine answered nothing", extra={"event": "empty_reply"})
            result = TurnResult((BotMessage(EMPTY_REPLY),), "empty_reply", reply.understanding)
        if gate is not None:
            result = await gate.after_engine(result)
        return result, understood

    async def _record_and_open(
        self, turn: CitizenTurn, text: str, reason: str | None
    ) -> tuple[int, TurnGate | None]:
        """The citizen's row, committed, and the gate's read of the conversation, made
        meanwhile: both are waited for before anything else happens to the turn."""
        if self.gate is None:
            return await self._record_citizen(turn, text, reason), None
        row, gate = await asyncio.gather(
            self._record_citizen(turn, text, reason),
            self.gate.open(turn),
            return_exceptions=True,
        )
        if isinstance(row, BaseException):
            raise row
        if isinstance(gate, BaseException):
            raise gate
        return row, gate

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

    async def _record_replies(
        self, turn: CitizenTurn, result: TurnResult, understood: Annotation | None
    ) -> None:
        replies = [
            NewRow("bot", message.text, {"status": result.status, **message.to_json()})
            for message in result.messages
        ]
        # The citizen's row was synced to disk before it was forwarded; the replies reach
        # the disk with the next synced commit (they are safe from the gateway dying at
        # once), so the citizen does not wait for a second fsync.
        await self.transcript.record(
            turn.conversation_id, turn.channel, replies, understood, synced=False
        )

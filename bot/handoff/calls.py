"""Phone calls an agent takes with the assistant's help.

A call has no bot: the agent talks to the caller, and what is said reaches the assistant
either typed or pasted by the agent, or streamed by an ASR system segment by segment. The
call's words go into the same transcript as online conversations (channel ``phone``,
conversation id ``call:<call id>``), so suggestions, the draft work order and the
supervisor's review work on calls exactly as on chats.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, Index, Integer, String, Table, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import as_utc, beijing_iso, utcnow
from bot.conversation.transcript import TranscriptStore
from bot.handoff.actors import MAX_AGENT_MESSAGE_CHARS, Actor, HandoffRefused
from bot.handoff.outbound import Outbound
from bot.storage import metadata

CALL_CHANNEL = "phone"
CALL_PREFIX = "call:"
_CALL_ID = re.compile(r"^[A-Za-z0-9_.-]{1,56}$")

call_table = Table(
    "agent_call",
    metadata,
    Column("call_id", String(64), primary_key=True),
    Column("agent_id", Integer, nullable=False),
    Column("agent_name", String(64), nullable=False),
    Column("caller", String(32), nullable=False, default=""),
    Column("source", String(16), nullable=False, default="manual"),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True), nullable=True),
    Index("ix_agent_call_agent", "agent_id", "ended_at"),
)


class CallError(ValueError):
    """A call request that cannot be honoured; the message is Chinese, for the client."""


@dataclass(frozen=True)
class Call:
    call_id: str
    agent_id: int
    agent_name: str
    caller: str
    source: str
    started_at: datetime
    ended_at: datetime | None

    @property
    def conversation_id(self) -> str:
        return CALL_PREFIX + self.call_id

    @property
    def active(self) -> bool:
        return self.ended_at is None

    def to_json(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "conversation_id": self.conversation_id,
            "agent_name": self.agent_name,
            "caller": self.caller,
            "source": self.source,
            "started_at": beijing_iso(self.started_at),
            "ended_at": beijing_iso(self.ended_at),
        }


def valid_call_id(call_id: str) -> bool:
    return bool(_CALL_ID.match(call_id))


def new_call_id() -> str:
    return uuid.uuid4().hex


def call_id_of(conversation_id: str) -> str | None:
    """The call's id when the conversation is a phone call, else None."""
    return conversation_id[len(CALL_PREFIX) :] if conversation_id.startswith(CALL_PREFIX) else None


class CallStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def start(
        self, call_id: str, agent_id: int, agent_name: str, caller: str, source: str
    ) -> Call:
        if not valid_call_id(call_id):
            raise CallError("通话编号格式不正确：应为 1 到 56 位字母、数字或 _.- 字符。")
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    call_table.insert().values(
                        call_id=call_id,
                        agent_id=agent_id,
                        agent_name=agent_name,
                        caller=caller[:32],
                        source=source,
                        started_at=utcnow(),
                    )
                )
        except IntegrityError as exc:
            raise CallError("该通话编号已存在。") from exc
        call = await self.get(call_id)
        assert call is not None
        return call

    async def get(self, call_id: str) -> Call | None:
        if not valid_call_id(call_id):
            return None
        async with self.engine.connect() as conn:
            row = (
                (await conn.execute(select(call_table).where(call_table.c.call_id == call_id)))
                .mappings()
                .first()
            )
        return _call(row) if row else None

    async def end(self, call_id: str) -> bool:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(call_table)
                .where(call_table.c.call_id == call_id, call_table.c.ended_at.is_(None))
                .values(ended_at=utcnow())
            )
        return bool(result.rowcount)

    async def active_for(self, agent_id: int) -> list[Call]:
        query = (
            select(call_table)
            .where(call_table.c.agent_id == agent_id, call_table.c.ended_at.is_(None))
            .order_by(call_table.c.started_at)
        )
        async with self.engine.connect() as conn:
            return [_call(row) for row in (await conn.execute(query)).mappings().all()]


def _call(row: Any) -> Call:
    started = as_utc(row["started_at"])
    assert started is not None
    return Call(
        call_id=row["call_id"],
        agent_id=int(row["agent_id"]),
        agent_name=row["agent_name"],
        caller=row["caller"] or "",
        source=row["source"] or "manual",
        started_at=started,
        ended_at=as_utc(row["ended_at"]),
    )


class CallService:
    """Opens, records and ends the calls agents take; each call is a conversation of its
    own in the transcript, seen live by the agent who took it."""

    def __init__(self, store: CallStore, transcript: TranscriptStore, outbound: Outbound) -> None:
        self.store = store
        self.transcript = transcript
        self.outbound = outbound

    async def start(self, actor: Actor, call_id: str | None, caller: str, source: str) -> Call:
        call = await self.store.start(
            call_id or new_call_id(), actor.user_id, actor.display_name, caller, source
        )
        await self.transcript.append(
            call.conversation_id,
            CALL_CHANNEL,
            "system",
            f"来电开始，由{actor.display_name}接听",
            {"event": "call", "call": "started", "agent_id": actor.user_id, "source": source},
        )
        await self.outbound.console(
            f"agent:{actor.user_id}", {"type": "call", "call": call.to_json()}
        )
        return call

    async def segment(self, call: Call, speaker: str, text: str, asr: bool) -> int:
        """One stretch of speech: the caller's (role citizen) or the agent's (role agent)."""
        if not call.active:
            raise HandoffRefused("该通话已结束。", "call_ended")
        text = text.strip()
        if not text:
            raise HandoffRefused("内容不能为空。", "empty", 400)
        role = "agent" if speaker == "agent" else "citizen"
        data: dict[str, Any] = {"speaker": speaker, "asr": asr}
        if role == "agent":
            data.update(agent_id=call.agent_id, agent_name=call.agent_name)
        return await self.transcript.append(
            call.conversation_id, CALL_CHANNEL, role, text[:MAX_AGENT_MESSAGE_CHARS], data
        )

    async def end(self, call: Call) -> None:
        if await self.store.end(call.call_id):
            await self.transcript.append(
                call.conversation_id,
                CALL_CHANNEL,
                "system",
                "通话结束",
                {"event": "call", "call": "ended", "agent_id": call.agent_id},
            )
            await self.outbound.agent_left(call.conversation_id)
            await self.outbound.console(
                f"agent:{call.agent_id}", {"type": "call_ended", "call": call.call_id}
            )

    async def for_actor(self, call_id: str, actor: Actor) -> Call:
        """The call, when it is the actor's (supervisors: any call)."""
        call = await self.store.get(call_id)
        if call is None or (call.agent_id != actor.user_id and not actor.supervisor):
            raise HandoffRefused("没有找到这通电话。", "not_found", 404)
        return call

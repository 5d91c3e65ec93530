"""The handoff service: every change of who answers a conversation goes through here.

A change is applied in this order: the state row (compare-and-set, so it is decided once),
then Rasa's tracker (pause when a human takes over, resume when the bot gets it back),
then the transcript (one ``system`` row with ``data.handoff``: the record supervisors and
the conversation index read), then the citizen's notice on their channel, then the live
event for the agents' consoles. The state row comes first because it is what stops the
bot: from that moment the gate holds every citizen message, whatever happens after.

Domain only: the gateway supplies the channel delivery, the bus and Rasa's tracker.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.conversation.transcript import TranscriptStore
from bot.handoff import texts
from bot.handoff.assist import Assistant
from bot.handoff.bus import Bus
from bot.handoff.calls import CALL_CHANNEL, CALL_PREFIX, Call, CallStore, new_call_id
from bot.handoff.classify import WarmClassifier
from bot.handoff.config import HandoffConfig
from bot.handoff.draft import citizen_statements, summarise
from bot.handoff.feedback import Outcome, SuggestionLog
from bot.handoff.notes import Note, NoteStore
from bot.handoff.presence import AgentPresence, PresenceStore
from bot.handoff.states import Event, InvalidTransition, State
from bot.handoff.store import ConcurrentChange, Handoff, HandoffStore, utcnow
from bot.routing import Classification

logger = logging.getLogger(__name__)

MAX_AGENT_MESSAGE_CHARS = 2000

REASONS = {
    "citizen_request": "市民要求转人工",
    "after_fallback": "智能助手多次未能理解",
    "transferred": "客服退回排队",
}


class TrackerControl(Protocol):
    """Rasa's tracker for one conversation (connectors/rasa_tracker.py)."""

    async def pause(self, conversation_id: str) -> bool: ...

    async def resume(self, conversation_id: str) -> bool: ...


class CitizenChannel(Protocol):
    """Delivers a human's words or a handoff notice to the citizen, on their channel."""

    async def deliver(
        self,
        conversation_id: str,
        channel: str,
        kind: str,
        text: str,
        sender: str,
        row_id: int,
        state: str = "",
    ) -> bool:
        """``kind`` is ``agent`` (a human's words) or ``handoff`` (a notice; ``state`` is
        the new handoff state). True when the message went out (or on its way)."""
        ...


class HandoffRefused(Exception):
    """The action is not allowed for this agent or this conversation; Chinese message."""

    def __init__(self, message: str, code: str = "refused", status: int = 409) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


@dataclass(frozen=True)
class Actor:
    """The console user doing something; supervisors may act on any conversation."""

    user_id: int
    username: str
    display_name: str
    supervisor: bool = False


@dataclass(frozen=True)
class QueuePlace:
    position: int  # 1 = next to be taken
    wait_minutes: float
    long_wait: bool


@dataclass(frozen=True)
class Admission:
    """The answer to a request for a human: queued (with the wait) or not possible now."""

    handoff: Handoff | None
    place: QueuePlace | None
    unavailable: str = ""  # after_hours | nobody_on_duty
    next_opening: datetime | None = None

    @property
    def queued(self) -> bool:
        return self.place is not None


class HandoffService:
    def __init__(
        self,
        config: HandoffConfig,
        store: HandoffStore,
        presence: PresenceStore,
        notes: NoteStore,
        calls: CallStore,
        suggestions: SuggestionLog,
        transcript: TranscriptStore,
        tracker: TrackerControl,
        bus: Bus,
        channel: CitizenChannel,
        assistant: Assistant,
        classify: WarmClassifier | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.config = config
        self.store = store
        self.presence = presence
        self.notes = notes
        self.calls = calls
        self.suggestions = suggestions
        self.transcript = transcript
        self.tracker = tracker
        self.bus = bus
        self.channel = channel
        self.assistant = assistant
        self.classify = classify
        self.clock = clock

    # -- reading ---------------------------------------------------------------------------

    async def get(self, conversation_id: str) -> Handoff | None:
        return await self.store.get(conversation_id)

    async def queue(self) -> list[tuple[Handoff, QueuePlace]]:
        waiting = await self.store.in_state(State.WAITING)
        estimate = await self._estimator()
        return [(handoff, estimate(index + 1)) for index, handoff in enumerate(waiting)]

    async def held_by(self, agent_id: int) -> list[Handoff]:
        return await self.store.in_state(State.WITH_AGENT, agent_id)

    async def place_of(self, conversation_id: str) -> QueuePlace | None:
        waiting = await self.store.in_state(State.WAITING)
        for index, handoff in enumerate(waiting):
            if handoff.conversation_id == conversation_id:
                return (await self._estimator())(index + 1)
        return None

    async def colleagues(self, actor: Actor) -> list[AgentPresence]:
        """Agents on duty a conversation can be transferred to."""
        return [a for a in await self.presence.on_duty(self.clock()) if a.user_id != actor.user_id]

    async def can_view(self, conversation_id: str, actor: Actor) -> bool:
        if actor.supervisor:
            return True
        if conversation_id.startswith(CALL_PREFIX):
            call = await self.calls.get(conversation_id[len(CALL_PREFIX) :])
            return call is not None and call.agent_id == actor.user_id
        handoff = await self.store.get(conversation_id)
        if handoff is not None and (
            handoff.state is State.WAITING
            or (handoff.state is State.WITH_AGENT and handoff.agent_id == actor.user_id)
        ):
            return True
        return any(
            note.conversation_id == conversation_id for note in await self.notes.open_notes()
        )

    # -- the citizen's side ------------------------------------------------------------------

    async def request(self, conversation_id: str, channel: str, reason: str) -> Admission:
        """The citizen wants a human: queue them, or say why not and what they can do."""
        now = self.clock()
        current = await self.store.ensure(conversation_id, channel)
        if current.state.human_holds:
            return Admission(current, await self.place_of(conversation_id))
        hours = self.config.hours
        unavailable = ""
        if not hours.is_open(now):
            unavailable = "after_hours"
        elif not await self.presence.on_duty(now):
            unavailable = "nobody_on_duty"
        if unavailable:
            opening = hours.next_opening(now) if unavailable == "after_hours" else None
            why = "非人工服务时间" if unavailable == "after_hours" else "暂无在线客服"
            await self._record(
                current,
                f"转人工未能排队：{why}",
                {"event": "unavailable", "state": current.state.value, "reason": unavailable},
            )
            return Admission(current, None, unavailable, opening)
        summary = await self._summary(conversation_id, reason)
        moved = await self._move(
            current,
            Event.REQUESTED,
            {
                "reason": reason,
                "requested_at": now,
                "agent_id": None,
                "agent_name": "",
                "claimed_at": None,
                "summary": summary,
                "fallback_streak": 0,
                "awaiting_note": False,
            },
            description=f"进入人工排队（{REASONS.get(reason, reason)}）",
        )
        return Admission(moved, await self.place_of(conversation_id))

    async def cancel(self, conversation_id: str) -> Handoff:
        current = await self._existing(conversation_id, Event.CANCELLED)
        now = self.clock()
        return await self._move(
            current,
            Event.CANCELLED,
            {"agent_id": None, "agent_name": ""},
            episode={"ended_at": now, "outcome": "cancelled"},
            description="市民取消排队",
        )

    async def citizen_wrote(self, handoff: Handoff) -> None:
        """A message while waiting: the queue's summary follows what the citizen adds."""
        if handoff.state is State.WAITING:
            summary = await self._summary(handoff.conversation_id, handoff.reason)
            await self.store.update_flags(handoff.conversation_id, summary=summary)
            await self._console("all", {"type": "queue"})

    async def track_fallback(self, conversation_id: str, channel: str, fallback: bool) -> int:
        """Counts misunderstood messages in a row; returns the current streak."""
        if fallback:
            return await self.store.bump_fallback(conversation_id, channel)
        await self.store.reset_fallback(conversation_id)
        return 0

    async def offered(self, conversation_id: str, channel: str, streak: int) -> None:
        await self.transcript.append(
            conversation_id,
            channel,
            "system",
            f"智能助手连续{streak}次未能理解，主动询问是否转人工",
            {"handoff": {"event": "offered", "state": State.BOT.value, "streak": streak}},
        )

    async def start_note(self, conversation_id: str, channel: str) -> None:
        current = await self.store.ensure(conversation_id, channel)
        if current.state is State.WAITING:
            await self.cancel(conversation_id)
        await self.store.update_flags(conversation_id, awaiting_note=True)

    async def stop_note(self, conversation_id: str) -> None:
        await self.store.update_flags(conversation_id, awaiting_note=False)

    async def leave_note(self, conversation_id: str, channel: str, text: str) -> Note:
        await self.store.update_flags(conversation_id, awaiting_note=False)
        note = await self.notes.add(conversation_id, channel, text)
        await self.transcript.append(
            conversation_id,
            channel,
            "system",
            f"市民留言（留言编号 {note.id}）",
            {"handoff": {"event": "note", "state": State.BOT.value}, "note_id": note.id},
        )
        await self._console("all", {"type": "notes"})
        return note

    async def sync_tracker(self, handoff: Handoff) -> None:
        """Retries a resume Rasa missed, before the bot is asked to answer again."""
        if (
            handoff.rasa_paused
            and not handoff.state.human_holds
            and await self.tracker.resume(handoff.conversation_id)
        ):
            await self.store.update_flags(handoff.conversation_id, rasa_paused=False)

    # -- the agent's side --------------------------------------------------------------------

    async def claim(self, conversation_id: str, actor: Actor) -> Handoff:
        current = await self._existing(conversation_id, Event.CLAIMED)
        if current.state is State.WITH_AGENT and current.agent_id == actor.user_id:
            return current
        await self._check_capacity(actor.user_id, "您")
        now = self.clock()
        return await self._move(
            current,
            Event.CLAIMED,
            {"agent_id": actor.user_id, "agent_name": actor.display_name, "claimed_at": now},
            episode={"claimed_at": now, "agent_id": actor.user_id},
            description=f"{actor.display_name}接入会话",
            notice=texts.claimed(actor.display_name),
            actor=actor,
        )

    async def transfer(self, conversation_id: str, actor: Actor, to_user_id: int) -> Handoff:
        current = await self._held(conversation_id, actor, Event.TRANSFERRED)
        if to_user_id == current.agent_id:
            raise HandoffRefused("该会话已由这位客服接待。", "same_agent")
        target = next(
            (a for a in await self.presence.on_duty(self.clock()) if a.user_id == to_user_id), None
        )
        if target is None:
            raise HandoffRefused("这位同事当前不在线，无法转接。", "colleague_offline")
        await self._check_capacity(target.user_id, target.display_name)
        now = self.clock()
        moved = await self._move(
            current,
            Event.TRANSFERRED,
            {"agent_id": target.user_id, "agent_name": target.display_name, "claimed_at": now},
            episode={"agent_id": target.user_id},
            description=f"{actor.display_name}将会话转给{target.display_name}",
            notice=texts.transferred(target.display_name),
            actor=actor,
        )
        await self._left_agent(conversation_id)
        return moved

    async def requeue(self, conversation_id: str, actor: Actor) -> Handoff:
        current = await self._held(conversation_id, actor, Event.REQUEUED)
        moved = await self._move(
            current,
            Event.REQUEUED,
            {"agent_id": None, "agent_name": "", "claimed_at": None},
            description=f"{actor.display_name}将会话退回排队",
            notice=texts.REQUEUED,
            actor=actor,
        )
        await self._left_agent(conversation_id)
        return moved

    async def hand_back(self, conversation_id: str, actor: Actor) -> Handoff:
        current = await self._held(conversation_id, actor, Event.HANDED_BACK)
        moved = await self._move(
            current,
            Event.HANDED_BACK,
            {"agent_id": None, "agent_name": "", "fallback_streak": 0},
            episode={"ended_at": self.clock(), "outcome": "handed_back"},
            description=f"{actor.display_name}将会话交还智能助手",
            notice=texts.HANDED_BACK,
            actor=actor,
        )
        await self._left_agent(conversation_id)
        return moved

    async def close(
        self, conversation_id: str, actor: Actor, wrap_up: str, note: str = ""
    ) -> Handoff:
        label = self.config.wrap_up_categories.get(wrap_up)
        if label is None:
            raise HandoffRefused("请选择结束分类。", "invalid_wrap_up", 400)
        current = await self._existing(conversation_id, Event.CLOSED)
        if current.state is State.WITH_AGENT:
            self._check_holder(current, actor)
        moved = await self._move(
            current,
            Event.CLOSED,
            {"agent_id": None, "agent_name": "", "fallback_streak": 0},
            episode={
                "ended_at": self.clock(),
                "outcome": "closed",
                "wrap_up": wrap_up,
                "wrap_up_note": note.strip()[:500],
            },
            description=f"{actor.display_name}结束会话（{label}）",
            notice=texts.CLOSED,
            actor=actor,
            extra={"wrap_up": wrap_up, "wrap_up_label": label},
        )
        await self._left_agent(conversation_id)
        return moved

    async def send(
        self, conversation_id: str, actor: Actor, text: str, suggestion_id: int | None = None
    ) -> dict[str, Any]:
        """The agent's message to the citizen; returns the transcript row and its fate."""
        text = _agent_text(text)
        current = await self.store.get(conversation_id)
        if current is None or current.state is not State.WITH_AGENT:
            raise HandoffRefused("请先接入该会话再回复。", "not_claimed")
        self._check_holder(current, actor)
        return await self._agent_says(conversation_id, current.channel, actor, text, suggestion_id)

    async def answer_note(self, note_id: int, actor: Actor, reply: str) -> dict[str, Any]:
        reply = _agent_text(reply)
        note = await self.notes.get(note_id)
        if note is None:
            raise HandoffRefused("没有找到这条留言。", "not_found", 404)
        if not await self.notes.answer(note_id, actor.user_id, actor.display_name, reply):
            raise HandoffRefused("这条留言已由其他同事回复。", "already_answered")
        result = await self._agent_says(note.conversation_id, note.channel, actor, reply, None)
        await self._console("all", {"type": "notes"})
        return result

    async def record_work_order(
        self, conversation_id: str, channel: str, actor: Actor, data: Mapping[str, Any]
    ) -> None:
        """A work order the agent submitted from the draft, on the conversation's record."""
        number = str(data.get("order_no") or data.get("acceptance_no") or "")
        await self.transcript.append(
            conversation_id,
            channel,
            "system",
            f"{actor.display_name}登记工单 {number}",
            {"event": "workorder", "agent_id": actor.user_id, **data},
        )

    # -- calls -------------------------------------------------------------------------------

    async def start_call(self, actor: Actor, call_id: str | None, caller: str, source: str) -> Call:
        call = await self.calls.start(
            call_id or new_call_id(), actor.user_id, actor.display_name, caller, source
        )
        await self.transcript.append(
            call.conversation_id,
            CALL_CHANNEL,
            "system",
            f"来电开始，由{actor.display_name}接听",
            {"event": "call", "call": "started", "agent_id": actor.user_id, "source": source},
        )
        await self._console(f"agent:{actor.user_id}", {"type": "call", "call": call.to_json()})
        return call

    async def call_segment(self, call: Call, speaker: str, text: str, asr: bool) -> int:
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

    async def end_call(self, call: Call) -> None:
        if await self.calls.end(call.call_id):
            await self.transcript.append(
                call.conversation_id,
                CALL_CHANNEL,
                "system",
                "通话结束",
                {"event": "call", "call": "ended", "agent_id": call.agent_id},
            )
            await self._left_agent(call.conversation_id)
            await self._console(
                f"agent:{call.agent_id}", {"type": "call_ended", "call": call.call_id}
            )

    async def call_for(self, call_id: str, actor: Actor) -> Call:
        call = await self.calls.get(call_id)
        if call is None or (call.agent_id != actor.user_id and not actor.supervisor):
            raise HandoffRefused("没有找到这通电话。", "not_found", 404)
        return call

    # -- presence ----------------------------------------------------------------------------

    async def seen(self, actor: Actor, on_duty: bool | None = None) -> None:
        await self.presence.seen(actor.user_id, actor.username, actor.display_name, on_duty)
        if on_duty is not None:
            await self._console("all", {"type": "agents"})

    # -- the transcript observer: live rows for the consoles ---------------------------------

    async def appended(self, row: dict[str, Any]) -> None:
        """Every committed transcript row; rows of handed-off conversations and calls go live."""
        conversation_id = str(row["conversation_id"])
        audience: str | None = None
        if conversation_id.startswith(CALL_PREFIX):
            call = await self.calls.get(conversation_id[len(CALL_PREFIX) :])
            audience = f"agent:{call.agent_id}" if call is not None else None
        else:
            handoff = await self.store.get(conversation_id)
            if handoff is not None and handoff.state is State.WITH_AGENT:
                audience = f"agent:{handoff.agent_id}"
            elif handoff is not None and handoff.state is State.WAITING:
                audience = "all"
        if audience is not None:
            await self._console(audience, {"type": "row", "row": row_json(row)})

    async def annotated(self, row_id: int, data: dict[str, Any]) -> None:
        return None

    # -- internals ---------------------------------------------------------------------------

    async def _agent_says(
        self,
        conversation_id: str,
        channel: str,
        actor: Actor,
        text: str,
        suggestion_id: int | None,
    ) -> dict[str, Any]:
        outcome: Outcome | None = None
        if suggestion_id is not None:
            outcome = await self.suggestions.sent(
                suggestion_id, conversation_id, actor.user_id, text
            )
        data: dict[str, Any] = {"agent_id": actor.user_id, "agent_name": actor.display_name}
        if outcome is not None:
            data.update(suggestion_id=suggestion_id, suggestion_outcome=outcome.value)
        row_id = await self.transcript.append(conversation_id, channel, "agent", text, data)
        delivered = await self.channel.deliver(
            conversation_id, channel, "agent", text, actor.display_name, row_id
        )
        return {
            "row_id": row_id,
            "delivered": delivered,
            "suggestion_outcome": outcome.value if outcome else None,
        }

    async def _existing(self, conversation_id: str, event: Event) -> Handoff:
        current = await self.store.get(conversation_id)
        if current is None:
            raise InvalidTransition(event, State.BOT, "该会话不在人工服务中。")
        return current

    async def _held(self, conversation_id: str, actor: Actor, event: Event) -> Handoff:
        current = await self._existing(conversation_id, event)
        if current.state is State.WITH_AGENT:
            self._check_holder(current, actor)
        return current

    def _check_holder(self, handoff: Handoff, actor: Actor) -> None:
        if handoff.agent_id != actor.user_id and not actor.supervisor:
            raise HandoffRefused("该会话由其他客服接待，您无权操作。", "not_yours", 403)

    async def _check_capacity(self, agent_id: int, who: str) -> None:
        held = (await self.store.held_counts()).get(agent_id, 0)
        if held >= self.config.agent_capacity:
            raise HandoffRefused(
                f"{who}当前接待的会话已达上限（{self.config.agent_capacity}个），"
                "请先结束或交还其他会话。",
                "capacity",
            )

    async def _move(
        self,
        current: Handoff,
        event: Event,
        values: Mapping[str, Any],
        *,
        description: str,
        episode: Mapping[str, Any] | None = None,
        notice: str | None = None,
        actor: Actor | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Handoff:
        try:
            moved = await self.store.move(current, event, values, episode)
        except ConcurrentChange:
            fresh = await self.store.get(current.conversation_id)
            state = fresh.state if fresh is not None else State.BOT
            raise InvalidTransition(
                event, state, "会话状态刚刚发生了变化，请刷新后重试。"
            ) from None
        synced = await self._sync(current, moved)
        detail: dict[str, Any] = {
            "event": event.value,
            "state": moved.state.value,
            "from": current.state.value,
            "reason": moved.reason,
            **(extra or {}),
        }
        if moved.agent_id is not None:
            detail.update(agent_id=moved.agent_id, agent_name=moved.agent_name)
        if actor is not None:
            detail.update(actor_id=actor.user_id, actor_name=actor.display_name)
        data: dict[str, Any] = {"handoff": detail, "tracker_synced": synced}
        if notice:
            data["notice"] = notice
        row_id = await self.transcript.append(
            moved.conversation_id, moved.channel, "system", description, data
        )
        if notice:
            await self.channel.deliver(
                moved.conversation_id,
                moved.channel,
                "handoff",
                notice,
                "",
                row_id,
                moved.state.value,
            )
        await self._console(
            "all",
            {
                "type": "handoff",
                "conversation_id": moved.conversation_id,
                "state": moved.state.value,
                "agent_id": moved.agent_id,
                "event": event.value,
            },
        )
        logger.info(
            "handoff %s → %s",
            event.value,
            moved.state.value,
            extra={"event": "handoff", "conversation_id": moved.conversation_id},
        )
        return moved

    async def _sync(self, before: Handoff, after: Handoff) -> bool:
        """Pauses or resumes Rasa's tracker when the bot loses or regains the conversation."""
        if after.state.human_holds and not before.state.human_holds:
            if await self.tracker.pause(after.conversation_id):
                await self.store.update_flags(after.conversation_id, rasa_paused=True)
                return True
            return False
        if before.state.human_holds and not after.state.human_holds:
            if await self.tracker.resume(after.conversation_id):
                await self.store.update_flags(after.conversation_id, rasa_paused=False)
                return True
            # Keep rasa_paused: the gate resumes Rasa before the bot answers next time.
            await self.store.update_flags(after.conversation_id, rasa_paused=True)
            return False
        return True

    async def _record(self, handoff: Handoff, description: str, detail: dict[str, Any]) -> None:
        await self.transcript.append(
            handoff.conversation_id, handoff.channel, "system", description, {"handoff": detail}
        )

    async def _left_agent(self, conversation_id: str) -> None:
        await self.suggestions.finish(conversation_id)
        self.assistant.forget(conversation_id)

    async def _console(self, audience: str, event: dict[str, Any]) -> None:
        try:
            await self.bus.publish({"kind": "console", "audience": audience, "event": event})
        except Exception:
            logger.exception("could not publish a console event")

    async def _summary(self, conversation_id: str, reason: str) -> str:
        rows = await self.transcript.history(conversation_id, limit=200)
        statements = citizen_statements(rows)
        classification: Classification | None = None
        if statements and self.classify is not None and not self.classify.ready:
            self.classify.warm()  # the next summary will have it; the citizen does not wait
        elif statements and self.classify is not None:
            try:
                classification = await asyncio.to_thread(self.classify, "；".join(statements))
            except Exception:
                logger.exception("classification failed for the queue summary")
        return summarise(statements, classification, REASONS.get(reason, reason))

    async def _estimator(self) -> Callable[[int], QueuePlace]:
        now = self.clock()
        agents = await self.presence.on_duty(now)
        held = await self.store.held_counts()
        capacity = self.config.agent_capacity
        free = sum(max(0, capacity - held.get(agent.user_id, 0)) for agent in agents)
        measured = await self.store.recent_handle_minutes(self.config.handle_time_sample)
        handle = (
            statistics.median(measured)
            if len(measured) >= 5
            else self.config.default_handle_minutes
        )
        throughput = max(len(agents), 1) * capacity / max(handle, 0.5)  # conversations a minute

        def estimate(position: int) -> QueuePlace:
            wait = 1.0 if position <= free else max(1.0, (position - free) / throughput)
            return QueuePlace(position, wait, wait > self.config.long_wait_minutes)

        return estimate


def _agent_text(text: str) -> str:
    text = text.strip()
    if not text:
        raise HandoffRefused("消息内容不能为空。", "empty", 400)
    if len(text) > MAX_AGENT_MESSAGE_CHARS:
        raise HandoffRefused(f"消息请控制在 {MAX_AGENT_MESSAGE_CHARS} 字以内。", "too_long", 400)
    return text


def row_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """A transcript row as consoles receive it (JSON-safe, no internal bookkeeping)."""
    created = row.get("created_at")
    data = row.get("data") or {}
    keep = {
        key: data[key]
        for key in (
            "handoff",
            "notice",
            "agent_name",
            "suggestion_outcome",
            "speaker",
            "asr",
            "note_id",
            "workorder_no",
            "order_no",
            "acceptance_no",
            "status",
            "delivered",
        )
        if key in data
    }
    return {
        "id": row.get("id"),
        "conversation_id": row.get("conversation_id"),
        "channel": row.get("channel"),
        "role": row.get("role"),
        "text": row.get("text") or "",
        "created_at": created.isoformat() if isinstance(created, datetime) else created,
        "data": keep,
    }

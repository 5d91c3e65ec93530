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
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from bot.clock import utcnow
from bot.conversation.transcript import TranscriptStore
from bot.handoff import texts
from bot.handoff.actors import Actor, HandoffRefused, agent_text
from bot.handoff.assist import Assistant
from bot.handoff.bus import Bus
from bot.handoff.calls import CallService, CallStore, call_id_of
from bot.handoff.classify import WarmClassifier
from bot.handoff.config import HandoffConfig
from bot.handoff.draft import citizen_statements, summarise
from bot.handoff.feedback import SuggestionLog
from bot.handoff.notes import NoteService, NoteStore
from bot.handoff.outbound import CitizenChannel, Outbound, row_json
from bot.handoff.presence import AgentPresence, PresenceStore
from bot.handoff.queue import Admission, QueuePlace, estimator
from bot.handoff.states import Event, InvalidTransition, State
from bot.handoff.store import ConcurrentChange, Handoff, HandoffStore
from bot.routing import Classification

logger = logging.getLogger(__name__)

REASONS = {
    "citizen_request": "市民要求转人工",
    "after_fallback": "智能助手多次未能理解",
    "transferred": "客服退回排队",
}


class TrackerControl(Protocol):
    """Rasa's tracker for one conversation (connectors/rasa_tracker.py)."""

    async def pause(self, conversation_id: str) -> bool: ...

    async def resume(self, conversation_id: str) -> bool: ...


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
        self.suggestions = suggestions
        self.transcript = transcript
        self.tracker = tracker
        self.channel = channel
        self.assistant = assistant
        self.outbound = Outbound(transcript, bus, channel, suggestions, assistant)
        self.notes = NoteService(notes, store, transcript, self.outbound)
        self.calls = CallService(calls, transcript, self.outbound)
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
        call_id = call_id_of(conversation_id)
        if call_id is not None:
            call = await self.calls.store.get(call_id)
            return call is not None and call.agent_id == actor.user_id
        handoff = await self.store.get(conversation_id)
        if handoff is not None and (
            handoff.state is State.WAITING
            or (handoff.state is State.WITH_AGENT and handoff.agent_id == actor.user_id)
        ):
            return True
        notes = await self.notes.store.open_notes()
        notes += await self.notes.store.answered_notes()
        return any(note.conversation_id == conversation_id for note in notes)

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
            await self.outbound.console("all", {"type": "queue"})

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
        await self.outbound.agent_left(conversation_id)
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
        await self.outbound.agent_left(conversation_id)
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
        await self.outbound.agent_left(conversation_id)
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
        await self.outbound.agent_left(conversation_id)
        return moved

    async def send(
        self, conversation_id: str, actor: Actor, text: str, suggestion_id: int | None = None
    ) -> dict[str, Any]:
        """The agent's message to the citizen; returns the transcript row and its fate."""
        text = agent_text(text)
        current = await self.store.get(conversation_id)
        if current is None or current.state is not State.WITH_AGENT:
            raise HandoffRefused("请先接入该会话再回复。", "not_claimed")
        self._check_holder(current, actor)
        return await self.outbound.agent_says(
            conversation_id, current.channel, actor, text, suggestion_id
        )

    async def record_work_order(
        self, conversation_id: str, channel: str, actor: Actor, data: Mapping[str, Any]
    ) -> None:
        """A work order the agent submitted from the draft, on the conversation's record:
        once per acceptance, however often the same draft is submitted again."""
        number = str(data.get("order_no") or data.get("acceptance_no") or "")
        for row in await self.transcript.history(conversation_id):
            logged = row.get("data") or {}
            if logged.get("event") == "workorder" and logged.get("acceptance_no") == data.get(
                "acceptance_no"
            ):
                return
        await self.transcript.append(
            conversation_id,
            channel,
            "system",
            f"{actor.display_name}登记工单 {number}",
            {"event": "workorder", "agent_id": actor.user_id, **data},
        )

    # -- presence ----------------------------------------------------------------------------

    async def seen(self, actor: Actor, on_duty: bool | None = None) -> None:
        await self.presence.seen(actor.user_id, actor.username, actor.display_name, on_duty)
        if on_duty is not None:
            await self.outbound.console("all", {"type": "agents"})

    # -- the transcript observer: live rows for the consoles ---------------------------------

    async def appended(self, rows: Sequence[dict[str, Any]]) -> None:
        """Every committed transcript row; rows of handed-off conversations and calls go live."""
        conversation_id = str(rows[0]["conversation_id"])
        audience: str | None = None
        call_id = call_id_of(conversation_id)
        if call_id is not None:
            call = await self.calls.store.get(call_id)
            audience = f"agent:{call.agent_id}" if call is not None else None
        else:
            handoff = await self.store.get(conversation_id)
            if handoff is not None and handoff.state is State.WITH_AGENT:
                audience = f"agent:{handoff.agent_id}"
            elif handoff is not None and handoff.state is State.WAITING:
                audience = "all"
        if audience is not None:
            for row in rows:
                await self.outbound.console(audience, {"type": "row", "row": row_json(row)})

    async def annotated(self, row_id: int, data: dict[str, Any]) -> None:
        return None

    # -- internals ---------------------------------------------------------------------------

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
        await self.outbound.console(
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
        return estimator(
            self.config,
            await self.presence.on_duty(now),
            await self.store.held_counts(),
            await self.store.recent_handle_minutes(self.config.handle_time_sample),
        )
